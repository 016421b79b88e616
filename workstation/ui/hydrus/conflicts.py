"""The conflicts dialog: a caption changed both here and in Hydrus since the last sync.

Each conflict shows ours and Hydrus's text side by side (the last synced text above, for
context) and three choices: keep Hydrus, keep ours, or save an edited merge.  Nothing is decided
for the person; a resolved conflict goes out with the next sync.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from workstation.core import hydrus
from workstation.core.errors import WorkstationError
from workstation.ui.wording import counted

if TYPE_CHECKING:
    from workstation.core.store import Project


CHOICES: dict[str, hydrus.Choice] = {"ours": "ours", "hydrus": "hydrus", "merged": "merged"}


def _shown(text: str | None) -> str:
    return "(no caption)" if text is None else text


def _box(text: str | None, *, editable: bool = False) -> QPlainTextEdit:
    box = QPlainTextEdit(_shown(text) if not editable else text or "")
    box.setReadOnly(not editable)
    box.setMinimumHeight(70)
    return box


class ConflictRow(QGroupBox):
    """One conflict: ours | Hydrus's | merged, and the three buttons."""

    chosen = Signal(int, str, object)  # conflict id, choice, merged text or None

    def __init__(self, conflict: hydrus.Conflict, parent=None) -> None:
        super().__init__(f"{Path(conflict.clip_path).name} — {conflict.kind}", parent)
        self.conflict = conflict
        grid = QGridLayout(self)
        grid.addWidget(QLabel(f"Last synced: {_shown(conflict.base)}"), 0, 0, 1, 3)
        for col, title in enumerate(("Ours (this project)", "Hydrus", "Merged (edit)")):
            grid.addWidget(QLabel(f"<b>{title}</b>"), 1, col)
        self.ours, self.theirs = _box(conflict.ours), _box(conflict.theirs)
        self.merged = _box(conflict.ours, editable=True)
        for col, box in enumerate((self.ours, self.theirs, self.merged)):
            grid.addWidget(box, 2, col)
        self.keep_ours = QPushButton("Keep ours")
        self.keep_hydrus = QPushButton("Keep Hydrus")
        self.keep_merged = QPushButton("Save merged")
        self.keep_ours.clicked.connect(lambda: self.chosen.emit(conflict.id, "ours", None))
        self.keep_hydrus.clicked.connect(lambda: self.chosen.emit(conflict.id, "hydrus", None))
        self.keep_merged.clicked.connect(
            lambda: self.chosen.emit(conflict.id, "merged", self.merged.toPlainText())
        )
        for col, b in enumerate((self.keep_ours, self.keep_hydrus, self.keep_merged)):
            grid.addWidget(b, 3, col)


class ConflictsDialog(QDialog):
    """Lists the open conflicts; each resolved row disappears."""

    resolved = Signal(int)  # conflict id

    def __init__(self, project: Project, parent=None) -> None:
        super().__init__(parent)
        self.project = project
        self.setWindowTitle("Hydrus conflicts")
        self.rows: dict[int, ConflictRow] = {}
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.error = QLabel()
        self.error.setStyleSheet("color:#e07b39;")
        body = QWidget()
        self.list = QVBoxLayout(body)
        for c in hydrus.conflicts(project):
            row = self.rows[c.id] = ConflictRow(c)
            row.chosen.connect(self.choose)
            self.list.addWidget(row)
        self.list.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.error, 1)
        bottom.addWidget(buttons)
        outer = QVBoxLayout(self)
        outer.addWidget(self.summary)
        outer.addWidget(scroll, 1)
        outer.addLayout(bottom)
        self._summarize()
        self.resize(1000, 560)

    def _summarize(self) -> None:
        n = len(self.rows)
        self.summary.setText(
            "No conflicts: every caption agrees with Hydrus or changed on one side only."
            if n == 0
            else f"{counted(n, 'caption')} changed both here and in Hydrus since the last sync. "
            "Choose for each; the choice is sent with the next sync."
        )

    def choose(self, conflict_id: int, choice: str, merged: object) -> None:
        try:
            hydrus.resolve_conflict(
                self.project,
                conflict_id,
                CHOICES[choice],
                merged if isinstance(merged, str) else None,
            )
        except WorkstationError as exc:
            self.error.setText(str(exc))
            return
        row = self.rows.pop(conflict_id)
        row.hide()
        row.deleteLater()
        self._summarize()
        self.resolved.emit(conflict_id)
