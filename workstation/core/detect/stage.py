"""The ensemble's detection stage: one decode pass, then the decision; no project needed.

Each frame is decoded once and scaled down by FFmpeg; :mod:`.features` measures it against the
frames before it (PySceneDetect's ContentDetector and HistogramDetector scores, luma-rank
structure, colour + structure distances to the 4 frames before, luma-histogram changes over
8/16/24 frames, luma percentiles) and :mod:`.decide` turns those
curves into cuts: hard and jump cuts against local activity, a flash filter, fades and
dissolves reported as one cut inside the transition.  The pass reports every :data:`CHUNK`
frames, with provisional cuts; :mod:`.project_runs` stores the curves in chunks as a project
run goes, so a cancelled run resumes where it stopped and decides exactly like an
uninterrupted one.  The ensemble is no longer the default: its rules were tuned on the
project's own generator and do not hold on other footage (docs/benchmarks.md); the default,
TransNetV2 (:mod:`.learned`), and the others live in :mod:`.registry`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from workstation.core import media
from workstation.core.detect import segments
from workstation.core.detect.decide import (
    Found,
    decide,
    flash_mask,
    hard_cut_score,
    hard_cut_scores,
)
from workstation.core.detect.features import CURVES, MAX_LAG, FeatureExtractor
from workstation.core.detect.reader import FrameReader, single_threaded_opencv
from workstation.core.detect.segments import PRIME
from workstation.core.errors import MediaError
from workstation.core.media import FrameIndex, VideoInfo
from workstation.core.progress import Progress, Stage, Throttle
from workstation.core.store import Cut

log = logging.getLogger(__name__)

DETECTOR = "ensemble"
#: Frames per stored score chunk, and the most frames between two progress reports.
CHUNK = 256


@dataclass(frozen=True)
class DetectSettings:
    """How cuts are found.  The defaults are the recommended preset."""

    threshold: float = 1.0  # hard-cut evidence needed (the line drawn over the score curve)
    min_shot_frames: int = 2  # shortest shot a hard cut may create
    analysis_width: int = 96  # frames are scaled to this width before measuring
    fades: bool = True  # look for fades through black/white
    dissolves: bool = True  # look for cross-dissolves
    flash_filter: bool = True  # a frame unlike both neighbours that match each other: no cut
    version: int = 1  # of the decision rules; stored so old runs are not resumed by new rules

    def __post_init__(self) -> None:
        if not self.threshold > 0:
            raise ValueError(f"threshold must be > 0, got {self.threshold}")
        if self.min_shot_frames < 1:
            raise ValueError(f"min_shot_frames must be >= 1, got {self.min_shot_frames}")
        if not 16 <= self.analysis_width <= 1024:
            raise ValueError(f"analysis_width must be 16..1024, got {self.analysis_width}")

    def to_params(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> DetectSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in known})


@dataclass
class DetectionResult:
    cuts: list[Cut]
    scores: dict[str, np.ndarray]  # per-frame float32 curves; "score" is the hard-cut evidence
    threshold: float
    frames: int
    error: str | None = None  # set by detect_project when this video could not be read
    detection_id: int | None = field(default=None, compare=False)


# ---------------------------------------------------------------------------------------------
# The decode pass
# ---------------------------------------------------------------------------------------------
#: ``(first, end)`` stretches of frames measured by the other ranges of a split pass.
Fronts = Sequence[tuple[int, int]]


class _OnChunk(Protocol):
    """Called with each report of a pass: frames measured and checked from the start on, and
    the :data:`Fronts` of a split pass (none for a one-process pass)."""

    def __call__(self, done: int, fronts: Fronts = ..., /) -> None: ...


class Rows:
    """The curve table being filled; grows when a file has more frames than it claimed."""

    def __init__(self, frames: int) -> None:
        self.a = np.zeros((max(frames, 0) + 8, len(CURVES)), dtype=np.float32)

    def put(self, n: int, row: np.ndarray) -> None:
        if n >= len(self.a):
            bigger = np.zeros((max(2 * len(self.a), n + 64), len(CURVES)), dtype=np.float32)
            bigger[: len(self.a)] = self.a
            self.a = bigger
        self.a[n] = row

    def put_block(self, lo: int, block: np.ndarray) -> None:
        if lo + len(block) > len(self.a):
            self.put(lo + len(block) - 1, block[-1])  # grows the table
        self.a[lo : lo + len(block)] = block


def _reader(
    path: Path, settings: DetectSettings, *, start: int = 0, index: FrameIndex | None = None
) -> FrameReader:
    """The decode pass's reader; with an index it starts ``PRIME`` frames before ``start``:
    those frames only rebuild the extractor's memory of earlier frames."""
    return FrameReader(path, settings.analysis_width, first=max(0, start - PRIME), index=index)


def _scan(
    reader: FrameReader, rows: Rows, *, start: int, total: int, on_chunk: _OnChunk
) -> Stage[int]:
    """Fill ``rows[start:]`` with curve values; yields after every chunk; returns frames seen.

    ``on_chunk(done)`` runs after each completed chunk (the caller stores it).
    """
    path = reader.path
    name = path.name
    extractor = FeatureExtractor()
    done = start
    next_report = (start // CHUNK + 1) * CHUNK
    with reader, single_threaded_opencv():
        for n, small in reader:
            row = extractor.push(small)
            if n < start:
                continue
            rows.put(n, row)
            done = n + 1
            if done >= next_report:
                on_chunk(done)
                next_report += CHUNK
                yield Progress("detect", done, total, name, "finding cuts")
    return done


def decode_pass(
    path: Path,
    settings: DetectSettings,
    rows: Rows,
    *,
    start: int,
    total: int,
    index: FrameIndex | None,
    keyframes: tuple[int, ...] | list[int],
    workers: int | None,
    on_chunk: _OnChunk,
    pixels: int,
    opened: FrameReader | None = None,
) -> Stage[int]:
    """The decode pass over frames ``start..``: split over processes (:mod:`.segments`) when
    the video is long enough and this platform can, otherwise one process; returns frames
    seen.  ``on_chunk(done, fronts)`` runs with each report: ``done`` ends the stretch from
    ``start`` on that is measured and checked (the caller saves it), ``fronts`` are the
    ``(first, end)`` stretches the other ranges of a split pass measured so far.  ``opened``
    is a reader for ``start`` the caller already has (its frame count was asked): the
    one-process pass uses it."""
    n = segments.auto_workers() if workers is None else workers
    ranges = [(start, total)]
    if n > 1 and total > start and segments.available():
        if index is None:
            container = opened.container if opened is not None else None
            long = total - start >= 2 * segments.min_range(pixels)
            quick = media.quick_index(path, container) if long else None
            if quick is not None:
                index, keyframes = quick
        if index is not None:
            ranges = segments.plan(start, min(total, len(index)), keyframes, n, pixels)

    def sequential(first: int) -> Stage[int]:
        reader = opened if opened is not None and first == start else None
        reader = reader or _reader(path, settings, start=first, index=index)
        return _scan(reader, rows, start=first, total=total, on_chunk=on_chunk)

    if len(ranges) < 2 or index is None:  # (a split needs the index: it is there when planned)
        done = yield from sequential(start)
    else:

        def report(measured: int, verified: int, fronts: list[tuple[int, int]]) -> Progress:
            on_chunk(verified, fronts)  # (saving skips what is saved; deciding is throttled)
            return Progress("detect", measured, total, path.name, "finding cuts")

        def fallback(first: int, why: str) -> None:
            log.warning(
                "%s: the parallel pass from frame %d is not exact (%s); going on in one process",
                path.name,
                first,
                why,
            )

        done = yield from segments.scan_split(
            path,
            settings.analysis_width,
            ranges,
            index,
            rows,
            report=report,
            sequential=sequential,
            on_fallback=fallback,
            every=CHUNK,
        )
    if total and done < total - 2:
        raise MediaError(path, f"is truncated or corrupt: only {done} of {total} frames decode")
    return done


def _curves_of(rows: np.ndarray, frames: int) -> dict[str, np.ndarray]:
    return {name: np.ascontiguousarray(rows[:frames, i]) for i, name in enumerate(CURVES)}


def result_of(rows: Rows, frames: int, settings: DetectSettings) -> DetectionResult:
    curves = _curves_of(rows.a, frames)
    sided = hard_cut_scores(curves) if frames > 1 else None
    found = decide(
        curves,
        sided=sided,
        threshold=settings.threshold,
        min_shot_frames=settings.min_shot_frames,
        fades=settings.fades,
        dissolves=settings.dissolves,
        flash_filter=settings.flash_filter,
    )
    params = settings.to_params()
    cuts = [_to_cut(f, params) for f in found if 0 < f.frame < frames]
    curves["score"] = sided["both"] if sided else np.zeros(frames, np.float32)
    return DetectionResult(cuts, curves, settings.threshold, frames)


def _to_cut(f: Found, params: dict[str, Any]) -> Cut:
    return Cut(
        frame=f.frame,
        source="auto",
        detector=f"{DETECTOR}:{f.detector}" if f.detector != DETECTOR else DETECTOR,
        score=round(float(f.score), 4),
        kind=f.kind,
        span_start=f.span_start,
        span_end=f.span_end,
        uncertain=f.uncertain,
        params=params,
    )


def found_cut(frame: int, detector: str, score: float, params: dict[str, Any]) -> Cut:
    """A plain hard cut another detector found (:mod:`.registry`): named by it, with its
    parameters."""
    return Cut(
        frame=int(frame),
        source="auto",
        detector=detector,
        score=round(score, 4),
        kind="cut",
        params=dict(params),
    )


#: Seconds between two provisional decisions during a pass (the first comes after as long: a
#: video that takes less is decided once, at the end, which also costs less).
LIVE_CUTS_EVERY_S = 1.0


class LiveCuts:
    """The provisional cut list a pass reports as it goes (the final decision replaces it)."""

    def __init__(self, rows: Rows, settings: DetectSettings) -> None:
        self.rows, self.settings = rows, settings
        self.cuts: list[int] = []
        self._throttle = Throttle(LIVE_CUTS_EVERY_S)
        self._throttle.ready()  # starts the clock

    def update(self, regions: Fronts) -> None:
        """Decide the last stretch before each ``(first, end)`` measured region's end; deciding
        costs, so at most once every ``LIVE_CUTS_EVERY_S`` (the first after as long)."""
        if not self._throttle.ready():
            return
        found = set(self.cuts)
        for first, end in regions:
            found.update(_live_cuts(self.rows, end, self.settings, first))
        self.cuts[:] = sorted(found)


def _live_cuts(rows: Rows, done: int, settings: DetectSettings, floor: int = 0) -> list[int]:
    """Hard cuts in the last stretch before ``done`` (not before ``floor``; provisional and
    cheap: the final pass decides)."""
    lo = max(floor, done - 2 * CHUNK)
    part = _curves_of(rows.a[lo:done], done - lo)
    if done - lo < 3:
        return []
    hard = hard_cut_score(part)
    flashed = flash_mask(part) if settings.flash_filter else np.zeros(len(hard), dtype=bool)
    keep = (hard >= settings.threshold) & ~flashed
    return [lo + int(i) for i in np.flatnonzero(keep) if i > 0 and lo + i < done - MAX_LAG]


# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------
def detect_stage(
    path: str | Path,
    settings: DetectSettings = DetectSettings(),
    *,
    info: VideoInfo | None = None,
    workers: int | None = None,
) -> Stage[DetectionResult]:
    """Detect the cuts of one file, no project needed (``workstation scenes VIDEO --json``).

    Without ``info`` the frame count comes from the container (no separate probe pass); a
    file that decodes to fewer frames than its container claims is reported as truncated.
    ``workers``: processes for the pass (``None``: one per core; 1: no split).
    """
    path = Path(path)
    reader = _reader(path, settings)
    # Without a probe, the container's claim (no decoding: the one pass is the only one).
    total = info.frame_count if info is not None else reader.claimed_frames()
    rows = Rows(total)
    live = LiveCuts(rows, settings)

    def on_chunk(done: int, fronts: Fronts = (), /) -> None:
        live.update([(0, done), *fronts])

    try:
        yield Progress("detect", 0, total, path.name, "finding cuts", {"cuts": []})
        scan = decode_pass(
            path,
            settings,
            rows,
            start=0,
            total=total,
            index=info.index if info is not None else None,
            keyframes=info.keyframes if info is not None else (),
            workers=workers,
            on_chunk=on_chunk,
            pixels=reader.pixels,
            opened=reader,
        )
        frames = yield from with_cuts(scan, live.cuts)
    finally:
        reader.close()  # (also when cancelled before the pass began)
    result = result_of(rows, frames, settings)
    yield Progress(
        "detect", frames, total, path.name, "done", {"cuts": [c.frame for c in result.cuts]}
    )
    return result


def with_cuts(scan: Stage[int], cuts: list[int]) -> Stage[int]:
    """Forward a scan's progress with the live cut list attached."""
    try:
        while True:
            p = next(scan)
            yield Progress(p.stage, p.done, p.total, p.item, p.message, {"cuts": list(cuts)})
    except StopIteration as stop:
        frames: int = stop.value
        return frames
    finally:
        scan.close()
