"""The export's own index files: ``export.json`` (the manifest) and ``report.json``.

The manifest remembers what every file was made from (a fingerprint of the clip and the
transforms), so a re-run only re-encodes what changed and removes what is no longer selected;
it lists exactly the videos complete on disk.  The report says, per clip, what the target
trainers will do with it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from workstation.core.export.files import write_text
from workstation.core.export.settings import ExportResult, ExportSettings, TrainerNote
from workstation.core.store import Clip

MANIFEST = "export.json"
REPORT = "report.json"
MANIFEST_VERSION = 1

# AnimateDiff's default sampling: 16 frames at stride 4 spans 61 source frames.
ANIMATEDIFF_FRAMES = 16
ANIMATEDIFF_STRIDE = 4


def fingerprint(clip: Clip, settings: ExportSettings) -> str:
    st = clip.path.stat()
    transform = {k: settings.to_params()[k] for k in ("size", "crop", "fps", "crf")}
    raw = json.dumps([str(clip.path), st.st_size, st.st_mtime_ns, transform], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def load_manifest(out: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((out / MANIFEST).read_text())
        if data.get("version") == MANIFEST_VERSION:
            return data
    except (OSError, ValueError):
        pass
    return {"version": MANIFEST_VERSION, "items": {}}


def write_manifest(out: Path, settings: ExportSettings, items: dict[str, Any]) -> None:
    write_text(
        out / MANIFEST,
        json.dumps(
            {"version": MANIFEST_VERSION, "settings": settings.to_params(), "items": items},
            indent=1,
            sort_keys=True,
        ),
    )


def remove_stale(out: Path, old: dict[str, Any], new: dict[str, Any]) -> int:
    removed = 0
    live = {v["video"] for v in new.values()}
    for item in old.values():
        rel = item["video"]
        if rel in live:
            continue
        for p in (out / rel, (out / rel).with_suffix(".txt")):
            if p.exists():
                p.unlink()
                removed += p.suffix == ".mp4"
    return removed


# ---------------------------------------------------------------------------------------------
# What trainers do with a clip
# ---------------------------------------------------------------------------------------------
def trainer_notes(frames: int) -> list[TrainerNote]:
    """How AnimateDiff and 4N+1 trainers (Wan, HunyuanVideo) will read a clip of ``frames``."""
    notes = []
    span = (ANIMATEDIFF_FRAMES - 1) * ANIMATEDIFF_STRIDE + 1
    if frames >= span:
        notes.append(
            TrainerNote(
                "animatediff",
                True,
                f"{ANIMATEDIFF_FRAMES} frames at stride {ANIMATEDIFF_STRIDE} fit",
            )
        )
    elif frames >= ANIMATEDIFF_FRAMES:
        stride = (frames - 1) // (ANIMATEDIFF_FRAMES - 1)
        notes.append(
            TrainerNote(
                "animatediff",
                False,
                f"{frames} frames < {span}: the official loader repeats frames at stride "
                f"{ANIMATEDIFF_STRIDE}; stride {stride} would fit (the workstation trainer uses it)",
            )
        )
    else:
        notes.append(
            TrainerNote(
                "animatediff",
                False,
                f"{frames} frames < {ANIMATEDIFF_FRAMES}: too short for a {ANIMATEDIFF_FRAMES}-frame "
                "sample; the official loader repeats frames",
            )
        )
    usable = frames - (frames - 1) % 4 if frames >= 1 else 0
    if usable == frames:
        notes.append(TrainerNote("4n+1", True, f"{frames} = 4N+1 frames"))
    else:
        notes.append(
            TrainerNote("4n+1", False, f"{frames} frames is not 4N+1: trimmed to {usable}")
        )
    return notes


def write_report(out: Path, result: ExportResult) -> None:
    report = {
        "format": result.format,
        "train": result.train,
        "val": result.val,
        "skipped": result.skipped,
        "errors": result.errors,
        "clips": [
            {
                "key": c.key,
                "split": c.split,
                "frames": c.frames,
                "fps": c.fps,
                "size": [c.width, c.height],
                "trainers": {n.trainer: {"ok": n.ok, "message": n.message} for n in c.notes},
            }
            for c in sorted(result.clips, key=lambda c: c.key)
        ],
    }
    write_text(out / REPORT, json.dumps(report, indent=1))
