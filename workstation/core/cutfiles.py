"""Cut lists as files: the hand-editable sidecar, PySceneDetect's CSV, FFMETADATA and EDL.

The sidecar ``<video file name>.cuts.txt`` sits beside the video like chapter marks, so cut
decisions survive without the project database and can be fixed in any text editor.  Every
reader validates the whole file first and raises :class:`CutFileError` naming the line; nothing
is applied unless every line is good.

Frame numbers are authoritative everywhere (0-based, a cut is the first frame of a new shot);
timecodes are derived from the video's exact frame timestamps when the project has them, so
they are right for 24000/1001 and variable-frame-rate files too.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import io
import logging
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

from workstation.core.errors import CutFileError
from workstation.core.media import FrameIndex
from workstation.core.store import Cut, Project, Video

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".cuts.txt"
SIDECAR_VERSION = 1
CutFormat = Literal["sidecar", "csv", "ffmetadata", "edl"]
FORMATS: tuple[str, ...] = ("sidecar", "csv", "ffmetadata", "edl")
_EXTENSIONS = {
    "sidecar": SIDECAR_SUFFIX,
    "csv": ".scenes.csv",
    "ffmetadata": ".ffmetadata.txt",
    "edl": ".edl",
}


@dataclass(frozen=True)
class ImportedCuts:
    """What a cut file says: the cuts and the start frames of rejected segments (0 allowed)."""

    cuts: list[Cut]
    rejected_starts: list[int] = field(default_factory=list)

    @property
    def frames(self) -> list[int]:
        return [c.frame for c in self.cuts]


# ---------------------------------------------------------------------------------------------
# Frame <-> time, exact for NTSC and VFR
# ---------------------------------------------------------------------------------------------
class _Timing:
    """Maps frames to seconds (as Fractions) with the stored timestamps when there are any."""

    def __init__(self, video: Video, index: FrameIndex | None) -> None:
        self.frames = video.frame_count
        self.fps = Fraction(video.fps) if video.fps else Fraction(25)
        usable = index is not None and len(index) == video.frame_count and len(index) > 1
        self.index = index if usable else None
        if self.index is not None:
            pts = self.index.pts
            self._deltas = sorted(b - a for a, b in zip(pts, pts[1:], strict=False))
            self._last = self._deltas[len(self._deltas) // 2]  # median: the last frame's length

    def time_of(self, frame: int) -> Fraction:
        if self.index is None:
            return Fraction(frame) / self.fps
        pts = self.index.pts
        if frame >= len(pts):
            return (pts[-1] - pts[0] + self._last * (frame - len(pts) + 1)) * self.index.time_base
        return (pts[frame] - pts[0]) * self.index.time_base

    def frame_length(self, frame: int) -> Fraction:
        if self.index is None:
            return 1 / self.fps
        pts = self.index.pts
        if frame + 1 < len(pts):
            return (pts[frame + 1] - pts[frame]) * self.index.time_base
        return self._last * self.index.time_base

    def nearest_frame(self, seconds: Fraction) -> int:
        """The frame whose start is nearest to ``seconds`` (may be ``frames`` = past the end)."""
        if self.index is None:
            return math.floor(seconds * self.fps + Fraction(1, 2))
        pts, tb = self.index.pts, self.index.time_base
        target = pts[0] + seconds / tb
        i = bisect.bisect_left(pts, target)
        candidates = [c for c in (i - 1, i) if 0 <= c < len(pts)]
        best = min(candidates, key=lambda c: abs(pts[c] - target))
        if i >= len(pts) and target - pts[-1] > Fraction(self._last, 2):
            return len(pts) - 1 + round((target - pts[-1]) / self._last)
        return best


def format_timecode(seconds: Fraction | float) -> str:
    """``HH:MM:SS.mmm`` rounded to the millisecond."""
    ms = round(Fraction(seconds) * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


_TIMECODE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def parse_timecode(text: str) -> Fraction | None:
    """``[H:]MM:SS[.fff]`` to seconds; None when the text is not a timecode."""
    m = _TIMECODE.match(text)
    if not m:
        return None
    h, mi, s = int(m.group(1) or 0), int(m.group(2)), Fraction(m.group(3))
    if mi >= 60 or s >= 60:
        return None
    return h * 3600 + mi * 60 + s


# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------
def _atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temp file in the same folder, fsync, then ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------
# The sidecar
# ---------------------------------------------------------------------------------------------
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
    text = f"{score:.4f}".rstrip("0").rstrip(".")
    return text or "0"


def render_sidecar(video: Video, cuts: list[Cut], rejected: set[int], index=None) -> str:
    """The sidecar text for a video's cuts and rejected segment starts."""
    timing = _Timing(video, index)
    fps = Fraction(video.fps)
    lines = [
        f"# Motion Dataset Workstation cut list, format {SIDECAR_VERSION}",
        f"# video: {video.name}",
        f"# fps: {fps.numerator}/{fps.denominator}{'  (variable frame rate, average)' if video.vfr else ''}"
        f"  frames: {video.frame_count}  duration: {format_timecode(timing.time_of(video.frame_count))}",
        "# One line per shot start:  HH:MM:SS.mmm  FRAME  [auto|manual] [reject] [key=value ...]",
        "# FRAME counts from 0 and wins over the timecode; give either one or both (they must",
        "# agree within half a frame).  'reject' leaves the shot that starts there out of the",
        "# clips; '00:00:00.000  0  reject' rejects the first shot.  Keys: score, detector, kind,",
        "# span=A-B, uncertain.  Blank lines and lines starting with # are ignored.",
        "# Edit, save, then import the file (it replaces all cuts of the video).",
    ]
    if 0 in rejected:
        lines.append(f"{format_timecode(0)}  {0:>7}  reject")
    for cut in sorted(cuts, key=lambda c: c.frame):
        words = [cut.source]
        if cut.frame in rejected:
            words.append("reject")
        if cut.kind and cut.kind != "cut":
            words.append(f"kind={cut.kind}")
        if cut.score is not None:
            words.append(f"score={_fmt_score(cut.score)}")
        if cut.detector:
            words.append(f"detector={cut.detector}")
        if cut.span_start is not None and cut.span_end is not None:
            words.append(f"span={cut.span_start}-{cut.span_end}")
        if cut.uncertain:
            words.append("uncertain")
        lines.append(
            f"{format_timecode(timing.time_of(cut.frame))}  {cut.frame:>7}  {' '.join(words)}"
        )
    return "\n".join(lines) + "\n"


_WORD = re.compile(r"^[A-Za-z0-9_.\-]+$")


def parse_sidecar(
    text: str, path: Path, video: Video, index: FrameIndex | None = None
) -> ImportedCuts:
    """Validate every line of a sidecar; raise :class:`CutFileError` on the first bad one."""
    timing = _Timing(video, index)
    seen: dict[int, int] = {}
    cuts: list[Cut] = []
    rejected: list[int] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        _check_header(raw, path, lineno, video)
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        seconds: Fraction | None = None
        frame: int | None = None
        source = "manual"
        reject = False
        fields: dict = {}
        for tok in line.split():
            low = tok.lower()
            tc = parse_timecode(tok)
            if tc is not None:
                if seconds is not None:
                    raise CutFileError(path, lineno, f"two timecodes on one line ({tok!r})")
                seconds = tc
            elif tok.isdigit():
                if frame is not None:
                    raise CutFileError(path, lineno, f"two frame numbers on one line ({tok!r})")
                frame = int(tok)
            elif low in ("auto", "manual"):
                source = low
            elif low == "reject":
                reject = True
            elif low == "keep":
                reject = False
            elif low == "uncertain":
                fields["uncertain"] = True
            elif "=" in tok:
                key, _, value = tok.partition("=")
                fields.update(_parse_field(path, lineno, key.lower(), value))
            elif ":" in tok or tok.replace(".", "", 1).isdigit():
                raise CutFileError(
                    path, lineno, f"{tok!r} is not a timecode (HH:MM:SS.mmm) or a frame number"
                )
            else:
                raise CutFileError(
                    path,
                    lineno,
                    f"unknown word {tok!r} (expected auto, manual, reject, uncertain or key=value)",
                )
        if frame is None and seconds is None:
            raise CutFileError(path, lineno, "no frame number or timecode")
        if frame is None:
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
            if off > timing.frame_length(frame) / 2:
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
        if frame in seen:
            raise CutFileError(
                path, lineno, f"frame {frame} is listed twice (also on line {seen[frame]})"
            )
        seen[frame] = lineno
        if frame == 0:
            if fields or source == "auto":
                raise CutFileError(
                    path,
                    lineno,
                    "frame 0 is the start of the video, not a cut; only '0 reject' may go there",
                )
            if reject:
                rejected.append(0)
            continue
        span = fields.pop("span", None)
        cuts.append(
            Cut(
                frame,
                source,
                fields.get("detector"),
                fields.get("score"),
                fields.get("kind", "cut"),
                span[0] if span else None,
                span[1] if span else None,
                bool(fields.get("uncertain", False)),
            )
        )
        if reject:
            rejected.append(frame)
    cuts.sort(key=lambda c: c.frame)
    return ImportedCuts(cuts, sorted(rejected))


_HEADER_FRAMES = re.compile(r"^#\s*fps:.*\bframes:\s*(\d+)")


def _check_header(raw: str, path: Path, lineno: int, video: Video) -> None:
    """A sidecar written for a video with another frame count belongs to another video."""
    m = _HEADER_FRAMES.match(raw.strip())
    if m and int(m.group(1)) != video.frame_count:
        raise CutFileError(
            path,
            lineno,
            f"this cut list was written for a video of {m.group(1)} frames, but {video.name} "
            f"has {video.frame_count}; delete this line to import it anyway",
        )


def _parse_field(path: Path, lineno: int, key: str, value: str) -> dict:
    if key == "score":
        try:
            score = float(value)
        except ValueError:
            raise CutFileError(path, lineno, f"score={value!r} is not a number") from None
        if not math.isfinite(score):
            raise CutFileError(path, lineno, f"score={value!r} is not a finite number")
        return {"score": score}
    if key == "detector":
        if not value or not _WORD.match(value):
            raise CutFileError(path, lineno, f"detector={value!r} must be a single word")
        return {"detector": value}
    if key == "kind":
        if not re.match(r"^[a-z_]+$", value):
            raise CutFileError(
                path, lineno, f"kind={value!r} must be a word like cut, fade, dissolve"
            )
        return {"kind": value}
    if key == "span":
        m = re.match(r"^(\d+)-(\d+)$", value)
        if not m or int(m.group(1)) > int(m.group(2)):
            raise CutFileError(
                path, lineno, f"span={value!r} must be FIRST-LAST frames, e.g. 58-62"
            )
        return {"span": (int(m.group(1)), int(m.group(2)))}
    if key == "uncertain":
        if value not in ("0", "1", "yes", "no", "true", "false"):
            raise CutFileError(path, lineno, f"uncertain={value!r} must be 0 or 1")
        return {"uncertain": value in ("1", "yes", "true")}
    raise CutFileError(
        path, lineno, f"unknown key {key!r} (expected score, detector, kind, span or uncertain)"
    )


def write_sidecar(project: Project, video_id: int) -> Path:
    """Write the sidecar from the project's cuts and flags; returns where it went.

    Beside the video when its folder is writable, otherwise in ``<project>/sidecars/`` (the
    returned path tells the caller which, so the GUI can say so).
    """
    video = project.video(video_id)
    text = render_sidecar(
        video, project.cuts(video_id), _rejected(project, video_id), project.frame_index(video_id)
    )
    target = sidecar_path(video.path)
    try:
        _atomic_write_text(target, text)
        return target
    except OSError as exc:
        if not _is_unwritable(exc):
            raise
    fallback = fallback_sidecar_path(project, video)
    fallback.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(fallback, text)
    log.warning("%s is not writable; the cut list was saved as %s", target.parent, fallback)
    return fallback


def _is_unwritable(exc: OSError) -> bool:
    import errno

    return isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)


def _rejected(project: Project, video_id: int) -> set[int]:
    return {s.start for s in project.segments(video_id) if not s.keep}


# ---------------------------------------------------------------------------------------------
# PySceneDetect CSV
# ---------------------------------------------------------------------------------------------
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
    rows = list(csv.reader(io.StringIO(text)))
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
    scenes: list[tuple[int, int, int]] = []
    for i, row in enumerate(rows[header_at + 1 :], header_at + 2):
        if not row or all(not c.strip() for c in row):
            continue
        try:
            start, end = int(row[c_start]), int(row[c_end])
        except (ValueError, IndexError):
            raise CutFileError(path, i, "Start Frame and End Frame must be whole numbers") from None
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


def _scenes_to_cuts(
    path: Path, scenes: list[tuple[int, int, int | None]], frames: int
) -> ImportedCuts:
    """Scenes [start, end) to cuts; frames no scene covers become rejected segments."""
    scenes.sort()
    cuts: set[int] = set()
    rejected: set[int] = set()
    pos = 0
    for start, end, line in scenes:
        if start < pos:
            raise CutFileError(
                path, line, f"scene starting at frame {start} overlaps the previous one"
            )
        if start > pos:
            rejected.add(pos)
            if pos > 0:
                cuts.add(pos)
        if start > 0:
            cuts.add(start)
        pos = max(pos, end)
    if pos < frames:
        rejected.add(pos)
        if pos > 0:
            cuts.add(pos)
    return ImportedCuts([Cut(f, "manual") for f in sorted(cuts)], sorted(rejected))


# ---------------------------------------------------------------------------------------------
# FFMETADATA chapters
# ---------------------------------------------------------------------------------------------
def _ff_escape(text: str) -> str:
    return re.sub(r"([=;#\\\n])", r"\\\1", text)


def render_ffmetadata(video: Video, cuts: list[Cut], rejected: set[int], index=None) -> str:
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


def parse_ffmetadata(text: str, path: Path, video: Video, index=None) -> ImportedCuts:
    timing = _Timing(video, index)
    lines = text.splitlines()
    if not lines or not lines[0].startswith(";FFMETADATA"):
        raise CutFileError(path, 1, "not an FFMETADATA file (first line must be ;FFMETADATA1)")
    chapters: list[dict] = []
    for lineno, raw in enumerate(lines[1:], 2):
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("["):
            chapters.append({"line": lineno} if line.upper() == "[CHAPTER]" else None)
            continue
        if not chapters or chapters[-1] is None:
            continue  # global or stream metadata
        key, sep, value = line.partition("=")
        if not sep:
            raise CutFileError(path, lineno, f"expected KEY=VALUE, found {line!r}")
        chapters[-1][key.strip().upper()] = (value.strip(), lineno)
    scenes: list[tuple[int, int, int | None]] = []
    rejected_starts: set[int] = set()
    for ch in (c for c in chapters if c):
        line = ch["line"]
        tb_text = ch.get("TIMEBASE", ("1/1000000000", line))[0]
        try:
            tb = Fraction(tb_text)
            start, end = int(ch["START"][0]), int(ch["END"][0])
        except (KeyError, ValueError, ZeroDivisionError):
            raise CutFileError(
                path, line, "chapter needs TIMEBASE=N/D, START=n and END=n"
            ) from None
        frames = []
        for value in (start, end):
            seconds = value * tb
            f = timing.nearest_frame(seconds)
            if f > video.frame_count or (
                f < video.frame_count
                and abs(timing.time_of(f) - seconds) > timing.frame_length(f) / 2
            ):
                raise CutFileError(
                    path, line, f"chapter time {format_timecode(seconds)} is outside the video"
                )
            frames.append(min(f, video.frame_count))
        if frames[1] <= frames[0]:
            raise CutFileError(path, line, "chapter END is not after START")
        scenes.append((frames[0], frames[1], line))
        if ch.get("WORKSTATION_KEEP", ("1",))[0] == "0":
            rejected_starts.add(frames[0])
    if not scenes:
        raise CutFileError(path, None, "has no [CHAPTER] sections")
    result = _scenes_to_cuts(path, scenes, video.frame_count)
    return ImportedCuts(result.cuts, sorted(set(result.rejected_starts) | rejected_starts))


# ---------------------------------------------------------------------------------------------
# CMX3600 EDL
# ---------------------------------------------------------------------------------------------
def _edl_base(video: Video) -> int:
    return max(1, round(Fraction(video.fps)))


def _edl_tc(frame: int, base: int) -> str:
    s, f = divmod(frame, base)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"


def render_edl(video: Video, cuts: list[Cut], rejected: set[int]) -> str:
    """A CMX3600 EDL with one event per segment, non-drop-frame timecode.

    Written here rather than by ``scenedetect.output.write_scene_list_edl``: that writer derives
    the frame field from float seconds and is off by one frame on thousands of frames at 25
    and 30 fps (and runs backwards at 24000/1001 after 16:41).  Timecodes count frames at the
    nominal rate (24 for 24000/1001), as NLEs read NDF timecode, so every frame is exact, and
    an out point equals the next event's in point (cf. PySceneDetect issues #502 and #516).
    """
    base = _edl_base(video)
    bounds = [0, *sorted(c.frame for c in cuts), video.frame_count]
    title = re.sub(r"[\r\n]", " ", video.name)
    lines = [f"TITLE: {title}", "FCM: NON-DROP FRAME", ""]
    event = 0
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b <= a:
            continue
        event += 1
        tin, tout = _edl_tc(a, base), _edl_tc(b, base)
        lines.append(f"{event:03d}  AX       V     C        {tin} {tout} {tin} {tout}")
        lines.append(f"* FROM CLIP NAME: {title}")
        if a in rejected:
            lines.append("* WORKSTATION: REJECTED")
    return "\n".join(lines) + "\n"


_EDL_EVENT = re.compile(
    r"^(\d{3,})\s+\S+\s+\S+\s+\S+\s+(?:\d+\s+)?"
    r"(\d\d:\d\d:\d\d[:;]\d\d)\s+(\d\d:\d\d:\d\d[:;]\d\d)\s+(\d\d:\d\d:\d\d[:;]\d\d)\s+(\d\d:\d\d:\d\d[:;]\d\d)\s*$"
)


def parse_edl(text: str, path: Path, video: Video) -> ImportedCuts:
    base = _edl_base(video)
    scenes: list[tuple[int, int, int | None]] = []
    rejected: set[int] = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("TITLE:"):
            continue
        if line.startswith("FCM:"):
            if "NON" not in line.upper():
                raise CutFileError(
                    path, lineno, "drop-frame EDLs are not supported; export non-drop-frame"
                )
            continue
        if line.startswith("*"):
            if "WORKSTATION: REJECTED" in line.upper() and scenes:
                rejected.add(scenes[-1][0])
            continue
        m = _EDL_EVENT.match(line)
        if not m:
            raise CutFileError(path, lineno, f"not a CMX3600 event line: {line[:60]!r}")
        frames = []
        for tc in (m.group(2), m.group(3)):
            h, mi, s, f = (int(x) for x in re.split(r"[:;]", tc))
            if mi >= 60 or s >= 60 or f >= base:
                raise CutFileError(path, lineno, f"timecode {tc} is invalid at {base} frames/s")
            frames.append(((h * 60 + mi) * 60 + s) * base + f)
        if frames[1] <= frames[0]:
            raise CutFileError(path, lineno, "event's source out point is not after its in point")
        if frames[1] > video.frame_count:
            raise CutFileError(
                path,
                lineno,
                f"source out point {m.group(3)} is past the video's {video.frame_count} frames",
            )
        scenes.append((frames[0], frames[1], lineno))
    if not scenes:
        raise CutFileError(path, None, "has no events")
    result = _scenes_to_cuts(path, scenes, video.frame_count)
    return ImportedCuts(result.cuts, sorted(set(result.rejected_starts) | rejected))


# ---------------------------------------------------------------------------------------------
# Sniffing, import, export
# ---------------------------------------------------------------------------------------------
def sniff_format(text: str) -> str:
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if first.startswith(";FFMETADATA"):
        return "ffmetadata"
    if first.startswith(("TITLE:", "FCM:")) or _EDL_EVENT.match(first):
        return "edl"
    head = first.lower()
    if any(ln.lower().startswith("scene number,") for ln in text.splitlines()[:3]):
        return "csv"
    if head.startswith(("timecode list", "scene number")) or (
        "," in first
        and not first.startswith("#")
        and parse_timecode(first.split(",")[0]) is not None
    ):
        return "csv"
    return "sidecar"


def read_cut_file(
    path: str | Path, video: Video, *, index: FrameIndex | None = None
) -> ImportedCuts:
    """Read and fully validate any supported cut file (the format is sniffed from its text).

    Pass the project's frame index for exact times on VFR videos.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CutFileError(path, None, "file not found") from None
    except UnicodeDecodeError:
        raise CutFileError(path, None, "not a text file (expected UTF-8)") from None
    except OSError as exc:
        raise CutFileError(path, None, f"cannot be read: {exc.strerror or exc}") from None
    fmt = sniff_format(text)
    if fmt == "ffmetadata":
        return parse_ffmetadata(text, path, video, index)
    if fmt == "edl":
        return parse_edl(text, path, video)
    if fmt == "csv":
        return parse_csv(text, path, video)
    return parse_sidecar(text, path, video, index)


def import_cuts(project: Project, video_id: int, path: str | Path) -> ImportedCuts:
    """Replace every cut and segment flag of a video with a file's, all or nothing.

    The file is validated completely before anything changes; the change is one transaction;
    the sidecar is rewritten afterwards so it matches the project.
    """
    video = project.video(video_id)
    imported = read_cut_file(path, video, index=project.frame_index(video_id))
    with project.transaction():
        project.replace_all_cuts(video_id, imported.cuts)
        project.db.execute("DELETE FROM segments WHERE video_id=?", (video_id,))
        for start in imported.rejected_starts:
            project.set_segment_keep(video_id, start, False)
    try:
        write_sidecar(project, video_id)
    except OSError as exc:  # the import itself succeeded; the next edit rewrites the sidecar
        log.warning("cuts imported, but the sidecar could not be written: %s", exc)
    return imported


def export_cuts(
    project: Project, video_id: int, fmt: CutFormat = "sidecar", out: str | Path | None = None
) -> str | Path:
    """Render a video's cuts in ``fmt``; with ``out`` write it there (atomically) and return the path.

    ``out`` may be a folder: the file is then named after the video.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown cut file format {fmt!r} (choose from {', '.join(FORMATS)})")
    video = project.video(video_id)
    cuts = project.cuts(video_id)
    rejected = _rejected(project, video_id)
    index = project.frame_index(video_id)
    if fmt == "sidecar":
        text = render_sidecar(video, cuts, rejected, index)
    elif fmt == "csv":
        text = render_csv(video, cuts)
    elif fmt == "ffmetadata":
        text = render_ffmetadata(video, cuts, rejected, index)
    else:
        text = render_edl(video, cuts, rejected)
    if out is None:
        return text
    target = Path(out)
    if target.is_dir():
        target = target / (video.name + _EXTENSIONS[fmt])
    _atomic_write_text(target, text)
    return target
