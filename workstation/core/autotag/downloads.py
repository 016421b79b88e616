"""Downloading a tagger or captioner from the Hugging Face hub: what, how big, with progress.

The Models dialog asks first (:func:`download_plan`: the files a model needs and their size,
from the hub's metadata), shows the size in a confirmation, then runs :func:`download_stage`
as a job: one file at a time with ``hf_hub_download`` (huggingface_hub keeps the cache, resumes
a cut download and verifies the files), a byte count read from its progress bars, and cancel
that stops the download in the middle of a file.  A machine without network gets one plain
"You are offline: …" sentence (:class:`OfflineError`), never a raw ConnectError.

huggingface_hub is imported inside the functions: the GUI imports this module at start-up.
"""

from __future__ import annotations

import fnmatch
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.core.autotag.base import WD14_MODELS, ModelError
from workstation.core.progress import Progress, Stage

TAGGER_FILES = ("model.onnx", "selected_tags.csv")
# Weights in formats the workstation never loads (the same model exported for other runtimes).
_OTHER_RUNTIMES = (
    "*.gguf",
    "*.onnx",
    "*.onnx_data",
    "*.msgpack",
    "*.h5",
    "*.tflite",
    "*.ot",
    "*.mlmodel",
    "onnx/*",
    "openvino/*",
    "coreml/*",
    "gguf/*",
)
_TORCH_PICKLES = ("*.bin", "*.pt", "*.pth")  # skipped when the repo has safetensors
_POLL_S = 0.25
_CONNECTION_ERRORS = ("ConnectError", "ConnectTimeout", "OfflineModeIsEnabled", "gaierror")


class OfflineError(ModelError):
    """The hub cannot be reached (or HF_HUB_OFFLINE is set); says what to do instead."""

    def __init__(self, repo_id: str, why: str) -> None:
        super().__init__(repo_id, why)
        self.args = (
            f"You are offline: {why}, so {repo_id} cannot be looked up or downloaded. "
            "Copy the model folder to this machine and add it with “Add folder…”.",
        )

    def __str__(self) -> str:
        return str(self.args[0])


class DownloadCancelled(Exception):
    """Raised inside huggingface_hub's progress bar to stop a download in mid-file."""


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _hub_host() -> str:
    from urllib.parse import urlparse

    from huggingface_hub import constants

    return urlparse(constants.ENDPOINT).hostname or "huggingface.co"


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) means the network is not there."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names = {k.__name__ for k in type(current).__mro__}
        if names & set(_CONNECTION_ERRORS):
            return True
        current = current.__cause__ or current.__context__
    return False


def hub_problem(repo_id: str, exc: BaseException) -> ModelError:
    """One plain error for a failed hub call: offline, no such model, gated, or the first line."""
    if is_connection_error(exc):
        return OfflineError(repo_id, f"{_hub_host()} cannot be reached")
    names = {k.__name__ for k in type(exc).__mro__}
    if "GatedRepoError" in names:
        return ModelError(
            repo_id, "is gated: accept its licence on huggingface.co and log in (`hf auth login`)"
        )
    if "RepositoryNotFoundError" in names:
        return ModelError(repo_id, "no such model on the Hugging Face hub (or it is private)")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelError(repo_id, f"the hub answered with an error: {first}")


@dataclass(frozen=True)
class DownloadPlan:
    """The files of ``repo_id`` the workstation needs and their sizes in bytes."""

    repo_id: str
    kind: str  # "tagger" | "captioner"
    files: tuple[tuple[str, int], ...]

    @property
    def size(self) -> int:
        return sum(size for _name, size in self.files)


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def plan_files(repo_id: str, listing: Sequence[tuple[str, int]]) -> DownloadPlan:
    """Choose the files to download from a repo listing (name, size).

    A WD14 tagger needs only model.onnx and selected_tags.csv; a captioner needs its config,
    tokenizer and safetensors weights, not the same weights for other runtimes.
    """
    names = {name for name, _ in listing}
    if all(f in names for f in TAGGER_FILES):
        return DownloadPlan(
            repo_id, "tagger", tuple((n, s) for n, s in listing if n in TAGGER_FILES)
        )
    skip = list(_OTHER_RUNTIMES)
    if any(n.endswith(".safetensors") for n in names):
        skip += _TORCH_PICKLES
    files = tuple((n, s) for n, s in listing if not _matches(n, skip))
    if not any(n == "config.json" for n, _ in files):
        raise ModelError(
            repo_id,
            "is neither a WD14 tagger (model.onnx + selected_tags.csv) nor a transformers "
            "model (config.json): the workstation cannot use it",
        )
    return DownloadPlan(repo_id, "captioner", files)


def download_plan(repo_id: str, *, timeout: float = 15.0) -> DownloadPlan:
    """Ask the hub which files the model has and how big they are (no download)."""
    repo_id = repo_id.strip()
    if offline():
        raise OfflineError(repo_id, "HF_HUB_OFFLINE is set")
    from huggingface_hub import HfApi

    try:
        info = HfApi().model_info(repo_id, files_metadata=True, timeout=timeout)
    except Exception as exc:  # httpx, hub and OS errors of several kinds
        raise hub_problem(repo_id, exc) from None
    listing = [(s.rfilename, int(s.size or 0)) for s in (info.siblings or [])]
    return plan_files(repo_id, listing)


def expected_kind(repo_id: str) -> str:
    """What a known hub id is for, before its listing is known."""
    return "tagger" if repo_id in WD14_MODELS else "captioner"


class _Meter:
    """Shared between the download thread and the stage: bytes so far, and the stop flag."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.current = 0  # bytes of the file now downloading (largest bar seen)

    def seen(self, n: float) -> None:
        with self.lock:
            self.current = max(self.current, int(n))


def _bar_class(meter: _Meter) -> type[Any]:
    """A silent tqdm that reports to ``meter`` and stops the download when asked."""
    from tqdm.std import tqdm

    class Bar(tqdm):  # type: ignore[type-arg]  # tqdm is generic, untyped here
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # nothing on stderr; the count is kept here
            self.bytes_seen = int(kwargs.get("initial") or 0)
            super().__init__(*args, **kwargs)
            meter.seen(self.bytes_seen)

        def update(self, n: float | None = 1) -> bool | None:
            if meter.stop.is_set():
                raise DownloadCancelled()
            self.bytes_seen += int(n or 0)
            meter.seen(self.bytes_seen)
            return None

    return Bar


Fetch = Callable[[str, str, type[Any]], str]  # (repo id, file name, tqdm class) -> local path


def _hub_fetch(repo_id: str, filename: str, bar: type[Any]) -> str:
    from huggingface_hub import hf_hub_download

    return str(hf_hub_download(repo_id, filename, tqdm_class=bar))


def download_stage(plan: DownloadPlan, fetch: Fetch | None = None) -> Stage[str]:
    """Download the plan's files into the Hugging Face cache; returns the snapshot folder.

    Progress counts bytes.  Closing the stage (cancel) stops the file being downloaded at its
    next chunk; what was fetched stays in the cache and a later download resumes it.
    """
    if offline():
        raise OfflineError(plan.repo_id, "HF_HUB_OFFLINE is set")
    fetch = fetch or _hub_fetch
    meter = _Meter()
    bar = _bar_class(meter)
    total, done, folder = plan.size, 0, ""
    yield Progress("download", 0, total, plan.repo_id, "starting")
    for name, size in plan.files:
        meter.current = 0
        result: dict[str, Any] = {}
        thread = threading.Thread(
            target=_fetch_into, args=(fetch, plan.repo_id, name, bar, result), daemon=True
        )
        thread.start()
        try:
            while thread.is_alive():
                thread.join(_POLL_S)
                got = done + min(meter.current, size)
                yield Progress("download", got, total, name, f"downloading {name}")
        finally:
            if thread.is_alive():  # cancelled: stop at the next chunk
                meter.stop.set()
                thread.join(30)
        if "error" in result:
            raise hub_problem(plan.repo_id, result["error"])
        done += size
        path = Path(result["path"])
        folder = str(path.parents[len(Path(name).parts) - 1])
    yield Progress("download", total, total, plan.repo_id, "done")
    return folder


def _fetch_into(
    fetch: Fetch, repo_id: str, name: str, bar: type[Any], result: dict[str, Any]
) -> None:
    try:
        result["path"] = fetch(repo_id, name, bar)
    except DownloadCancelled:
        result["error"] = DownloadCancelled()
    except BaseException as exc:  # reported by the stage, in its thread
        result["error"] = exc


def plans_stage(repo_ids: Sequence[str]) -> Stage[dict[str, DownloadPlan | str]]:
    """The download plan of each hub id, or why it is not known; offline stops at the first
    id (every other lookup would wait for the same missing network)."""
    out: dict[str, DownloadPlan | str] = {}
    for i, repo_id in enumerate(repo_ids):
        yield Progress("look up sizes", i, len(repo_ids), repo_id, "asking the hub")
        try:
            out[repo_id] = download_plan(repo_id)
        except OfflineError as exc:
            for rest in repo_ids[i:]:
                out[rest] = str(exc)
            break
        except ModelError as exc:
            out[repo_id] = str(exc)
    yield Progress("look up sizes", len(repo_ids), len(repo_ids), "", "done")
    return out
