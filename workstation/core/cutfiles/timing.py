"""Frame <-> time for cut files, exact for NTSC rates and VFR (from the stored timestamps)."""

from __future__ import annotations

import bisect
import math
import re
from fractions import Fraction

from workstation.core.media import FrameIndex
from workstation.core.store import Video


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
            # median: the last frame's length (at least one tick: repeated timestamps exist)
            self._last = max(1, self._deltas[len(self._deltas) // 2])

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
    """``HH:MM:SS.mmm`` rounded to the millisecond (``-HH:MM:SS.mmm`` before the start)."""
    ms = round(Fraction(seconds) * 1000)
    if ms < 0:
        return "-" + format_timecode(Fraction(-ms, 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


# ASCII digits only, and bounded: ``\d`` would take any script's digits, and a 5000-digit
# fraction would make ``Fraction`` raise (or take seconds).
_TIMECODE = re.compile(r"(?:([0-9]{1,9}):)?([0-9]{1,2}):([0-9]{1,2}(?:\.[0-9]{1,12})?)")


def parse_timecode(text: str) -> Fraction | None:
    """``[H:]MM:SS[.fff]`` to seconds; None when the text is not a timecode."""
    m = _TIMECODE.fullmatch(text)
    if not m:
        return None
    h, mi, s = int(m.group(1) or 0), int(m.group(2)), Fraction(m.group(3))
    if mi >= 60 or s >= 60:
        return None
    return h * 3600 + mi * 60 + s
