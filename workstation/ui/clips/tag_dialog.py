"""The Tag dialog: every option of ``workstation tag``, starting from the project's last run.

Its fields are :class:`TagSettings` (the same dataclass the CLI's options fill), read from
the project's saved settings; OK saves them back (so the next run starts from them) and hands
the settings and the chosen clips to :class:`AutotagActions`, which runs the tag job.  A model
that is not on this machine is said plainly before OK (with the way to get one: the Models
dialog), never as a failed job.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from workstation.core.autotag.base import WD14_MODELS, Aggregation, TagSettings
from workstation.core.autotag.models import list_models, tagger_problem
from workstation.core.errors import WorkstationError
from workstation.ui.clips.all_tags_panel import Scope
from workstation.ui.clips.autotag_fields import ClipScopeChooser, ModelPicker
from workstation.ui.clips.wording import n_clips

AGGREGATION_TEXT = {
    Aggregation.MEAN: "Mean: a tag must be seen through most of the clip",
    Aggregation.MAX: "Max: keep a tag seen in any one frame",
    Aggregation.VOTE: "Vote: keep a tag seen in at least half the frames",
}
CPU_ONLY = ("CPUExecutionProvider",)


def _threshold(value: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, 1.0)
    box.setSingleStep(0.05)
    box.setDecimals(2)
    box.setValue(value)
    box.setToolTip(tip)
    return box


class TagDialog(QDialog):
    """Choose the tagger, its options and the clips; OK emits :attr:`runRequested`."""

    openModels = Signal()
    runRequested = Signal(object, object)  # Scope, TagSettings

    def __init__(self, project, counts: dict[Scope, int], scope: Scope, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tag clips")
        self.project = project
        self._problem: str | None = None
        try:
            self.base = _saved(project)
            unreadable = ""
        except WorkstationError as exc:
            self.base, unreadable = TagSettings(), f"Saved tag settings ignored: {exc}"
        s = self.base
        self.model = ModelPicker("tagger")
        self.model.changed.connect(lambda _v: self._check_model())
        self.model_problem = QLabel("")
        self.model_problem.setWordWrap(True)
        self.model_problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.models_button = QPushButton("Models…")
        self.models_button.setToolTip("Add a tagger folder or download a tagger")
        self.models_button.clicked.connect(self.openModels.emit)
        self.frames = QSpinBox()
        self.frames.setRange(1, 64)
        self.frames.setValue(s.frames)
        self.frames.setToolTip("Frames taken from each clip (the sharpest in evenly spread spans)")
        self.aggregation = QComboBox()
        for a, text in AGGREGATION_TEXT.items():
            self.aggregation.addItem(text, a)
        self.aggregation.setCurrentIndex(list(AGGREGATION_TEXT).index(s.aggregation))
        self.general = _threshold(s.general_threshold, "Lowest confidence for a general tag")
        self.character = _threshold(s.character_threshold, "Lowest confidence for a character")
        self.rating = QCheckBox("Add the most likely rating (general, sensitive, questionable…)")
        self.rating.setChecked(s.include_rating)
        self.exclude = QLineEdit(", ".join(s.exclude))
        self.exclude.setPlaceholderText("tags never to add, separated by commas")
        self.underscores = QCheckBox("Keep Danbooru underscores (long_hair, not long hair)")
        self.underscores.setChecked(s.underscores)
        self.batch = QSpinBox()
        self.batch.setRange(1, 512)
        self.batch.setValue(s.batch_size)
        self.batch.setToolTip("Frames per model call; more is faster on a GPU, uses more memory")
        self.run_on = QComboBox()
        self.run_on.addItem("Best available (GPU when there is one)", None)
        self.run_on.addItem("CPU only", CPU_ONLY)
        self.run_on.setCurrentIndex(1 if s.providers == CPU_ONLY else 0)
        self.redo = QCheckBox("Redo clips this model already tagged")
        self.scope = ClipScopeChooser(counts, scope)
        self.scope.changed.connect(lambda _s: self._update_ok())
        self.message = QLabel(unreadable)
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.run)
        self.buttons.rejected.connect(self.reject)
        self._lay_out()
        self.refresh_models()

    def _lay_out(self) -> None:
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.models_button)
        form = QFormLayout()
        form.addRow("Tagger", model_row)
        form.addRow("", self.model_problem)
        form.addRow("Frames per clip", self.frames)
        form.addRow("Combine frames", self.aggregation)
        thresholds = QGroupBox("Thresholds per category")
        tf = QFormLayout(thresholds)
        tf.addRow("General tags", self.general)
        tf.addRow("Characters", self.character)
        tf.addRow("Rating", self.rating)
        more = QFormLayout()
        more.addRow("Leave out", self.exclude)
        more.addRow("", self.underscores)
        more.addRow("Frames per batch", self.batch)
        more.addRow("Run on", self.run_on)
        more.addRow("", self.redo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(thresholds)
        layout.addLayout(more)
        layout.addWidget(self.scope)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def refresh_models(self) -> None:
        """Re-read the Models list (after a tagger was added or downloaded)."""
        current = self.model.value() or self.base.model
        entries = list_models(self.project)
        self.model.fill(entries, WD14_MODELS, current)
        if tagger_problem(current) is not None:  # prefer a tagger that is here
            here = next((e for e in entries if e.kind == "tagger" and e.size), None)
            if here is not None:
                self.model.set_value(here.model_ref)
        self._check_model()

    def _check_model(self) -> None:
        model = self.model.value()
        problem = tagger_problem(model) if model else "Choose a tagger"
        if problem and not any(e.kind == "tagger" for e in list_models(self.project)):
            problem = (
                "No tagger on this machine yet. Tagging needs a WD14 tagger: a folder with "
                "model.onnx and selected_tags.csv. Add one you have, or download one, in "
                "Models…"
            )
        self.model_problem.setText(problem or "")
        self.model_problem.setVisible(bool(problem))
        self._problem = problem
        self._update_ok()

    def _update_ok(self) -> None:
        n = self.scope.count
        self.ok_button.setText(f"Tag {n_clips(n)}")
        self.ok_button.setEnabled(n > 0 and not self._problem)

    def settings(self) -> TagSettings:
        """The settings the fields say (raises WorkstationError naming a bad field)."""
        exclude = tuple(t.strip() for t in self.exclude.text().split(",") if t.strip())
        return replace(
            self.base,
            model=self.model.value(),
            frames=self.frames.value(),
            aggregation=self.aggregation.currentData(),
            general_threshold=self.general.value(),
            character_threshold=self.character.value(),
            include_rating=self.rating.isChecked(),
            exclude=exclude,
            underscores=self.underscores.isChecked(),
            batch_size=self.batch.value(),
            providers=self.run_on.currentData(),
            redo=self.redo.isChecked(),
        )

    def run(self) -> None:
        """OK: remember the settings in the project and ask for the job."""
        self._check_model()
        if self._problem:
            return
        try:
            settings = self.settings()
        except WorkstationError as exc:
            self.message.setText(str(exc))
            return
        from workstation.core.autotag.base import save_settings

        save_settings(self.project, settings)
        self.accept()
        self.runRequested.emit(self.scope.scope, settings)


def _saved(project) -> TagSettings:
    from workstation.core.autotag.base import load_settings

    return load_settings(project, TagSettings)
