"""Small frame thumbnails: decoded with PyAV in worker threads, cached on disk.

The timeline and the cut review strip show many small frames.  Decoding them is far too slow
for a paint handler, so the Qt side asks a worker pool, which calls :func:`load_thumbnails`;
this module is pure Python and knows nothing of Qt.  The cache lives in
``<project>/cache/thumbs/`` keyed by the video's content id (so a moved file keeps its
thumbnails), the frame number and the thumbnail height; files are written atomically
(:mod:`workstation.core.atomic`) so a crash never leaves a half-written JPEG that would later be
shown as garbage, and the temp files a killed run left in a cache folder are removed the first
time this process writes there.  A cache write that fails (a full disk) is not the person's
problem: the thumbnail is shown anyway and decoded again next time.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
from PIL import Image

from workstation.core import atomic
from workstation.core.errors import MediaError
from workstation.core.media import FrameIndex, iter_frames

if TYPE_CHECKING:
    from workstation.core.store import Project

log = logging.getLogger(__name__)

JPEG_QUALITY = 90


@dataclass(frozen=True)
class ThumbSource:
    """Everything a worker needs to decode thumbnails of one video (immutable, thread-safe)."""

    path: Path
    content_id: str
    width: int
    height: int
    frame_count: int
    index: FrameIndex | None = None
    keyframes: tuple[int, ...] = ()

    @classmethod
    def from_project(cls, project: Project, video_id: int) -> ThumbSource:
        v = project.video(video_id)
        return cls(
            path=Path(v.path),
            content_id=v.content_id,
            width=v.width,
            height=v.height,
            frame_count=v.frame_count,
            index=project.frame_index(video_id),
            keyframes=tuple(project.keyframes(video_id)),
        )

    def thumb_size(self, height: int) -> tuple[int, int]:
        """Thumbnail (width, height) for a given height, keeping the aspect ratio (even sizes)."""
        h = max(2, height - height % 2)
        w = max(2, round(self.width * h / max(1, self.height)))
        return w - w % 2, h


class ThumbCache:
    """The on-disk thumbnail cache of a project (safe to use from several threads)."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.root = Path(cache_dir) / "thumbs"
        self._swept: set[Path] = set()  # folders whose leftover temps are gone
        self._lock = threading.Lock()

    def path(self, content_id: str, frame: int, height: int) -> Path:
        return self.root / content_id / str(height) / f"{frame}.jpg"

    def get(self, content_id: str, frame: int, height: int) -> np.ndarray | None:
        p = self.path(content_id, frame, height)
        try:
            with Image.open(p) as im:
                return np.asarray(im.convert("RGB"))
        except FileNotFoundError:
            return None
        except OSError:
            # A damaged cache file is not the user's problem: forget it and decode again.
            p.unlink(missing_ok=True)
            return None

    def put(self, content_id: str, frame: int, height: int, image: np.ndarray) -> Path:
        """Store a thumbnail; returns its path (a write that fails is logged, not raised)."""
        p = self.path(content_id, frame, height)
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "JPEG", quality=JPEG_QUALITY)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                fresh = p.parent not in self._swept
                self._swept.add(p.parent)
            if fresh:
                atomic.sweep_temps(p.parent)
            atomic.write_bytes(p, buf.getvalue(), durable=False)  # a cache: rebuilt if lost
        except OSError as exc:
            log.warning("%s", atomic.write_error(p, exc))
        return p


def plan_runs(frames: Iterable[int], keyframes: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """Group wanted frames into ``[start, end)`` decode runs.

    A new run (a seek) starts only when a keyframe lies between the previous wanted frame and
    the next one: decoding on through the same GOP is cheaper than seeking back to its start.
    """
    import bisect

    wanted = sorted(set(frames))
    runs: list[tuple[int, int]] = []
    for f in wanted:
        if runs:
            start, end = runs[-1]
            k = bisect.bisect_right(keyframes, f) - 1
            key_before = keyframes[k] if k >= 0 else 0
            if not keyframes or key_before < end:
                runs[-1] = (start, f + 1)
                continue
        runs.append((f, f + 1))
    return runs


def decode_thumbnails(
    source: ThumbSource, frames: Iterable[int], height: int
) -> Iterator[tuple[int, np.ndarray]]:
    """Decode the given frames scaled to ``height`` (RGB uint8), in frame order.

    Frames outside the video are skipped.  One container serves every decode run of the call
    (a timeline batch seeks a dozen times; reopening the file for each costs as much as the
    decoding).  Runs through a worker: never call it on the GUI thread (the Qt loader's test
    checks that).
    """
    wanted = {f for f in frames if 0 <= f < source.frame_count}
    if not wanted:
        return
    w, h = source.thumb_size(height)
    runs = plan_runs(wanted, source.keyframes)
    if source.index is None or len(source.index) < source.frame_count:
        # Without exact timestamps a seek cannot be numbered: count from the start.
        for n, image in iter_frames(source.path, end=max(wanted) + 1, width=w, height=h):
            if n in wanted:
                yield n, image
        return
    index = source.index
    try:
        container = av.open(str(source.path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(source.path, f"cannot be opened for thumbnails: {exc}") from None
    try:
        stream = next(
            (
                s
                for s in container.streams.video
                if not s.disposition & av.stream.Disposition.attached_pic  # cover art
            ),
            None,
        )
        if stream is None:
            raise MediaError(source.path, "has no video stream")
        for start, end in runs:
            container.seek(index.pts[start], stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                n = index.frame_at_pts(frame.pts)
                if n >= end:
                    break
                if n in wanted:
                    yield n, frame.to_ndarray(width=w, height=h, format="rgb24")
    except av.error.FFmpegError as exc:
        raise MediaError(source.path, f"decoding failed while making thumbnails: {exc}") from None
    finally:
        container.close()


def load_thumbnails(
    cache: ThumbCache,
    source: ThumbSource,
    frames: Iterable[int],
    height: int,
    *,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame, image)`` for each wanted frame: from the cache, else decoded and cached.

    ``cancelled()`` is polled between frames so a worker can drop work nobody wants any more.
    Unreadable videos raise :class:`MediaError` naming the file.
    """
    missing: list[int] = []
    for f in sorted(set(frames)):
        if cancelled():
            return
        image = cache.get(source.content_id, f, height)
        if image is None:
            missing.append(f)
        else:
            yield f, image
    if not missing:
        return
    if not source.path.exists():
        raise MediaError(source.path, "file not found (cannot make thumbnails)")
    for f, image in decode_thumbnails(source, missing, height):
        cache.put(source.content_id, f, height, image)
        yield f, image
        if cancelled():
            return
