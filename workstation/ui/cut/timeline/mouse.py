"""Mouse and keyboard on the cut timeline: seeking, scrubbing, dragging cuts, the tooltip, the
right-click menu, wheel zoom and scroll.

A part the :class:`~workstation.ui.cut.timeline.widget.Timeline` holds and forwards its events to.
It reads the timeline through :class:`MouseHost` and only emits the timeline's request signals
(and moves its playhead and selection); the cut view turns the requests into undoable edits.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QMenu, QWidget

from workstation.ui.cut import why
from workstation.ui.cut.timeline.data import TimelineData
from workstation.ui.cut.timeline.geometry import TimelineGeometry, _timecode

HIT_PX = 5  # how close (pixels) a click must be to grab a cut marker
PEAK_SNAP_PX = 24  # Shift+drag looks for the score peak within this many pixels


class MouseHost(Protocol):
    """What the mouse part reads from the timeline and asks of it."""

    @property
    def geom(self) -> TimelineGeometry: ...
    @property
    def data(self) -> TimelineData: ...
    @property
    def playhead(self) -> int: ...
    @property
    def seekRequested(self) -> SignalInstance: ...
    @property
    def addCutRequested(self) -> SignalInstance: ...
    @property
    def deleteCutRequested(self) -> SignalInstance: ...
    @property
    def moveCutRequested(self) -> SignalInstance: ...
    @property
    def toggleRejectRequested(self) -> SignalInstance: ...
    @property
    def mergeRequested(self) -> SignalInstance: ...

    def select_cut(self, frame: int | None, *, reveal: bool = True) -> None: ...
    def set_playhead(self, frame: int, *, follow: bool = True) -> None: ...
    def zoom_by(self, factor: float, anchor_x: float | None = None) -> None: ...
    def scroll_frames(self, delta: float) -> None: ...
    def update(self) -> None: ...


class TimelineMouse:
    """Hit testing and the mouse, key, wheel and context-menu handling of the timeline.

    Each handler returns whether it took the event (the widget passes the others on to Qt).
    """

    def __init__(self, host: MouseHost) -> None:
        self.host = host
        self.press_at: tuple[float, int | None] | None = None  # (x, cut frame under the press)
        self.drag: tuple[int, int] | None = None  # (old frame, preview frame)

    # -- hit testing -----------------------------------------------------------------------
    def cut_near(self, x: float) -> int | None:
        """Frame of the cut whose marker is within a few pixels of ``x``."""
        g, frames = self.host.geom, self.host.data.frames
        if not len(frames):
            return None
        pos = g.frame_pos(x)
        i = int(np.searchsorted(frames, pos))
        best, best_d = None, HIT_PX + 0.5
        for j in (i - 1, i):
            if 0 <= j < len(frames):
                d = abs(g.x_of(int(frames[j])) - x)
                if d < best_d:
                    best, best_d = int(frames[j]), d
        return best

    def peak_near(self, frame: int) -> int:
        """The frame with the highest score within a few pixels of ``frame`` (Shift+drag)."""
        data = self.host.data
        s = data.scores
        if s is None:
            return frame
        reach = max(2, int(PEAK_SNAP_PX / self.host.geom.ppf))
        lo, hi = max(1, frame - reach), min(len(s), data.frame_count - 1, frame + reach + 1)
        if hi <= lo:
            return frame
        return lo + int(np.argmax(s[lo:hi]))

    def tooltip_at(self, x: float) -> str:
        """What a person hovering at pixel ``x`` is looking at."""
        data = self.host.data
        cut_frame = self.cut_near(x)
        cut = data.cut_at_frame(cut_frame) if cut_frame is not None else None
        if cut is not None:
            return (
                f"Cut at frame {cut.frame}: {why.summary(cut)}\n"
                "Drag to move it (Shift: to the nearest score peak); right-click for more"
            )
        frame = self.host.geom.frame_at(x)
        start, end, keep = data.segment_at(frame)
        state = "kept" if keep else "rejected"
        score = ""
        if data.scores is not None and frame < len(data.scores):
            score = f", score {float(data.scores[frame]):.3g}"
            if not data.is_scored(frame):
                score = f", {why.NOT_SCORED}"
        return (
            f"Frame {frame} ({_timecode(frame, float(data.fps))}{score})\n"
            f"Segment {start}–{end - 1}: {state}. Double-click to add a cut here"
        )

    def cursor_at(self, x: float, y: float) -> Qt.CursorShape:
        """The cursor for hovering at (x, y): a sideways arrow over a cut marker."""
        near = self.cut_near(x) is not None and y < self.host.geom.content_bottom
        return Qt.CursorShape.SizeHorCursor if near else Qt.CursorShape.ArrowCursor

    # -- events ----------------------------------------------------------------------------
    def press(self, event: QMouseEvent) -> bool:
        """Left press: grab the cut under the mouse, or seek there (and start scrubbing)."""
        host = self.host
        if event.button() != Qt.MouseButton.LeftButton or host.data.frame_count <= 0:
            return False
        x = event.position().x()
        cut = self.cut_near(x)
        self.press_at = (x, cut)
        if cut is not None:
            host.select_cut(cut, reveal=False)
        else:
            self._seek(host.geom.frame_at(x))
        event.accept()
        return True

    def move(self, event: QMouseEvent) -> bool:
        """Scrub or drag while pressed; False when merely hovering."""
        if self.press_at is None:
            return False
        host = self.host
        x = event.position().x()
        start_x, cut = self.press_at
        if cut is None:  # scrubbing: the playhead follows the mouse
            frame = host.geom.frame_at(x)
            if frame != host.playhead:
                self._seek(frame)
            return True
        if self.drag is None and abs(x - start_x) < 3:
            return True
        new = host.geom.boundary_at(x)
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            new = self.peak_near(new)
        self.drag = (cut, new)
        host.update()
        return True

    def release(self, event: QMouseEvent) -> None:
        """End a press; a drag that moved asks for the move (not onto another cut)."""
        drag, self.drag, self.press_at = self.drag, None, None
        if drag is not None:
            old, new = drag
            self.host.update()
            if new != old and self.host.data.cut_at_frame(new) is None:
                self.host.moveCutRequested.emit(old, new)
        event.accept()

    def key(self, event: QKeyEvent) -> bool:
        """Esc drops a drag in progress."""
        if event.key() == Qt.Key.Key_Escape and self.press_at is not None:
            self.press_at, self.drag = None, None
            self.host.update()
            return True
        return False

    def double_click(self, event: QMouseEvent) -> None:
        """Double-click off a marker asks for a cut at the nearest frame boundary."""
        host = self.host
        if event.button() != Qt.MouseButton.LeftButton or host.data.frame_count <= 1:
            return
        x = event.position().x()
        if self.cut_near(x) is not None:
            return
        frame = host.geom.boundary_at(x)
        if host.data.cut_at_frame(frame) is None:
            host.addCutRequested.emit(frame)
        event.accept()

    def wheel(self, event: QWheelEvent) -> None:
        """Ctrl+wheel zooms about the mouse; the wheel alone scrolls a tenth of the view."""
        dy = event.angleDelta().y() or event.angleDelta().x()
        if not dy:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.host.zoom_by(1.25 ** (dy / 120), event.position().x())
        else:
            self.host.scroll_frames(-dy / 120 * self.host.geom.visible_frames / 10)
        event.accept()

    def context_menu(self, x: float, parent: QWidget | None = None) -> QMenu:
        """The right-click menu for pixel ``x`` (built separately so tests can trigger it)."""
        host, g, data = self.host, self.host.geom, self.host.data
        menu = QMenu(parent)
        cut = self.cut_near(x)
        boundary = g.boundary_at(x)
        frame = g.frame_at(x)
        start, end, keep = data.segment_at(frame)
        add = menu.addAction(f"Add cut at frame {boundary}")
        add.setEnabled(data.cut_at_frame(boundary) is None)
        add.triggered.connect(lambda: host.addCutRequested.emit(boundary))
        if cut is not None:
            menu.addAction(f"Delete cut at frame {cut}").triggered.connect(
                lambda: host.deleteCutRequested.emit(cut)
            )
        label = "Keep this segment" if not keep else "Reject this segment"
        menu.addAction(f"{label} ({start}–{end - 1})").triggered.connect(
            lambda: host.toggleRejectRequested.emit(start)
        )
        merge = menu.addAction("Merge with next segment")
        merge.setEnabled(end < data.frame_count)
        merge.triggered.connect(lambda: host.mergeRequested.emit(start))
        menu.addSeparator()
        menu.addAction(f"Seek here (frame {frame})").triggered.connect(lambda: self._seek(frame))
        return menu

    def _seek(self, frame: int) -> None:
        self.host.set_playhead(frame, follow=False)
        self.host.seekRequested.emit(frame)
