"""Which clips of the grid are selected and current, and moving through them (the review flow).

A narrow part of the Clips view: it knows the grid and its model, not the panels; the view
reacts to the selection signals.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QItemSelectionModel

from workstation.ui.clips.grid import ClipGrid
from workstation.ui.clips.model import ClipIdRole, ClipModel


class GridSelection:
    """Selection and current clip of the grid, by clip id."""

    def __init__(self, grid: ClipGrid, model: ClipModel) -> None:
        self.grid = grid
        self.model = model

    def selected_ids(self) -> list[int]:
        """Selected clips in grid order (read from the selection's ranges: selecting all
        10,000 clips is one range, not 10,000 indexes)."""
        rows: set[int] = set()
        selection = self.grid.selectionModel().selection()
        for i in range(selection.count()):
            rng = selection.at(i)
            rows.update(range(rng.top(), rng.bottom() + 1))
        return self.model.ids_at(sorted(rows))

    def current_id(self) -> int | None:
        idx = self.grid.currentIndex()
        return idx.data(ClipIdRole) if idx.isValid() else None

    def current_row(self) -> int:
        idx = self.grid.currentIndex()
        return idx.row() if idx.isValid() else -1

    def select_clips(self, clip_ids: Iterable[int], current: int | None = None) -> None:
        sm = self.grid.selectionModel()
        rows = [r for r in (self.model.row_of(c) for c in clip_ids) if r is not None]
        sm.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select
        for r in rows:
            sm.select(self.model.index(r), flags)
        cur = self.model.row_of(current) if current is not None else (rows[0] if rows else None)
        if cur is not None:
            sm.setCurrentIndex(self.model.index(cur), QItemSelectionModel.SelectionFlag.NoUpdate)
            self.grid.scrollTo(self.model.index(cur))

    def step(self, delta: int) -> None:
        """Select the next/previous clip in the grid."""
        n = self.model.rowCount()
        if not n:
            return
        idx = self.grid.currentIndex()
        if not idx.isValid():
            row = 0
        elif delta > 0 and not self.grid.selectionModel().isSelected(idx):
            row = idx.row()  # the clip that took the place of one that left the grid
        else:
            row = max(0, min(n - 1, idx.row() + delta))
        self.select_clips([self.model.clip_ids()[row]])

    def next_after(self, ids: list[int]) -> int | None:
        """The clip after the last of ``ids`` in grid order (None: they end the grid)."""
        rows = [r for r in (self.model.row_of(c) for c in ids) if r is not None]
        order = self.model.clip_ids()
        nxt = max(rows) + 1 if rows else len(order)
        return order[nxt] if nxt < len(order) else None

    def keep_place(self, row: int) -> None:
        """Make the clip now at ``row`` current without selecting it (the one before it left
        the grid), so the next step selects it."""
        n = self.model.rowCount()
        if n:
            idx = self.model.index(max(0, min(row, n - 1)))
            self.grid.selectionModel().setCurrentIndex(
                idx, QItemSelectionModel.SelectionFlag.NoUpdate
            )
