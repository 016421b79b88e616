"""The "Detect…" dialog: which detector "Detect cuts" runs, the ensemble's settings (the CLI's
``--set`` keys, read from :class:`DetectSettings` itself), and the videos to run it on now.

The choice is remembered per project (the ``DETECT`` project setting) and also saved in the app
settings (:func:`workstation.core.detect.registry.save_choice`) as the choice of projects that
have none yet; detection jobs read it when they start
(:func:`~workstation.ui.cut.stages.project_detect_choice`).  Detectors that
cannot run here are listed but disabled, with the reason as their tooltip, so a person sees
what exists and what to install.  "Detect" saves and runs the chosen detector on the selected
or on all videos (through the Cut view's job queue); "Save" only saves.  Imported only when the
dialog opens: it loads the detector registry, never a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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
    chosen_values,
    save_choice,
    usable_choice,
)
from workstation.core.store import DETECT
from workstation.ui.cut.stages import project_detect_choice

if TYPE_CHECKING:
    from workstation.core.store import Project


def _usable(
    project: Project | None, settings_path: str | Path | None
) -> tuple[DetectorKind, DetectSettings, str | None]:
    """The project's choice (else the app settings') as it can run here; see usable_choice."""
    saved = project_detect_choice(project)
    if saved is None:
        return usable_choice(settings_path)
    kind, settings = chosen_values(*saved)
    reason = DETECTORS[kind].why_unavailable()
    if reason is None:
        return kind, settings, None
    note = (
        f"The project's detector, {DETECTORS[kind].label}, cannot run here: "
        f"{reason}. The ensemble is selected instead."
    )
    return DetectorKind.ENSEMBLE, settings, note


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
    """Pick the detector; tune the ensemble (the others run with their own defaults); run it.

    ``selected`` and ``every`` are the video ids "Detect" may run on (the selected ones, all of
    the project's); with neither, the dialog only saves.  After "Detect", :attr:`run_on` holds
    the ids to detect."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        settings_path: str | Path | None = None,
        project: Project | None = None,
        selected: list[int] | None = None,
        every: list[int] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Detect cuts")
        self.settings_path = settings_path
        self.project = project
        self.run_on: list[int] = []
        self._scopes = [ids for ids in (selected or [], every or []) if ids]
        # the saved choice as it can run here (with a note when it had to fall back)
        kind, settings, fallback_note = _usable(project, settings_path)

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

        self.scope = QComboBox()
        if selected:
            n = len(selected)
            self.scope.addItem("The selected video" if n == 1 else f"The {n:,} selected videos")
        if every:
            self.scope.addItem(f"All videos ({len(every):,})")

        layout = QVBoxLayout(self)
        top = QFormLayout()
        top.addRow("Detector", self.detector)
        if self._scopes:
            top.addRow("Run on", self.scope)
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
        Std = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(Std.Save | Std.Cancel | Std.RestoreDefaults)
        self.save_button = buttons.button(Std.Save)
        self.save_button.setToolTip("Remember these settings for this project; detect nothing now")
        self.save_button.clicked.connect(self.accept)
        self.detect_button = buttons.addButton("Detect", QDialogButtonBox.ButtonRole.ActionRole)
        self.detect_button.setToolTip("Save, then detect the cuts of the videos chosen above")
        self.detect_button.clicked.connect(self.detect)
        self.detect_button.setVisible(bool(self._scopes))
        self.detect_button.setDefault(bool(self._scopes))
        buttons.rejected.connect(self.reject)
        self.defaults_button = buttons.button(Std.RestoreDefaults)
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
    def detect(self) -> None:
        """Save, then close with :attr:`run_on` set to the videos chosen in "Run on"."""
        i = self.scope.currentIndex()
        run_on = list(self._scopes[i]) if 0 <= i < len(self._scopes) else []
        if self._save():
            self.run_on = run_on
            super().accept()

    def accept(self) -> None:
        """Save, then close; a settings file that cannot be written keeps the dialog open."""
        if self._save():
            self.run_on = []
            super().accept()

    def _save(self) -> bool:
        kind, settings = self.kind(), self.settings()
        params = {k: v for k, v in settings.to_params().items() if k != "version"}
        try:
            if self.project is not None:
                self.project.put(DETECT, {"detector": kind.value, "settings": params})
            save_choice(kind, settings, self.settings_path)  # for projects with no choice yet
        except (OSError, ValueError) as exc:
            self.error.setText(f"Could not save the detection settings: {exc}")
            self.error.show()
            return False
        return True


@dataclass
class DetectAnswer:
    """What the dialog's OK meant: a sentence for the status bar, the videos to detect now."""

    said: str
    run_on: list[int] = field(default_factory=list)


def ask_detection_settings(
    parent: QWidget | None = None,
    *,
    project: Project | None = None,
    selected: list[int] | None = None,
    every: list[int] | None = None,
) -> DetectAnswer | None:
    """Show the dialog; on Save or Detect the choice is saved and a sentence saying what Detect
    cuts will use is returned with the videos to detect (None when cancelled)."""
    dialog = DetectSettingsDialog(parent, project=project, selected=selected, every=every)
    if not dialog.exec():
        return None
    return DetectAnswer(f"Detect cuts will use {dialog.detector_label()}.", dialog.run_on)
