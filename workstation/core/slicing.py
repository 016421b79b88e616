"""Frame-exact slicing of kept segments into training clips, verified, over worker processes.

Clips are re-encoded (H.264, yuv420p, even dimensions) from exactly the frames ``[start, end)``:
a stream copy would have to start at the previous keyframe and drag in frames of the previous
shot.  Each worker seeks to the keyframe before its range with the stored :class:`FrameIndex`,
decodes forward, numbers frames by their timestamps, encodes to a temp file beside the final
one, verifies it (frame count, first and last frame against the source) and renames it.

Changing the frame rate resamples by timestamps ("sample and hold"): output frame ``k`` shows
the source frame on screen at ``t_start + k / fps`` (exact rational arithmetic on the stored
timestamps), so frames are dropped when lowering the rate and repeated when raising it, and
the clip keeps the segment's duration.  A clip's source range ``[start, end)`` (its name and
its row) is the source time it covers, so it does not change with the output frame rate.
With ``fps=None`` every source frame is kept once; a variable-frame-rate source then keeps its
own timestamps.

Lengths (``min_frames``/``max_frames``) count output frames.  A segment longer than
``max_frames`` is split into consecutive chunks of exactly ``max_frames``; a chunk (or segment)
shorter than ``min_frames`` is skipped and reported.  ``trim`` drops that many frames at each
edge that is a cut (not at the very start or end of the video), where a transition frame often
hides.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import av
import numpy as np

from workstation.core.errors import MediaError, WorkstationError
from workstation.core.media import FrameIndex, _open, _video_stream, iter_frames
from workstation.core.progress import Progress, Stage
from workstation.core.store import Project, Video

SETTINGS_VERSION = 1
# Starting a spawn pool costs 0.5-4 s (each worker imports numpy and PyAV).  On 2 cores a
# single thread (x264 threads itself) sliced the demo set twice as fast as 2 processes (see
# docs/benchmarks.md), so by default a pool is used only for big jobs on bigger machines.
POOL_MIN_CPUS = 4
POOL_MIN_FRAMES = 1500
PART_SUFFIX = ".part"


class SliceSettingsError(WorkstationError, ValueError):
    """A slicing setting out of range; the message names the field."""


def _frame_rate(value: Any) -> Fraction:
    """A frame rate from 24, "24000/1001" or 23.976 (NTSC rates snap to N*1000/1001)."""
    try:
        fps = Fraction(value) if not isinstance(value, float) else None
    except (TypeError, ValueError, ZeroDivisionError):
        raise SliceSettingsError(f"fps: {value!r} is not a frame rate") from None
    if fps is None:
        base = round(value * 1001 / 1000)
        if value != int(value) and abs(base * 1000 / 1001 - value) < 0.002:
            fps = Fraction(base * 1000, 1001)
        else:
            fps = Fraction(value).limit_denominator(1001)
    if not 0 < fps <= 1000:
        raise SliceSettingsError(f"fps: {value!r} must be above 0 and at most 1000")
    return fps


@dataclass(frozen=True)
class SliceSettings:
    """How clips are cut; stored with every clip so a re-run with the same settings is a no-op."""

    fps: Fraction | None = None  # None: the source's rate (and timestamps, for VFR)
    max_side: int | None = None  # downscale so the longer side is at most this (even dims)
    min_frames: int = 8  # shorter segments/chunks are skipped and reported
    max_frames: int | None = None  # longer segments are split into chunks of this many
    trim: int = 0  # frames dropped at each cut edge
    crf: int = 18
    preset: str = "fast"

    def __post_init__(self) -> None:
        if self.fps is not None:
            object.__setattr__(self, "fps", _frame_rate(self.fps))
        if self.max_side is not None and self.max_side < 16:
            raise SliceSettingsError(f"max_side: {self.max_side} is too small (at least 16)")
        if self.min_frames < 1:
            raise SliceSettingsError(f"min_frames: {self.min_frames} must be at least 1")
        if self.max_frames is not None and self.max_frames < self.min_frames:
            raise SliceSettingsError(
                f"max_frames: {self.max_frames} is below min_frames ({self.min_frames})"
            )
        if self.trim < 0:
            raise SliceSettingsError(f"trim: {self.trim} must not be negative")
        if not 0 <= self.crf <= 51:
            raise SliceSettingsError(f"crf: {self.crf} must be between 0 and 51")
        presets = [
            "ultrafast",
            "superfast",
            "veryfast",
            "faster",
            "fast",
            "medium",
            "slow",
            "slower",
            "veryslow",
        ]
        if self.preset not in presets:
            raise SliceSettingsError(f"preset: {self.preset!r} is not one of {', '.join(presets)}")

    def to_params(self) -> dict[str, Any]:
        """A JSON-able dict (what the clip rows store and compare)."""
        d = asdict(self)
        d["fps"] = None if self.fps is None else f"{self.fps.numerator}/{self.fps.denominator}"
        d.update(version=SETTINGS_VERSION, codec="libx264", pix_fmt="yuv420p")
        return d

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SliceSettings:
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Verification:
    ok: bool
    frames: int
    expected_frames: int
    first_diff: float | None = None
    last_diff: float | None = None
    error: str | None = None


@dataclass
class ClipResult:
    path: Path
    video_id: int
    start: int  # source frames [start, end)
    end: int
    frames: int
    verified: bool
    error: str | None = None
    reused: bool = False
    clip_id: int | None = None  # the project's clip row (None for reused and failed clips)


@dataclass(frozen=True)
class SkippedSegment:
    video_id: int
    start: int
    end: int
    reason: str


@dataclass
class SliceResult:
    clips: list[ClipResult] = field(default_factory=list)  # written, reused or failed
    skipped: list[SkippedSegment] = field(default_factory=list)
    stale: list[Path] = field(default_factory=list)  # clips of these videos the cuts no longer give
    errors: list[str] = field(default_factory=list)  # one sentence per failed clip/video
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def written(self) -> list[ClipResult]:
        return [c for c in self.clips if not c.reused and c.verified]

    @property
    def reused(self) -> list[ClipResult]:
        return [c for c in self.clips if c.reused]

    @property
    def failed(self) -> list[ClipResult]:
        return [c for c in self.clips if not c.verified]


@dataclass(frozen=True)
class ClipPlan:
    """Everything a worker process needs for one clip (small and picklable)."""

    video_id: int
    source: str
    path: str
    start: int
    end: int
    src: tuple[int, ...]  # the source frame shown at each output frame
    out_pts: tuple[int, ...] | None  # VFR pass-through timestamps (in ``out_tb``), else 0..n-1
    out_rate: Fraction
    out_tb: Fraction
    width: int
    height: int
    seek_frame: int  # keyframe at or before ``start``
    pts_window: tuple[int, ...]  # pts of frames seek_frame .. (end + 1)
    crf: int
    preset: str
    threads: int
    tolerance: float
    quarter_turns: int = 0  # counter-clockwise turns that make the source upright

    @property
    def name(self) -> str:
        return Path(self.path).name


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------
def clip_folder(project: Project, video: Video) -> Path:
    return project.clips_dir / f"{video.path.stem}-{video.content_id[:8]}"


def clip_name(video: Video, start: int, end: int) -> str:
    return f"{video.path.stem}_f{start:06d}-{end:06d}.mp4"


def output_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Even dimensions, downscaled to ``max_side`` keeping the aspect ratio."""
    scale = 1.0
    if max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
    w = max(2, int(round(width * scale / 2)) * 2)
    h = max(2, int(round(height * scale / 2)) * 2)
    return w, h


def _source_frames(index: FrameIndex, start: int, end: int, fps: Fraction | None) -> list[int]:
    """Source frame shown at each output frame of ``[start, end)`` (sample and hold)."""
    if fps is None:
        return list(range(start, end))
    pts = index.pts
    n = len(pts)
    # The last frame lasts the median frame length (as the probe assumes for the duration).
    last_len = int(np.median(np.diff(np.asarray(pts, dtype=np.int64)))) if n > 1 else 1
    t_start = pts[start]
    t_end = pts[end] if end < n else pts[-1] + last_len
    step = 1 / (fps * index.time_base)  # output frame length in pts units
    out: list[int] = []
    k = 0
    while True:
        t = t_start + k * step
        if t >= t_end:
            break
        out.append(bisect.bisect_right(pts, t) - 1)
        k += 1
    return out


def plan_video(
    project: Project,
    video: Video,
    settings: SliceSettings,
    *,
    threads: int = 1,
    tolerance: float | None = None,
) -> tuple[list[ClipPlan], list[SkippedSegment]]:
    """The clips a video's kept segments give under ``settings``, and what is skipped."""
    index = project.frame_index(video.id)
    if index is None or len(index) != video.frame_count:
        raise MediaError(video.path, "has no frame index in the project; add the video again")
    if not video.path.exists():
        raise MediaError(video.path, "file not found (moved or deleted?); relink the video")
    keyframes = sorted(project.keyframes(video.id)) or [0]
    turns = quarter_turns(video.rotation)
    upright = (video.height, video.width) if turns % 2 else (video.width, video.height)
    width, height = output_size(*upright, settings.max_side)
    folder = clip_folder(project, video)
    plans: list[ClipPlan] = []
    skipped: list[SkippedSegment] = []
    n = video.frame_count
    for seg in project.segments(video.id):
        if not seg.keep:
            continue
        s = seg.start + (settings.trim if seg.start > 0 else 0)
        e = seg.end - (settings.trim if seg.end < n else 0)
        if e <= s:
            skipped.append(
                SkippedSegment(video.id, seg.start, seg.end, "no frames left after trimming")
            )
            continue
        src = _source_frames(index, s, e, settings.fps)
        size = settings.max_frames or len(src)
        for i in range(0, len(src), size):
            chunk = src[i : i + size]
            # The clip covers source time [a, b): up to the next chunk or the segment's end,
            # so names do not change with the frame rate unless chunk boundaries do.
            a = chunk[0]
            b = max(chunk[-1] + 1, src[i + size] if i + size < len(src) else e)
            if len(chunk) < settings.min_frames:
                skipped.append(
                    SkippedSegment(
                        video.id,
                        a,
                        b,
                        f"{len(chunk)} frames, shorter than the minimum of {settings.min_frames}",
                    )
                )
                continue
            if settings.fps is None and video.vfr:
                out_pts = tuple(index.pts[f] - index.pts[a] for f in chunk)
                out_rate, out_tb = video.fps, index.time_base
            else:
                out_pts = None
                out_rate = settings.fps or video.fps
                out_tb = 1 / out_rate
            seek = keyframes[max(0, bisect.bisect_right(keyframes, a) - 1)]
            plans.append(
                ClipPlan(
                    video_id=video.id,
                    source=str(video.path),
                    path=str(folder / clip_name(video, a, b)),
                    start=a,
                    end=b,
                    src=tuple(chunk),
                    out_pts=out_pts,
                    out_rate=Fraction(out_rate),
                    out_tb=Fraction(out_tb),
                    width=width,
                    height=height,
                    seek_frame=seek,
                    pts_window=tuple(index.pts[seek : min(n, b + 1)]),
                    crf=settings.crf,
                    preset=settings.preset,
                    threads=threads,
                    tolerance=tolerance if tolerance is not None else match_tolerance(settings.crf),
                    quarter_turns=turns,
                )
            )
    return plans, skipped


# ---------------------------------------------------------------------------------------------
# The worker side (runs in a child process, or inline)
# ---------------------------------------------------------------------------------------------
_CANCEL: Any = None  # a multiprocessing.Event in workers
_FRAMES: Any = None  # a shared counter of frames encoded, for progress


def _init_worker(cancel: Any, frames: Any) -> None:
    global _CANCEL, _FRAMES
    _CANCEL, _FRAMES = cancel, frames


class _Interrupted(Exception):
    pass


def _part_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}{PART_SUFFIX}")


class _Counter:
    """The in-process stand-in for a shared ``multiprocessing.Value`` frame counter."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock


def encode_clip(plan: ClipPlan, cancel: Any = None, counter: Any = None) -> dict[str, Any]:
    """Encode, verify and publish one clip; returns a picklable outcome (never raises).

    ``cancel`` (an Event) stops it at the next frame; ``counter`` counts encoded frames.  In
    worker processes both come from the pool initializer instead.
    """
    final = Path(plan.path)
    tmp = _part_path(final)
    outcome: dict[str, Any] = {
        "path": plan.path,
        "frames": 0,
        "verified": False,
        "error": None,
        "written": False,
    }
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        refs = _encode(plan, tmp, cancel or _CANCEL, counter or _FRAMES)
        check = _check_clip(
            tmp,
            len(plan.src),
            refs,
            plan.src[0],
            plan.src[-1],
            plan.tolerance,
            plan.width,
            plan.height,
        )
        os.replace(tmp, final)
        outcome.update(frames=check.frames, verified=check.ok, error=check.error, written=True)
    except _Interrupted:
        outcome["error"] = "cancelled"
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            outcome["error"] = f"{final.name}: disk full while writing {final.parent}"
        else:
            outcome["error"] = f"{final.name}: cannot be written ({exc.strerror or exc})"
    except MediaError as exc:
        outcome["error"] = f"{final.name}: {exc}"
    except Exception as exc:  # one bad segment must not stop the others
        outcome["error"] = f"{final.name}: encoding failed ({type(exc).__name__}: {exc})"
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return outcome


def _encode(plan: ClipPlan, tmp: Path, cancel: Any, counter: Any) -> dict[int, np.ndarray]:
    """Decode the source range and encode the output frames; returns reference images."""
    src = plan.src
    first, last = src[0], src[-1]
    wanted_refs = {first - 1, first, first + 1, last - 1, last, last + 1}
    refs: dict[int, np.ndarray] = {}
    source = Path(plan.source)
    container = _open(source)
    try:
        stream = _video_stream(source, container)
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = plan.threads
        if plan.seek_frame > 0:
            container.seek(plan.pts_window[0], stream=stream, backward=True, any_frame=False)
        out = av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"})
        try:
            ostream = out.add_stream("libx264", rate=plan.out_rate)
            ostream.width, ostream.height, ostream.pix_fmt = plan.width, plan.height, "yuv420p"
            ostream.codec_context.time_base = plan.out_tb
            ostream.codec_context.thread_count = plan.threads
            ostream.options = {"crf": str(plan.crf), "preset": plan.preset}
            k = 0
            counted = 0
            window, base = plan.pts_window, plan.seek_frame
            for frame in container.decode(stream):
                if cancel is not None and cancel.is_set():
                    raise _Interrupted()
                if frame.pts is None:
                    raise MediaError(source, "a decoded frame has no timestamp; cannot cut exactly")
                if frame.pts < window[0]:
                    continue
                number = base + bisect.bisect_right(window, frame.pts) - 1
                if number in wanted_refs:
                    refs[number] = upright_rgb(frame, plan.width, plan.height, plan.quarter_turns)
                if number > last:
                    break  # the frame after the clip was kept as a reference
                if k < len(src) and src[k] == number:
                    image = _output_frame(frame, plan.width, plan.height, plan.quarter_turns)
                    while k < len(src) and src[k] == number:  # repeated when raising the rate
                        image.pts = plan.out_pts[k] if plan.out_pts is not None else k
                        image.time_base = plan.out_tb
                        for packet in ostream.encode(image):
                            out.mux(packet)
                        k += 1
                        counted += 1
                    if counted >= 8 and counter is not None:
                        with counter.get_lock():
                            counter.value += counted
                        counted = 0
            if k < len(src):
                raise MediaError(
                    source,
                    f"ended at output frame {k} of {len(src)} (source frame {src[k]} missing)",
                )
            for packet in ostream.encode():
                out.mux(packet)
            if counted and counter is not None:
                with counter.get_lock():
                    counter.value += counted
        finally:
            out.close()
    finally:
        container.close()
    return refs


def match_tolerance(crf: int) -> float:
    """Mean absolute difference (0-255) a clip frame may have from its source frame.

    Measured on the demo videos: at most 4.7 at crf 30, 8.8 at crf 40, 15.6 at crf 51.  The
    check against the neighbouring frames, not this bound, is what catches an off-by-one.
    """
    return 12.0 + max(0, crf - 40) * 1.5


def quarter_turns(rotation: int) -> int:
    """Display rotation in degrees (counter-clockwise, as PyAV reports it) to np.rot90 turns."""
    return round((rotation or 0) / 90) % 4


def upright_rgb(frame: av.VideoFrame, width: int, height: int, turns: int) -> np.ndarray:
    """The frame as shown to a person: scaled to ``width``x``height`` and turned upright.

    Clips are stored upright because training loaders ignore the display matrix that phone
    videos rely on (the same turn ``ffmpeg`` applies by default).
    """
    sw, sh = (height, width) if turns % 2 else (width, height)
    rgb = frame.to_ndarray(width=sw, height=sh, format="rgb24", interpolation="AREA")
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def _output_frame(frame: av.VideoFrame, width: int, height: int, turns: int) -> av.VideoFrame:
    if not turns:
        return frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")
    rgb = upright_rgb(frame, width, height, turns)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def _mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def _check_clip(
    clip: Path,
    expected: int,
    refs: dict[int, np.ndarray],
    first: int,
    last: int,
    tolerance: float,
    width: int,
    height: int,
) -> Verification:
    """Decode a clip: count frames and match its first/last frames against the source's."""
    count = 0
    head = tail = None
    try:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            last_frame = None
            for frame in container.decode(stream):
                if count == 0:
                    head = frame.to_ndarray(width=width, height=height, format="rgb24")
                last_frame = frame  # converted once at the end: only first and last are compared
                count += 1
            if last_frame is not None:
                tail = last_frame.to_ndarray(width=width, height=height, format="rgb24")
    except av.error.FFmpegError as exc:
        return Verification(False, count, expected, error=f"clip cannot be decoded: {exc}")
    if count != expected:
        return Verification(
            False, count, expected, error=f"clip has {count} frames, expected {expected}"
        )
    diffs: list[float] = []
    for which, image, n in (("first", head, first), ("last", tail, last)):
        ref = refs.get(n)
        if ref is None or image is None:
            return Verification(False, count, expected, error=f"source frame {n} was not decoded")
        d = _mean_diff(image, ref)
        diffs.append(d)
        problem = None
        if d > tolerance:
            problem = f"{which} frame differs from source frame {n} (mean difference {d:.1f})"
        for nb in (n - 1, n + 1):
            other = refs.get(nb)
            if problem or other is None or _mean_diff(other, ref) < 0.5:
                continue  # a duplicate frame cannot be told apart
            if _mean_diff(image, other) < d:
                problem = f"{which} frame looks like source frame {nb}, expected {n}"
        if problem:
            padded = [*diffs, None]
            return Verification(False, count, expected, padded[0], padded[1], error=problem)
    return Verification(True, count, expected, diffs[0], diffs[1])


def verify_clip(
    path: str | Path,
    expected_frames: int,
    source_path: str | Path,
    start: int,
    end: int,
    *,
    index: FrameIndex | None = None,
    first_source: int | None = None,
    last_source: int | None = None,
    tolerance: float = 12.0,
    rotation: int = 0,
) -> Verification:
    """Check a clip on disk against its source: frame count, first and last frame.

    ``first_source``/``last_source`` are the source frames the clip's first and last frames
    show (default ``start`` and ``end - 1``; they differ after frame-rate resampling).  The
    source is decoded here (seeking with ``index`` when given) and turned upright by its
    ``rotation`` (degrees counter-clockwise, as probed).
    """
    path = Path(path)
    first = start if first_source is None else first_source
    last = end - 1 if last_source is None else last_source
    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            width, height = s.codec_context.width, s.codec_context.height
    except (av.error.FFmpegError, OSError) as exc:
        return Verification(
            False, 0, expected_frames, error=f"{path.name}: cannot be opened: {exc}"
        )
    turns = quarter_turns(rotation)
    sw, sh = (height, width) if turns % 2 else (width, height)
    refs: dict[int, np.ndarray] = {}
    for a, b in ((first - 1, first + 2), (last - 1, last + 2)):
        for number, image in iter_frames(
            source_path, start=max(0, a), end=b, width=sw, height=sh, index=index
        ):
            refs[number] = np.ascontiguousarray(np.rot90(image, turns))
    return _check_clip(path, expected_frames, refs, first, last, tolerance, width, height)


# ---------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------
def split_video(
    project: Project,
    video_id: int,
    settings: SliceSettings = SliceSettings(),
    *,
    workers: int | None = None,
) -> Stage[SliceResult]:
    """Slice one video's kept segments (see :func:`split_project`)."""
    return (yield from split_project(project, [video_id], settings, workers=workers))


def _existing_clip(project: Project, path: Path, params: str) -> int | None:
    """Frame count of a verified clip at ``path`` made with the same settings, if any."""
    try:
        stored = str(path.resolve().relative_to(project.root))
    except ValueError:
        stored = str(path.resolve())
    row = project.db.execute(
        "SELECT settings, verified, frame_count FROM clips WHERE path=?", (stored,)
    ).fetchone()
    if row is None or not row["verified"] or not path.is_file() or path.stat().st_size == 0:
        return None
    if json.dumps(json.loads(row["settings"]), sort_keys=True) != params:
        return None
    return int(row["frame_count"])


def _remove_stale_parts(folder: Path) -> None:
    """Temp files of a slicer that died are removed (its pid is gone, or 10 min untouched)."""
    if not folder.is_dir():
        return
    for p in folder.glob(f".*{PART_SUFFIX}"):
        try:
            if os.name == "nt":  # os.kill(pid, 0) would send Ctrl+C there
                stale = time.time() - p.stat().st_mtime > 600
            else:
                pid = int(p.name[: -len(PART_SUFFIX)].rsplit(".", 1)[1])
                try:
                    os.kill(pid, 0)
                    stale = False
                except ProcessLookupError:
                    stale = True
        except (ValueError, IndexError, OSError):
            continue
        if stale:
            with contextlib.suppress(OSError):
                p.unlink()


def split_project(
    project: Project,
    video_ids: Iterable[int] | None = None,
    settings: SliceSettings = SliceSettings(),
    *,
    workers: int | None = None,
) -> Stage[SliceResult]:
    """Slice the kept segments of videos into verified clips, spread over processes.

    ``workers=0`` encodes one clip at a time in a thread of this process; ``workers=N`` runs a
    spawn-based pool of N processes (a script that calls this needs the
    ``if __name__ == "__main__":`` guard).  The default picks the thread for small jobs and
    machines under 4 cores, else one process per core.  Clips already present and
    verified with the same settings are reused.  Cancelling (closing the generator) drops
    pending clips, stops running ones at their next frame and removes their temp files; clips
    finished by then are recorded.
    """
    t0 = time.monotonic()
    result = SliceResult()
    ids = [v.id for v in project.videos()] if video_ids is None else list(video_ids)
    params = settings.to_params()
    params_key = json.dumps(params, sort_keys=True)
    cpus = os.cpu_count() or 1
    plans: list[ClipPlan] = []
    yield Progress("slice", 0, None, "", "planning clips")
    for vid in ids:
        try:
            video = project.video(vid)
        except WorkstationError as exc:
            result.errors.append(str(exc))
            continue
        try:
            vplans, skipped = plan_video(project, video, settings)
        except WorkstationError as exc:
            result.errors.append(str(exc))
            continue
        result.skipped += skipped
        _remove_stale_parts(clip_folder(project, video))
        planned = {Path(p.path) for p in vplans}
        result.stale += [c.path for c in project.clips(vid) if c.path not in planned]
        for plan in vplans:
            frames = _existing_clip(project, Path(plan.path), params_key)
            if frames is not None:
                result.clips.append(
                    ClipResult(
                        Path(plan.path), vid, plan.start, plan.end, frames, True, reused=True
                    )
                )
            else:
                plans.append(plan)
    n_workers = min(cpus if workers is None else workers, len(plans))
    total_frames = sum(len(p.src) for p in plans)
    if workers is None and (cpus < POOL_MIN_CPUS or total_frames < POOL_MIN_FRAMES):
        n_workers = 0  # a thread, with x264's own threads on every core, is faster here
    threads = max(1, cpus // max(1, n_workers))
    plans = [_with_threads(p, threads) for p in plans]
    by_path = {p.path: p for p in plans}
    done_frames = 0

    def record(outcome: dict[str, Any]) -> None:
        nonlocal done_frames
        plan = by_path[outcome["path"]]
        done_frames += len(plan.src)
        error = outcome["error"]
        if error == "cancelled":
            return
        clip = ClipResult(
            Path(plan.path),
            plan.video_id,
            plan.start,
            plan.end,
            outcome["frames"],
            bool(outcome["verified"]),
            error,
        )
        result.clips.append(clip)
        if error:
            result.errors.append(
                error if error.startswith(clip.path.name) else f"{clip.path.name}: {error}"
            )
        if outcome["written"]:
            clip.clip_id = project.upsert_clip(
                Path(plan.path),
                video_id=plan.video_id,
                start_frame=plan.start,
                end_frame=plan.end,
                fps=plan.out_rate,
                frame_count=outcome["frames"],
                width=plan.width,
                height=plan.height,
                settings=params,
                verified=bool(outcome["verified"]),
                verify_error=error,
            )
            new_ids.append(clip.clip_id)

    new_ids: list[int] = []  # clip rows written since the last progress record

    def progress(item: str) -> Progress:
        clips_done = len(result.clips) - len(result.reused)
        ids = list(new_ids)
        new_ids.clear()
        return Progress(
            "slice",
            done_frames,
            total_frames,
            item,
            f"{clips_done} of {len(plans)} clips",
            {"clips_done": clips_done, "clips_total": len(plans), "new_clip_ids": ids},
        )

    if not plans:
        result.seconds = time.monotonic() - t0
        yield Progress("slice", 0, 0, "", "nothing to do")
        return result

    if n_workers <= 0:  # in this process, in one thread (debugging, tests, tiny jobs)
        cancel: Any = threading.Event()
        counter: Any = _Counter()
        pool: Executor = ThreadPoolExecutor(1, thread_name_prefix="slice")
        submit = partial(encode_clip, cancel=cancel, counter=counter)
    else:
        ctx = multiprocessing.get_context("spawn")  # fork is unsafe from a threaded (Qt) process
        cancel = ctx.Event()
        counter = ctx.Value("q", 0)
        pool = ProcessPoolExecutor(
            n_workers, mp_context=ctx, initializer=_init_worker, initargs=(cancel, counter)
        )
        submit = encode_clip
    futures: dict[Future, ClipPlan] = {}
    recorded: set[Future] = set()
    finished = False
    try:
        futures = {pool.submit(submit, p): p for p in plans}
        pending = set(futures)
        yield progress(plans[0].name)
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for fut in done:
                recorded.add(fut)
                record(_outcome(fut, futures[fut]))
            if done:
                yield progress(futures[next(iter(done))].name)
            else:
                live = min(total_frames, max(done_frames, counter.value))
                p = progress("")
                yield Progress(p.stage, live, p.total, p.item, p.message, p.data)
        finished = True
    finally:
        if not finished:
            cancel.set()
            result.cancelled = True
        pool.shutdown(wait=True, cancel_futures=True)
        for fut, plan in futures.items():
            if fut in recorded or not fut.done() or fut.cancelled():
                continue
            record(_outcome(fut, plan))
        for folder in {Path(p.path).parent for p in plans}:
            _remove_stale_parts(folder)
        result.seconds = time.monotonic() - t0
    yield progress("")
    return result


def _outcome(fut: Future, plan: ClipPlan) -> dict[str, Any]:
    try:
        return fut.result()
    except BrokenProcessPool:
        error = (
            f"{plan.name}: the slicing worker processes stopped unexpectedly (out of memory, "
            "or a script that starts slicing without an `if __name__ == '__main__':` guard)"
        )
    except Exception as exc:  # e.g. a pickling error
        error = f"{plan.name}: worker failed ({type(exc).__name__}: {exc})"
    return {"path": plan.path, "frames": 0, "verified": False, "written": False, "error": error}


def _with_threads(plan: ClipPlan, threads: int) -> ClipPlan:
    from dataclasses import replace

    return replace(plan, threads=threads)
