"""FFmpeg chapter metadata (FFMETADATA1): one chapter per shot, in exact timestamps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from workstation.core.cutfiles.imported import ImportedCuts, _scenes_to_cuts
from workstation.core.cutfiles.timing import _Timing, format_timecode
from workstation.core.errors import CutFileError
from workstation.core.media import FrameIndex
from workstation.core.store import Cut, Video


def _ff_escape(text: str) -> str:
    return re.sub(r"([=;#\\\n])", r"\\\1", text)


def render_ffmetadata(
    video: Video, cuts: list[Cut], rejected: set[int], index: FrameIndex | None = None
) -> str:
    """FFmpeg chapter metadata, one chapter per segment, in the stream's own time base.

    scenedetect has no writer for this format.  Times are exact timestamps (``TIMEBASE`` is the
    stream time base when the frame timestamps are known, else 1/fps), so reading them back
    lands on the same frames; ``ffmpeg -i video -i this -map_metadata 1`` adds the chapters.
    """
    timing = _Timing(video, index)
    tb = timing.index.time_base if timing.index is not None else 1 / Fraction(video.fps)
    bounds = [0, *sorted(c.frame for c in cuts), video.frame_count]
    lines = [
        ";FFMETADATA1",
        f"title={_ff_escape(video.name)}",
        "encoder=Motion Dataset Workstation",
        "",
    ]
    for n, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False), 1):
        if b <= a:
            continue
        keep = a not in rejected
        lines += [
            "[CHAPTER]",
            f"TIMEBASE={tb.numerator}/{tb.denominator}",
            f"START={round(timing.time_of(a) / tb)}",
            f"END={round(timing.time_of(b) / tb)}",
            f"title=Shot {n}{'' if keep else ' (rejected)'}",
        ]
        if not keep:
            lines.append("workstation_keep=0")
        lines.append("")
    return "\n".join(lines)


@dataclass
class _Chapter:
    """A [CHAPTER] section: the line it starts on and its KEY=VALUE lines (value, line)."""

    line: int
    fields: dict[str, tuple[str, int]] = field(default_factory=dict)


def parse_ffmetadata(
    text: str, path: Path, video: Video, index: FrameIndex | None = None
) -> ImportedCuts:
    timing = _Timing(video, index)
    lines = text.splitlines()
    if not lines or not lines[0].startswith(";FFMETADATA"):
        raise CutFileError(path, 1, "not an FFMETADATA file (first line must be ;FFMETADATA1)")
    chapters: list[_Chapter | None] = []
    for lineno, raw in enumerate(lines[1:], 2):
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("["):
            chapters.append(_Chapter(lineno) if line.upper() == "[CHAPTER]" else None)
            continue
        chapter = chapters[-1] if chapters else None
        if chapter is None:
            continue  # global or stream metadata
        key, sep, value = line.partition("=")
        if not sep:
            raise CutFileError(path, lineno, f"expected KEY=VALUE, found {line!r}")
        chapter.fields[key.strip().upper()] = (value.strip(), lineno)
    scenes: list[tuple[int, int, int | None]] = []
    rejected_starts: set[int] = set()
    for ch in (c for c in chapters if c):
        lineno = ch.line
        tb_text = ch.fields.get("TIMEBASE", ("1/1000000000", lineno))[0]
        try:
            tb = Fraction(tb_text)
            start, end = int(ch.fields["START"][0]), int(ch.fields["END"][0])
        except (KeyError, ValueError, ZeroDivisionError):
            raise CutFileError(
                path, lineno, "chapter needs TIMEBASE=N/D, START=n and END=n"
            ) from None
        frames = []
        for stamp in (start, end):
            seconds = stamp * tb
            f = timing.nearest_frame(seconds)
            if f > video.frame_count or (
                f < video.frame_count
                and abs(timing.time_of(f) - seconds) > timing.frame_length(f) / 2
            ):
                raise CutFileError(
                    path, lineno, f"chapter time {format_timecode(seconds)} is outside the video"
                )
            frames.append(min(f, video.frame_count))
        if frames[1] <= frames[0]:
            raise CutFileError(path, lineno, "chapter END is not after START")
        scenes.append((frames[0], frames[1], lineno))
        if ch.fields.get("WORKSTATION_KEEP", ("1", lineno))[0] == "0":
            rejected_starts.add(frames[0])
    if not scenes:
        raise CutFileError(path, None, "has no [CHAPTER] sections")
    result = _scenes_to_cuts(path, scenes, video.frame_count)
    return ImportedCuts(result.cuts, sorted(set(result.rejected_starts) | rejected_starts))
