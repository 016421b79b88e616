"""The export dialog's settings fields: every :class:`ExportSettings` field, labelled for people.

:class:`ExportForm` turns the fields into :class:`ExportSettings` and back; it holds no
defaults of its own (the dialog fills it from ``ExportSettings()`` or a remembered value) and
knows no project: the clip selection (a filter and "only reviewed") is composed the way the
CLI composes ``--filter`` and ``--reviewed``.
"""

from __future__ import annotations

from fractions import Fraction

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from workstation.core.cliptext import SidecarFormat
from workstation.core.errors import WorkstationError
from workstation.core.export import ExportFormat, ExportSettings

#: Each layout as people know it, and who reads it (one line under the choice).
FORMATS: dict[ExportFormat, tuple[str, str]] = {
    ExportFormat.PAIRS: (
        "Pairs: clip.mp4 + clip.txt, and metadata.jsonl",
        "Read by diffusion-pipe, musubi-tuner and ai-toolkit (Wan, HunyuanVideo LoRAs) "
        "and by the Train tab.",
    ),
    ExportFormat.WEBVID: (
        "WebVid: videos/ + train.csv",
        "Read by AnimateDiff's own training script (its WebVid10M loader).",
    ),
    ExportFormat.WEBDATASET: (
        "WebDataset: .tar shards (mp4 + txt + json)",
        "Read by video2dataset and webdataset loaders (datasets streamed from shards).",
    ),
}

TEXT_FORMATS: dict[SidecarFormat, str] = {
    SidecarFormat.TAGS_CAPTION: "Tags, then the caption",
    SidecarFormat.CAPTION: "The caption only",
    SidecarFormat.TAGS: "The tags only",
}

KEEP = "keep"
CROPS = (KEEP, "1:1", "16:9", "9:16", "4:3", "3:4")
RATES = (KEEP, "8", "12", "16", "24", "30")


def compose_selection(query: str, reviewed: bool) -> str:
    """The selection the CLI's ``--filter Q`` and ``--reviewed`` make."""
    q = query.strip()
    if q and reviewed:
        return f"reviewed:yes ({q})"
    return q or ("reviewed" if reviewed else "all")


def split_selection(selection: str) -> tuple[str, bool]:
    """The filter text and "only reviewed" of a stored selection (inverse of the above)."""
    sel = selection.strip()
    if sel in ("", "all"):
        return "", False
    if sel == "reviewed":
        return "", True
    if sel.startswith("reviewed:yes (") and sel.endswith(")"):
        return sel[len("reviewed:yes (") : -1], True
    return sel, False


def selection_query(selection: str) -> str:
    """The selection as a filter query (what the Clips view would show): "" is every clip."""
    sel = selection.strip()
    if sel in ("", "all"):
        return ""
    return "reviewed:yes" if sel == "reviewed" else sel


def _combo(
    items: dict[str, str] | list[str] | tuple[str, ...], editable: bool = False
) -> QComboBox:
    box = QComboBox()
    if isinstance(items, dict):
        for value, label in items.items():
            box.addItem(label, value)
    else:
        for value in items:
            box.addItem(value, value)
    box.setEditable(editable)
    return box


def _set_combo(box: QComboBox, value: str) -> None:
    i = box.findData(value)
    if i >= 0:
        box.setCurrentIndex(i)
    elif box.isEditable():
        box.setEditText(value)


class ExportForm(QWidget):
    """The fields, in three boxes: what goes out, the caption text, the videos."""

    changed = Signal()  # any field changed (the dialog refreshes its count and example)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what_box = self._build_what()
        self.text_box = self._build_text()
        self.video_box = self._build_video()
        for w in self.findChildren(QLineEdit):
            w.textChanged.connect(self.changed)
        for c in self.findChildren(QComboBox):
            c.currentIndexChanged.connect(self.changed)
        for b in self.findChildren(QCheckBox):
            b.toggled.connect(self.changed)
        for spin in self.findChildren(QSpinBox):
            spin.valueChanged.connect(self.changed)
        for dspin in self.findChildren(QDoubleSpinBox):
            dspin.valueChanged.connect(self.changed)
        self.format.currentIndexChanged.connect(self._format_changed)

    # -- building --------------------------------------------------------------------------
    def _build_what(self) -> QGroupBox:
        box = QGroupBox("What goes out")
        form = QFormLayout(box)
        self.format = _combo({f.value: label for f, (label, _) in FORMATS.items()})
        form.addRow("Format", self.format)
        self.format_reader = QLabel()
        self.format_reader.setWordWrap(True)
        form.addRow("", self.format_reader)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("every clip, or a filter: tag:dog frames>=61 …")
        self.filter.setToolTip("The Clips view's filter language")
        form.addRow("Clips", self.filter)
        self.reviewed = QCheckBox("Only clips marked reviewed")
        form.addRow("", self.reviewed)
        self.val_percent = QDoubleSpinBox()
        self.val_percent.setRange(0, 90)
        self.val_percent.setDecimals(0)
        self.val_percent.setSuffix(" % of the source videos")
        self.val_percent.setToolTip(
            "Held out for validation; all clips of one source video land on the same side"
        )
        form.addRow("Validation", self.val_percent)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Which videos are held out; the same seed picks the same ones")
        form.addRow("Split seed", self.seed)
        return box

    def _build_text(self) -> QGroupBox:
        box = QGroupBox("Caption text")
        form = QFormLayout(box)
        self.text_format = _combo({f.value: label for f, label in TEXT_FORMATS.items()})
        form.addRow("Each caption is", self.text_format)
        self.trigger = QLineEdit()
        self.trigger.setPlaceholderText("none")
        self.trigger.setToolTip("A word written first in every caption (a LoRA's trigger)")
        form.addRow("Trigger word", self.trigger)
        self.separator = QLineEdit()
        self.separator.setToolTip("Written between tags (and before the caption)")
        form.addRow("Separator", self.separator)
        self.keep_first_tags = QSpinBox()
        self.keep_first_tags.setRange(0, 1000)
        self.keep_first_tags.setSpecialValueText("all")
        form.addRow("Tags written", self.keep_first_tags)
        self.spaces = QCheckBox("Spaces for underscores (blue_sky → blue sky)")
        form.addRow("", self.spaces)
        self.include_auto = QCheckBox("Auto tags nobody accepted yet")
        form.addRow("", self.include_auto)
        return box

    def _build_video(self) -> QGroupBox:
        box = QGroupBox("Videos")
        form = QFormLayout(box)
        self.short_side = QSpinBox()
        self.short_side.setRange(0, 4096)
        self.short_side.setSpecialValueText("keep the size")
        self.short_side.setSuffix(" px")
        form.addRow("Short side", self.short_side)
        self.crop = _combo(CROPS, editable=True)
        self.crop.setToolTip("A centre crop to this aspect, e.g. 1:1")
        form.addRow("Crop to", self.crop)
        self.fps = _combo(RATES, editable=True)
        self.fps.setToolTip("Frames per second, e.g. 8 or 24000/1001")
        form.addRow("Frame rate", self.fps)
        self.crf = QSpinBox()
        self.crf.setRange(0, 51)
        self.crf.setToolTip(
            "x264 quality of a re-encode: lower is better and bigger. Clips are copied as "
            "they are unless size, crop or frame rate change"
        )
        form.addRow("Quality (CRF)", self.crf)
        self.shard_size = QSpinBox()
        self.shard_size.setRange(1, 100000)
        self.shard_size.setSuffix(" clips")
        form.addRow("Per shard", self.shard_size)
        return box

    def _format_changed(self, *_a: object) -> None:
        fmt = ExportFormat(self.format.currentData())
        self.format_reader.setText(FORMATS[fmt][1])
        self.shard_size.setEnabled(fmt is ExportFormat.WEBDATASET)
        self.shard_size.setToolTip(
            "" if fmt is ExportFormat.WEBDATASET else "Only WebDataset exports have shards"
        )

    # -- values ----------------------------------------------------------------------------
    @property
    def selection(self) -> str:
        return compose_selection(self.filter.text(), self.reviewed.isChecked())

    def settings(self) -> ExportSettings:
        """The fields as settings; a value they refuse raises naming the field."""
        crop = self.crop.currentText().strip()
        rate = self.fps.currentText().strip()
        fps: Fraction | None = None
        if rate and rate != KEEP:
            try:
                fps = Fraction(rate)
            except (ValueError, ZeroDivisionError):
                raise WorkstationError(
                    f"Frame rate: {rate!r} is not a rate like 8 or 24000/1001"
                ) from None
        return ExportSettings(
            format=ExportFormat(self.format.currentData()),
            selection=self.selection,
            text_format=SidecarFormat(self.text_format.currentData()),
            separator=self.separator.text(),
            trigger=self.trigger.text().strip(),
            keep_first_tags=self.keep_first_tags.value(),
            spaces_for_underscores=self.spaces.isChecked(),
            include_auto=self.include_auto.isChecked(),
            size=self.short_side.value() or None,
            crop=None if crop in ("", KEEP) else crop,
            fps=fps,
            val_fraction=self.val_percent.value() / 100,
            seed=self.seed.value(),
            shard_size=self.shard_size.value(),
            crf=self.crf.value(),
        )

    def set_settings(self, s: ExportSettings) -> None:
        _set_combo(self.format, s.format.value)
        self._format_changed()
        query, reviewed = split_selection(s.selection)
        self.filter.setText(query)
        self.reviewed.setChecked(reviewed)
        _set_combo(self.text_format, s.text_format.value)
        self.separator.setText(s.separator)
        self.trigger.setText(s.trigger)
        self.keep_first_tags.setValue(s.keep_first_tags)
        self.spaces.setChecked(s.spaces_for_underscores)
        self.include_auto.setChecked(s.include_auto)
        self.short_side.setValue(s.size or 0)
        _set_combo(self.crop, s.crop or KEEP)
        fps = s.fps
        _set_combo(self.fps, KEEP if fps is None else str(fps))
        self.val_percent.setValue(round(s.val_fraction * 100))
        self.seed.setValue(s.seed)
        self.shard_size.setValue(s.shard_size)
        self.crf.setValue(s.crf)
