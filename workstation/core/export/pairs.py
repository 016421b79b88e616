"""The ``pairs`` layout (diffusion-pipe, musubi-tuner, ai-toolkit): every video beside its caption.

``OUT/<key>.mp4`` + ``OUT/<key>.txt`` and ``OUT/metadata.jsonl`` (``{"video_path",
"caption"}``); the validation split alike in ``OUT/val/``.
"""

from __future__ import annotations

import json

from workstation.core.export.files import OutFiles
from workstation.core.export.settings import ExportedClip, ExportSettings


def video_rel(split: str, key: str) -> str:
    return f"{key}.mp4" if split == "train" else f"val/{key}.mp4"


def index_files(split: str, keys: list[str], settings: ExportSettings) -> list[str]:
    base = "" if split == "train" else "val/"
    return [*(f"{base}{k}.txt" for k in keys), f"{base}metadata.jsonl"]


def write_split(
    files: OutFiles, split: str, items: list[ExportedClip], settings: ExportSettings
) -> None:
    out = files.out
    base = out if split == "train" else out / "val"
    lines = []
    for c in items:
        files.write_text(base / f"{c.key}.txt", c.caption)
        lines.append(
            json.dumps({"video_path": f"{c.key}.mp4", "caption": c.caption}, ensure_ascii=False)
        )
    if items or (base / "metadata.jsonl").exists():
        files.write_text(base / "metadata.jsonl", "".join(line + "\n" for line in lines))
