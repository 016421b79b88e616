"""Thumbnails for widgets: a small worker pool that decodes/reads them and says when ready.

Widgets never decode in ``paintEvent``: they ask :meth:`ThumbLoader.image` for what is in the
memory cache, draw a placeholder otherwise, and call :meth:`ThumbLoader.request` with the frames
they need.  Requests are grouped by the asking widget ("timeline", "review"): a newer request of
a group replaces its queued-but-not-started work, so scrolling fast never builds a backlog of
frames nobody looks at any more.  Workers get only immutable inputs (:class:`ThumbSource`);
results come back through a queued signal as ``QImage`` (safe to build off the GUI thread).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from workstation.core import thumbs
from workstation.core.thumbs import ThumbCache, ThumbSource

log = logging.getLogger(__name__)

Key = tuple[str, int, int]  # content_id, frame, height


def to_qimage(image: np.ndarray) -> QImage:
    """An RGB uint8 array as a QImage that owns its pixels (the array may be freed)."""
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    return QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class _Batch:
    def __init__(self, source: ThumbSource, frames: list[int], height: int) -> None:
        self.source = source
        self.frames = frames
        self.height = height
        self.cancelled = False


class _Worker(QRunnable):
    def __init__(self, loader: ThumbLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:  # in a pool thread
        self.loader._work()


class ThumbLoader(QObject):
    """Memory cache + worker pool over the project's disk cache.

    One per window and open project: the main window makes it and hands it to the Cut view
    (timeline, review strip) and the Clips view; a view built on its own makes its own.
    """

    thumbReady = Signal(str, int, int, QImage)  # content_id, frame, height, image
    failed = Signal(str)  # a message naming the file

    _delivered = Signal(str, int, int, QImage)  # worker -> main thread (queued)
    _errored = Signal(str)

    def __init__(
        self,
        cache_dir: str | Path,
        parent: QObject | None = None,
        *,
        threads: int = 2,
        capacity: int = 1500,  # ~15-45 KB each: tens of MB at most
    ) -> None:
        super().__init__(parent)
        self.cache = ThumbCache(cache_dir)
        self.capacity = capacity
        self._memory: OrderedDict[Key, QImage] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: OrderedDict[str, _Batch] = OrderedDict()  # group -> newest batch
        self._running: dict[str, _Batch] = {}
        self._in_flight: set[Key] = set()
        self._broken: set[str] = set()  # content ids whose video failed: don't retry per paint
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._delivered.connect(self._on_delivered)
        self._errored.connect(self.failed)

    # -- main thread -----------------------------------------------------------------------
    def image(self, content_id: str, frame: int, height: int) -> QImage | None:
        key = (content_id, frame, height)
        img = self._memory.get(key)
        if img is not None:
            self._memory.move_to_end(key)
        return img

    def request(self, group: str, source: ThumbSource, frames, height: int) -> None:
        """Ask for thumbnails; replaces the group's queued work.  Cached frames are skipped."""
        want = [
            f
            for f in dict.fromkeys(frames)
            if 0 <= f < source.frame_count and (source.content_id, f, height) not in self._memory
        ]
        with self._lock:
            if source.content_id in self._broken:
                return
            running = self._running.get(group)
            if running is not None and (
                running.source.content_id != source.content_id
                or running.height != height
                or not set(want) & set(running.frames)
            ):
                running.cancelled = True  # nobody wants its remaining frames
            want = [f for f in want if (source.content_id, f, height) not in self._in_flight]
            self._queue.pop(group, None)
            if not want:
                return
            self._queue[group] = _Batch(source, want, height)
        self.pool.start(_Worker(self))

    def cancel(self, groups) -> None:
        """Drop the queued work of these groups and stop their running batches (the clips
        scrolled off screen before their thumbnails were made)."""
        with self._lock:
            for group in groups:
                self._queue.pop(group, None)
                running = self._running.get(group)
                if running is not None:
                    running.cancelled = True

    def retry(self, content_id: str) -> None:
        """Allow thumbnails of a video again (after it was re-linked or repaired)."""
        with self._lock:
            self._broken.discard(content_id)

    def wait_idle(self, msecs: int = 10000) -> bool:
        """Wait for the workers (shutdown and tests)."""
        return self.pool.waitForDone(msecs)

    def shutdown(self) -> None:
        with self._lock:
            self._queue.clear()
            for batch in self._running.values():
                batch.cancelled = True
        self.pool.waitForDone(5000)

    def _on_delivered(self, cid: str, frame: int, height: int, image: QImage) -> None:
        key = (cid, frame, height)
        with self._lock:
            self._in_flight.discard(key)
        self._memory[key] = image
        self._memory.move_to_end(key)
        while len(self._memory) > self.capacity:
            self._memory.popitem(last=False)
        self.thumbReady.emit(cid, frame, height, image)

    # -- pool threads ----------------------------------------------------------------------
    def _work(self) -> None:
        with self._lock:
            if not self._queue:
                return
            group, batch = self._queue.popitem(last=True)  # the newest request first
            self._running[group] = batch
            for f in batch.frames:
                self._in_flight.add((batch.source.content_id, f, batch.height))
        try:
            for frame, array in thumbs.load_thumbnails(
                self.cache,
                batch.source,
                batch.frames,
                batch.height,
                cancelled=lambda: batch.cancelled,
            ):
                self._delivered.emit(batch.source.content_id, frame, batch.height, to_qimage(array))
        except Exception as exc:  # a damaged or missing video: say so once, keep the app
            log.warning("thumbnails failed: %s", exc)
            with self._lock:
                self._broken.add(batch.source.content_id)
            self._errored.emit(str(exc))
        finally:
            with self._lock:
                if self._running.get(group) is batch:
                    del self._running[group]
                for f in batch.frames:
                    self._in_flight.discard((batch.source.content_id, f, batch.height))
