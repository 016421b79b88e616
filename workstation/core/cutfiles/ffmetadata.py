"""FFmpeg chapter metadata (FFMETADATA1): one chapter per shot, in exact timestamps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from workstation.core.cutfiles.imported import ImportedCuts, _scenes_to_cuts
from workstation.core.cutfiles.timing import _Timing, format_timecode
from workstation.core.cutfiles.words import quoted, ratio, signed_int
from workstation.core.errors import CutFileError
from workstation.core.media import FrameIndex
from workstation.core.store import Cut, Video


def _ff_escape(text: str) -> str:
    # FFmpeg's own escapes (=, ;, #, \\ and newline); \r too, which reading the file back
    # with universal newlines would turn into a line break.
    return re.sub(r"([=;#\\\n\r])", r"\\\1", text)


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


# A logical line ends at an unescaped newline; a backslash escapes any character, newline too.
_LOGICAL = re.compile(r"((?:\\.|\\\Z|[^\\\n])*)(?:\n|\Z)", re.S)
_KEY_VALUE = re.compile(r"((?:\\.|[^\\=])*)=(.*)", re.S)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.S)


def _chapters(lines: list[tuple[int, str]], path: Path) -> list[_Chapter]:
    """The [CHAPTER] sections of FFMETADATA lines (global and stream metadata are skipped)."""
    chapters: list[_Chapter | None] = []
    for lineno, raw in lines:
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("["):
            chapters.append(_Chapter(lineno) if line.upper() == "[CHAPTER]" else None)
            continue
        chapter = chapters[-1] if chapters else None
        if chapter is None:
            continue  # global or stream metadata
        m = _KEY_VALUE.fullmatch(line)
        if not m:
            raise CutFileError(path, lineno, f"expected KEY=VALUE, found {quoted(line)}")
        key, value = _unescape(m.group(1)).strip().upper(), _unescape(m.group(2)).strip()
        chapter.fields[key] = (value, lineno)
    return [c for c in chapters if c]


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(number of the line it starts on, text with escapes) for each logical line."""
    lines = []
    lineno, pos = 1, 0
    for m in _LOGICAL.finditer(text):
        lineno += text.count("\n", pos, m.start())
        pos = m.start()
        lines.append((lineno, m.group(1)))
        if m.end() >= len(text):
            break
    return lines


def _chapter_frames(ch: _Chapter, path: Path, video: Video, timing: _Timing) -> list[int]:
    """The [start, end) frames of a chapter, each checked to lie on a frame of the video."""
    lineno = ch.line
    tb = ratio(ch.fields.get("TIMEBASE", ("1/1000000000", lineno))[0])
    start = signed_int(ch.fields.get("START", ("", lineno))[0])
    end = signed_int(ch.fields.get("END", ("", lineno))[0])
    if tb is None or start is None or end is None:
        raise CutFileError(path, lineno, "chapter needs TIMEBASE=N/D, START=n and END=n")
    frames = []
    for stamp in (start, end):
        seconds = stamp * tb
        f = timing.nearest_frame(seconds) if seconds >= 0 else -1
        if not 0 <= f <= video.frame_count or (
            f < video.frame_count and abs(timing.time_of(f) - seconds) > timing.frame_length(f) / 2
        ):
            raise CutFileError(
                path, lineno, f"chapter time {format_timecode(seconds)} is outside the video"
            )
        frames.append(f)
    if frames[1] <= frames[0]:
        raise CutFileError(path, lineno, "chapter END is not after START")
    return frames


def parse_ffmetadata(
    text: str, path: Path, video: Video, index: FrameIndex | None = None
) -> ImportedCuts:
    """Read FFMETADATA1 chapters as shots, with FFmpeg's backslash escapes and continuations."""
    timing = _Timing(video, index)
    if not text.startswith(";FFMETADATA"):
        raise CutFileError(path, 1, "not an FFMETADATA file (first line must be ;FFMETADATA1)")
    scenes: list[tuple[int, int, int | None]] = []
    rejected_starts: set[int] = set()
    for ch in _chapters(_logical_lines(text)[1:], path):
        a, b = _chapter_frames(ch, path, video, timing)
        scenes.append((a, b, ch.line))
        if ch.fields.get("WORKSTATION_KEEP", ("1", ch.line))[0] == "0":
            rejected_starts.add(a)
    if not scenes:
        raise CutFileError(path, None, "has no [CHAPTER] sections")
    result = _scenes_to_cuts(path, scenes, video.frame_count)
    return ImportedCuts(result.cuts, sorted(set(result.rejected_starts) | rejected_starts))
