"""The cut timeline: thumbnails, score curve, cut markers, keep/reject segments, playhead.

A plain ``QWidget`` with its own ``paintEvent`` rather than a ``QGraphicsView``: a two-hour video
has ~200k frames and may have thousands of cuts, and a scene graph would hold an item per cut
and per thumbnail and re-index them on every zoom.  Painting directly lets each paint touch only
the visible frame range (cuts found by binary search, the score curve reduced to one maximum per
pixel column), so cost depends on the widget's width, not on the video's length.

The widget only *shows* cuts and *asks* for edits through signals; the cut view turns those into
undoable commands on the project and feeds the result back with :meth:`Timeline.set_cuts`.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtWidgets import QScrollBar, QWidget

from workstation.core.store import Cut, Segment
from workstation.core.thumbs import ThumbSource
from workstation.ui.cut.timeline.geometry import (
    CURVE_H,
    MAX_PPF,
    RULER_H,
    SCROLL_H,
    SEG_H,
    THUMB_H,
    TimelineGeometry,
)
from workstation.ui.cut.timeline.mouse import HIT_PX, PEAK_SNAP_PX, TimelineMouse
from workstation.ui.cut.timeline.painter import TimelinePainting
from workstation.ui.cut.timeline.thumbs import ThumbStrip

# Sizes live beside the code that uses them; they stay importable from here.
__all__ = [
    "CURVE_H",
    "HIT_PX",
    "MAX_PPF",
    "PEAK_SNAP_PX",
    "RULER_H",
    "SCROLL_H",
    "SEG_H",
    "THUMB_H",
    "Timeline",
]


class Timeline(TimelineMouse, TimelinePainting, ThumbStrip, TimelineGeometry, QWidget):
    """Zoomable, scrollable view of one video's cuts.  Frame numbers are 0-based."""

    seekRequested = Signal(int)
    cutSelected = Signal(object)  # frame of the selected cut, or None
    addCutRequested = Signal(int)
    deleteCutRequested = Signal(int)
    moveCutRequested = Signal(int, int)  # old frame, new frame
    toggleRejectRequested = Signal(int)  # first frame of the segment
    mergeRequested = Signal(int)  # first frame of the segment to merge with the next
    viewChanged = Signal()

    def __init__(self, parent: QWidget | None = None, loader=None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.frame_count = 0
        self.fps = Fraction(25)
        self.source: ThumbSource | None = None
        self.ppf = 1.0  # pixels per frame
        self.x0 = 0.0  # frame at the left edge
        self.playhead = 0
        self._cuts: list[Cut] = []
        self._frames = np.zeros(0, dtype=np.int64)
        self._manual = np.zeros(0, dtype=bool)
        self._uncertain = np.zeros(0, dtype=bool)
        self._starts = np.zeros(1, dtype=np.int64)  # segment starts: 0 and every cut
        self._keep = np.ones(1, dtype=bool)
        self._rejected_cum = np.zeros(1, dtype=np.int64)
        self._flags: dict[int, bool] = {}
        self._keys = np.zeros(0, dtype=np.int64)
        self._gop = 1
        self._live = np.zeros(0, dtype=np.int64)
        self._scores: np.ndarray | None = None
        self._threshold: float | None = None
        self._score_top = 1.0
        self._selected: int | None = None
        self._press: tuple[float, int | None] | None = None  # (x, cut frame under the press)
        self._drag: tuple[int, int] | None = None  # (old frame, preview frame)
        self._fitted = True
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumHeight(RULER_H + THUMB_H + CURVE_H + SEG_H + SCROLL_H)
        self.setMinimumWidth(200)
        self.setAutoFillBackground(False)
        self.scrollbar = QScrollBar(Qt.Orientation.Horizontal, self)
        self.scrollbar.valueChanged.connect(self._on_scroll)
        if loader is not None:
            loader.thumbReady.connect(self._on_thumb)

    # -- data ------------------------------------------------------------------------------
    def set_video(self, frame_count: int, fps: Fraction, source: ThumbSource | None = None) -> None:
        self.frame_count = max(0, frame_count)
        self.fps = Fraction(fps) if fps else Fraction(25)
        self.source = source
        keys = np.asarray(source.keyframes if source else (), dtype=np.int64)
        self._keys = keys
        # The typical keyframe interval; 1 when unknown (then exact frames are always shown).
        self._gop = int(np.median(np.diff(keys))) if len(keys) > 2 else 1
        self.playhead = 0
        self._selected = None
        self._live = np.zeros(0, dtype=np.int64)
        self._flags = {}
        self._apply_cuts([])  # the previous video's cuts must not linger
        self._fitted = True
        self.fit()

    def set_cuts(self, cuts: list[Cut], segments: list[Segment] | None = None) -> None:
        """Show these cuts and the keep flags of ``segments``."""
        self._flags = {s.start: s.keep for s in segments or []}
        self._apply_cuts(sorted(cuts, key=lambda c: c.frame))

    def patch_cuts(self, frames, cuts: list[Cut], flags: dict[int, bool]) -> None:
        """Replace what is shown at ``frames`` only (an edit touched a few rows)."""
        fs = {int(f) for f in frames}
        kept = [c for c in self._cuts if c.frame not in fs]
        self._flags.update(flags)
        self._apply_cuts(sorted(kept + list(cuts), key=lambda c: c.frame))

    def _apply_cuts(self, cuts: list[Cut]) -> None:
        self._cuts = cuts
        self._frames = np.fromiter((c.frame for c in cuts), dtype=np.int64, count=len(cuts))
        self._manual = np.fromiter((c.source == "manual" for c in cuts), bool, len(cuts))
        self._uncertain = np.fromiter((c.uncertain for c in cuts), bool, len(cuts))
        self._starts = np.concatenate([[0], self._frames]).astype(np.int64)
        flags = self._flags
        self._keep = np.fromiter(
            (flags.get(int(s), True) for s in self._starts), bool, len(self._starts)
        )
        # Rejected frames counted up to each frame: the share per pixel column when zoomed out.
        lengths = np.diff(np.append(self._starts, max(self.frame_count, int(self._starts[-1]))))
        rejected = np.repeat(~self._keep, np.maximum(lengths, 0))
        self._rejected_cum = np.concatenate([[0], np.cumsum(rejected, dtype=np.int64)])
        pad = self.frame_count + 1 - len(self._rejected_cum)
        if pad > 0:
            self._rejected_cum = np.pad(self._rejected_cum, (0, pad), mode="edge")
        if self._selected is not None and self.cut_at_frame(self._selected) is None:
            self._selected = None
            self.cutSelected.emit(None)
        self.update()

    def set_scores(self, scores: np.ndarray | None, threshold: float | None = None) -> None:
        self._scores = (
            None if scores is None or len(scores) == 0 else np.asarray(scores, np.float32)
        )
        self._threshold = threshold
        top = float(np.nanmax(self._scores)) if self._scores is not None else 1.0
        if threshold:
            top = max(top, threshold * 1.25)
        self._score_top = top if top > 0 else 1.0
        self.update()

    def set_live_cuts(self, frames) -> None:
        """Cuts a running detection has found so far (drawn faintly until it finishes)."""
        self._live = np.unique(np.asarray(list(frames), dtype=np.int64))
        self.update()

    @property
    def scores(self) -> np.ndarray | None:
        """The per-frame detector scores shown (None before a detection)."""
        return self._scores

    @property
    def cuts(self) -> list[Cut]:
        return list(self._cuts)

    def cut_at_frame(self, frame: int) -> Cut | None:
        i = int(np.searchsorted(self._frames, frame))
        if i < len(self._frames) and self._frames[i] == frame:
            return self._cuts[i]
        return None

    def segment_at(self, frame: int) -> tuple[int, int, bool]:
        """(start, end, keep) of the segment holding ``frame``."""
        i = max(0, int(np.searchsorted(self._starts, frame, side="right")) - 1)
        end = int(self._starts[i + 1]) if i + 1 < len(self._starts) else self.frame_count
        return int(self._starts[i]), end, bool(self._keep[i])

    # -- selection and playhead ------------------------------------------------------------
    @property
    def selected_cut(self) -> int | None:
        return self._selected

    def select_cut(self, frame: int | None, *, reveal: bool = True) -> None:
        if frame is not None and self.cut_at_frame(frame) is None:
            frame = None
        if frame == self._selected:
            return
        self._selected = frame
        if frame is not None and reveal:
            self.ensure_visible(frame)
        self.update()
        self.cutSelected.emit(frame)

    def set_playhead(self, frame: int, *, follow: bool = True) -> None:
        frame = max(0, min(self.frame_count - 1, int(frame)))
        if frame == self.playhead:
            return
        old, x0 = self.playhead, self.x0
        self.playhead = frame
        if follow:
            self.ensure_visible(frame)
        if self.x0 == x0:
            # Only the playhead moved: repaint two thin strips, not the whole timeline (it
            # moves every frame during playback).
            self.update(self._playhead_rect(old))
            self.update(self._playhead_rect(frame))

    def _playhead_rect(self, frame: int) -> QRect:
        x = self.x_of(frame) + min(self.ppf, 6) / 2
        return QRect(math.floor(x) - 6, 0, 13, math.ceil(self.content_bottom) + 1)
