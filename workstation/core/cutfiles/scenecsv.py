"""PySceneDetect's scene list CSV (``list-scenes``): 1-based frames with inclusive ends."""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path

from workstation.core.cutfiles.imported import ImportedCuts, _scenes_to_cuts
from workstation.core.cutfiles.words import ascii_int
from workstation.core.errors import CutFileError
from workstation.core.store import Cut, Video


def render_csv(video: Video, cuts: list[Cut]) -> str:
    """PySceneDetect's ``list-scenes`` CSV, written by scenedetect's own writer.

    Frame columns are exact (1-based, inclusive ends as the CLI writes them); timecodes use the
    average rate, so for a VFR file only the frame columns are exact.
    """
    from scenedetect.common import FrameTimecode
    from scenedetect.output import write_scene_list

    fps = Fraction(video.fps)
    bounds = [0, *sorted(c.frame for c in cuts), video.frame_count]
    scenes = [
        (FrameTimecode(a, fps), FrameTimecode(b, fps))
        for a, b in zip(bounds, bounds[1:], strict=False)
        if b > a
    ]
    cut_list = [FrameTimecode(c, fps) for c in bounds[1:-1]]
    buf = io.StringIO(newline="")
    write_scene_list(buf, scenes, include_cut_list=True, cut_list=cut_list)
    return buf.getvalue()


def parse_csv(text: str, path: Path, video: Video) -> ImportedCuts:
    """Read a PySceneDetect scene list CSV (with or without its timecode-list first row)."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:  # a NUL byte, a stray quote before a line break, a huge field
        raise CutFileError(path, None, f"is not a readable CSV file ({exc})") from None
    header_at = next(
        (i for i, r in enumerate(rows) if r and r[0].strip().lower() == "scene number"), None
    )
    if header_at is None:
        raise CutFileError(
            path, None, "not a PySceneDetect scene list (no 'Scene Number' header row)"
        )
    header = [h.strip().lower() for h in rows[header_at]]
    try:
        c_start, c_end = header.index("start frame"), header.index("end frame")
    except ValueError:
        raise CutFileError(
            path, header_at + 1, "header has no 'Start Frame' and 'End Frame' columns"
        ) from None
    scenes: list[tuple[int, int, int | None]] = []
    for i, row in enumerate(rows[header_at + 1 :], header_at + 2):
        if not row or all(not c.strip() for c in row):
            continue
        cells = (row[c_start].strip(), row[c_end].strip()) if len(row) > max(c_start, c_end) else ()
        start, end = (ascii_int(c) for c in cells) if cells else (None, None)
        if start is None or end is None:
            raise CutFileError(path, i, "Start Frame and End Frame must be whole numbers")
        if start < 1:
            raise CutFileError(
                path, i, f"Start Frame {start} is below 1 (this format counts from 1)"
            )
        if end < start:
            raise CutFileError(path, i, f"End Frame {end} is before Start Frame {start}")
        if end > video.frame_count:
            raise CutFileError(
                path,
                i,
                f"End Frame {end} is past the end of the video ({video.frame_count} frames)",
            )
        scenes.append((start - 1, end, i))  # 0-based [start, end)
    if not scenes:
        raise CutFileError(path, None, "lists no scenes")
    return _scenes_to_cuts(path, scenes, video.frame_count)
