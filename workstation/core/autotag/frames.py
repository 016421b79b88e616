"""Which frames of a clip the tagger and the captioner look at, and decoding them (PyAV).

Peak frames for tagging: the middle frame, plus the sharpest frame (variance of the Laplacian
on a small grey copy) in each of ``n - 1`` equal parts of the clip, leaving out the first and
last 5 % where a transition's remnant may linger.  Why: the middle frame is the one a person
would pick as the clip's thumbnail; splitting the rest over equal parts makes the tags cover the
whole clip (a thing that enters late is still seen) and taking the sharpest frame of each part
avoids motion-blurred frames, which taggers read badly.  The most *active* frames are the
blurriest ones, so activity is measured (for the motion score) but not used to pick frames.

Everything happens in one decoding pass: every frame is scored on a 90-pixel-high grey copy made
by FFmpeg's scaler and only a frame that beats its part's best so far is converted at full size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from workstation.core.errors import MediaError
from workstation.core.media import _open, _video_stream

SCORE_HEIGHT = 90
EDGE_FRACTION = 0.05


class SampledFrames(list[np.ndarray]):
    """RGB frames sampled from a clip, with where they came from: their 0-based ``numbers`` in
    the clip, the clip's frame rate ``fps`` and its length ``frame_count`` (None when unknown).

    A plain list to every captioner; a video model that places frames in time (Qwen2.5-VL's
    ``second_per_grid_ts``, Qwen3-VL's timestamps) reads the timing from it.
    """

    def __init__(
        self,
        images: list[np.ndarray],
        numbers: list[int],
        fps: float | None = None,
        frame_count: int | None = None,
    ) -> None:
        super().__init__(images)
        self.numbers = list(numbers)
        self.fps = fps
        self.frame_count = frame_count


@dataclass(frozen=True)
class ClipFrames:
    """Decoded frames of one clip: their 0-based numbers in the clip and RGB uint8 images
    (a :class:`SampledFrames` carrying the timing when :func:`decode_frames` made them)."""

    numbers: list[int]
    images: list[np.ndarray]


def sharpness(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: high for crisp edges, low for blur."""
    g = gray.astype(np.float32)
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())


# 8-bit formats whose first plane is the luma (grey) image.
_LUMA_FIRST = frozenset(
    ["yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"]
)


def small_luma(frame: av.VideoFrame) -> np.ndarray:
    """A ~SCORE_HEIGHT-row grey copy for scoring: the decoder's own luma plane, subsampled.

    Reading plane 0 and striding costs microseconds; swscale (``reformat``) costs ~1.5 ms a
    frame, a third of the whole pass.  Nearest-neighbour subsampling keeps (even exaggerates)
    the high frequencies, so sharp frames still score higher than blurred ones.
    """
    step = max(1, frame.height // SCORE_HEIGHT)
    if frame.format.name in _LUMA_FIRST:
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        return rows[: frame.height : step, : frame.width : step]
    width = max(2, frame.width // step)
    return frame.reformat(
        width=width, height=max(2, frame.height // step), format="gray"
    ).to_ndarray()


def plan_parts(frame_count: int, n: int) -> tuple[int, list[tuple[int, int]]]:
    """The middle frame and the ``n - 1`` ``[start, end)`` parts the other picks come from."""
    middle = frame_count // 2
    if n <= 1 or frame_count <= 1:
        return middle, []
    edge = int(frame_count * EDGE_FRACTION)
    lo, hi = edge, max(edge + 1, frame_count - edge)
    bounds = np.linspace(lo, hi, n).round().astype(int)
    parts = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    return middle, parts


class Stopped(Exception):
    """Decoding was stopped from another thread (a cancelled stage)."""


def peak_frames(
    path: str | Path,
    n: int = 4,
    frame_count: int | None = None,
    stop: threading.Event | None = None,
    threads: int = 0,
) -> ClipFrames:
    """Decode the clip once and return its ``n`` most representative frames in clip order.

    Clips shorter than ``n`` frames give all their frames.  A frame next to the middle one
    (within a quarter part) is not picked again, so the picks are not near-duplicates.
    ``stop`` is checked every frame: a cancelled stage need not wait for a long clip.
    ``threads``: decoder threads (0 = FFmpeg's choice); 1 when a CPU model already keeps
    every core busy, so decoding fills the gaps instead of preempting the model's threads.
    """
    path = Path(path)
    container = _open(path)
    try:
        stream = _video_stream(path, container)
        if threads == 1:
            stream.codec_context.thread_count = 1
        else:
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = threads
        total = frame_count or stream.frames or 0
        if total <= 0:  # no count in the header (e.g. some MKV): count by demuxing
            total = sum(1 for p in container.demux(stream) if p.size)
            container.seek(0, stream=stream)
        parts: list[tuple[int, int]]
        if total <= n:
            wanted = set(range(total))
            middle, parts = -1, []
        else:
            middle, parts = plan_parts(total, n)
            wanted = {middle}
        guard = max(1, (total // max(1, n)) // 4)
        # Decoded frames are kept by reference (FFmpeg refcounts them) and only the winners
        # are converted to RGB at the end.
        best: list[tuple[float, int, av.VideoFrame | None]] = [(-1.0, -1, None) for _ in parts]
        kept: dict[int, av.VideoFrame] = {}
        part_of = np.full(total, -1, dtype=np.int32)
        for k, (a, b) in enumerate(parts):
            part_of[a:b] = k
        for i, frame in enumerate(container.decode(stream)):
            if i >= total:
                break
            if stop is not None and stop.is_set():
                raise Stopped(str(path))
            if i in wanted:
                kept[i] = frame
            k = int(part_of[i]) if parts else -1
            if k < 0 or (middle >= 0 and abs(i - middle) <= guard):
                continue
            score = sharpness(small_luma(frame))
            if score > best[k][0]:
                best[k] = (score, i, frame)
        for _, i, winner in best:
            if winner is not None:
                kept[i] = winner
        picked = {i: f.to_ndarray(format="rgb24") for i, f in kept.items()}
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"decoding failed: {exc}") from None
    finally:
        container.close()
    if not picked:
        raise MediaError(path, "no frame could be decoded")
    numbers = sorted(picked)
    return ClipFrames(numbers, [picked[i] for i in numbers])


def sample_numbers(
    frame_count: int, fps: Fraction | float, sample_fps: float, max_frames: int
) -> list[int]:
    """Frame numbers at ``sample_fps`` (centred in each interval), spread evenly when more
    than ``max_frames`` would be taken."""
    if frame_count <= 0:
        return []
    step = max(1.0, float(fps) / sample_fps) if fps else 1.0
    count = max(1, int(frame_count / step))
    if count > max_frames:
        count = max_frames
        step = frame_count / count
    return sorted({min(frame_count - 1, int(step * (k + 0.5))) for k in range(count)})


def decode_frames(path: str | Path, numbers: list[int], max_side: int | None = None) -> ClipFrames:
    """Decode the given frame numbers (one pass), scaled so the longer side is <= max_side.

    The images come as :class:`SampledFrames` with the stream's frame rate and frame count
    (from the header, else its duration), so a video model is told the clip's real timing.
    """
    path = Path(path)
    wanted = set(numbers)
    last = max(wanted) if wanted else -1
    out: dict[int, np.ndarray] = {}
    container = _open(path)
    try:
        stream = _video_stream(path, container)
        stream.thread_type = "AUTO"
        fps, frame_count = _timing(stream)
        for i, frame in enumerate(container.decode(stream)):
            if i > last:
                break
            if i not in wanted:
                continue
            w, h = frame.width, frame.height
            if max_side and max(w, h) > max_side:
                scale = max_side / max(w, h)
                w, h = max(2, round(w * scale)), max(2, round(h * scale))
            out[i] = frame.to_ndarray(width=w, height=h, format="rgb24")
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"decoding failed: {exc}") from None
    finally:
        container.close()
    if not out:
        raise MediaError(path, "no frame could be decoded")
    got = sorted(out)
    return ClipFrames(got, SampledFrames([out[i] for i in got], got, fps, frame_count))


def _timing(stream: av.video.stream.VideoStream) -> tuple[float | None, int | None]:
    """The stream's frame rate and frame count (None for what the file does not say)."""
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else None
    count = int(stream.frames or 0)
    if count <= 0 and fps and stream.duration and stream.time_base:
        count = round(float(stream.duration * stream.time_base) * fps)
    return fps, (count if count > 0 else None)
