"""The export stage: every selected clip copied or re-encoded into the layout, decoded back, listed.

Each run is deterministic (sorted keys, fixed tar metadata) and incremental: the manifest
(:mod:`.manifest`) remembers what every file was made from, so a re-run only re-encodes what
changed and removes what is no longer selected.  A clip that cannot be exported is named in the
result and the rest go on; a full disk stops the run with "OUT/...: cannot write: the disk is
full", and the manifest written on the way out never hides that (when it cannot be written
either, the earlier one stays).  Each layout (:mod:`.pairs`, :mod:`.webvid`, :mod:`.webdataset`)
says where its videos go and writes its index files through :class:`.files.OutFiles`, which
writes only inside OUT and records every file; only recorded, unchanged files are ever deleted
(:func:`.manifest.remove_stale`).  Temp files a killed export left anywhere in OUT are removed
at the start of the next.
"""

from __future__ import annotations

import contextlib
import logging
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av

from workstation.core import atomic
from workstation.core.cliptext import sidecar_texts, sweep_leftovers
from workstation.core.errors import WorkstationError
from workstation.core.export import pairs, webdataset, webvid
from workstation.core.export.files import DecodedCheck, OutFiles, WriteFailed, decode_back
from workstation.core.export.manifest import (
    fingerprint,
    load_manifest,
    remove_stale,
    trainer_notes,
    write_manifest,
    write_report,
)
from workstation.core.export.selection import clip_keys, select_clips, split_by_video
from workstation.core.export.settings import (
    ExportedClip,
    ExportFormat,
    ExportResult,
    ExportSettings,
)
from workstation.core.progress import Progress, Stage
from workstation.core.store import Clip, Project

log = logging.getLogger(__name__)


class Layout(Protocol):
    """What the stage needs from a layout module (:mod:`.pairs`, :mod:`.webvid`, ...)."""

    def video_rel(self, split: str, key: str) -> str:
        """Where a clip's video goes, relative to the export folder."""

    def write_split(
        self, files: OutFiles, split: str, items: list[ExportedClip], settings: ExportSettings
    ) -> None:
        """Write one split's index files (``items`` sorted by key; maybe none)."""


LAYOUTS: dict[ExportFormat, Layout] = {
    ExportFormat.PAIRS: pairs,
    ExportFormat.WEBVID: webvid,
    ExportFormat.WEBDATASET: webdataset,
}

#: The defaults (one frozen instance, as a default argument is).
_DEFAULTS = ExportSettings()


def export_dataset(
    project: Project, out: str | Path, settings: ExportSettings = _DEFAULTS
) -> Stage[ExportResult]:
    """Export the selected clips into ``out`` in the chosen layout (see :mod:`workstation.core.
    export`)."""
    out = Path(out).resolve()
    if out == project.root or out == project.clips_dir or project.clips_dir in out.parents:
        raise WorkstationError(f"{out}: choose an export folder outside the project's clip folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise atomic.write_error(out, exc) from None
    sweep_leftovers(out, recursive=True)
    result = ExportResult(out, settings.format.value)
    usable = _usable(select_clips(project, settings.selection), result)
    keys = clip_keys(usable)
    sides = split_by_video(project, usable, settings.val_fraction, settings.seed)
    texts = sidecar_texts(project, [c.id for c in usable], settings.text_settings())
    layout = LAYOUTS[settings.format]
    old = load_manifest(out)
    old_items: dict[str, Any] = old["items"]
    old_files: dict[str, Any] | None = old["files"]
    files = OutFiles(out)
    new_items: dict[str, Any] = {}
    total = len(usable)
    ended = False
    try:
        for i, clip in enumerate(sorted(usable, key=lambda c: keys[c.id])):
            key, split = keys[clip.id], sides[clip.id]
            yield Progress("export", i, total, f"{key}.mp4", "exporting")
            rel = layout.video_rel(split, key)
            fp = fingerprint(clip, settings)
            prev = old_items.get(key)
            check = _export_clip(clip, files, rel, fp, prev, old_files, settings, result)
            if check is None:
                continue
            new_items[key] = _item(clip, rel, split, fp, check)
            result.clips.append(
                ExportedClip(
                    key,
                    clip.id,
                    split,
                    check.frames,
                    new_items[key]["fps"],
                    check.width,
                    check.height,
                    texts[clip.id][1],
                    trainer_notes(check.frames),
                )
            )
        yield Progress("export", total, total, "", "writing index files")
        _write_layout(files, settings, layout, result)
        result.removed, refused, result.left = remove_stale(files, old_items, new_items, old_files)
        result.errors.extend(refused)
        for line in result.left:
            log.warning("%s", line)
        ended = True
    finally:
        _finish(
            files, settings, old_items, old_files, new_items, ended and _completed(result, total)
        )
    yield Progress("export", total, total, "", "done")
    return result


def _finish(
    files: OutFiles,
    settings: ExportSettings,
    old_items: dict[str, Any],
    old_files: dict[str, Any] | None,
    new_items: dict[str, Any],
    completed: bool,
) -> None:
    """Write the manifest: exactly the videos complete on disk and the files the export owns.

    After a cancel, a failure or a crash the earlier run's items and file records stay (nothing
    was removed yet) and the next run reuses them.  When the run is already failing (a full
    disk), a manifest that cannot be written either is logged and the first error is the one
    the person sees; the earlier manifest then stays in place, whole.
    """
    items, records = new_items, dict(files.written)
    if not completed:
        out = files.out
        items = {k: v for k, v in old_items.items() if (out / v["video"]).exists()}
        items.update(new_items)
        records = {k: v for k, v in (old_files or {}).items() if (out / k).exists()}
        records.update(files.written)
    try:
        write_manifest(files, settings, items, records)
    except WorkstationError as exc:
        if completed:
            raise
        log.warning("%s (the earlier manifest stays)", exc)


def _usable(clips: list[Clip], result: ExportResult) -> list[Clip]:
    """The clips that can be exported; the others are named in ``result.skipped``."""
    usable = []
    for c in clips:
        if c.verified is False:
            result.skipped.append(
                f"{c.path.name}: failed verification when sliced ({c.verify_error})"
            )
        elif not c.path.exists():
            result.skipped.append(f"{c.path.name}: file is missing ({c.path})")
        else:
            usable.append(c)
    return usable


def _export_clip(
    clip: Clip,
    files: OutFiles,
    rel: str,
    fp: str,
    prev: dict[str, Any] | None,
    old_files: dict[str, Any] | None,
    settings: ExportSettings,
    result: ExportResult,
) -> DecodedCheck | None:
    """Reuse ``out/rel`` when the manifest's ``prev`` made it from the same clip, otherwise copy
    or re-encode the clip there and decode it back; None when it failed (named in
    ``result.errors``).  A full disk raises: the run stops."""
    dst = files.out / rel
    try:
        if prev and prev.get("fingerprint") == fp and prev.get("video") == rel and dst.exists():
            check = DecodedCheck(
                prev["frames"], prev["width"], prev["height"], Fraction(prev["fps"])
            )
            files.keep(rel, (old_files or {}).get(rel))
            result.reused += 1
        else:
            if settings.transforms:
                files.transcode(clip.path, dst, settings)
            else:
                files.copy(clip.path, dst)
            check = decode_back(dst)
            result.encoded += 1
    except WriteFailed as exc:
        if exc.disk_full:
            raise
        result.errors.append(f"{clip.path.name}: cannot be exported ({exc})")
        return None
    except (WorkstationError, av.error.FFmpegError) as exc:
        if not isinstance(exc, WorkstationError):
            exc = WorkstationError(f"{clip.path.name}: cannot be exported ({exc})")
        result.errors.append(str(exc))
        files.written.pop(rel, None)
        if files.inside(rel) is not None:  # a path leading out of OUT is never touched
            with contextlib.suppress(FileNotFoundError):
                dst.unlink()
        return None
    return check


def _item(clip: Clip, rel: str, split: str, fp: str, check: DecodedCheck) -> dict[str, Any]:
    """The manifest's entry for an exported clip."""
    return {
        "clip_id": clip.id,
        "source": str(clip.path),
        "fingerprint": fp,
        "video": rel,
        "split": split,
        "frames": check.frames,
        "width": check.width,
        "height": check.height,
        "fps": f"{check.fps.numerator}/{check.fps.denominator}",
        "video_id": clip.video_id,
        "start_frame": clip.start_frame,
        "end_frame": clip.end_frame,
    }


def _completed(result: ExportResult, total: int) -> bool:
    return len(result.clips) + len(result.errors) >= total


def _write_layout(
    files: OutFiles, settings: ExportSettings, layout: Layout, result: ExportResult
) -> None:
    by_split: dict[str, list[ExportedClip]] = {"train": [], "val": []}
    for c in sorted(result.clips, key=lambda c: c.key):
        by_split[c.split].append(c)
    for split, items in by_split.items():
        layout.write_split(files, split, items, settings)
    write_report(files, result)
