"""Where things are on the cut timeline: frame <-> pixel mapping, zoom and scroll, row rectangles,
and the per-pixel-column reductions (score maximum, rejected share, one cut per column) that keep
painting cost tied to the widget's width instead of the video's length.

A plain class (no widget): the :class:`~workstation.ui.cut.timeline.widget.Timeline` tells it its
width and forwards zoom and scroll to it, then updates its scrollbar and repaints; the painter,
the mouse and the thumbnail strip ask it where frames are.  It reads the cut and score arrays of
a :class:`~workstation.ui.cut.timeline.data.TimelineData` and never paints.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
from PySide6.QtCore import QRect, QRectF

from workstation.ui.cut.timeline.data import TimelineData

RULER_H = 18
THUMB_H = 54
CURVE_H = 56
SEG_H = 14
SCROLL_H = 12
MAX_PPF = 48.0  # most zoomed in: pixels per frame


class TimelineGeometry:
    """Frame/pixel mapping, zoom, scroll and the column reductions of the timeline."""

    def __init__(self, data: TimelineData, width: int = 0) -> None:
        self.data = data
        self.width = width  # of the widget, in pixels
        self.ppf = 1.0  # pixels per frame
        self.x0 = 0.0  # frame at the left edge
        self.fitted = True  # showing the whole video (kept so across resizes)

    # -- view geometry ---------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        return self.data.frame_count

    @property
    def view_width(self) -> int:
        return max(1, self.width)

    @property
    def visible_frames(self) -> float:
        return self.view_width / self.ppf

    def visible_range(self) -> tuple[int, int]:
        """Frames [v0, v1) in view (one more at the right for the partly shown cell)."""
        v0 = max(0, math.floor(self.x0))
        v1 = min(self.frame_count, math.ceil(self.x0 + self.visible_frames) + 1)
        return v0, v1

    def min_ppf(self) -> float:
        return self.view_width / max(1, self.frame_count)

    @overload
    def x_of(self, frame: float) -> float: ...
    @overload
    def x_of(self, frame: np.ndarray) -> np.ndarray: ...
    def x_of(self, frame: float | np.ndarray) -> float | np.ndarray:
        """x (pixels) of the left edge of ``frame`` — where a cut at ``frame`` is drawn."""
        return (frame - self.x0) * self.ppf

    @overload
    def frame_pos(self, x: float) -> float: ...
    @overload
    def frame_pos(self, x: np.ndarray) -> np.ndarray: ...
    def frame_pos(self, x: float | np.ndarray) -> float | np.ndarray:
        """The (fractional) frame at pixel ``x``."""
        return self.x0 + x / self.ppf

    def frame_at(self, x: float) -> int:
        """The frame whose cell holds pixel ``x`` (for seeking)."""
        return max(0, min(self.frame_count - 1, math.floor(self.frame_pos(x))))

    def boundary_at(self, x: float) -> int:
        """The frame boundary nearest to pixel ``x`` (where a cut would go)."""
        return max(1, min(self.frame_count - 1, round(self.frame_pos(x))))

    def fit(self) -> None:
        """Show the whole video."""
        self.fitted = True
        self.ppf = self.min_ppf()
        self.x0 = 0.0

    def zoom_by(self, factor: float, anchor_x: float | None = None, playhead: int = 0) -> None:
        """Zoom keeping the frame under ``anchor_x`` (default: the playhead) where it is."""
        if anchor_x is None:
            anchor_x = (
                self.x_of(playhead) if 0 <= self.x_of(playhead) <= self.width else self.width / 2
            )
        anchor = self.frame_pos(anchor_x)
        self.ppf = max(self.min_ppf(), min(MAX_PPF, self.ppf * factor))
        self.fitted = self.ppf <= self.min_ppf() * 1.0001
        self.x0 = anchor - anchor_x / self.ppf
        self.clamp()

    def scroll_frames(self, delta: float) -> None:
        self.x0 += delta
        self.clamp()

    def scroll_to(self, frame: float) -> None:
        """Put ``frame`` at the left edge (the scrollbar moved)."""
        self.x0 = float(frame)
        self.clamp()

    def ensure_visible(self, frame: int, margin: float = 0.1) -> bool:
        """Scroll so ``frame`` is in view; whether the view moved."""
        x = self.x_of(frame)
        w = self.width
        if 0 <= x <= w:
            return False
        self.x0 = frame - self.visible_frames * (margin if x > w else 1 - margin)
        self.clamp()
        return True

    def clamp(self) -> None:
        self.x0 = max(0.0, min(self.x0, self.frame_count - self.visible_frames))

    def resize(self, width: int) -> None:
        """The widget is ``width`` pixels wide now: a fitted view stays fitted."""
        self.width = width
        if self.fitted:
            self.ppf = self.min_ppf()
            self.x0 = 0.0
        else:
            self.ppf = max(self.min_ppf(), self.ppf)
            self.clamp()

    # -- rows ------------------------------------------------------------------------------
    @property
    def thumb_rect(self) -> QRectF:
        return QRectF(0, RULER_H, self.width, THUMB_H)

    @property
    def curve_rect(self) -> QRectF:
        return QRectF(0, RULER_H + THUMB_H, self.width, CURVE_H)

    @property
    def segment_rect(self) -> QRectF:
        return QRectF(0, RULER_H + THUMB_H + CURVE_H, self.width, SEG_H)

    @property
    def content_bottom(self) -> float:
        return RULER_H + THUMB_H + CURVE_H + SEG_H

    def playhead_rect(self, frame: int) -> QRect:
        """The strip the playhead at ``frame`` paints (what a playhead step repaints)."""
        x = self.x_of(frame) + min(self.ppf, 6) / 2
        return QRect(math.floor(x) - 6, 0, 13, math.ceil(self.content_bottom) + 1)

    # -- column reductions -----------------------------------------------------------------
    def curve_columns(self, f0: int, f1: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(x of each pixel column, max score in it) for frames [f0, f1) when zoomed out."""
        s = self.data.scores
        if s is None:
            return None
        f1 = min(f1, len(s))
        if f1 <= f0:
            return None
        xs = np.arange(math.floor(self.x_of(f0)), math.ceil(self.x_of(f1)) + 1)
        starts = np.clip(np.floor(self.frame_pos(xs)).astype(np.int64), f0, f1 - 1)
        starts, keep = np.unique(starts, return_index=True)
        xs = xs[keep]
        return xs, np.maximum.reduceat(s[f0:f1], starts - f0)

    def _rejected_spans(self, f0: int, f1: int) -> tuple[np.ndarray, np.ndarray]:
        """Pixel spans (x start, x end) of the rejected segments overlapping frames [f0, f1)."""
        d = self.data
        i0 = max(0, int(np.searchsorted(d.starts, f0, side="right")) - 1)
        i1 = int(np.searchsorted(d.starts, f1, side="left"))
        idx = np.arange(i0, max(i0 + 1, i1))
        idx = idx[~d.keep[idx]]
        ends = np.append(d.starts[1:], self.frame_count)
        xa = np.clip(self.x_of(d.starts[idx]), -1, self.width + 1)
        xb = np.clip(self.x_of(ends[idx]), -1, self.width + 1)
        return xa, xb

    def rejected_share(self, f0: int, f1: int) -> tuple[int, np.ndarray] | None:
        """(x of the first column, share of rejected frames in each pixel column) when zoomed out.

        Thousands of short segments collapse to one number per column, so drawing costs the
        same for a 2-hour film as for a 2-minute clip, and a mostly-kept column looks kept.
        """
        if f1 <= f0:
            return None
        xs = np.arange(math.floor(self.x_of(f0)), math.ceil(self.x_of(f1)) + 1)
        a = np.clip(np.floor(self.frame_pos(xs)).astype(np.int64), 0, self.frame_count)
        b = np.clip(np.floor(self.frame_pos(xs + 1)).astype(np.int64), 0, self.frame_count)
        b = np.maximum(b, np.minimum(a + 1, self.frame_count))
        n = np.maximum(1, b - a)
        cum = self.data.rejected_cum
        return int(xs[0]), ((cum[b] - cum[a]) / n).astype(np.float32)

    def rejected_columns(self, f0: int, f1: int) -> list[tuple[float, float]]:
        """Pixel runs ``(x_start, x_end)`` of the rejected segments in view."""
        xa, xb = self._rejected_spans(f0, f1)
        return [(float(a), float(b)) for a, b in zip(xa, xb, strict=True) if b > a]

    def visible_cut_indices(self, f0: int, f1: int) -> np.ndarray:
        """Indices of the cuts to draw: at most one per pixel column, the notable ones first."""
        d = self.data
        a, b = (int(i) for i in np.searchsorted(d.frames, [f0, f1 + 1]))
        idx = np.arange(a, b)
        if len(idx) <= self.width // 3:
            return idx
        cols = np.round(self.x_of(d.frames[idx])).astype(np.int64)
        rank = np.where(d.uncertain[idx], 0, np.where(d.manual[idx], 1, 2))
        order = np.lexsort((rank, cols))
        cols, idx = cols[order], idx[order]
        first = np.concatenate([[True], cols[1:] != cols[:-1]])
        return np.sort(idx[first])


def _tick_step(ppf: float, fps: float) -> int:
    """Frames between ruler ticks: at least ~90 px apart, on round frame or second counts."""
    need = 90 / ppf
    for n in (1, 2, 5, 10):
        if n >= need and n < fps / 2:
            return n
    for sec in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        frames = max(1, round(sec * fps))
        if frames >= need:
            return frames
    return max(1, round(7200 * fps))


def _timecode(frame: int, fps: float) -> str:
    t = frame / fps
    h, rem = divmod(int(t), 3600)
    m, s = divmod(rem, 60)
    frac = t - int(t)
    base = f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
    return base + (f".{int(frac * 10)}" if frac > 1e-6 else "")
