"""The export's own index files: ``export.json`` (the manifest) and ``report.json``.

The manifest remembers what every video was made from (a fingerprint of the clip and the
transforms), so a re-run only re-encodes what changed; it lists exactly the videos complete on
disk.  It also records every file the export wrote (``files``: path in OUT → size and sha256),
and a later run deletes a file it no longer writes only when it is still exactly that: a file a
person edited or replaced is left, and the run says so.  A manifest of an older version has no
``files``: then nothing is deleted (the run says which files it left).  The report says, per
clip, what the target trainers will do with it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from workstation.core import atomic
from workstation.core.export.files import OutFiles, sha256_of
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


def _record(v: Any) -> bool:
    return (
        isinstance(v, dict) and isinstance(v.get("size"), int) and isinstance(v.get("sha256"), str)
    )


def load_manifest(out: Path) -> dict[str, Any]:
    """The earlier run's manifest; a missing, damaged or foreign one reads as empty, and items
    that are not ``{"video": "<path>", ...}`` objects are dropped (nothing is reused for them).
    ``files`` is None for a manifest without file records (an older version's)."""
    try:
        data = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {"version": MANIFEST_VERSION, "items": {}, "files": {}}
    items = data.get("items")
    data["items"] = {
        k: v
        for k, v in (items.items() if isinstance(items, dict) else ())
        if isinstance(v, dict) and isinstance(v.get("video"), str)
    }
    files = data.get("files")
    data["files"] = (
        {k: v for k, v in files.items() if isinstance(k, str) and _record(v)}
        if isinstance(files, dict)
        else None
    )
    return data


def write_manifest(
    files: OutFiles, settings: ExportSettings, items: dict[str, Any], records: dict[str, Any]
) -> None:
    """Write ``export.json``: the items, and the record of every file the export owns."""
    files.write_text(
        files.out / MANIFEST,
        json.dumps(
            {
                "version": MANIFEST_VERSION,
                "settings": settings.to_params(),
                "items": items,
                "files": {k: records[k] for k in sorted(records) if k != MANIFEST},
            },
            indent=1,
            sort_keys=True,
        ),
    )


def remove_stale(
    files: OutFiles, old: dict[str, Any], new: dict[str, Any], old_files: dict[str, Any] | None
) -> tuple[int, list[str], list[str]]:
    """Delete the files an earlier run wrote that this run no longer writes.

    Only a file recorded in the earlier manifest and still exactly as recorded (size and
    sha256) is deleted, and only inside OUT: the manifest is a file in a folder the person
    controls, so an entry leading out (``../victim.mp4``, an absolute path, a link out) is
    refused.  Returns how many videos were removed, one sentence per refusal (errors), and one
    per file left because it changed or cannot be shown to be the export's (notes).
    """
    out = files.out
    removed, refused, left = 0, [], []
    live = {v.get("video") for v in new.values()}
    for item in old.values():
        rel = item.get("video") if isinstance(item, dict) else None
        if rel in live:
            continue
        target = files.inside(rel) if isinstance(rel, str) else None
        if target is None or target.suffix != ".mp4":
            refused.append(
                f"{out / MANIFEST}: entry {rel!r} is not a video inside the export folder; "
                "nothing was deleted for it"
            )
        elif old_files is None and target.exists():
            left.append(
                f"{target}: no longer exported, but the manifest of an earlier version holds no "
                "checksum to show the export wrote it; left it (delete it yourself if unneeded)"
            )
    for rel, record in sorted((old_files or {}).items()):
        if rel in files.written or rel == MANIFEST:
            continue
        target = files.inside(rel)
        if target is None:
            refused.append(
                f"{out / MANIFEST}: file {rel!r} is not inside the export folder; not deleted"
            )
            continue
        if not target.is_file() or target.is_symlink():
            continue
        if not _unchanged(target, record):
            left.append(f"{target}: changed since the export wrote it; left it")
            continue
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            left.append(f"{target}: cannot be deleted ({atomic.os_problem(exc)}); left it")
            continue
        removed += target.suffix == ".mp4"
    return removed, refused, left


def _unchanged(path: Path, record: dict[str, Any]) -> bool:
    try:
        return bool(path.stat().st_size == record["size"] and sha256_of(path) == record["sha256"])
    except OSError:
        return False


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


def write_report(files: OutFiles, result: ExportResult) -> None:
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
    files.write_text(files.out / REPORT, json.dumps(report, indent=1))
