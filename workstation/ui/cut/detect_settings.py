"""The "Detection settings…" dialog: which detector "Detect cuts" runs, and the ensemble's settings.

The choice is saved in the app settings (:func:`workstation.core.detect.registry.save_choice`);
detection jobs read it when they start.  Detectors that cannot run here are listed but disabled,
with the reason as their tooltip, so a person sees what exists and what to install.  Imported
only when the dialog opens: it loads the detector registry, never a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QEnumComboBox

from workstation.core.detect import DetectSettings
from workstation.core.detect.registry import (
    DEFAULT,
    DETECTORS,
    DetectorKind,
    save_choice,
    usable_choice,
)


class DetectorComboBox(QEnumComboBox):
    """A ``QEnumComboBox`` over :class:`DetectorKind` that shows each detector's label.

    ``QEnumComboBox`` maps items to members by their text; here items carry readable labels, so
    the mapping is by position (items are added in the Enum's order).
    """

    _kinds = list(DetectorKind)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, enum_class=DetectorKind)
        self.reasons: dict[DetectorKind, str] = {}
        model = self._items()
        for i, kind in enumerate(self._kinds):
            det = DETECTORS[kind]
            self.setItemText(i, det.label)
            reason = det.why_unavailable()
            if reason is None:
                self.setItemData(i, det.description, Qt.ItemDataRole.ToolTipRole)
                continue
            self.reasons[kind] = reason
            model.item(i).setEnabled(False)
            self.setItemData(i, reason, Qt.ItemDataRole.ToolTipRole)

    def _items(self) -> QStandardItemModel:
        return cast(QStandardItemModel, self.model())  # a QComboBox's own model is one

    # superqt types these two with a TypeVar bound to no class: no override of them can match.
    def currentEnum(self) -> DetectorKind | None:  # type: ignore[override]
        i = self.currentIndex()
        return self._kinds[i] if 0 <= i < len(self._kinds) else None

    def setCurrentEnum(self, value: DetectorKind) -> None:  # type: ignore[override]
        self.setCurrentIndex(self._kinds.index(DetectorKind(value)))

    def is_enabled(self, kind: DetectorKind) -> bool:
        return bool(self._items().item(self._kinds.index(kind)).isEnabled())


class DetectSettingsDialog(QDialog):
    """Pick the detector; tune the ensemble (the others run with their own defaults)."""

    def __init__(
        self, parent: QWidget | None = None, *, settings_path: str | Path | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Detection settings")
        self.settings_path = settings_path
        # the saved choice as it can run here (with a note when it had to fall back)
        kind, settings, fallback_note = usable_choice(settings_path)

        self.detector = DetectorComboBox(self)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.note = QLabel()  # why a saved choice could not be kept
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #e0a040")
        self.note.hide()

        self.ensemble_box = self._build_ensemble_box()
        buttons = self._build_buttons()
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #e06c6c")
        self.error.hide()

        layout = QVBoxLayout(self)
        top = QFormLayout()
        top.addRow("Detector", self.detector)
        layout.addLayout(top)
        layout.addWidget(self.description)
        layout.addWidget(self.note)
        layout.addWidget(self.ensemble_box)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

        self.detector.currentEnumChanged.connect(self._on_detector)
        if fallback_note is not None:
            self.note.setText(fallback_note)
            self.note.show()
        self.set_settings(settings)
        self.detector.setCurrentEnum(kind)
        self._on_detector(kind)

    # -- building ----------------------------------------------------------------------------
    def _build_ensemble_box(self) -> QGroupBox:
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.1, 10.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setToolTip(
            "Hard-cut evidence needed: the line drawn over the score curve. Lower finds more "
            "cuts (and more false ones)."
        )
        self.min_shot_frames = QSpinBox()
        self.min_shot_frames.setRange(1, 240)
        self.min_shot_frames.setSuffix(" frames")
        self.min_shot_frames.setToolTip("The shortest shot a hard cut may create.")
        self.analysis_width = QSpinBox()
        self.analysis_width.setRange(32, 512)
        self.analysis_width.setSingleStep(16)
        self.analysis_width.setSuffix(" px")
        self.analysis_width.setToolTip(
            "Frames are scaled to this width before they are compared: wider sees small "
            "changes, narrower is faster."
        )
        self.fades = QCheckBox("Fades through black or white")
        self.dissolves = QCheckBox("Cross-dissolves")
        self.flash_filter = QCheckBox("Flash filter (a flash of light is not a cut)")

        box = QGroupBox("Ensemble settings")
        form = QFormLayout(box)
        form.addRow("Threshold", self.threshold)
        form.addRow("Shortest shot", self.min_shot_frames)
        form.addRow("Analysis width", self.analysis_width)
        form.addRow(self.fades)
        form.addRow(self.dissolves)
        form.addRow(self.flash_filter)
        return box

    def _build_buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.defaults_button = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        self.defaults_button.clicked.connect(self.restore_defaults)
        return buttons

    # -- values ------------------------------------------------------------------------------
    def set_settings(self, s: DetectSettings) -> None:
        self.threshold.setValue(s.threshold)
        self.min_shot_frames.setValue(s.min_shot_frames)
        self.analysis_width.setValue(s.analysis_width)
        self.fades.setChecked(s.fades)
        self.dissolves.setChecked(s.dissolves)
        self.flash_filter.setChecked(s.flash_filter)

    def settings(self) -> DetectSettings:
        return DetectSettings(
            threshold=round(self.threshold.value(), 4),
            min_shot_frames=self.min_shot_frames.value(),
            analysis_width=self.analysis_width.value(),
            fades=self.fades.isChecked(),
            dissolves=self.dissolves.isChecked(),
            flash_filter=self.flash_filter.isChecked(),
        )

    def kind(self) -> DetectorKind:
        return self.detector.currentEnum() or DetectorKind.ENSEMBLE

    def detector_label(self) -> str:
        return DETECTORS[self.kind()].label

    def restore_defaults(self) -> None:
        self.set_settings(DetectSettings())
        self.detector.setCurrentEnum(DEFAULT)

    def _on_detector(self, kind: DetectorKind | None) -> None:
        kind = kind or DetectorKind.ENSEMBLE
        text = DETECTORS[kind].description
        if kind != DetectorKind.ENSEMBLE:
            text += " The settings below are the ensemble's, kept for when you switch back."
        self.description.setText(text)
        self.ensemble_box.setEnabled(kind == DetectorKind.ENSEMBLE)

    # -- saving ------------------------------------------------------------------------------
    def accept(self) -> None:
        """Save, then close; a settings file that cannot be written keeps the dialog open."""
        try:
            save_choice(self.kind(), self.settings(), self.settings_path)
        except (OSError, ValueError) as exc:
            self.error.setText(f"Could not save the detection settings: {exc}")
            self.error.show()
            return
        super().accept()


def ask_detection_settings(parent: QWidget | None = None) -> str | None:
    """Show the dialog; on OK the choice is saved and a sentence saying what Detect cuts will
    use is returned (None when cancelled)."""
    dialog = DetectSettingsDialog(parent)
    if not dialog.exec():
        return None
    return f"Detect cuts will use {dialog.detector_label()}."
