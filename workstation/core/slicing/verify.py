"""Verifying a clip against its source: frame count, and first and last frame by content.

A frame must match its source frame within a tolerance and look more like it than like the
neighbouring source frames, which is what catches an off-by-one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from workstation.core.media import FrameIndex, iter_frames
from workstation.core.slicing.upright import quarter_turns


@dataclass(frozen=True)
class Verification:
    ok: bool
    frames: int
    expected_frames: int
    first_diff: float | None = None
    last_diff: float | None = None
    error: str | None = None


def match_tolerance(crf: int) -> float:
    """Mean absolute difference (0-255) a clip frame may have from its source frame.

    Measured on the demo videos: at most 4.7 at crf 30, 8.8 at crf 40, 15.6 at crf 51.  The
    check against the neighbouring frames, not this bound, is what catches an off-by-one.
    """
    return 12.0 + max(0, crf - 40) * 1.5


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
