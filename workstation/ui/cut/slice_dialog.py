"""The Slice dialog: every slicing option of ``workstation split --set``, in words, with a preview.

The fields are :class:`~workstation.core.slicing.SliceSettings`' fields; their defaults come from
``SliceSettings()`` itself and a value is checked by building one, so the dialog and the CLI
refuse the same values with the same reason (the message names the field by its label here).
The last settings OK'd are remembered per project (:data:`workstation.core.store.SLICING`).

The preview line ("12 clips from 3 videos (2 segments too short)") runs the core's planner
(:func:`workstation.core.slicing.plan_video`) on a worker thread's own connection
(:class:`~workstation.ui.common.jobs.LatestRead`: frame indexes of long videos take a while to
read): it reads the stored cuts and frame index only, encodes nothing, is recomputed shortly
after a field changes, and arrives by :attr:`SliceDialog.previewReady`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workstation.core.errors import WorkstationError
from workstation.core.slicing import SliceSettings, SliceSettingsError, plan_video
from workstation.core.slicing.settings import X264_PRESETS
from workstation.core.store import SLICING, Project
from workstation.core.values import convert_value
from workstation.ui.common.jobs import LatestRead

log = logging.getLogger(__name__)

SOURCE_RATE = "Same as the video"
RATES = (SOURCE_RATE, "8", "12", "15", "16", "24", "25", "30")
PREVIEW_DELAY_MS = 200

# Each field's label and what it does, in the order the form shows them.
LABELS: dict[str, str] = {
    "fps": "Frame rate (fps)",
    "max_side": "Longest side",
    "min_frames": "Shortest clip",
    "max_frames": "Longest clip",
    "trim": "Trim at cuts",
    "keep_transitions": "Fades and dissolves",
    "crf": "Quality (CRF)",
    "preset": "Encoder speed",
}
TIPS: dict[str, str] = {
    "fps": "Frames per second of the clips. A lower rate drops frames and a higher one repeats "
    "them; a clip keeps its segment's duration. “Same as the video” keeps every frame (and a "
    "variable frame rate's own timing). Type any rate: 24, 23.976 or 24000/1001.",
    "max_side": "Clips are scaled down so their longer side is at most this many pixels (never "
    "up; width and height stay even). “Original size” keeps the video's size.",
    "min_frames": "A kept segment (or the last piece of a split one) with fewer frames than "
    "this is skipped, and the preview counts it as too short.",
    "max_frames": "A longer segment is split into consecutive clips of exactly this many "
    "frames. “No limit”: one clip per kept segment.",
    "trim": "Frames dropped at each end of a segment that meets a cut (not at the very start "
    "or end of the video), where a frame of the other shot often hides.",
    "keep_transitions": "Off: the frames of a fade or dissolve (its span on the timeline) are "
    "left out, so a clip shows one shot, not the blend into the next. On: they go into the "
    "clips on either side.",
    "crf": "x264's constant rate factor: lower is better quality and bigger files; 18 looks "
    "lossless on most footage, 23 is x264's default.",
    "preset": "x264's preset: slower presets make smaller files at the same quality.",
}


def settings_for(project: Project) -> SliceSettings:
    """The project's remembered slicing settings; the core's defaults when none (or damaged)."""
    stored = project.get(SLICING)
    try:
        return SliceSettings.from_params(dict(stored))
    except (SliceSettingsError, TypeError, ValueError):
        log.warning("the project's slicing settings are not valid; using the defaults")
        return SliceSettings()


def in_words(message: str) -> str:
    """A SliceSettingsError's text with field names replaced by their labels."""
    return re.sub(
        r"\b(" + "|".join(LABELS) + r")\b", lambda m: LABELS[m.group(1)], message, count=0
    )


def parse_rate(text: str) -> Any:
    """The Frame rate field as ``--set fps=`` reads it (:func:`workstation.core.values.
    convert_value`): None for the source's rate, an int, a float or a fraction; other text
    goes on as it is, for SliceSettings to refuse by name."""
    raw = text.strip()
    if raw == SOURCE_RATE:
        return None
    try:
        return convert_value(raw, None, "fps")
    except WorkstationError:
        return raw


@dataclass(frozen=True)
class SlicePreview:
    clips: int
    videos: int
    too_short: int
    problems: list[str]

    def text(self) -> str:
        word = "clip" if self.clips == 1 else "clips"
        vids = "video" if self.videos == 1 else "videos"
        line = f"{self.clips} {word} from {self.videos} {vids}"
        if self.too_short:
            seg = "segment" if self.too_short == 1 else "segments"
            line += f" ({self.too_short} {seg} too short)"
        if self.problems:
            line += f"; {len(self.problems)} cannot be sliced: {self.problems[0]}"
        return line


def preview(project: Project, video_ids: list[int], settings: SliceSettings) -> SlicePreview:
    """What slicing these videos with ``settings`` would make, from the planner alone."""
    clips = too_short = 0
    problems: list[str] = []
    for vid in video_ids:
        try:
            plans, skipped = plan_video(project, project.video(vid), settings)
        except WorkstationError as exc:
            problems.append(str(exc))
            continue
        clips += len(plans)
        too_short += len(skipped)
    return SlicePreview(clips, len(video_ids), too_short, problems)


class SliceDialog(QDialog):
    """Choose how the chosen videos are sliced; OK saves the choice and returns the settings."""

    previewReady = Signal(str)  # the preview line, once the planner answered

    def __init__(
        self, project: Project, video_ids: list[int], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.project = project
        self.video_ids = list(video_ids)
        self.chosen: SliceSettings | None = None
        names = [project.video(v).name for v in self.video_ids]
        self.setWindowTitle(
            f"Slice {names[0]}" if len(names) == 1 else f"Slice {len(names)} videos"
        )
        self.fields: dict[str, QWidget] = {}
        self._build()
        self._reader = LatestRead(project.root, self)
        self._reader.ready.connect(self._show_preview)
        self._reader.failed.connect(lambda message: self._show_preview(None, message))
        self.set_settings(settings_for(project))
        self._timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.update_preview)
        for w in self.fields.values():
            if isinstance(w, QComboBox):
                w.currentTextChanged.connect(self._changed)
            elif isinstance(w, QSpinBox):
                w.valueChanged.connect(self._changed)
            elif isinstance(w, QCheckBox):
                w.toggled.connect(self._changed)
        self.update_preview()

    def _changed(self, *_args: object) -> None:
        self._timer.start()  # the preview follows a burst of changes once

    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        f = self.fields
        rate = QComboBox()
        rate.setEditable(True)
        rate.addItems(RATES)
        f["fps"] = rate
        f["max_side"] = _spin(0, 8192, " px", special="Original size", step=64)
        f["min_frames"] = _spin(1, 100_000, " frames")
        f["max_frames"] = _spin(0, 100_000, " frames", special="No limit")
        f["trim"] = _spin(0, 1000, " frames")
        f["keep_transitions"] = QCheckBox("Keep them in the clips")
        f["crf"] = _spin(0, 51, "")
        preset = QComboBox()
        preset.addItems(X264_PRESETS)
        f["preset"] = preset

        form = QFormLayout()
        for key, widget in f.items():
            widget.setToolTip(TIPS[key])
            label = QLabel(LABELS[key])
            label.setToolTip(TIPS[key])
            label.setBuddy(widget)
            form.addRow(label, widget)
        intro = QLabel(
            "Every kept segment becomes a frame-exact clip; rejected segments are left out. "
            "Clips already made with the same settings are reused. Hover a field to see "
            "what it does."
        )
        intro.setWordWrap(True)
        self.preview_label = QLabel()
        self.preview_label.setWordWrap(True)
        self.preview_label.setObjectName("slicePreview")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #e06c6c")
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Slice")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        defaults = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        defaults.clicked.connect(lambda: self.set_settings(SliceSettings()))

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.preview_label)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    # -- values ------------------------------------------------------------------------------
    def set_settings(self, s: SliceSettings) -> None:
        f = self.fields
        rate = f["fps"]
        assert isinstance(rate, QComboBox)
        rate.setCurrentText(SOURCE_RATE if s.fps is None else _rate_text(s.fps))
        _spin_of(f["max_side"]).setValue(s.max_side or 0)
        _spin_of(f["min_frames"]).setValue(s.min_frames)
        _spin_of(f["max_frames"]).setValue(s.max_frames or 0)
        _spin_of(f["trim"]).setValue(s.trim)
        box = f["keep_transitions"]
        assert isinstance(box, QCheckBox)
        box.setChecked(s.keep_transitions)
        _spin_of(f["crf"]).setValue(s.crf)
        preset = f["preset"]
        assert isinstance(preset, QComboBox)
        preset.setCurrentText(s.preset)

    def values(self) -> dict[str, Any]:
        """The fields as SliceSettings' keyword arguments (not checked yet)."""
        f = self.fields
        rate, preset, box = f["fps"], f["preset"], f["keep_transitions"]
        assert isinstance(rate, QComboBox) and isinstance(preset, QComboBox)
        assert isinstance(box, QCheckBox)
        return {
            "fps": parse_rate(rate.currentText()),
            "max_side": _spin_of(f["max_side"]).value() or None,
            "min_frames": _spin_of(f["min_frames"]).value(),
            "max_frames": _spin_of(f["max_frames"]).value() or None,
            "trim": _spin_of(f["trim"]).value(),
            "keep_transitions": box.isChecked(),
            "crf": _spin_of(f["crf"]).value(),
            "preset": preset.currentText(),
        }

    def settings(self) -> SliceSettings:
        """The fields as SliceSettings; raises SliceSettingsError (in words) for a bad value."""
        try:
            return SliceSettings(**self.values())
        except SliceSettingsError as exc:
            raise SliceSettingsError(in_words(str(exc))) from None

    def update_preview(self) -> None:
        try:
            s = self.settings()
        except SliceSettingsError as exc:
            self._show_error(str(exc))
            self.preview_label.setText("")
            return
        self._show_error(None)
        ids = list(self.video_ids)
        self.preview_label.setText("Counting the clips…")
        self._reader.request(lambda project: preview(project, ids, s))

    def _show_preview(self, result: object, error: str = "") -> None:
        """The planner's answer (off the GUI thread); a failure is said, never raised."""
        text = result.text() if isinstance(result, SlicePreview) else f"No preview: {error}"
        self.preview_label.setText(text)
        self.previewReady.emit(text)

    def _show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        self.ok_button.setEnabled(message is None)

    # -- OK ----------------------------------------------------------------------------------
    def accept(self) -> None:
        """Check, remember for this project, close; a bad value keeps the dialog open."""
        self._timer.stop()
        try:
            chosen = self.settings()
        except SliceSettingsError as exc:
            self._show_error(str(exc))
            return
        if not self.project.read_only:
            try:
                self.project.put(SLICING, chosen.to_params())
            except WorkstationError as exc:  # slicing can still go on; it will say if not
                log.warning("could not remember the slicing settings: %s", exc)
        self.chosen = chosen
        super().accept()


def _spin(low: int, high: int, suffix: str, *, special: str = "", step: int = 1) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSuffix(suffix)
    spin.setSingleStep(step)
    spin.setAccelerated(True)
    if special:
        spin.setSpecialValueText(special)
    return spin


def _spin_of(widget: QWidget) -> QSpinBox:
    assert isinstance(widget, QSpinBox)
    return widget


def _rate_text(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"
