"""The WD14 family of Danbooru taggers (SmilingWolf v2/v3) run with onnxruntime.

A model is a folder holding ``model.onnx`` and ``selected_tags.csv`` (``tag_id,name,category,
count``; category 9 = rating, 0 = general, 4 = character), or a Hugging Face repo id that is
downloaded once into the hub cache.  Preprocessing follows the reference taggers exactly
(SmilingWolf's wd-tagger space): alpha composited onto white, padded to a centred square on
white, bicubic resize to the model's input size, float32 0-255, RGB->BGR, NHWC.  Outputs are
already sigmoid probabilities.

onnxruntime and huggingface_hub are imported inside functions: the GUI imports this module.
"""

from __future__ import annotations

import csv
import os
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import numpy as np
from PIL import Image

from workstation.core.autotag.base import ModelError

if TYPE_CHECKING:  # imported where used: loading onnxruntime takes a while
    import onnxruntime as ort

MODEL_FILE = "model.onnx"
LABEL_FILE = "selected_tags.csv"
LABEL_COLUMNS = ("tag_id", "name", "category", "count")
RATING, GENERAL, CHARACTER = 9, 0, 4
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_OPT_IN_PROVIDERS = ("AzureExecutionProvider", "TensorrtExecutionProvider")
CATEGORY_NAMES = {RATING: "rating", GENERAL: "general", CHARACTER: "character"}

# Tags the reference tagger keeps with underscores (the underscore is part of the face).
KAOMOJIS = frozenset(
    [
        "0_0",
        "(o)_(o)",
        "+_+",
        "+_-",
        "._.",
        "<o>_<o>",
        "<|>_<|>",
        "=_=",
        ">_<",
        "3_3",
        "6_9",
        ">_o",
        "@_@",
        "^_^",
        "o_o",
        "u_u",
        "x_x",
        "|_|",
        "||_||",
    ]
)


@dataclass(frozen=True)
class Labels:
    names: list[str]
    categories: np.ndarray  # int32 per label


def display_name(name: str, underscores: bool) -> str:
    """Danbooru names use underscores; captions and trainers usually want spaces."""
    if underscores or name in KAOMOJIS:
        return name
    return name.replace("_", " ")


def load_labels(path: str | Path) -> Labels:
    """Read ``selected_tags.csv``; a missing file or wrong columns is a clear ModelError."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(path, "label file not found (a WD14 model folder needs selected_tags.csv)")
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise ModelError(path, "label file is empty")
            header = [h.strip() for h in header]
            missing = [c for c in ("name", "category") if c not in header]
            if missing:
                raise ModelError(
                    path,
                    f"not a WD14 label file: expected columns {','.join(LABEL_COLUMNS)}, "
                    f"found {','.join(header)}",
                )
            i_name, i_cat = header.index("name"), header.index("category")
            names: list[str] = []
            cats: list[int] = []
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                try:
                    names.append(row[i_name])
                    cats.append(int(row[i_cat]))
                except (IndexError, ValueError):
                    raise ModelError(
                        path, f"line {line}: expected name and a numeric category, got {row!r}"
                    ) from None
    except UnicodeDecodeError:
        raise ModelError(path, "label file is not UTF-8 text") from None
    if not names:
        raise ModelError(path, "label file lists no tags")
    return Labels(names, np.asarray(cats, dtype=np.int32))


def resolve_model(model: str | Path) -> tuple[Path, str]:
    """Return (folder, model id for provenance) of a local folder or a hub model.

    A hub id is downloaded into the Hugging Face cache (``hf_hub_download``); offline
    (``HF_HUB_OFFLINE=1``) only the cache is used.
    """
    text = str(model)
    path = Path(text).expanduser()
    if path.is_dir():
        for needed in (MODEL_FILE, LABEL_FILE):
            if not (path / needed).is_file():
                raise ModelError(
                    path,
                    f"model folder has no {needed} (a WD14 model needs "
                    f"{MODEL_FILE} and {LABEL_FILE})",
                )
        return path.resolve(), str(path.resolve())
    if path.is_file():
        raise ModelError(
            path, f"give the model folder (with {MODEL_FILE} and {LABEL_FILE}), not a single file"
        )
    if not _HUB_ID.match(text):
        raise ModelError(
            path,
            "model folder not found (give a folder with model.onnx and "
            "selected_tags.csv, or a Hugging Face id like "
            "SmilingWolf/wd-vit-tagger-v3)",
        )
    return _download(text), text


def _download(repo_id: str) -> Path:
    """Both files from the cache when there (no network at all), else from the hub once."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError

    offline = bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "").lower() in (
        "1",
        "true",
        "yes",
        "on",
    )
    files: list[str] = []
    try:
        files = [
            hf_hub_download(repo_id, f, local_files_only=True) for f in (MODEL_FILE, LABEL_FILE)
        ]
    except LocalEntryNotFoundError:
        if offline:
            raise ModelError(
                repo_id,
                "model not in the Hugging Face cache and offline (HF_HUB_OFFLINE=1): run once "
                "while online to download it, or give a local folder with model.onnx and "
                "selected_tags.csv",
            ) from None
        host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
        if not _reachable(host):  # fail now, not after a minute of retries
            raise ModelError(
                repo_id,
                f"model not in the Hugging Face cache and {host} cannot be reached: run once "
                "while online to download it, or give a local folder with model.onnx and "
                "selected_tags.csv",
            ) from None
        try:
            files = [hf_hub_download(repo_id, f) for f in (MODEL_FILE, LABEL_FILE)]
        except RepositoryNotFoundError:
            raise ModelError(
                repo_id,
                "no such model on the Hugging Face hub (or it is "
                "private: log in with `hf auth login`)",
            ) from None
        except LocalEntryNotFoundError:
            raise ModelError(
                repo_id,
                "download failed and the model is not in the Hugging Face cache: "
                "check the network, or give a local folder with model.onnx and "
                "selected_tags.csv",
            ) from None
        except Exception as exc:  # HTTP and disk errors of several libraries
            raise ModelError(repo_id, f"download failed: {exc}") from None
    return Path(files[0]).parent


def _reachable(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class WD14Tagger:
    """A loaded WD14 model: :meth:`preprocess` one frame, :meth:`predict` a batch."""

    def __init__(
        self,
        folder: str | Path,
        *,
        model_id: str | None = None,
        providers: tuple[str, ...] | list[str] | None = None,
        threads: int | None = None,
        spin: bool = True,
    ) -> None:
        import onnxruntime as ort

        folder = Path(folder)
        model_path = folder / MODEL_FILE
        if not model_path.is_file():
            raise ModelError(model_path, "model file not found")
        labels = load_labels(folder / LABEL_FILE)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        if not spin:  # idle threads sleep instead of busy-waiting (leaves CPU to decoding)
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        available = ort.get_available_providers()
        # Azure is a remote-call provider and TensorRT builds engines for minutes: opt-in only.
        default = [p for p in available if p not in _OPT_IN_PROVIDERS]
        wanted = [p for p in (providers or default) if p in available] or ["CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(str(model_path), options, providers=wanted)
        except Exception as exc:  # onnxruntime raises its own InvalidProtobuf/Fail/... types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(
                model_path, f"not an ONNX model onnxruntime can load ({first})"
            ) from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or not outputs:
            raise ModelError(
                model_path, "not a WD14 tagger: expected one image input and an output"
            )
        shape = inputs[0].shape
        if (
            len(shape) != 4
            or shape[3] != 3
            or not isinstance(shape[1], int)
            or shape[1] != shape[2]
        ):
            raise ModelError(
                model_path,
                f"not a WD14 tagger: input shape {shape}, expected [batch, N, N, 3] (NHWC)",
            )
        if "float" not in inputs[0].type:
            raise ModelError(model_path, f"not a WD14 tagger: input type {inputs[0].type}")
        self.input_name = inputs[0].name
        self.output_name = outputs[0].name
        self.size = int(shape[1])
        self.dynamic_batch = not isinstance(shape[0], int)
        out_shape = outputs[0].shape
        if out_shape and isinstance(out_shape[-1], int) and out_shape[-1] != len(labels.names):
            raise ModelError(
                folder,
                f"{MODEL_FILE} has {out_shape[-1]} outputs but {LABEL_FILE} lists "
                f"{len(labels.names)} tags: they are not from the same model",
            )
        self.names = labels.names
        self._runs: set[ort.RunOptions] = set()
        self._lock = threading.Lock()
        self.categories = labels.categories
        self.model_id = model_id or str(folder.resolve())
        self.folder = folder
        # The provider actually running the graph (onnxruntime silently falls back to CPU).
        used = [p for p in self.session.get_providers() if p != "AzureExecutionProvider"]
        self.provider = used[0] if used else "CPUExecutionProvider"

    @classmethod
    def load(
        cls,
        model: str | Path,
        providers: tuple[str, ...] | list[str] | None = None,
        threads: int | None = None,
        spin: bool = True,
    ) -> WD14Tagger:
        folder, model_id = resolve_model(model)
        return cls(folder, model_id=model_id, providers=providers, threads=threads, spin=spin)

    def preprocess(self, image: np.ndarray | Image.Image) -> np.ndarray:
        """One RGB(A) image -> (size, size, 3) float32 BGR, exactly as the reference tagger."""
        img = Image.fromarray(image) if isinstance(image, np.ndarray) else image
        if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
            canvas = Image.new("RGBA", img.size, (255, 255, 255, 255))
            canvas.alpha_composite(img.convert("RGBA"))
            rgb = canvas.convert("RGB")
        else:  # opaque: compositing onto white would change nothing
            rgb = img.convert("RGB")
        side = max(rgb.size)
        square = Image.new("RGB", (side, side), (255, 255, 255))
        square.paste(rgb, ((side - rgb.size[0]) // 2, (side - rgb.size[1]) // 2))
        if side != self.size:
            square = square.resize((self.size, self.size), Image.Resampling.BICUBIC)
        # RGB->BGR on the uint8 pixels, then one contiguous float32 copy (0-255, not scaled).
        return np.asarray(square)[:, :, ::-1].astype(np.float32)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """(N, size, size, 3) preprocessed frames -> (N, labels) probabilities.

        May run in a worker thread; :meth:`interrupt` from another thread stops it (a large
        model on a CPU takes many seconds per batch, and cancel should not wait for that).
        """
        import onnxruntime as ort

        batch = np.ascontiguousarray(batch, dtype=np.float32)
        options = ort.RunOptions()
        with self._lock:
            self._runs.add(options)
        try:
            if self.dynamic_batch or len(batch) == 1:
                probs: np.ndarray = self.session.run(  # onnxruntime has no type information
                    [self.output_name], {self.input_name: batch}, options
                )[0]
                return probs
            parts = []
            for i in range(len(batch)):
                if options.terminate:
                    raise InterruptedError("interrupted")
                parts.append(
                    self.session.run(
                        [self.output_name], {self.input_name: batch[i : i + 1]}, options
                    )[0]
                )
            return np.concatenate(parts)
        except Exception:
            if options.terminate:
                raise InterruptedError("tagger interrupted") from None
            raise
        finally:
            with self._lock:
                self._runs.discard(options)

    def interrupt(self) -> None:
        """Make every predict() now running raise InterruptedError (onnxruntime's terminate)."""
        with self._lock:
            for options in self._runs:
                options.terminate = True
