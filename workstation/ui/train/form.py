"""Parts of the Train view's form: path fields, the advanced settings, and a note per field.

The advanced settings are built from :class:`TrainSettings`' own fields (their kind picks the
editor, their ``help`` metadata the tooltip), so a new engine setting shows up in the form
without a change here; :data:`LABELS` gives the ones people read a name they know.  Every
field has a :class:`FieldNote` under it: what is wrong with it (red, and a red border on the
editor) or what was found there (grey).  :class:`RememberedForm` keeps the form in the
project between sessions.  The view keeps the layout, the checks and the run; this module only
the editors.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sqlite3
from collections.abc import Callable
from typing import Any, TypeAlias

from PySide6.QtGui import QColor, QPalette, QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from workstation.core.errors import WorkstationError
from workstation.core.store import TRAIN_FORM
from workstation.train.checks import FieldCheck, flag
from workstation.train.launch import TrainSettings, settings_from_json

log = logging.getLogger(__name__)

# The editor of one advanced setting, by the field's kind (see field_widget).
FieldWidget: TypeAlias = "QComboBox | QCheckBox | QSpinBox | NumberBox | QLineEdit"

# Settings the view edits in its own rows (or sets itself): not in the advanced form.
MAIN_FIELDS = ("dataset", "base_model", "output", "motion_module", "resume", "sample_prompts")

# Not remembered with the form: each run gets its own folder; resume is per click.
NOT_REMEMBERED = ("output", "resume")

# The name a person reads for each setting (the rest: the field name, capitalised).
LABELS = {
    "base_config": "Configs for a .safetensors",
    "fresh_version": "Fresh module layout",
    "mode": "Training mode",
    "max_steps": "Steps",
    "resolution": "Resolution (px)",
    "aspect_buckets": "Aspect-ratio buckets",
    "bucket_step": "Bucket side step (px)",
    "frames": "Frames per clip",
    "short_clips": "Clips too short",
    "attention": "Attention kernel",
    "stride": "Frame stride",
    "batch_size": "Batch size",
    "grad_accum": "Gradient accumulation",
    "learning_rate": "Learning rate",
    "lr_warmup_steps": "Warm-up steps",
    "lora_rank": "LoRA rank",
    "lora_alpha": "LoRA alpha",
    "target_fps": "Frame rate (fps)",
    "cache_windows": "Cached windows per clip",
    "cache_extraction": "Cached windows at",
    "mixed_precision": "Mixed precision",
    "gradient_checkpointing": "Gradient checkpointing",
    "adam_8bit": "8-bit AdamW",
    "cache_latents": "Cache latents",
    "hflip": "Random horizontal flips",
    "caption_dropout": "Caption dropout",
    "seed": "Seed",
    "checkpoint_every": "Checkpoint every (steps)",
    "keep_checkpoints": "Checkpoints kept",
    "sample_every": "Samples every (steps)",
    "sample_steps": "Sampling steps",
    "sample_seed": "Sample seed",
    "num_workers": "Data loader workers",
    "max_grad_norm": "Gradient clipping",
    "accelerate_config": "Accelerate config file",
    "launcher": "Launcher",
}

# Arrow-key steps of the real-valued settings (the rest: 0.1).
STEPS = {"learning_rate": 1e-5, "lora_alpha": 1.0, "caption_dropout": 0.05}
INVALID_STYLE = 'QLineEdit[invalid="true"] { border: 1px solid #e0484f; border-radius: 2px; }'
PROBLEM_COLOR = "#e0484f"


def label_of(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def format_number(value: float) -> str:
    """16.0 -> "16", 0.0001 -> "1e-4", 2.5e-05 -> "2.5e-5", 0.1 -> "0.1"."""
    if value and abs(value) < 1e-3:
        mantissa, exponent = f"{value:.3e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.6g}"


class NumberBox(QDoubleSpinBox):
    """A real-valued setting shown as people write it ("16", "1e-4"), typed the same way."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(12)  # QDoubleSpinBox rounds values to its decimals: keep 2.5e-5
        self.setRange(0.0, 1e6)

    def textFromValue(self, value: float) -> str:
        return format_number(value)

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            return self.minimum()

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        return self._state(text.strip()), text, pos

    def _state(self, text: str) -> QValidator.State:
        if text and text == self.specialValueText():
            return QValidator.State.Acceptable
        try:
            value = float(text)
        except ValueError:
            # "1e-", "1." or "" on the way to a number
            ok = all(c in "0123456789.eE-+" for c in text)
            return QValidator.State.Intermediate if ok else QValidator.State.Invalid
        if not math.isfinite(value):
            return QValidator.State.Invalid
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable
        return QValidator.State.Intermediate


class FieldNote(QLabel):
    """The line under a field: its problem in red, or what was found there in grey."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.problem = ""
        self.hide()

    def show_check(self, check: FieldCheck, editor: QWidget) -> None:
        """Show ``check`` and mark ``editor``: a red border on a text field, red digits in a
        spin box (a style-sheet border there would redraw its arrows)."""
        self.problem = check.problem
        text = check.problem or check.info
        self.setText(text)
        self.setToolTip(text)
        color = PROBLEM_COLOR if check.problem else None
        set_text_color(self, color, QPalette.ColorRole.WindowText)
        self.setForegroundRole(
            QPalette.ColorRole.WindowText if check.problem else QPalette.ColorRole.PlaceholderText
        )
        self.setVisible(bool(text))
        if bool(editor.property("invalid")) == bool(check.problem):
            return
        editor.setProperty("invalid", bool(check.problem))
        if isinstance(editor, QAbstractSpinBox):
            for w in (editor, editor.findChild(QLineEdit)):  # the digits are its line edit's
                if w is not None:
                    set_text_color(w, color, QPalette.ColorRole.Text)
        else:  # the style sheet's border follows the property once the style looks again
            editor.style().unpolish(editor)
            editor.style().polish(editor)


def set_text_color(widget: QWidget, color: str | None, role: QPalette.ColorRole) -> None:
    """Colour ``widget``'s text (``role``) through its palette; None: the theme's colour again.
    (A style-sheet colour on a label draws pale under some styles; the palette does not.)"""
    if color is None:
        widget.setPalette(QPalette())  # nothing set: everything inherited from the parent
        return
    palette = QPalette(widget.palette())
    palette.setColor(role, QColor(color))
    widget.setPalette(palette)


class PathField(QWidget):
    """A path text field with Browse buttons (file, folder, or either) and its note."""

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
        self.edit.setToolTip(placeholder)
        self.edit.textChanged.connect(lambda text: self.edit.setToolTip(text or placeholder))
        self.textChanged = self.edit.textChanged
        self.note = FieldNote()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        if kind in ("file", "either"):
            b = QPushButton("File…")
            b.clicked.connect(self._pick_file)
            row.addWidget(b)
        if kind in ("folder", "either"):
            b = QPushButton("Folder…")
            b.clicked.connect(self._pick_folder)
            row.addWidget(b)
        column.addLayout(row)
        column.addWidget(self.note)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def show_check(self, check: FieldCheck) -> None:
        self.note.show_check(check, self.edit)

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file", self.text(), self.filters)
        if path:
            self.edit.setText(path)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder", self.text())
        if path:
            self.edit.setText(path)


def field_widget(f: dataclasses.Field[Any], on_change: Callable[[], None]) -> FieldWidget:
    """The editor for one setting; it calls ``on_change`` whenever it is edited."""
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
        if f.name == "resolution":
            spin.setSingleStep(64)
        spin.valueChanged.connect(on_change)
        return spin
    if isinstance(default, float):
        real = NumberBox()
        real.setSingleStep(STEPS.get(f.name, 0.1))
        if f.name == "learning_rate":
            real.setSpecialValueText("auto")  # 0 = the engine picks (see the tooltip)
        real.valueChanged.connect(on_change)
        return real
    line = QLineEdit()
    line.textChanged.connect(on_change)
    return line


class AdvancedSettings(QCollapsible):
    """Every setting outside :data:`MAIN_FIELDS`, one editor and its note a row."""

    def __init__(self, on_change: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__("Advanced settings", parent)
        adv_widget = QWidget()
        adv = QFormLayout(adv_widget)
        adv.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.fields: dict[str, FieldWidget] = {}
        self.notes: dict[str, FieldNote] = {}
        for f in dataclasses.fields(TrainSettings):
            if f.name in MAIN_FIELDS:
                continue
            w = field_widget(f, lambda *_a, name=f.name: on_change(name))
            help_text = f.metadata.get("help", "").replace("%%", "%")
            w.setToolTip(f"{help_text} ({flag(f.name)})")
            cell = QWidget()
            column = QVBoxLayout(cell)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(w)
            note = FieldNote()
            column.addWidget(note)
            label = QLabel(label_of(f.name))
            label.setToolTip(w.toolTip())
            label.setBuddy(w)
            adv.addRow(label, cell)
            self.fields[f.name] = w
            self.notes[f.name] = note
        self.addWidget(adv_widget)

    def show_checks(self, checks: dict[str, FieldCheck]) -> None:
        for name, note in self.notes.items():
            note.show_check(checks.get(name, FieldCheck()), self.fields[name])

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


class RememberedForm:
    """The Train form of one project, kept in its ``TRAIN_FORM`` setting between sessions."""

    def __init__(self, session: Any) -> None:
        self.session = session  # a ProjectSession (main thread)
        self._saved: dict[str, Any] | None = None

    def load(self) -> tuple[str, TrainSettings] | None:
        """(preset name, settings) as last saved; None when nothing (readable) was."""
        try:
            state = dict(self.session.project.get(TRAIN_FORM))
            if not state:
                return None
            s = settings_from_json(
                state.get("settings"), "the remembered Train form", unknown_ok=True
            )
        except WorkstationError as exc:
            log.warning("%s", exc)
            return None
        self._saved = state
        return str(state.get("preset", "")), s

    def save(self, preset: str, s: TrainSettings) -> None:
        """Remember the form (when it changed; not in a read-only project)."""
        values = {k: v for k, v in dataclasses.asdict(s).items() if k not in NOT_REMEMBERED}
        state = {"preset": preset, "settings": values}
        project = self.session.project
        if state == self._saved or self.session.is_closed or project.read_only:
            return
        try:
            project.put(TRAIN_FORM, state)
        except (WorkstationError, sqlite3.Error) as exc:  # a full disk, a locked database
            log.warning("the Train form is not remembered: %s", exc)
            return
        self._saved = state


def no_dataset_hint(clips: int) -> str:
    """What the Train tab says while its Dataset field is empty: how to get a dataset."""
    if clips:
        return (
            "No dataset yet: press Export now to export the clips the filter selects; its "
            "folder fills Dataset (File ▸ Export… has every format)."
        )
    return "No dataset yet, and no clips: slice a video in Cut first, then Export now makes the dataset."
