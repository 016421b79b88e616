"""The export stage: every selected clip copied or re-encoded into the layout, decoded back, listed.

Each run is deterministic (sorted keys, fixed tar metadata) and incremental: the manifest
(:mod:`.manifest`) remembers what every file was made from, so a re-run only re-encodes what
changed and removes what is no longer selected.  A clip that cannot be exported is named in the
result and the rest go on; a full disk stops the run.  Each layout (:mod:`.pairs`,
:mod:`.webvid`, :mod:`.webdataset`) says where its videos go and writes its index files.
"""

from __future__ import annotations

import contextlib
import errno
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from workstation.core.cliptext import sidecar_texts
from workstation.core.errors import WorkstationError
from workstation.core.export import pairs, webdataset, webvid
from workstation.core.export.files import DecodedCheck, copy, decode_back, transcode
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


class Layout(Protocol):
    """What the stage needs from a layout module (:mod:`.pairs`, :mod:`.webvid`, ...)."""

    def video_rel(self, split: str, key: str) -> str:
        """Where a clip's video goes, relative to the export folder."""

    def write_split(
        self, out: Path, split: str, items: list[ExportedClip], settings: ExportSettings
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
    out.mkdir(parents=True, exist_ok=True)
    result = ExportResult(out, settings.format.value)
    usable = _usable(select_clips(project, settings.selection), result)
    keys = clip_keys(usable)
    sides = split_by_video(project, usable, settings.val_fraction, settings.seed)
    texts = sidecar_texts(project, [c.id for c in usable], settings.text_settings())
    layout = LAYOUTS[settings.format]
    old_items: dict[str, Any] = load_manifest(out)["items"]
    new_items: dict[str, Any] = {}
    total = len(usable)
    try:
        for i, clip in enumerate(sorted(usable, key=lambda c: keys[c.id])):
            key, split = keys[clip.id], sides[clip.id]
            yield Progress("export", i, total, f"{key}.mp4", "exporting")
            rel = layout.video_rel(split, key)
            fp = fingerprint(clip, settings)
            check = _export_clip(clip, out, rel, fp, old_items.get(key), settings, result)
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
        result.removed, refused = remove_stale(out, old_items, new_items)
        result.errors.extend(refused)
        _write_layout(out, settings, layout, result)
    finally:
        # The manifest records exactly the videos complete on disk: after a cancel or a crash
        # the earlier run's items stay listed (nothing was removed yet) and the next run
        # reuses them.
        items = new_items
        if not _completed(result, total):
            items = {k: v for k, v in old_items.items() if (out / v["video"]).exists()}
            items.update(new_items)
        write_manifest(out, settings, items)
    yield Progress("export", total, total, "", "done")
    return result


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
    out: Path,
    rel: str,
    fp: str,
    prev: dict[str, Any] | None,
    settings: ExportSettings,
    result: ExportResult,
) -> DecodedCheck | None:
    """Reuse ``out/rel`` when the manifest's ``prev`` made it from the same clip, otherwise copy
    or re-encode the clip there and decode it back; None when it failed (named in
    ``result.errors``)."""
    dst = out / rel
    try:
        if prev and prev.get("fingerprint") == fp and prev.get("video") == rel and dst.exists():
            check = DecodedCheck(
                prev["frames"], prev["width"], prev["height"], Fraction(prev["fps"])
            )
            result.reused += 1
        else:
            if settings.transforms:
                transcode(clip.path, dst, settings)
            else:
                copy(clip.path, dst)
            check = decode_back(dst)
            result.encoded += 1
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise WorkstationError(f"{dst}: disk full while exporting") from None
        result.errors.append(f"{clip.path.name}: cannot be exported ({exc.strerror or exc})")
        return None
    except WorkstationError as exc:
        result.errors.append(str(exc))
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
    out: Path, settings: ExportSettings, layout: Layout, result: ExportResult
) -> None:
    by_split: dict[str, list[ExportedClip]] = {"train": [], "val": []}
    for c in sorted(result.clips, key=lambda c: c.key):
        by_split[c.split].append(c)
    for split, items in by_split.items():
        layout.write_split(out, split, items, settings)
    write_report(out, result)
