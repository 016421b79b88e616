"""The export stage: every selected clip copied or re-encoded into the layout, decoded back, listed.

Each run is deterministic (sorted keys, fixed tar metadata) and incremental: the manifest
(:mod:`.manifest`) remembers what every file was made from, so a re-run only re-encodes what
changed and removes what is no longer selected.  A clip that cannot be exported is named in the
result and the rest go on; a full disk stops the run with "OUT/...: cannot write: the disk is
full", and the manifest written on the way out never hides that (when it cannot be written
either, the earlier one stays).  Each layout (:mod:`.pairs`, :mod:`.webvid`, :mod:`.webdataset`)
says where its videos go and writes its index files through :class:`.files.OutFiles`, which
writes only inside OUT and records every file; only recorded, unchanged files are ever deleted
(:func:`.manifest.remove_stale`), and nothing is written over a file the export did not write:
it checks every path first and stops before writing anything (:mod:`.guard`).  Temp files a
killed export left anywhere in OUT are removed at the start of the next.
"""

from __future__ import annotations

import contextlib
import logging
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av

from workstation.core import atomic
from workstation.core.cliptext import sidecar_texts
from workstation.core.errors import WorkstationError
from workstation.core.export import pairs, webdataset, webvid
from workstation.core.export.files import DecodedCheck, OutFiles, WriteFailed, decode_back
from workstation.core.export.guard import adopt_claimed, check_targets
from workstation.core.export.manifest import (
    REPORT,
    fingerprint,
    load_manifest,
    remove_stale,
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
from workstation.core.export.trainers import trainer_notes
from workstation.core.progress import Progress, Stage
from workstation.core.store import Clip, Project

log = logging.getLogger(__name__)


class Layout(Protocol):
    """What the stage needs from a layout module (:mod:`.pairs`, :mod:`.webvid`, ...)."""

    def video_rel(self, split: str, key: str) -> str:
        """Where a clip's video goes, relative to the export folder."""

    def index_files(self, split: str, keys: list[str], settings: ExportSettings) -> list[str]:
        """Every file but the videos that :meth:`write_split` may write for these keys."""

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
    atomic.sweep_temps(out, recursive=True, legacy=(".tmp",))
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
    ordered = sorted(usable, key=lambda c: keys[c.id])
    fps = {c.id: fingerprint(c, settings) for c in ordered}
    yield Progress("export", 0, len(ordered), "", "checking the export folder")
    claim = _check_folder(
        files, layout, settings, ordered, keys, sides, fps, old_items, old_files, old["claimed"]
    )
    old_files = adopt_claimed(files, old_files, old["claimed"])
    _claim(files, settings, old_items, old_files, claim)
    new_items: dict[str, Any] = {}
    total = len(usable)
    ended = False
    try:
        for i, clip in enumerate(ordered):
            key, split = keys[clip.id], sides[clip.id]
            yield Progress("export", i, total, f"{key}.mp4", "exporting")
            rel = layout.video_rel(split, key)
            fp = fps[clip.id]
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


def _check_folder(
    files: OutFiles,
    layout: Layout,
    settings: ExportSettings,
    clips: list[Clip],
    keys: dict[int, str],
    sides: dict[int, str],
    fps: dict[int, str],
    old_items: dict[str, Any],
    old_files: dict[str, Any] | None,
    claimed: list[str],
) -> list[str]:
    """Stop before the first write when the export would overwrite a file it did not write
    (:func:`.guard.check_targets`); the videos it reuses are not written, so not checked.
    Returns the paths it will write."""
    videos: list[str] = []
    by_split: dict[str, list[str]] = {"train": [], "val": []}
    for c in clips:
        key, split = keys[c.id], sides[c.id]
        rel = layout.video_rel(split, key)
        by_split[split].append(key)
        if not _reusable(files, old_items.get(key), fps[c.id], rel):
            videos.append(rel)
    index = [REPORT]
    for split, split_keys in by_split.items():
        index += layout.index_files(split, split_keys, settings)
    check_targets(files, videos, index, old_items, old_files, claimed)
    return sorted({*videos, *index})


def _reusable(files: OutFiles, prev: dict[str, Any] | None, fp: str, rel: str) -> bool:
    """Whether the earlier run's ``prev`` made ``OUT/rel`` from the same clip and settings."""
    return bool(
        prev
        and prev.get("fingerprint") == fp
        and prev.get("video") == rel
        and (files.out / rel).exists()
    )


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
        items = _on_disk(files, old_items)
        items.update(new_items)
        records = {k: v for k, v in (old_files or {}).items() if (out / k).exists()}
        records.update(files.written)
    try:
        write_manifest(files, settings, items, records)
    except WorkstationError as exc:
        if completed:
            raise
        log.warning("%s (the earlier manifest stays)", exc)


def _claim(
    files: OutFiles,
    settings: ExportSettings,
    old_items: dict[str, Any],
    old_files: dict[str, Any] | None,
    claim: list[str],
) -> None:
    """Claim the paths before the first write: a run killed from here on leaves files the next
    run knows are the export's (the items stay those complete on disk).  When the claim cannot
    be written (a full disk), the run goes on and its first write says why; killed, it would
    leave files the next run refuses to overwrite (safe, and that run says which)."""
    try:
        write_manifest(files, settings, _on_disk(files, old_items), old_files, claim)
    except WriteFailed as exc:
        log.warning("%s (the export goes on without claiming its files first)", exc)


def _on_disk(files: OutFiles, items: dict[str, Any]) -> dict[str, Any]:
    """The manifest items whose video is still there."""
    return {k: v for k, v in items.items() if (files.out / v["video"]).exists()}


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
        if prev is not None and _reusable(files, prev, fp, rel):
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
