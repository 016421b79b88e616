"""The ``webvid`` layout, read by AnimateDiff's WebVid10M loader.

``OUT/videos/<key>.mp4`` and ``OUT/train.csv`` (+ ``OUT/val.csv``) with the columns
``videoid,contentUrl,duration,page_dir,name``.
"""

from __future__ import annotations

import csv
import io
from fractions import Fraction

from workstation.core.export.files import OutFiles
from workstation.core.export.settings import ExportedClip, ExportSettings


def video_rel(split: str, key: str) -> str:
    return f"videos/{key}.mp4"


def index_files(split: str, keys: list[str], settings: ExportSettings) -> list[str]:
    return [f"{split}.csv"]


def write_split(
    files: OutFiles, split: str, items: list[ExportedClip], settings: ExportSettings
) -> None:
    out = files.out
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["videoid", "contentUrl", "duration", "page_dir", "name"])
    for c in items:
        seconds = c.frames / float(Fraction(c.fps)) if Fraction(c.fps) else 0
        writer.writerow(
            [c.key, f"videos/{c.key}.mp4", _iso_duration(seconds), "workstation", c.caption]
        )
    if items or (out / f"{split}.csv").exists():
        files.write_text(out / f"{split}.csv", buf.getvalue())


def _iso_duration(seconds: float) -> str:
    """WebVid's duration format, e.g. ``PT00H00M07S``."""
    s = max(0, round(seconds))
    return f"PT{s // 3600:02d}H{s % 3600 // 60:02d}M{s % 60:02d}S"
