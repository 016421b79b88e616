"""The tagger and captioner models on this machine: listing, adding with a check, a load check.

What the Models dialog shows and runs, without Qt: the model folders the person added (kept in
the project's settings) and the models in the Hugging Face cache with their size on disk, an
"add a folder" stage that loads the model the way a job would before it is listed, a "does it
load" stage and the caption server's model list (generators yielding Progress, see
``workstation.core.progress``), so they run as jobs off the GUI thread and from tests alike.
Downloads are in ``workstation.core.autotag.downloads``.  huggingface_hub, onnxruntime and
torch are imported only inside the functions that need them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workstation.core.autotag.base import CaptionServerError, ModelError
from workstation.core.progress import Progress, Stage
from workstation.core.store import MODEL_FOLDERS, Project


@dataclass(frozen=True)
class ModelEntry:
    name: str  # hub id or folder path
    where: str  # "folder" | "folder (missing)" | "HF cache"
    size: int  # bytes on disk
    path: str
    kind: str  # "captioner" | "tagger" | "?"

    @property
    def local(self) -> bool:
        """A folder the person added (else a model in the Hugging Face cache)."""
        return self.where.startswith("folder")

    @property
    def model_ref(self) -> str:
        """What settings store to use it: the folder path, or the hub id of a cached model."""
        return self.path if self.local else self.name


PURPOSE = {
    "tagger": "Tagging: a WD14 tagger (model.onnx + selected_tags.csv) finds Danbooru tags",
    "captioner": "Captions: a video-language model describes each clip in a sentence",
    "?": "Not a model the workstation can use",
}


def model_kind(folder: Path) -> str:
    """ "tagger" (a WD14 ONNX tagger), "captioner" (a transformers model) or "?"."""
    if (folder / "model.onnx").is_file() and (folder / "selected_tags.csv").is_file():
        return "tagger"
    if (folder / "config.json").is_file():
        return "captioner"
    return "?"


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def model_folders(project: Project) -> list[str]:
    folders: tuple[str, ...] = project.get(MODEL_FOLDERS)
    return list(folders)


def check_folder(folder: str | Path) -> str:
    """The kind of model in ``folder`` ("tagger" or "captioner"), checked by loading it the
    way a job will (a tagger through onnxruntime; a captioner's files and config); a folder
    that holds no usable model raises ModelError saying why."""
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise ModelError(path, "no such folder")
    kind = model_kind(path)
    if kind == "tagger":
        from workstation.core.autotag.wd14 import WD14Tagger

        tagger = WD14Tagger(path, spin=False)
        del tagger
    elif kind == "captioner":
        _check_captioner(path)
    else:
        raise ModelError(
            path,
            "holds no model: expected config.json + weights (a transformers "
            "captioner) or model.onnx + selected_tags.csv (a WD14 tagger)",
        )
    return kind


def _check_captioner(path: Path) -> None:
    """Files and config of a transformers model folder (loading the weights takes minutes
    and gigabytes: "Check it loads" does that on request)."""
    import importlib.util

    from workstation.core.autotag.hf_captioner import check_model_source

    check_model_source(str(path))
    if importlib.util.find_spec("transformers") is None:
        return  # the Caption job says transformers is missing
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(path, f"config.json is not one transformers can read ({first})") from None


def add_model_folder(project: Project, folder: str | Path, *, check: bool = True) -> str:
    """Remember a local model folder; one that holds no usable model is refused with why
    (``check``: loaded first, see :func:`check_folder`)."""
    path = Path(folder).expanduser().resolve()
    if check:
        check_folder(path)
    elif not path.is_dir():
        raise ModelError(path, "no such folder")
    folders = model_folders(project)
    if str(path) not in folders:
        project.put(MODEL_FOLDERS, (*folders, str(path)))
    return str(path)


def add_folder_stage(project: Project, folder: str | Path) -> Stage[str]:
    """:func:`add_model_folder` as a job (loading a large tagger takes a few seconds)."""
    yield Progress("add model", 0, 1, str(folder), "checking the model loads")
    path = add_model_folder(project, folder)
    yield Progress("add model", 1, 1, path, "added")
    return path


def cached_models(cache_dir: str | Path | None = None) -> list[ModelEntry]:
    """Models in the Hugging Face cache (empty when there is no cache yet)."""
    try:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound
    except ImportError:
        return []
    try:
        info = scan_cache_dir(cache_dir)
    except (CacheNotFound, OSError):
        return []
    out = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        snaps = sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True)
        path = str(snaps[0].snapshot_path) if snaps else str(repo.repo_path)
        kind = model_kind(Path(path)) if snaps else "?"
        out.append(ModelEntry(repo.repo_id, "HF cache", repo.size_on_disk, path, kind))
    return sorted(out, key=lambda e: e.name.lower())


def list_models(project: Project) -> list[ModelEntry]:
    """The project's model folders (in the order added), then the Hugging Face cache's."""
    entries = []
    for f in model_folders(project):
        p = Path(f)
        if p.is_dir():
            entries.append(ModelEntry(f, "folder", folder_size(p), f, model_kind(p)))
        else:
            entries.append(ModelEntry(f, "folder (missing)", 0, f, "?"))
    return entries + cached_models()


def tagger_problem(model: str) -> str | None:
    """Why ``model`` (a folder or hub id) cannot tag without a download; None when it can."""
    from workstation.core.autotag.wd14 import LABEL_FILE, MODEL_FILE

    path = Path(model).expanduser()
    if path.is_dir():
        missing = [f for f in (MODEL_FILE, LABEL_FILE) if not (path / f).is_file()]
        if missing:
            return f"{path}: the folder has no {' or '.join(missing)}; it is not a WD14 tagger"
        return None
    if path.is_absolute() or model.startswith("."):
        return f"{path}: no such folder"
    if any(e.name == model and e.kind == "tagger" for e in cached_models()):
        return None
    return (
        f"{model} is not on this machine yet: download it in Models… (the size is shown "
        "before anything is downloaded), or choose a tagger folder you have"
    )


def captioner_problem(model: str) -> str | None:
    """Why ``model`` (a folder or hub id) cannot caption without a download; None when it can
    (as far as its files tell: "Check it loads" in Models loads it)."""
    from workstation.core.autotag.hf_captioner import check_model_source

    try:
        if check_model_source(model) is not None:
            return None
    except ModelError as exc:
        return str(exc)
    if any(e.name == model and e.kind == "captioner" for e in cached_models()):
        return None
    return (
        f"{model} is not on this machine yet: download it in Models… (the size is shown "
        "before anything is downloaded), choose a model folder you have, or use a server"
    )


def server_models_stage(server: str, api_key: str = "", timeout: float = 10.0) -> Stage[list[str]]:
    """The models an OpenAI-compatible server offers ("Test connection"); a server that does
    not list them answers with an empty list; one that cannot be reached raises
    CaptionServerError with a plain, password-free message."""
    from workstation.core.autotag.openai_captioner import OpenAICaptioner, redact_url

    yield Progress("test server", 0, 1, redact_url(server), "connecting")
    if not server.strip():
        raise CaptionServerError("Server address: type one, e.g. http://127.0.0.1:1234")
    found = OpenAICaptioner(server, "", api_key=api_key, timeout=timeout).models()
    yield Progress("test server", 1, 1, redact_url(server), "answered")
    return list(found or [])


def check_stage(name: str, kind: str, device: str) -> Stage[str]:
    """Load a model once and free it: tells whether it can be used before a long job."""
    yield Progress("check", 0, 1, name, "loading")
    if kind == "tagger":
        from workstation.core.autotag import TagSettings, create_tagger

        tagger = create_tagger(TagSettings(model=name))
        where = tagger.provider
        del tagger
    else:
        from workstation.core.autotag.caption_child import local_captioner

        cap = local_captioner(name, device=device)  # in the training environment when frozen
        if hasattr(cap, "dtype"):
            where = f"{getattr(cap, 'device', device)} ({cap.dtype})"
        else:
            where = f"{device} in the training components' Python"
        cap.close()
    yield Progress("check", 1, 1, name, "loaded")
    return f"{name} loads on {where}"
