"""Parts the Tag, Caption and Models dialogs share: which clips, a model picker, tables.

:class:`ClipScopeChooser` shows the three choices with their counts (a choice with no clips
is disabled); :class:`ModelPicker` lists the models of one kind from the Models list (folders
the person added and the Hugging Face cache), the known hub models that are not downloaded
yet, and takes any other folder through a folder picker.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from workstation.core.autotag.models import ModelEntry
from workstation.ui.clips.all_tags_panel import Scope

SCOPE_LABELS = {
    Scope.SELECTED: "Selected clips",
    Scope.FILTERED: "Clips the filter shows",
    Scope.ALL: "All clips",
}


class ClipScopeChooser(QGroupBox):
    """Selected / filtered as shown / all, each with how many clips it is."""

    changed = Signal(object)  # Scope

    def __init__(self, counts: dict[Scope, int], scope: Scope, parent=None) -> None:
        super().__init__("Clips", parent)
        self.counts = counts
        self.group = QButtonGroup(self)
        self.buttons: dict[Scope, QRadioButton] = {}
        row = QHBoxLayout(self)
        for s in Scope:
            b = QRadioButton(f"{SCOPE_LABELS[s]} ({counts.get(s, 0)})")
            b.setEnabled(counts.get(s, 0) > 0)
            b.toggled.connect(partial(self._toggled, s))
            self.group.addButton(b)
            self.buttons[s] = b
            row.addWidget(b)
        row.addStretch(1)
        if counts.get(scope, 0) == 0:  # e.g. nothing selected: the next choice that has clips
            scope = next((s for s in Scope if counts.get(s, 0)), scope)
        self.buttons[scope].setChecked(True)

    def _toggled(self, scope: Scope, on: bool) -> None:
        if on:
            self.changed.emit(scope)

    @property
    def scope(self) -> Scope:
        return next((s for s, b in self.buttons.items() if b.isChecked()), Scope.SELECTED)

    @property
    def count(self) -> int:
        return self.counts.get(self.scope, 0)

    def set_scope(self, scope: Scope) -> None:
        self.buttons[scope].setChecked(True)


class ModelPicker(QWidget):
    """A combo box of models of one kind plus "Folder…"; :meth:`value` is what settings store
    (a folder path or a hub id)."""

    changed = Signal(str)

    def __init__(self, kind: str, parent=None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(44)
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.currentIndexChanged.connect(lambda _i: self.changed.emit(self.value()))
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("Use a model folder on this machine")
        self.folder_button.clicked.connect(self._choose_folder)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.folder_button)

    def fill(self, entries: list[ModelEntry], hub_ids: tuple[str, ...], current: str) -> None:
        """Models of this kind on this machine first, then hub models to download."""
        self.combo.blockSignals(True)
        self.combo.clear()
        seen: set[str] = set()
        for e in entries:
            if e.kind != self.kind or e.where == "folder (missing)":
                continue
            label = f"{Path(e.name).name} (folder)" if e.local else f"{e.name} (downloaded)"
            self._add(label, e.model_ref, seen)
        for repo in hub_ids:
            self._add(f"{repo} (not downloaded)", repo, seen)
        self.combo.blockSignals(False)
        self.set_value(current)

    def _add(self, label: str, ref: str, seen: set[str]) -> None:
        if ref in seen:
            return
        seen.add(ref)
        self.combo.addItem(label, ref)
        self.combo.setItemData(self.combo.count() - 1, ref, Qt.ItemDataRole.ToolTipRole)

    def value(self) -> str:
        data = self.combo.currentData()
        return str(data) if data is not None else ""

    def set_value(self, ref: str) -> None:
        if not ref:
            if self.combo.count():
                self.combo.setCurrentIndex(0)
            return
        i = self.combo.findData(ref)
        if i < 0:
            name = Path(ref).name if ("/" in ref and Path(ref).is_absolute()) else ref
            self.combo.addItem(f"{name} (chosen)", ref)
            self.combo.setItemData(self.combo.count() - 1, ref, Qt.ItemDataRole.ToolTipRole)
            i = self.combo.count() - 1
        self.combo.setCurrentIndex(i)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        if folder:
            self.set_value(str(Path(folder).resolve()))


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def table_item(text: str, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(tip or text)
    return item


def table_widget(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    header = table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for c in range(1, len(headers)):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    return table
