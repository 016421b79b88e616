"""The export's own index files: ``export.json`` (the manifest) and ``report.json``.

The manifest remembers what every video was made from (a fingerprint of the clip and the
transforms), so a re-run only re-encodes what changed; it lists exactly the videos complete on
disk.  It also records every file the export wrote (``files``: path in OUT → size and sha256),
and a later run deletes a file it no longer writes only when it is still exactly that: a file a
person edited or replaced is left, and the run says so.  A manifest of an older version has no
``files``: then nothing is deleted (the run says which files it left).  While a run works, the
manifest also lists the paths it ``claimed`` (checked and about to write; see :mod:`.guard`), so
a run killed before its last manifest write leaves files the next run knows are the export's.  The report says, per
clip, what the target trainers will do with it (:mod:`.trainers`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from workstation.core import atomic
from workstation.core.export.files import OutFiles, sha256_of
from workstation.core.export.settings import ExportResult, ExportSettings
from workstation.core.export.trainers import trainer_report
from workstation.core.store import Clip

MANIFEST = "export.json"
REPORT = "report.json"
MANIFEST_VERSION = 1


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
        return {"version": MANIFEST_VERSION, "items": {}, "files": {}, "claimed": []}
    claimed = data.get("claimed")
    data["claimed"] = (
        [k for k in claimed if isinstance(k, str)] if isinstance(claimed, list) else []
    )
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
    files: OutFiles,
    settings: ExportSettings,
    items: dict[str, Any],
    records: dict[str, Any] | None,
    claimed: list[str] | None = None,
) -> None:
    """Write ``export.json``: the items, and the record of every file the export owns
    (``records`` None: an older manifest's, which had none, stays without).  ``claimed``: the
    paths a run is about to write, written before its first write (see :mod:`.guard`)."""
    data: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "settings": settings.to_params(),
        "items": items,
    }
    if records is not None:
        data["files"] = {k: records[k] for k in sorted(records) if k != MANIFEST}
    if claimed:
        data["claimed"] = sorted(claimed)
    files.write_text(files.out / MANIFEST, json.dumps(data, indent=1, sort_keys=True))


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


def _summary(result: ExportResult) -> dict[str, dict[str, int]]:
    summary: dict[str, dict[str, int]] = {}
    for group in trainer_report(result.clips):
        summary.setdefault(group.trainer, {})[group.effect.value] = len(group.clips)
    return summary


def write_report(files: OutFiles, result: ExportResult) -> None:
    report = {
        "format": result.format,
        "train": result.train,
        "val": result.val,
        "skipped": result.skipped,
        "errors": result.errors,
        # per trainer, how many clips fit, are stretched, get frames repeated or dropped
        "summary": _summary(result),
        "clips": [
            {
                "key": c.key,
                "split": c.split,
                "frames": c.frames,
                "fps": c.fps,
                "size": [c.width, c.height],
                "trainers": {
                    n.trainer: {"ok": n.ok, "effect": n.effect, "message": n.message}
                    for n in c.notes
                },
            }
            for c in sorted(result.clips, key=lambda c: c.key)
        ],
    }
    files.write_text(files.out / REPORT, json.dumps(report, indent=1))
