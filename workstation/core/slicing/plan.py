"""Planning: a video's kept segments under the settings become clip plans (or are skipped).

Resampling is planned here ("sample and hold" on the stored timestamps), as are chunking by
``max_frames``, leaving transitions out, trimming at cut edges and where each clip's encoder
starts decoding.

A fade's or dissolve's cut carries its span: frames ``span_start..span_end``, both inclusive
(as the detectors report them and the timeline draws them).  Unless
``settings.keep_transitions``, the clip before such a cut ends before ``span_start`` and the
clip after it starts after ``span_end``; ``trim`` then drops its frames from what is left.  A plan is
small and picklable, so it can go to a worker process.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from workstation.core.errors import MediaError
from workstation.core.media import FrameIndex
from workstation.core.slicing.settings import SliceSettings
from workstation.core.slicing.upright import quarter_turns
from workstation.core.slicing.verify import match_tolerance
from workstation.core.store import Cut, Project, Video


@dataclass(frozen=True)
class SkippedSegment:
    video_id: int
    start: int
    end: int
    reason: str


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
    segment: tuple[int, int] = (0, 0)  # the segment [start, end) the clip was cut from

    @property
    def name(self) -> str:
        return Path(self.path).name


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
    spans = {} if settings.keep_transitions else transition_spans(project.cuts(video.id))
    for seg in project.segments(video.id):
        if not seg.keep:
            continue
        s, e, why = _kept_frames(seg.start, seg.end, n, spans, settings.trim)
        if e <= s:
            skipped.append(SkippedSegment(video.id, seg.start, seg.end, why))
            continue
        src = _source_frames(index, s, e, settings.fps)
        for chunk, a, b in _chunks(src, settings.max_frames, e):
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
            out_pts, out_rate, out_tb = _output_timing(video, index, settings, chunk)
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
                    segment=(seg.start, seg.end),
                )
            )
    return plans, skipped


def _kept_frames(
    start: int, end: int, n: int, spans: dict[int, tuple[int, int]], trim: int
) -> tuple[int, int, str]:
    """The frames ``[s, e)`` of segment ``[start, end)`` that go into clips, and what to say
    when none do: transitions at its edges left out, then ``trim`` at cut edges."""
    s, e = start, end
    if start in spans:  # the transition into this segment
        s = max(s, spans[start][1] + 1)
    if end in spans:  # the transition out of it
        e = min(e, spans[end][0])
    s += trim if start > 0 else 0
    e -= trim if end < n else 0
    why = "trimming"
    if spans.keys() & {start, end}:
        why = "leaving transitions out" + (" and trimming" if trim else "")
    return s, e, f"no frames left after {why}"


def transition_spans(cuts: Iterable[Cut]) -> dict[int, tuple[int, int]]:
    """``{cut frame: (span_start, span_end)}`` of the cuts that are transitions (a fade or a
    dissolve with a span; a hard cut's frames all belong to one shot or the other)."""
    return {
        c.frame: (c.span_start, c.span_end)
        for c in cuts
        if c.kind != "cut" and c.span_start is not None and c.span_end is not None
    }


def _chunks(
    src: list[int], max_frames: int | None, end: int
) -> Iterator[tuple[list[int], int, int]]:
    """Consecutive chunks of at most ``max_frames`` of a segment's source frames, each with the
    source time ``[a, b)`` it covers: up to the next chunk or the segment's ``end``, so names do
    not change with the frame rate unless chunk boundaries do."""
    size = max_frames or len(src)
    for i in range(0, len(src), size):
        chunk = src[i : i + size]
        a = chunk[0]
        b = max(chunk[-1] + 1, src[i + size] if i + size < len(src) else end)
        yield chunk, a, b


def _output_timing(
    video: Video, index: FrameIndex, settings: SliceSettings, chunk: list[int]
) -> tuple[tuple[int, ...] | None, Fraction, Fraction]:
    """A clip's output timestamps (VFR pass-through, else None), frame rate and time base."""
    if settings.fps is None and video.vfr:
        out_pts = tuple(index.pts[f] - index.pts[chunk[0]] for f in chunk)
        return out_pts, video.fps, index.time_base
    out_rate = settings.fps or video.fps
    return None, out_rate, 1 / out_rate
