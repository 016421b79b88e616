"""Parts of the Train view's form: a path field with Browse buttons, and the advanced settings.

The advanced settings are built from :class:`TrainSettings`' own fields (their kind picks the
editor, their ``help`` metadata the tooltip), so a new engine setting shows up in the form
without a change here.  The view keeps the layout and the run; this module only the editors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeAlias

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)
from superqt import QCollapsible

from workstation.train.launch import TrainSettings

# The editor of one advanced setting, by the field's kind (see field_widget).
FieldWidget: TypeAlias = "QComboBox | QCheckBox | QSpinBox | QDoubleSpinBox | QLineEdit"

# Settings the view edits in its own rows (or sets itself): not in the advanced form.
MAIN_FIELDS = ("dataset", "base_model", "output", "motion_module", "resume", "sample_prompts")


class PathField(QWidget):
    """A path text field with a Browse button (file, folder, or either)."""

    def __init__(
        self,
        placeholder: str,
        kind: str = "folder",
        filters: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.kind, self.filters = kind, filters
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        if kind in ("file", "either"):
            b = QPushButton("File…")
            b.clicked.connect(self._pick_file)
            lay.addWidget(b)
        if kind in ("folder", "either"):
            b = QPushButton("Folder…")
            b.clicked.connect(self._pick_folder)
            lay.addWidget(b)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file", self.text(), self.filters)
        if path:
            self.edit.setText(path)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder", self.text())
        if path:
            self.edit.setText(path)


def field_widget(f: dataclasses.Field[Any], on_change: Callable[..., None]) -> FieldWidget:
    """The editor for one setting; choices, flags and counts call ``on_change`` when edited."""
    default = f.default
    if "choices" in f.metadata:
        combo = QComboBox()
        combo.addItems(list(f.metadata["choices"]))
        combo.currentTextChanged.connect(on_change)
        return combo
    if isinstance(default, bool):
        check = QCheckBox()
        check.toggled.connect(on_change)
        return check
    if isinstance(default, int):
        spin = QSpinBox()
        spin.setRange(0, 10_000_000)
        spin.valueChanged.connect(on_change)
        return spin
    if isinstance(default, float):
        real = QDoubleSpinBox()
        real.setDecimals(6)
        real.setRange(0.0, 1e6)
        real.setSingleStep(1e-5 if "rate" in f.name else 0.1)
        if f.name == "learning_rate":
            real.setSpecialValueText("auto")  # 0 = the engine picks (see the tooltip)
        return real
    return QLineEdit()


class AdvancedSettings(QCollapsible):
    """Every setting outside :data:`MAIN_FIELDS`, one editor a row in a collapsible section."""

    def __init__(self, on_change: Callable[..., None], parent: QWidget | None = None) -> None:
        super().__init__("Advanced settings", parent)
        adv_widget = QWidget()
        adv = QFormLayout(adv_widget)
        self.fields: dict[str, FieldWidget] = {}
        for f in dataclasses.fields(TrainSettings):
            if f.name in MAIN_FIELDS:
                continue
            w = field_widget(f, on_change)
            w.setToolTip(f.metadata.get("help", "").replace("%%", "%"))
            self.fields[f.name] = w
            adv.addRow(f.name.replace("_", " "), w)
        self.addWidget(adv_widget)

    def values(self) -> dict[str, Any]:
        """The edited settings by name, each of its field's type."""
        values: dict[str, Any] = {}
        for name, w in self.fields.items():
            if isinstance(w, QComboBox):
                values[name] = w.currentText()
            elif isinstance(w, QCheckBox):
                values[name] = w.isChecked()
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                values[name] = w.value()
            else:
                values[name] = w.text().strip()
        return values

    def set_values(self, s: TrainSettings) -> None:
        for name, w in self.fields.items():
            value = getattr(s, name)
            if isinstance(w, QComboBox):
                w.setCurrentText(str(value))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                w.setValue(value)
            else:
                w.setText(str(value))
