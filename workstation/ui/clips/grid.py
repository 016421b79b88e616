"""The Clips view's grid: the ``QListView`` in icon mode, which of its rows are on screen, and
the hover animation (a few frames of the clip under the mouse, in turn, like a flip book).

The grid only shows :class:`~workstation.ui.clips.model.ClipModel`; what is selected and what
that means for the panels is the view's business.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QTimer
from PySide6.QtGui import QMouseEvent, QPaintEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from workstation.ui.clips.model import ClipIdRole, ClipModel
from workstation.ui.common.empty_hint import paint_empty_hint

HOVER_DELAY_MS = 300  # the mouse rests this long on a clip before it animates
HOVER_FRAME_MS = 180  # one frame of the animation


class ClipGrid(QListView):
    """The grid itself: icon mode, uniform cells, extended selection."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setMouseTracking(True)
        self.setWordWrap(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._empty_text = ""

    def set_empty_text(self, text: str) -> None:
        """What the grid says while it shows no clip ("No clips match …")."""
        if text != self._empty_text:
            self._empty_text = text
            self.viewport().update()

    @property
    def empty_text(self) -> str:
        """The message shown now ("" while there are rows)."""
        model = self.model()
        return self._empty_text if model is not None and model.rowCount() == 0 else ""

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        paint_empty_hint(self, self.empty_text)

    def visible_rows(self) -> list[int]:
        """Rows whose cell intersects the viewport (from the grid geometry, no scan)."""
        model = self.model()
        n = model.rowCount() if model is not None else 0
        if not n:
            return []
        vp = self.viewport().rect()
        g = self.gridSize()
        cols = max(1, vp.width() // max(1, g.width()))
        top = self.verticalOffset()
        first = max(0, (top // max(1, g.height()) - 1) * cols)
        last = min(n, ((top + vp.height()) // max(1, g.height()) + 2) * cols)
        return [r for r in range(first, last) if self.row_visible(r)]

    def row_visible(self, row: int) -> bool:
        model = self.model()
        if model is None:
            return False
        rect = self.visualRect(model.index(row, 0))
        return rect.isValid() and rect.intersects(self.viewport().rect())


class GridHover(QObject):
    """Animates the clip under the mouse once it rests there (the model draws the frame)."""

    def __init__(self, grid: ClipGrid, model: ClipModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.grid = grid
        self._viewport = grid.viewport()
        self.model = model
        self._hover_id: int | None = None
        self._hover_frames: list[int] = []
        self._hover_step = 0
        self._hover_delay = QTimer(self, singleShot=True, interval=HOVER_DELAY_MS)
        self._hover_delay.timeout.connect(self._start_hover)
        self._hover_tick = QTimer(self, interval=HOVER_FRAME_MS)
        self._hover_tick.timeout.connect(self._hover_next)
        self._viewport.installEventFilter(self)

    def stop(self) -> None:
        """No more frames (the project closed)."""
        self._hover_delay.stop()
        self._hover_tick.stop()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self._viewport:
            t = event.type()
            if t == QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
                self._hover_at(event.position().toPoint())
            elif t == QEvent.Type.Leave:
                self._hover_at(None)
        return super().eventFilter(obj, event)

    def _hover_at(self, pos: QPoint | None) -> None:
        idx = self.grid.indexAt(pos) if pos is not None else None
        cid = idx.data(ClipIdRole) if idx is not None and idx.isValid() else None
        if cid == self._hover_id:
            return
        self._hover_id = cid
        self._hover_tick.stop()
        self.model.set_hover(None)
        if cid is not None:
            self._hover_delay.start()
        else:
            self._hover_delay.stop()

    def _start_hover(self) -> None:
        if self._hover_id is None:
            return
        self._hover_frames = self.model.request_hover(self._hover_id)
        self._hover_step = 0
        if len(self._hover_frames) > 1:
            self._hover_tick.start()

    def _hover_next(self) -> None:
        if self._hover_id is None or not self._hover_frames:
            self._hover_tick.stop()
            return
        self._hover_step = (self._hover_step + 1) % len(self._hover_frames)
        self.model.set_hover(self._hover_id, self._hover_frames[self._hover_step])
