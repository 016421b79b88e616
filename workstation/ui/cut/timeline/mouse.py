"""Mouse and keyboard on the cut timeline: seeking, scrubbing, dragging cuts, the tooltip, the
right-click menu, wheel zoom and scroll.

A mixin of :class:`~workstation.ui.cut.timeline.widget.Timeline`.  It only emits the timeline's request
signals; the cut view turns them into undoable edits.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QMenu, QToolTip

from workstation.ui.cut.timeline.geometry import _timecode

HIT_PX = 5  # how close (pixels) a click must be to grab a cut marker
PEAK_SNAP_PX = 24  # Shift+drag looks for the score peak within this many pixels


class TimelineMouse:
    """Hit testing and the mouse, key, wheel and context-menu handlers of the timeline."""

    # -- mouse -----------------------------------------------------------------------------
    def cut_near(self, x: float) -> int | None:
        """Frame of the cut whose marker is within a few pixels of ``x``."""
        if not len(self._frames):
            return None
        pos = self.frame_pos(x)
        i = int(np.searchsorted(self._frames, pos))
        best, best_d = None, HIT_PX + 0.5
        for j in (i - 1, i):
            if 0 <= j < len(self._frames):
                d = abs(self.x_of(int(self._frames[j])) - x)
                if d < best_d:
                    best, best_d = int(self._frames[j]), d
        return best

    def peak_near(self, frame: int) -> int:
        """The frame with the highest score within a few pixels of ``frame`` (Shift+drag)."""
        s = self._scores
        if s is None:
            return frame
        reach = max(2, int(PEAK_SNAP_PX / self.ppf))
        lo, hi = max(1, frame - reach), min(len(s), self.frame_count - 1, frame + reach + 1)
        if hi <= lo:
            return frame
        return lo + int(np.argmax(s[lo:hi]))

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and self.frame_count > 0:
            QToolTip.showText(e.globalPos(), self.tooltip_at(e.pos().x()), self)
            return True
        return super().event(e)

    def tooltip_at(self, x: float) -> str:
        """What a person hovering at pixel ``x`` is looking at."""
        cut_frame = self.cut_near(x)
        if cut_frame is not None:
            cut = self.cut_at_frame(cut_frame)
            who = "manual" if cut.source == "manual" else f"detected {cut.kind}"
            score = f", score {cut.score:.3g}" if cut.score is not None else ""
            flag = ", uncertain" if cut.uncertain else ""
            return (
                f"Cut at frame {cut.frame} ({who}{score}{flag})\n"
                "Drag to move it (Shift: to the nearest score peak); right-click for more"
            )
        frame = self.frame_at(x)
        start, end, keep = self.segment_at(frame)
        state = "kept" if keep else "rejected"
        score = ""
        if self._scores is not None and frame < len(self._scores):
            score = f", score {float(self._scores[frame]):.3g}"
        return (
            f"Frame {frame} ({_timecode(frame, float(self.fps))}{score})\n"
            f"Segment {start}–{end - 1}: {state}. Double-click to add a cut here"
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() != Qt.MouseButton.LeftButton or self.frame_count <= 0:
            return super().mousePressEvent(event)
        x = event.position().x()
        cut = self.cut_near(x)
        self._press = (x, cut)
        if cut is not None:
            self.select_cut(cut, reveal=False)
        else:
            frame = self.frame_at(x)
            self.set_playhead(frame, follow=False)
            self.seekRequested.emit(frame)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if self._press is None:
            near = self.cut_near(x) is not None and event.position().y() < self.content_bottom
            self.setCursor(Qt.CursorShape.SizeHorCursor if near else Qt.CursorShape.ArrowCursor)
            return
        start_x, cut = self._press
        if cut is None:  # scrubbing: the playhead follows the mouse
            frame = self.frame_at(x)
            if frame != self.playhead:
                self.set_playhead(frame, follow=False)
                self.seekRequested.emit(frame)
            return
        if self._drag is None and abs(x - start_x) < 3:
            return
        new = self.boundary_at(x)
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            new = self.peak_near(new)
        self._drag = (cut, new)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag, self._press = self._drag, None, None
        if drag is not None:
            old, new = drag
            self.update()
            if new != old and self.cut_at_frame(new) is None:
                self.moveCutRequested.emit(old, new)
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self._press is not None:
            self._press, self._drag = None, None  # Esc drops a drag in progress
            self.update()
            return
        super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.frame_count <= 1:
            return
        x = event.position().x()
        if self.cut_near(x) is not None:
            return
        frame = self.boundary_at(x)
        if self.cut_at_frame(frame) is None:
            self.addCutRequested.emit(frame)
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        dy = event.angleDelta().y() or event.angleDelta().x()
        if not dy:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.25 ** (dy / 120), event.position().x())
        else:
            self.scroll_frames(-dy / 120 * self.visible_frames / 10)
        event.accept()

    def contextMenuEvent(self, event) -> None:
        if self.frame_count <= 0:
            return
        menu = self.context_menu(event.pos().x())
        menu.exec(event.globalPos())

    def context_menu(self, x: float) -> QMenu:
        """The right-click menu for pixel ``x`` (built separately so tests can trigger it)."""
        menu = QMenu(self)
        cut = self.cut_near(x)
        boundary = self.boundary_at(x)
        frame = self.frame_at(x)
        start, end, keep = self.segment_at(frame)
        add = menu.addAction(f"Add cut at frame {boundary}")
        add.setEnabled(self.cut_at_frame(boundary) is None)
        add.triggered.connect(lambda: self.addCutRequested.emit(boundary))
        if cut is not None:
            menu.addAction(f"Delete cut at frame {cut}").triggered.connect(
                lambda: self.deleteCutRequested.emit(cut)
            )
        label = "Keep this segment" if not keep else "Reject this segment"
        menu.addAction(f"{label} ({start}–{end - 1})").triggered.connect(
            lambda: self.toggleRejectRequested.emit(start)
        )
        merge = menu.addAction("Merge with next segment")
        merge.setEnabled(end < self.frame_count)
        merge.triggered.connect(lambda: self.mergeRequested.emit(start))
        menu.addSeparator()
        menu.addAction(f"Seek here (frame {frame})").triggered.connect(
            lambda: (self.set_playhead(frame, follow=False), self.seekRequested.emit(frame))
        )
        return menu
