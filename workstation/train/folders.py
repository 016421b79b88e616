"""What a dataset or model folder holds, read from its layout alone: no torch, no diffusers.

The Train tab checks each path as it is typed, and the training child checks them again before
it imports torch (~10 s) and loads the models (~10 s more), so a folder that is not a model or
not an export is refused at once, with what was found there.  Only file names, JSON configs and
the header of a ``.safetensors`` file are read: 8 bytes of header length, then a JSON object
naming every tensor with its dtype and shape.  The ``safetensors`` package is only in the
``train`` extra, so the few lines that read that header live here; the real load stays in the
child (:mod:`workstation.train.models`).

The export reader (:func:`read_export`) is here too, for the same reason: the window counts the
clips of an export with the code the trainer reads it with.
"""

from __future__ import annotations

import csv
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.core.errors import WorkstationError

MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit on the JSON header
# Key prefixes of an original-format (CompVis / A1111) Stable Diffusion checkpoint.
SD_UNET = "model.diffusion_model."
SD_VAE = "first_stage_model."
SD1_TEXT = "cond_stage_model.transformer."  # CLIP ViT-L (SD1.x)
SD2_TEXT = "cond_stage_model.model."  # OpenCLIP ViT-H (SD2.x)
SDXL_TEXT = "conditioner.embedders."
DIFFUSERS_PARTS = ("unet", "vae", "text_encoder", "tokenizer")  # what load_base reads


class NotAModel(WorkstationError):
    """A path that is not the kind of model asked for; str() says what was found instead."""


# -- dataset exports ------------------------------------------------------------------------
@dataclass(frozen=True)
class ClipEntry:
    path: Path
    caption: str


@dataclass(frozen=True)
class DatasetInfo:
    """An export folder as the trainer reads it: its layout, its clips, the missing files."""

    layout: str  # "pairs" (metadata.jsonl) or "webvid" (CSV + videos/)
    index: Path  # the file listing the clips
    clips: list[ClipEntry]
    missing: int  # listed clips whose file is not there

    def describe(self) -> str:
        kind = "metadata.jsonl" if self.layout == "pairs" else f"WebVid, {self.index.name}"
        text = f"{self.layout} export ({kind}): {_count(len(self.clips), 'clip')}"
        if self.missing:
            text += f", {self.missing} of them missing (skipped)"
        return text


def read_export(folder: str | Path) -> list[ClipEntry]:
    """The clips and captions of an export folder (metadata.jsonl or WebVid CSV); files that
    are not there are listed too (the trainer reports them once when it opens the clips)."""
    return _read_index(Path(folder))[2]


def inspect_export(folder: str | Path) -> DatasetInfo:
    """An export folder's layout and clips; WorkstationError naming the folder when it is not
    one the trainer reads (a WebDataset export says so) or none of its clips is there."""
    layout, index, clips = _read_index(Path(folder))
    missing = sum(1 for c in clips if not c.path.is_file())
    if missing == len(clips):
        raise WorkstationError(
            f"{index}: no listed clip is there ({len(clips)} listed; the first: {clips[0].path})"
        )
    return DatasetInfo(layout, index, clips, missing)


def _read_index(root: Path) -> tuple[str, Path, list[ClipEntry]]:
    if not root.is_dir():
        raise WorkstationError(f"{root}: dataset folder not found")
    meta = root / "metadata.jsonl"
    try:
        if meta.exists():
            return "pairs", meta, _read_jsonl(meta)
        for path in sorted(root.glob("*.csv")):
            with path.open(newline="", encoding="utf-8") as f:
                header = next(csv.reader(f), [])
            if "videoid" in header and "name" in header:
                return "webvid", path, _read_webvid(path, root)
        shards = list(root.glob("*.tar")) + list(root.glob("train/*.tar"))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise WorkstationError(f"{root}: cannot read the export ({exc})") from None
    if shards:
        raise WorkstationError(
            f"{root}: a WebDataset export (tar shards); this trainer reads the pairs "
            "(metadata.jsonl) or WebVid layout: export again in one of those"
        )
    raise WorkstationError(
        f"{root}: not a dataset export: expected metadata.jsonl or a WebVid "
        "CSV (columns videoid,contentUrl,duration,page_dir,name) with videos/"
    )


def _read_jsonl(meta: Path) -> list[ClipEntry]:
    entries = []
    for n, line in enumerate(meta.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkstationError(f"{meta}, line {n}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("video_path"), str):
            raise WorkstationError(f'{meta}, line {n}: missing "video_path" (a relative path)')
        caption = obj.get("caption", obj.get("text", ""))
        if not isinstance(caption, str):
            raise WorkstationError(f'{meta}, line {n}: "caption" must be a string')
        entries.append(ClipEntry(meta.parent / obj["video_path"], caption.strip()))
    if not entries:
        raise WorkstationError(f"{meta}: no clips listed")
    return entries


def _read_webvid(path: Path, root: Path) -> list[ClipEntry]:
    entries = []
    with path.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), 2):
            vid = (row.get("videoid") or "").strip()
            if not vid:
                raise WorkstationError(f'{path}, line {n}: empty "videoid"')
            entries.append(
                ClipEntry(root / "videos" / f"{vid}.mp4", (row.get("name") or "").strip())
            )
    if not entries:
        raise WorkstationError(f"{path}: no clips listed")
    return entries


# -- safetensors headers --------------------------------------------------------------------
def safetensors_header(path: Path) -> dict[str, Any]:
    """The tensor table of a .safetensors file (name -> {dtype, shape, data_offsets});
    NotAModel when the file does not start like one."""
    try:
        with path.open("rb") as f:
            size = path.stat().st_size
            raw = f.read(8)
            if len(raw) < 8:
                raise NotAModel(f"{path}: not a .safetensors file ({size} bytes)")
            (n,) = struct.unpack("<Q", raw)
            if n > MAX_HEADER_BYTES or 8 + n > size:
                raise NotAModel(f"{path}: not a .safetensors file (no valid header)")
            header = json.loads(f.read(n))
    except OSError as exc:
        raise WorkstationError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise NotAModel(f"{path}: not a .safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise NotAModel(f"{path}: not a .safetensors file (its header is not a table)")
    header.pop("__metadata__", None)
    return header


def _shape(header: dict[str, Any], key: str) -> list[int]:
    entry = header.get(key)
    shape = entry.get("shape") if isinstance(entry, dict) else None
    return [int(x) for x in shape] if isinstance(shape, list) else []


# -- base models ----------------------------------------------------------------------------
def inspect_base_model(path: str | Path) -> str:
    """What the base model at ``path`` is ("diffusers StableDiffusionPipeline folder"...);
    NotAModel (or WorkstationError) naming the path when it cannot be an SD1.5 base model."""
    p = Path(path)
    if p.is_dir():
        return _diffusers_folder(p)
    if not p.is_file():
        raise WorkstationError(f"{p}: base model not found")
    if p.suffix == ".ckpt":
        return "PyTorch checkpoint (.ckpt; its weights are checked when the run loads it)"
    if p.suffix != ".safetensors":
        raise NotAModel(
            f"{p}: base model must be a diffusers folder or a .safetensors/.ckpt checkpoint"
        )
    return _sd_checkpoint(p, safetensors_header(p))


def _diffusers_folder(p: Path) -> str:
    missing = [part for part in DIFFUSERS_PARTS if not (p / part).is_dir()]
    if not (p / "model_index.json").is_file() and len(missing) == len(DIFFUSERS_PARTS):
        if (p / "config.json").is_file() and "MotionAdapter" in _read_text(p / "config.json"):
            raise NotAModel(
                f"{p}: a MotionAdapter folder, not a base model: put it in Motion module"
            )
        files = sorted(
            x.name for x in p.glob("*.safetensors") if not x.name.startswith("diffusion_pytorch")
        )
        hint = f"; it holds {files[0]}: choose that file instead" if files else ""
        raise NotAModel(
            f"{p}: not a model folder (no model_index.json, unet/config.json or the other "
            f"parts of a diffusers SD1.5 folder){hint}"
        )
    if missing:
        raise NotAModel(f"{p}: not a diffusers SD1.5 folder (missing {', '.join(missing)}/)")
    index = _read_json(p / "model_index.json") if (p / "model_index.json").is_file() else {}
    unet = _read_json(p / "unet" / "config.json")
    pipeline = str(index.get("_class_name") or "diffusers pipeline")
    if "XL" in pipeline or unet.get("addition_embed_type") == "text_time":
        raise NotAModel(f"{p}: an SDXL model ({pipeline}); motion modules train on SD1.5")
    for part, stem in (("unet", "diffusion_pytorch_model"), ("vae", "diffusion_pytorch_model")):
        if not any((p / part).glob(f"{stem}*")):
            raise NotAModel(f"{p}: {part}/ has no weights ({stem}.safetensors or .bin)")
    return f"diffusers folder ({pipeline}, text width {unet.get('cross_attention_dim', '?')})"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotAModel(f"{path}: missing (the folder is not a whole diffusers model)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotAModel(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise NotAModel(f"{path}: not a JSON object")
    return obj


def _sd_checkpoint(p: Path, header: dict[str, Any]) -> str:
    keys = header.keys()
    if any(k.startswith(SDXL_TEXT) for k in keys):
        raise NotAModel(f"{p}: an SDXL checkpoint; motion modules train on SD1.5")
    if _is_motion_module(header):
        raise NotAModel(
            f"{p}: an AnimateDiff motion module, not a base model: put it in Motion module"
        )
    has = {prefix: any(k.startswith(prefix) for k in keys) for prefix in (SD_UNET, SD_VAE)}
    if not has[SD_UNET]:
        raise NotAModel(
            f"{p}: not a Stable Diffusion checkpoint (no {SD_UNET}* weights among its "
            f"{_count(len(header), 'tensor')})"
        )
    if not has[SD_VAE]:
        raise NotAModel(f"{p}: a UNet without a VAE ({SD_VAE}*); a full checkpoint is needed")
    if any(k.startswith(SD2_TEXT) for k in keys):
        raise NotAModel(f"{p}: an SD2 checkpoint (OpenCLIP text encoder); SD1.5 is needed")
    if not any(k.startswith(SD1_TEXT) for k in keys):
        raise NotAModel(f"{p}: a checkpoint without its CLIP text encoder ({SD1_TEXT}*)")
    return f"SD1.x checkpoint ({_count(len(header), 'tensor')})"


# -- motion modules -------------------------------------------------------------------------
def _is_motion_module(header: dict[str, Any]) -> bool:
    return any(".motion_modules." in k or k.startswith("motion_modules.") for k in header)


def inspect_motion_module(path: str | Path) -> str:
    """What the motion module at ``path`` is ("AnimateDiff v3 motion module"...); empty
    ``path`` is a fresh module.  NotAModel naming the path when it is none."""
    if not str(path).strip():
        return "a fresh motion module (starts as the image model)"
    p = Path(path)
    if p.is_dir():
        if not (p / "config.json").is_file():
            hint = (
                "; it is a base model: put it in Base model"
                if (p / "model_index.json").is_file()
                else ""
            )
            raise NotAModel(f"{p}: not a MotionAdapter folder (no config.json){hint}")
        config = _read_json(p / "config.json")
        if config.get("_class_name") not in (None, "MotionAdapter"):
            raise NotAModel(f"{p}: a {config['_class_name']} folder, not a MotionAdapter")
        return "diffusers MotionAdapter folder"
    if not p.is_file():
        raise WorkstationError(f"--motion-module {p}: not found")
    if p.suffix != ".safetensors":
        return f"{p.suffix} file (its weights are checked when the run loads it)"
    header = safetensors_header(p)
    if not _is_motion_module(header):
        if any(k.startswith(SD_UNET) for k in header):
            raise NotAModel(f"{p}: a Stable Diffusion checkpoint: put it in Base model")
        raise NotAModel(f"{p}: not an AnimateDiff motion module (no motion_modules weights)")
    pe = next((k for k in header if k.endswith("pos_encoder.pe")), None)
    if any(k.startswith("mid_block.") for k in header):
        version = "v2"
    elif pe is not None:
        version = "v1" if _shape(header, pe)[1:2] == [24] else "v3"
    else:
        version = "(diffusers keys)"
    return f"AnimateDiff {version} motion module"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
