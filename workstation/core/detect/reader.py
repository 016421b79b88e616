"""Decoding in a background thread, so it overlaps scaling and measuring.

PyAV releases the GIL while FFmpeg decodes and scales, so on two cores the decode of frame
n+1 runs while frame n is scaled and measured: the pass costs about the larger of the two,
not the sum.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from workstation.core import media
from workstation.core.errors import MediaError
from workstation.core.media import FrameIndex

#: Frames decoded in this order, handed from the decoding thread to the reader in one piece:
#: each a decoded ``av.VideoFrame``, or what a reader's :meth:`FrameReader._prepare` made of it
#: in the decoding thread.
_Batch = list[tuple[int, Any]]
#: What the decoding thread hands over: a batch, the error that stopped it, or None at the end.
_Item = _Batch | BaseException | None
_BATCH = 8
SMALL_FRAME_PIXELS = 640 * 360


@contextlib.contextmanager
def single_threaded_opencv() -> Iterator[None]:
    """OpenCV on one thread while the pass runs (restored after).

    Its pool splits even these tiny images across threads that spin while they wait, burning
    the core the decoder thread needs; one pass has two threads already.  The setting is
    process-wide: detection runs in its own process in the app (:mod:`..isolate`).
    """
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def analysis_size(width: int, height: int, analysis_width: int) -> tuple[int, int]:
    """Width and (even) height of the analysis frames, keeping the aspect ratio."""
    w = min(analysis_width, width) if width else analysis_width
    h = max(16, round(w * (height or w) / max(1, width or w) / 2) * 2)
    return w, h


class FrameReader:
    """Yields ``(frame_number, small_bgr)`` from ``first`` on; use as a context manager.

    Frames are handed over in batches (fewer thread switches) and scaled by FFmpeg's swscale
    with one reused reformatter (creating one per frame costs more than the scaling).
    ``pts`` is the timestamp of the frame yielded last.

    With an ``index`` and ``first > 0`` it seeks to the keyframe before ``first`` and numbers
    frames by timestamp; otherwise it decodes from the start and counts.  ``threaded=False``
    decodes in the caller's thread: for a process that runs beside others on every core
    (:mod:`.segments`), where a second thread would only contend.
    """

    def __init__(
        self,
        path: Path,
        analysis_width: int,
        *,
        first: int = 0,
        index: FrameIndex | None = None,
        depth: int = 8,
        threaded: bool = True,
    ) -> None:
        self.path = path
        self._container = media._open(path)
        try:
            self._stream = media._video_stream(path, self._container)
        except Exception:
            self._container.close()
            raise
        ctx = self._stream.codec_context
        if threaded and self.pixels > SMALL_FRAME_PIXELS:
            # Big frames: FFmpeg's frame threads.  Small ones decode fast enough in this one
            # thread (which already runs beside the measuring), and frame threading would
            # cost more in hand-overs than it saves.
            self._stream.thread_type = "AUTO"
        # Skip the deblocking filter on B-frames only: its smoothing of block edges is lost
        # at analysis size anyway and decoding costs ~10-15% less.  B-frames are mostly not
        # references, so little error carries over (skipping it on every frame does drift
        # and costs accuracy; with B-frames only the labelled set gives the same cuts).
        ctx.options = {**ctx.options, "skip_loop_filter": "bidir"}
        self.size = analysis_size(ctx.width, ctx.height, analysis_width)
        self._first = first
        self._index = index if first > 0 else None
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=depth)
        self._reformatter = VideoReformatter()
        self._stop = threading.Event()
        self._threaded = threaded
        self._thread = threading.Thread(target=self._run, name=f"decode {path.name}", daemon=True)
        self.pts: int | None = None

    @property
    def pixels(self) -> int:
        """Pixels of a decoded frame (0 when the stream does not say)."""
        ctx = self._stream.codec_context
        return (ctx.width or 0) * (ctx.height or 0)

    @property
    def container(self) -> av.container.InputContainer:
        """The open file (for reading its index before the pass; not for reading packets)."""
        return self._container

    def claimed_frames(self) -> int:
        """Frame count from the container (its index, or duration x rate), read no frames.

        A file that decodes to fewer frames than this is reported as truncated after the pass.
        """
        stream = self._stream
        if stream.frames:
            return int(stream.frames)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        seconds = None
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        elif self._container.duration:
            seconds = self._container.duration / 1_000_000
        if rate and seconds:
            return max(0, int(seconds * float(rate)) - 1)
        return 0

    def __enter__(self) -> FrameReader:
        if self._threaded:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a reader waiting on a full queue
                self._queue.get(timeout=0.05)
        self._container.close()

    def _put(self, item: _Item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _decoded(self) -> Iterator[tuple[int, av.VideoFrame]]:
        """``(frame_number, frame)`` from ``first`` on, in this thread."""
        index, first = self._index, self._first
        n = 0
        try:
            if index is not None:
                self._container.seek(
                    index.pts[first], stream=self._stream, backward=True, any_frame=False
                )
            for frame in self._container.decode(self._stream):
                if index is not None:
                    if frame.pts is None:
                        continue
                    n = index.frame_at_pts(frame.pts)
                if n >= first:
                    yield n, frame
                n += 1
        except av.error.FFmpegError as exc:
            raise MediaError(self.path, f"decoding failed: {exc}") from None

    def _prepare(self, frame: av.VideoFrame) -> Any:
        """What the decoding thread hands over for a frame (the frame itself here)."""
        return frame

    def _run(self) -> None:
        try:
            batch: _Batch = []  # fewer hand-overs between threads
            for n, frame in self._decoded():
                if self._stop.is_set():
                    return
                batch.append((n, self._prepare(frame)))
                if len(batch) >= _BATCH:
                    if not self._put(batch):
                        return
                    batch = []
            if batch and not self._put(batch):
                return
            self._put(None)  # the end
        except Exception as exc:  # handed to the consumer, which raises it
            self._put(exc)

    def _batches(self) -> Iterator[_Batch]:
        if not self._threaded:
            for n, frame in self._decoded():
                yield [(n, self._prepare(frame))]
            return
        while True:
            item = self._queue.get()
            if item is None:  # the end
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        aw, ah = self.size
        # Scaling here, on the consumer's side, balances the two threads best (decoding is
        # the bigger half); swscale releases the GIL as FFmpeg's decoder does.  One
        # swscale thread: its default pool wakes a thread per core for every call, which
        # costs more than scaling a frame does (measured: ~0.1 ms per frame more CPU).
        for batch in self._batches():
            for n, frame in batch:
                small = self._reformatter.reformat(
                    frame, width=aw, height=ah, format="bgr24", interpolation="AREA", threads=1
                ).to_ndarray()
                self.pts = frame.pts
                yield n, small
