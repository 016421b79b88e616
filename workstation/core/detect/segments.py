"""One video's decode pass split over processes by keyframe ranges: every core works.

One sequential pass keeps about one and a half cores busy (a decoder thread and a measuring
thread that share Python's lock).  Here the frames are cut into up to ``workers`` ranges, each
beginning :data:`PRIME` frames after a keyframe, and each range is decoded and measured in one
thread of its own process: the first in this process, the others in forked children (nothing
to import or pickle on the way in; only the curves come back, over a pipe).

Exact, not approximate: every curve value depends only on its frame and the ``MAX_LAG`` frames
before it, so a range that starts decoding at a keyframe and uses its first ``PRIME`` frames
only to rebuild that memory (what a resumed run does) measures exactly what an uninterrupted
pass does.  That rests on the stream: decoding from a keyframe must give the same pictures and
timestamps.  So each range also measures :data:`VERIFY` frames past its end, and they must equal
the next range's first frames value for value and timestamp for timestamp.  When they don't
(open GOPs, damaged files), or a child fails, the pass goes on sequentially in this process from
the last range start that did match: slower, never different.

Linux only (``fork``); elsewhere, and for short videos, the pass is sequential.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Protocol

import numpy as np

from workstation.core.detect.features import CURVES, MAX_LAG, FeatureExtractor
from workstation.core.detect.reader import FrameReader, single_threaded_opencv
from workstation.core.media import FrameIndex
from workstation.core.progress import Progress, Stage

log = logging.getLogger(__name__)

#: Frames re-read before a range start to rebuild the extractor's memory of earlier frames.
PRIME = MAX_LAG + 2
#: Frames each range measures past its end, compared with the next range's first frames.
VERIFY = 4
#: Fewest frames a range may have: below this, starting a process costs more than it saves.
MIN_RANGE = 100
#: And the fewest pixels (frames x width x height): small frames decode so fast that a range
#: must be long to win back a child's start and its PRIME + VERIFY extra frames (measured:
#: ranges of 165 frames at 320x240 cost 2 % more than one process, of 154 frames at 720p save 7 %).
MIN_RANGE_PIXELS = 50_000_000
#: Frames per block sent back by a child (and between two looks at the children's pipes).
BLOCK = 64
#: A child that sends nothing for this long is stopped and its range measured again here.
STALL_S = 120.0


#: Stores a block of curve rows from frame ``lo`` on: ``put_block(lo, block)``.
PutBlock = Callable[[int, np.ndarray], None]


class CurveTable(Protocol):
    """The table a pass fills, one row of curves per frame (the stage's ``Rows``)."""

    a: np.ndarray

    def put_block(self, lo: int, block: np.ndarray) -> None: ...


def available() -> bool:
    """Whether this process can split a pass: it forks, so Linux, and not a process running
    a Qt application (whose threads and GL state a fork would copy half-way; the app detects
    in a child process of its own, :mod:`workstation.core.isolate`)."""
    if not (sys.platform.startswith("linux") and hasattr(os, "fork")):
        return False
    qt = sys.modules.get("PySide6.QtCore")  # looked up, never imported: the core has no Qt
    return qt is None or qt.QCoreApplication.instance() is None


#: Environment variable that sets the ranges per pass (1: never split), for the CLI and the app
#: alike: e.g. a spinning disk that should not be read at several places at once.
WORKERS_ENV = "WORKSTATION_DETECT_WORKERS"


def auto_workers() -> int:
    """``$WORKSTATION_DETECT_WORKERS`` when set (1..64), otherwise one range per usable core, at
    most 8."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text:
        try:
            return max(1, min(64, int(text)))
        except ValueError:
            log.warning("%s=%r is not a whole number; using one per core", WORKERS_ENV, text)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def min_range(pixels: int) -> int:
    """Fewest frames of a range for frames of ``pixels`` pixels (0: size unknown)."""
    return max(MIN_RANGE, -(-MIN_RANGE_PIXELS // pixels)) if pixels > 0 else MIN_RANGE


def plan(
    start: int,
    total: int,
    keyframes: tuple[int, ...] | list[int],
    workers: int,
    pixels: int = 0,
) -> list[tuple[int, int]]:
    """Ranges ``[first, stop)`` covering ``[start, total)``, each starting ``PRIME`` frames after
    a keyframe (so its child starts decoding right at that keyframe) and at least
    :func:`min_range` long.  One range (no split) when the video is too short or has too few
    keyframes."""
    shortest = min_range(pixels)
    n = min(workers, (total - start) // shortest)
    if n < 2:
        return [(start, total)]
    targets = [start + (total - start) * j // n for j in range(1, n)]
    if not keyframes:
        # Any frame can start a range: its child decodes from the keyframe before it and
        # throws those frames away.
        return list(zip([start, *targets], [*targets, total], strict=True))
    # A frame PRIME past a keyframe: its child starts decoding right at that keyframe.
    candidates = sorted({k + PRIME for k in keyframes})
    bounds = [start]
    for target in targets:
        usable = [b for b in candidates if bounds[-1] + shortest <= b <= total - shortest]
        if not usable:
            break
        bounds.append(min(usable, key=lambda b: abs(b - target)))
    bounds.append(total)
    return list(zip(bounds[:-1], bounds[1:], strict=True))


class _Irregular(Exception):
    """Frame numbers that skip or repeat after a seek: the range cannot be trusted."""


def measure(
    path: Path, width: int, first: int, end: int | None, index: FrameIndex | None
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(lo, rows, pts)`` blocks for frames ``first..end`` (``None``: to the last frame),
    decoded in this thread; frames before ``first`` only prime the extractor."""
    begin = max(0, first - PRIME)
    reader = FrameReader(path, width, first=begin, index=index, threaded=False)
    extractor = FeatureExtractor()
    rows = np.zeros((BLOCK, len(CURVES)), dtype=np.float32)
    pts = np.zeros(BLOCK, dtype=np.int64)
    lo, k, expected = first, 0, begin
    with reader:
        for n, small in reader:
            if n != expected:
                raise _Irregular(f"frame {n} came where {expected} was expected")
            expected = n + 1
            row = extractor.push(small)
            if n < first:
                continue
            rows[k] = row
            pts[k] = reader.pts if reader.pts is not None else -1
            k += 1
            if k == BLOCK:
                yield lo, rows.copy(), pts.copy()
                lo, k = lo + k, 0
            if end is not None and n + 1 >= end:
                break
    if k:
        yield lo, rows[:k].copy(), pts[:k].copy()


@dataclass
class _Range:
    first: int
    stop: int  # this range owns [first, stop); it also measures VERIFY frames past stop
    last: bool
    measured: int = 0  # frames of [first, stop) measured (the last range: to the end)
    head_pts: list[int] = field(default_factory=list)  # of frames first .. first + VERIFY
    tail_rows: list[np.ndarray] = field(default_factory=list)  # of frames stop .. + VERIFY
    tail_pts: list[int] = field(default_factory=list)
    pid: int | None = None
    conn: Connection | None = None
    heard: float = field(default_factory=time.monotonic)  # when the child last sent something
    finished: bool = False
    error: str | None = None

    @property
    def end(self) -> int | None:
        return None if self.last else self.stop + VERIFY

    def take(self, lo: int, block: np.ndarray, pts: np.ndarray, put_block: PutBlock) -> None:
        own = len(block) if self.last else max(0, min(len(block), self.stop - lo))
        if own:
            put_block(lo, block[:own])
            self.measured = lo + own - self.first
        need = VERIFY - len(self.head_pts)
        if need > 0:
            self.head_pts += [int(p) for p in pts[:need]]
        self.tail_rows += list(block[own:])
        self.tail_pts += [int(p) for p in pts[own:]]


def _child(write_fd: int, path: Path, width: int, r: _Range, index: FrameIndex) -> None:
    """A forked child: measure one range, send it back, exit without touching the parent's
    state (no cleanup handlers, no garbage collection of the parent's objects)."""
    code = 1
    try:
        gc.freeze()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
        conn = Connection(write_fd, readable=False)
        try:
            # OpenCV is already on one thread (set before the fork): setting it again here
            # would tear down a thread pool whose threads exist only in the parent, and hang.
            for block in measure(path, width, r.first, r.end, index):
                conn.send(("rows", *block))
            conn.send(("end", None))
            code = 0
        except BaseException as exc:
            with contextlib.suppress(Exception):
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        os._exit(code)


def _fork(path: Path, width: int, r: _Range, index: FrameIndex) -> None:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which never returns
        os.close(read_fd)
        _child(write_fd, path, width, r, index)
    os.close(write_fd)
    r.pid, r.conn = pid, Connection(read_fd, writable=False)


def _reap(r: _Range, kill: bool) -> None:
    if r.pid is None:
        return
    if kill:
        with contextlib.suppress(ProcessLookupError):
            os.kill(r.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(r.pid, 0)
    r.pid = None
    if r.conn is not None:
        r.conn.close()
        r.conn = None


def _take_one(ranges: list[_Range], put_block: PutBlock, timeout: float) -> bool:
    """Take one message a child sent (waiting up to ``timeout``); True if one came."""
    live = {r.conn: r for r in ranges if r.conn is not None and not r.finished}
    ready = wait(list(live), timeout) if live else []
    if not ready:
        return False
    conn = ready[0]
    assert isinstance(conn, Connection)  # (wait gives back the connections it was given)
    r = live[conn]
    r.heard = time.monotonic()
    try:
        kind, *payload = r.conn.recv()  # type: ignore[union-attr]
    except (EOFError, OSError):
        kind, payload = "error", ["the process measuring it ended unexpectedly"]
    if kind == "rows":
        lo, block, pts = payload
        r.take(lo, block, pts, put_block)
    else:
        r.finished = True
        r.error = payload[0] if kind == "error" else None
        _reap(r, kill=False)
    return True


def _matches(a: _Range, b: _Range, rows: np.ndarray) -> bool:
    """Whether range ``a``'s frames past its end are range ``b``'s first frames, exactly."""
    if a.error or b.error or a.measured < a.stop - a.first:
        return False
    if len(a.tail_pts) < VERIFY or a.tail_pts != b.head_pts or b.measured < VERIFY:
        return False
    return bool(np.array_equal(np.stack(a.tail_rows[:VERIFY]), rows[b.first : b.first + VERIFY]))


def scan_split(
    path: Path,
    width: int,
    ranges_plan: list[tuple[int, int]],
    index: FrameIndex,
    rows: CurveTable,
    *,
    report: Callable[[int, int, list[tuple[int, int]]], Progress],
    sequential: Callable[[int], Stage[int]],
    on_fallback: Callable[[int, str], None],
    every: int = 256,
) -> Stage[int]:
    """Measure ``ranges_plan`` in parallel into ``rows``; returns frames seen.

    Yields ``report(measured, verified_until, fronts)`` at least every ``every`` frames
    measured (this process looks at the children's pipes after each of its own blocks, and
    waits on them once its own range is done): ``measured`` counts the frames measured so far
    in all ranges, ``verified_until`` ends the contiguous stretch from the first range's start
    that may be saved, ``fronts`` are the ``(first, end)`` stretches the other ranges measured
    (not yet checked: for provisional cuts only).  ``sequential(frame)`` is the one-process pass from ``frame`` on, used when
    a range does not check out; ``on_fallback(frame, why)`` says so first.
    """
    ranges = [
        _Range(first, stop, last=(i == len(ranges_plan) - 1))
        for i, (first, stop) in enumerate(ranges_plan)
    ]
    start = ranges[0].first

    def measured() -> int:
        return start + sum(r.measured for r in ranges)

    def fronts() -> list[tuple[int, int]]:
        return [(r.first, r.first + r.measured) for r in ranges[1:] if r.measured]

    reported = [start]

    def due() -> bool:  # before the next block (<= BLOCK frames) could pass ``every``
        if measured() - reported[0] <= every - BLOCK:
            return False
        reported[0] = measured()
        return True

    put_block = rows.put_block
    # OpenCV on one thread before forking: children must not touch its thread pool.
    with single_threaded_opencv():
        try:
            for r in ranges[1:]:
                _fork(path, width, r, index)
            own = ranges[0]
            try:
                for block in measure(path, width, own.first, own.end, index):
                    own.take(*block, put_block)
                    while True:
                        if due():
                            yield report(measured(), own.first + own.measured, fronts())
                        if not _take_one(ranges, put_block, 0):
                            break
            except _Irregular as exc:
                own.error = str(exc)
            own.finished = True
            while any(not r.finished for r in ranges):
                if _take_one(ranges, put_block, 0.05):
                    if due():
                        yield report(measured(), own.first + own.measured, fronts())
                    continue
                for r in ranges:  # a child that sends nothing for this long is stuck: stop it
                    if not r.finished and time.monotonic() - r.heard > STALL_S:
                        r.finished, r.error = True, f"no frame measured in {STALL_S:.0f} s"
                        _reap(r, kill=True)
            for a, b in zip(ranges, ranges[1:], strict=False):
                if not _matches(a, b, rows.a):
                    why = a.error or b.error or "its frames differ from the pass before it"
                    on_fallback(a.first, why)
                    return (yield from sequential(a.first))
            # (A failed range never matches: it was measured again from the start before it.)
            last = ranges[-1]
            return last.first + last.measured
        except GeneratorExit:
            # Cancelled: keep only the checked stretch (a resume must not trust the rest).
            rows.a[ranges[0].first + ranges[0].measured :] = 0
            raise
        finally:
            for r in ranges:
                _reap(r, kill=True)
