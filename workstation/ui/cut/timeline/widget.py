"""The cut timeline: thumbnails, score curve, cut markers, keep/reject segments, playhead.

A plain ``QWidget`` with its own ``paintEvent`` rather than a ``QGraphicsView``: a two-hour video
has ~200k frames and may have thousands of cuts, and a scene graph would hold an item per cut
and per thumbnail and re-index them on every zoom.  Painting directly lets each paint touch only
the visible frame range (cuts found by binary search, the score curve reduced to one maximum per
pixel column), so cost depends on the widget's width, not on the video's length.

The widget only *shows* cuts and *asks* for edits through signals; the cut view turns those into
undoable commands on the project and feeds the result back with :meth:`Timeline.set_cuts`.

It holds its parts, each given only what it needs: :class:`TimelineData` (the cuts and scores as
arrays), :class:`TimelineGeometry` (frame <-> pixel, zoom, scroll, column reductions; no widget),
:class:`ThumbStrip` (the thumbnail row and its loader), :class:`TimelinePainter` (the rows, for a
damaged area) and :class:`TimelineMouse` (events to request signals, reading the widget through
its small :class:`~workstation.ui.cut.timeline.mouse.MouseHost` protocol).  The widget keeps the
playhead and the selection, the scrollbar, and its public interface.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import numpy as np
from PySide6.QtCore import QEvent, QRect, Qt, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QMenu, QScrollBar, QToolTip, QWidget

from workstation.core.store import Cut, Segment
from workstation.core.thumbs import ThumbSource
from workstation.ui.common.thumb_loader import ThumbLoader
from workstation.ui.cut.timeline.data import TimelineData
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
from workstation.ui.cut.timeline.painter import PaintState, TimelinePainter
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


class Timeline(QWidget):
    """Zoomable, scrollable view of one video's cuts.  Frame numbers are 0-based."""

    seekRequested = Signal(int)
    cutSelected = Signal(object)  # frame of the selected cut, or None
    addCutRequested = Signal(int)
    deleteCutRequested = Signal(int)
    moveCutRequested = Signal(int, int)  # old frame, new frame
    toggleRejectRequested = Signal(int)  # first frame of the segment
    mergeRequested = Signal(int)  # first frame of the segment to merge with the next
    viewChanged = Signal()

    def __init__(self, parent: QWidget | None = None, loader: ThumbLoader | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.data = TimelineData()
        self.geom = TimelineGeometry(self.data)
        self.thumbs = ThumbStrip(loader, self.geom)
        self.painter = TimelinePainter(self.geom, self.data, self.thumbs)
        self.mouse = TimelineMouse(self)
        self.playhead = 0
        self._selected: int | None = None
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
        self.data.reset(frame_count, fps)  # the previous video's cuts must not linger
        self.thumbs.set_source(source)
        self.playhead = 0
        self._selected = None
        self.update()
        self.fit()

    def set_cuts(self, cuts: list[Cut], segments: list[Segment] | None = None) -> None:
        """Show these cuts and the keep flags of ``segments``."""
        self.data.set_cuts(cuts, segments)
        self._cuts_changed()

    def patch_cuts(self, frames: Iterable[int], cuts: list[Cut], flags: dict[int, bool]) -> None:
        """Replace what is shown at ``frames`` only (an edit touched a few rows)."""
        self.data.patch_cuts(frames, cuts, flags)
        self._cuts_changed()

    def _cuts_changed(self) -> None:
        if self._selected is not None and self.cut_at_frame(self._selected) is None:
            self._selected = None
            self.cutSelected.emit(None)
        self.update()

    def set_scores(
        self,
        scores: np.ndarray | None,
        threshold: float | None = None,
        scored: np.ndarray | None = None,
    ) -> None:
        self.data.set_scores(scores, threshold, scored)
        self.update()

    def set_live_cuts(self, frames: Iterable[int]) -> None:
        """Cuts a running detection has found so far (drawn faintly until it finishes)."""
        self.data.set_live_cuts(frames)
        self.update()

    @property
    def frame_count(self) -> int:
        return self.data.frame_count

    @property
    def fps(self) -> Fraction:
        return self.data.fps

    @property
    def source(self) -> ThumbSource | None:
        return self.thumbs.source

    def is_scored(self, frame: int) -> bool:
        """False when the detector's gate left ``frame`` unscored (it found no change there)."""
        return self.data.is_scored(frame)

    @property
    def scores(self) -> np.ndarray | None:
        """The per-frame detector scores shown (None before a detection)."""
        return self.data.scores

    @property
    def cuts(self) -> list[Cut]:
        return list(self.data.cuts)

    def cut_at_frame(self, frame: int) -> Cut | None:
        return self.data.cut_at_frame(frame)

    def segment_at(self, frame: int) -> tuple[int, int, bool]:
        """(start, end, keep) of the segment holding ``frame``."""
        return self.data.segment_at(frame)

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
        old, x0 = self.playhead, self.geom.x0
        self.playhead = frame
        if follow:
            self.ensure_visible(frame)
        if self.geom.x0 == x0:
            # Only the playhead moved: repaint two thin strips, not the whole timeline (it
            # moves every frame during playback).
            self.update(self._playhead_rect(old))
            self.update(self._playhead_rect(frame))

    def _playhead_rect(self, frame: int) -> QRect:
        return self.geom.playhead_rect(frame)

    # -- zoom and scroll (the geometry moves; the scrollbar and the paint follow) ----------
    def fit(self) -> None:
        """Show the whole video."""
        self.geom.fit()
        self._view_changed()

    def zoom_by(self, factor: float, anchor_x: float | None = None) -> None:
        """Zoom keeping the frame under ``anchor_x`` (default: the playhead) where it is."""
        self.geom.zoom_by(factor, anchor_x, self.playhead)
        self._view_changed()

    def scroll_frames(self, delta: float) -> None:
        self.geom.scroll_frames(delta)
        self._view_changed()

    def ensure_visible(self, frame: int, margin: float = 0.1) -> None:
        if self.geom.ensure_visible(frame, margin):
            self._view_changed()

    def _view_changed(self) -> None:
        g, sb = self.geom, self.scrollbar
        sb.blockSignals(True)
        page = max(1, int(g.visible_frames))
        sb.setRange(0, max(0, self.frame_count - page))
        sb.setPageStep(page)
        sb.setSingleStep(max(1, page // 20))
        sb.setValue(int(round(g.x0)))
        sb.blockSignals(False)
        self.update()
        self.viewChanged.emit()

    def _on_scroll(self, value: int) -> None:
        self.geom.scroll_to(value)
        self.update()
        self.viewChanged.emit()

    # -- the parts' answers, asked of the widget (the Cut view, tests, the bench) ----------
    @property
    def ppf(self) -> float:
        """Pixels per frame."""
        return self.geom.ppf

    @property
    def x0(self) -> float:
        """The frame at the left edge."""
        return self.geom.x0

    def min_ppf(self) -> float:
        return self.geom.min_ppf()

    def x_of(self, frame: float) -> float:
        return self.geom.x_of(frame)

    def frame_pos(self, x: float) -> float:
        return self.geom.frame_pos(x)

    def curve_columns(self, f0: int, f1: int) -> tuple[np.ndarray, np.ndarray] | None:
        return self.geom.curve_columns(f0, f1)

    def rejected_share(self, f0: int, f1: int) -> tuple[int, np.ndarray] | None:
        return self.geom.rejected_share(f0, f1)

    def thumb_step(self) -> int:
        return self.thumbs.thumb_step()

    def wanted_thumbs(self) -> list[int]:
        return self.thumbs.wanted_thumbs()

    def tooltip_at(self, x: float) -> str:
        return self.mouse.tooltip_at(x)

    def context_menu(self, x: float) -> QMenu:
        """The right-click menu for pixel ``x`` (built separately so tests can trigger it)."""
        return self.mouse.context_menu(x, self)

    # -- Qt events: painting and resizing here, input to the mouse part --------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        state = PaintState(
            self.playhead,
            self._selected,
            self.mouse.drag,
            self.font(),
            self.palette().color(QPalette.ColorRole.PlaceholderText),
        )
        p = QPainter(self)
        try:
            self.painter.paint(p, self.rect(), event.rect(), state)
        finally:
            p.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.scrollbar.setGeometry(0, self.height() - SCROLL_H, self.width(), SCROLL_H)
        self.geom.resize(self.width())
        self._view_changed()
        super().resizeEvent(event)

    def _on_thumb(self, cid: str, frame: int, height: int, _img: object) -> None:
        if self.thumbs.shows(cid, height):
            self.update()

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent) and self.frame_count > 0:
            QToolTip.showText(e.globalPos(), self.tooltip_at(e.pos().x()), self)
            return True
        return super().event(e)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if not self.mouse.press(event):
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self.mouse.move(event):
            pos = event.position()
            self.setCursor(self.mouse.cursor_at(pos.x(), pos.y()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self.mouse.release(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.mouse.key(event):
            super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.mouse.double_click(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.mouse.wheel(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self.frame_count <= 0:
            return
        self.context_menu(event.pos().x()).exec(event.globalPos())
