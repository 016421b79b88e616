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
    """The earlier run's manifest; a missing, damaged or foreign one reads as empty, and items
    that are not ``{"video": "<path>", ...}`` objects are dropped (nothing is reused for them)."""
    try:
        data = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {"version": MANIFEST_VERSION, "items": {}}
    items = data.get("items")
    data["items"] = {
        k: v
        for k, v in (items.items() if isinstance(items, dict) else ())
        if isinstance(v, dict) and isinstance(v.get("video"), str)
    }
    return data


def write_manifest(out: Path, settings: ExportSettings, items: dict[str, Any]) -> None:
    write_text(
        out / MANIFEST,
        json.dumps(
            {"version": MANIFEST_VERSION, "settings": settings.to_params(), "items": items},
            indent=1,
            sort_keys=True,
        ),
    )


def remove_stale(out: Path, old: dict[str, Any], new: dict[str, Any]) -> tuple[int, list[str]]:
    """Delete the videos (and their .txt) an earlier run listed that this run no longer writes.

    The manifest is a file in a folder the person controls, so it is not trusted: an entry that
    is not an ``.mp4`` inside ``out`` (``../victim.mp4``, an absolute path, a link out) is left
    alone and reported.  Returns how many videos were removed and one sentence per refusal.
    """
    removed, refused = 0, []
    root = out.resolve()
    live = {v.get("video") for v in new.values()}
    for item in old.values():
        rel = item.get("video") if isinstance(item, dict) else None
        if rel in live:
            continue
        target = (out / str(rel)).resolve() if isinstance(rel, str) else None
        if target is None or target.suffix != ".mp4" or root not in target.parents:
            refused.append(
                f"{out / MANIFEST}: entry {rel!r} is not a video inside the export folder; "
                "nothing was deleted for it"
            )
            continue
        for p in (target, target.with_suffix(".txt")):
            if p.exists():
                p.unlink()
                removed += p.suffix == ".mp4"
    return removed, refused


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
