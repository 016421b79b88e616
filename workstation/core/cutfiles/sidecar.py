"""The hand-editable sidecar ``<video file name>.cuts.txt``: where it lives, render, parse.

One line per shot start (timecode and/or frame number, flags, key=value fields); the parser
validates every line and names the first bad one.  Writing it (atomically, with a fallback
folder) is :func:`workstation.core.cutfiles.write_sidecar`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TypedDict

from workstation.core.cutfiles.imported import ImportedCuts
from workstation.core.cutfiles.timing import _Timing, format_timecode, parse_timecode
from workstation.core.cutfiles.words import ascii_int, decimal, is_ascii_digits, quoted
from workstation.core.errors import CutFileError
from workstation.core.media import FrameIndex
from workstation.core.store import Cut, Project, Video

SIDECAR_SUFFIX = ".cuts.txt"
SIDECAR_VERSION = 1


def sidecar_path(video_path: str | Path) -> Path:
    """``trip.mp4`` -> ``trip.mp4.cuts.txt`` in the same folder."""
    p = Path(video_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def fallback_sidecar_path(project: Project, video: Video) -> Path:
    """Where the sidecar goes when the video's folder is read-only."""
    return project.root / "sidecars" / f"{video.name}.{video.content_id[:8]}{SIDECAR_SUFFIX}"


def find_sidecar(project: Project, video: Video) -> Path | None:
    """The sidecar of a video, beside it or in the project's ``sidecars/`` folder."""
    for p in (sidecar_path(video.path), fallback_sidecar_path(project, video)):
        if p.is_file():
            return p
    return None


def _fmt_score(score: float) -> str:
    if abs(score) >= 1e12:  # 4 decimals of 1e300 would be 300 digits
        return f"{score:.6e}"
    text = f"{score:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-") else "0"


#: The first words of every sidecar the workstation writes (any version).
SIDECAR_HEADER = "# Motion Dataset Workstation cut list"


def render_sidecar(
    video: Video, cuts: list[Cut], rejected: set[int], index: FrameIndex | None = None
) -> str:
    """The sidecar text for a video's cuts and rejected segment starts."""
    timing = _Timing(video, index)
    fps = Fraction(video.fps)
    lines = [
        f"{SIDECAR_HEADER}, format {SIDECAR_VERSION}",
        f"# video: {escape_name(video.name)}",
        f"# fps: {fps.numerator}/{fps.denominator}{'  (variable frame rate, average)' if video.vfr else ''}"
        f"  frames: {video.frame_count}  duration: {format_timecode(timing.time_of(video.frame_count))}",
        "# One line per shot start:  HH:MM:SS.mmm  FRAME  [auto|manual] [reject] [key=value ...]",
        "# FRAME counts from 0 and wins over the timecode; give either one or both (they must",
        "# agree within half a frame).  'reject' leaves the shot that starts there out of the",
        "# clips; '00:00:00.000  0  reject' rejects the first shot.  Keys: score, detector, kind,",
        "# span=A-B, uncertain.  Blank lines and lines starting with # are ignored.",
        "# Edit, save, then import the file: it replaces the video's cuts (removing any asks first).",
    ]
    if 0 in rejected:
        lines.append(f"{format_timecode(0)}  {0:>7}  reject")
    for cut in sorted(cuts, key=lambda c: c.frame):
        if 0 < cut.frame < video.frame_count:  # anything else is no cut of this video
            line = f"{format_timecode(timing.time_of(cut.frame))}  {cut.frame:>7}  "
            lines.append(line + " ".join(_cut_words(cut, cut.frame in rejected)))
    return "\n".join(lines) + "\n"


def _cut_words(cut: Cut, rejected: bool) -> list[str]:
    """The words after a cut's frame, each one the parser reads back as it was written.

    Values the parser would refuse (a detector name with a space, a NaN score, a reversed
    span) are made readable or left out, so the sidecar of any project can be imported."""
    words = [cut.source if cut.source in ("auto", "manual") else "manual"]
    if rejected:
        words.append("reject")
    if cut.kind and cut.kind != "cut":
        words.append(f"kind={re.sub(r'[^a-z_]', '_', cut.kind.lower())}")
    if cut.score is not None and math.isfinite(cut.score):
        words.append(f"score={_fmt_score(cut.score)}")
    if cut.detector:
        words.append(f"detector={re.sub(r'[^A-Za-z0-9_.-]', '_', cut.detector)}")
    a, b = cut.span_start, cut.span_end
    if a is not None and b is not None and 0 <= a <= b:
        words.append(f"span={a}-{b}")
    if cut.uncertain:
        words.append("uncertain")
    return words


# Everything that would end a line (str.splitlines splits on more than \n) or move the cursor.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_name(name: str) -> str:
    """A video name for the one-line ``# video:`` header: control characters as ``\\n``,
    ``\\x1b``, ``\\u2028``.  The header is for people; the parser ignores it, so sidecars
    written before names were escaped read the same."""

    def esc(m: re.Match[str]) -> str:
        c = m.group()
        return _NAMED.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}")

    return _UNSAFE.sub(esc, name)


_WORD = re.compile(r"[A-Za-z0-9_.\-]+")


def parse_sidecar(
    text: str, path: Path, video: Video, index: FrameIndex | None = None
) -> ImportedCuts:
    """Validate every line of a sidecar; raise :class:`CutFileError` on the first bad one."""
    timing = _Timing(video, index)
    seen: dict[int, int] = {}
    cuts: list[Cut] = []
    rejected: list[int] = []
    # Lines end at \n only (reading the file turned \r\n and \r into \n), as in an editor:
    # the line numbers in messages are the editor's, and a form feed is not a line break.
    for lineno, raw in enumerate(text.split("\n"), 1):
        _check_header(raw, path, lineno, video)
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = _parse_words(line, path, lineno)
        fields = words.fields
        frame = _line_frame(words, path, lineno, video, timing)
        if frame in seen:
            raise CutFileError(
                path, lineno, f"frame {frame} is listed twice (also on line {seen[frame]})"
            )
        seen[frame] = lineno
        if frame == 0:
            if fields or words.source == "auto":
                raise CutFileError(
                    path,
                    lineno,
                    "frame 0 is the start of the video, not a cut; only '0 reject' may go there",
                )
            if words.reject:
                rejected.append(0)
            continue
        span = fields.pop("span", None)
        cuts.append(
            Cut(
                frame,
                words.source,
                fields.get("detector"),
                fields.get("score"),
                fields.get("kind", "cut"),
                span[0] if span else None,
                span[1] if span else None,
                bool(fields.get("uncertain", False)),
            )
        )
        if words.reject:
            rejected.append(frame)
    cuts.sort(key=lambda c: c.frame)
    return ImportedCuts(cuts, sorted(rejected))


@dataclass
class _Words:
    """What the words of one sidecar line say, before the frame is checked against the video."""

    seconds: Fraction | None = None
    frame: int | None = None
    source: str = "manual"
    reject: bool = False
    fields: _Fields = field(default_factory=lambda: _Fields())


def _parse_words(line: str, path: Path, lineno: int) -> _Words:
    """The words of one (non-blank, comment-free) line; raise on a word that is not allowed."""
    words = _Words()
    fields = words.fields
    for tok in line.split():
        low = tok.lower()
        tc = parse_timecode(tok)
        if tc is not None:
            if words.seconds is not None:
                raise CutFileError(path, lineno, f"two timecodes on one line ({quoted(tok)})")
            words.seconds = tc
        elif is_ascii_digits(tok):
            if words.frame is not None:
                raise CutFileError(path, lineno, f"two frame numbers on one line ({quoted(tok)})")
            words.frame = ascii_int(tok)
            if words.frame is None:
                raise CutFileError(path, lineno, f"frame number {quoted(tok)} is too large")
        elif low in ("auto", "manual"):
            words.source = low
        elif low == "reject":
            words.reject = True
        elif low == "keep":
            words.reject = False
        elif low == "uncertain":
            fields["uncertain"] = True
        elif "=" in tok:
            key, _, value = tok.partition("=")
            fields.update(_parse_field(path, lineno, key.lower(), value))
        elif ":" in tok or tok.replace(".", "", 1).isdigit():  # isdigit: '²0' is meant as one
            raise CutFileError(
                path, lineno, f"{quoted(tok)} is not a timecode (HH:MM:SS.mmm) or a frame number"
            )
        else:
            raise CutFileError(
                path,
                lineno,
                f"unknown word {quoted(tok)} (expected auto, manual, reject, uncertain or key=value)",
            )
    return words


def _line_frame(words: _Words, path: Path, lineno: int, video: Video, timing: _Timing) -> int:
    """The frame a line names (its frame number, else its timecode's nearest frame), checked:
    inside the video, and agreeing with the timecode within half a frame when both are given."""
    seconds = words.seconds
    frame = words.frame
    if frame is None:
        if seconds is None:
            raise CutFileError(path, lineno, "no frame number or timecode")
        frame = timing.nearest_frame(seconds)
        if frame >= video.frame_count:
            raise CutFileError(
                path,
                lineno,
                f"timecode {format_timecode(seconds)} is past the end of the video "
                f"({format_timecode(timing.time_of(video.frame_count))})",
            )
    elif seconds is not None and frame < video.frame_count:
        off = abs(timing.time_of(frame) - seconds)
        # timecodes are written to the millisecond: above 1000 fps that is more than half a frame
        if off > max(timing.frame_length(frame) / 2, Fraction(1, 2000)):
            raise CutFileError(
                path,
                lineno,
                f"frame {frame} is at {format_timecode(timing.time_of(frame))} but the "
                f"timecode says {format_timecode(seconds)}; fix or remove one of them",
            )
    if frame >= video.frame_count:
        raise CutFileError(
            path,
            lineno,
            f"frame {frame} is outside the video (cuts go from 1 to {video.frame_count - 1})",
        )
    return frame


_HEADER_FRAMES = re.compile(r"#\s*fps:.*\bframes:\s*([0-9]+)")


def _check_header(raw: str, path: Path, lineno: int, video: Video) -> None:
    """A sidecar written for a video with another frame count belongs to another video."""
    m = _HEADER_FRAMES.match(raw.strip())
    if m and ascii_int(m.group(1)) != video.frame_count:
        raise CutFileError(
            path,
            lineno,
            f"this cut list was written for a video of {m.group(1)[:20]} frames, but "
            f"{video.name} has {video.frame_count}; delete this line to import it anyway",
        )


class _Fields(TypedDict, total=False):
    """The optional words of a sidecar line (``key=value`` and ``uncertain``)."""

    score: float
    detector: str
    kind: str
    span: tuple[int, int]
    uncertain: bool


def _parse_field(path: Path, lineno: int, key: str, value: str) -> _Fields:
    shown = quoted(value)
    if key == "score":
        score = decimal(value)
        if score is None:
            raise CutFileError(path, lineno, f"score={shown} is not a number")
        if not math.isfinite(score):
            raise CutFileError(path, lineno, f"score={shown} is not a finite number")
        return {"score": score}
    if key == "detector":
        if not _WORD.fullmatch(value):
            raise CutFileError(path, lineno, f"detector={shown} must be a single word")
        return {"detector": value}
    if key == "kind":
        if not re.fullmatch(r"[a-z_]+", value):
            raise CutFileError(
                path, lineno, f"kind={shown} must be a word like cut, fade, dissolve"
            )
        return {"kind": value}
    if key == "span":
        first, sep, last = value.partition("-")
        a, b = ascii_int(first), ascii_int(last)
        if not sep or a is None or b is None or a > b:
            raise CutFileError(path, lineno, f"span={shown} must be FIRST-LAST frames, e.g. 58-62")
        return {"span": (a, b)}
    if key == "uncertain":
        if value not in ("0", "1", "yes", "no", "true", "false"):
            raise CutFileError(path, lineno, f"uncertain={shown} must be 0 or 1")
        return {"uncertain": value in ("1", "yes", "true")}
    raise CutFileError(
        path,
        lineno,
        f"unknown key {quoted(key)} (expected score, detector, kind, span or uncertain)",
    )
