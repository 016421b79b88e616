"""The Train view: pick a dataset and models, start/stop/resume a run, watch loss and samples.

The run itself is a child process (:class:`TrainingRun`); this view only builds
:class:`TrainSettings` from the form, checks each field as it is typed (the quick checks of
:func:`workstation.train.checks.check_form`: no torch, well under 0.1 s) with the problem
beside the field, mirrors the child's events, and lists earlier runs, failed ones with their
error (:class:`RunsPanel`).  The form is remembered per project (``TRAIN_FORM``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workstation.core.errors import WorkstationError
from workstation.train.checks import FieldCheck, check_form, field_of_error, without_path
from workstation.train.launch import TrainSettings
from workstation.ui.train.form import (
    INVALID_STYLE,
    PROBLEM_COLOR,
    AdvancedSettings,
    PathField,
    RememberedForm,
    label_of,
    no_dataset_hint,
    set_text_color,
)
from workstation.ui.train.history import EVENTS_FILE, SETTINGS_FILE, RunRecord, RunsPanel
from workstation.ui.train.run import (
    PRESETS,
    TrainingRun,
    apply_preset,
    estimate_vram_gb,
    sample_videos,
    smoothed,
)
from workstation.ui.train.samples import SamplesPanel

if TYPE_CHECKING:
    from workstation.ui.cut.player import PlayerWidget

log = logging.getLogger(__name__)

FORM_WIDTH = 380  # px: the form's fields with their notes and Browse buttons (its minimum)
FORM_PREFERRED = 540  # px at first: paths and placeholders whole at 1280 px, the plot still wide
CHECK_DELAY_MS = 150  # the form is checked this long after the last keystroke
FORM_LABELS = {"dataset": "Dataset", "base_model": "Base model", "output": "Output"}


class TrainView(QWidget):
    """Form on the left; status, loss plot, samples and run history on the right."""

    runFinished = Signal(bool)
    validated = Signal()  # the form was checked (each field's note and the buttons updated)

    def __init__(self, session, jobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.jobs = jobs
        self.run = TrainingRun(self)
        self.export_job = None
        self._command_override: list[str] | None = None  # tests: a fake child
        self.checks: dict[str, FieldCheck] = {}
        self._run_problems: dict[str, str] = {}  # the last run's error, beside its field
        self.memory = RememberedForm(session)
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.validate)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._build_form())
        split.addWidget(self._build_results())
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setCollapsible(0, False)
        split.setSizes([FORM_PREFERRED, 740])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(split)

        self.run.lossAdded.connect(self._on_loss)
        self.run.sampleWritten.connect(lambda path: self.sample_panel.add(path))
        self.run.statusChanged.connect(self._on_status)
        self.run.eventReceived.connect(self._on_event)
        self.run.failed.connect(self._on_failed)
        self.run.finished.connect(self._on_finished)

        if not self._restore_form():
            self.set_settings(apply_preset(TrainSettings(), self.preset.currentText()))
        self.output.setText(str(self.new_output_folder()))
        self.refresh_history()
        self.validate()

    # -- building --------------------------------------------------------------------------------
    def _build_form(self) -> QScrollArea:
        """The left side: data and models, recipe, advanced settings, Start/Stop/Resume."""
        form_box = QWidget()
        form_box.setStyleSheet(INVALID_STYLE)
        form_lay = QVBoxLayout(form_box)
        form_lay.addWidget(self._build_data_box())
        form_lay.addWidget(self._build_recipe_box())
        self.advanced = AdvancedSettings(self._on_edit)
        self.fields = self.advanced.fields
        form_lay.addWidget(self.advanced)
        form_lay.addLayout(self._build_run_buttons())
        self.start_hint = QLabel()
        self.start_hint.setWordWrap(True)
        form_lay.addWidget(self.start_hint)
        form_lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(form_box)
        scroll.setMinimumWidth(FORM_WIDTH)  # path, notes and buttons readable, never squeezed
        return scroll

    def _build_data_box(self) -> QGroupBox:
        data_box = QGroupBox("Data and models")
        data = QFormLayout(data_box)
        data.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.dataset = PathField("export folder (metadata.jsonl + clips, or WebVid)")
        data.addRow("Dataset", self.dataset)
        export_row = QHBoxLayout()
        self.export_filter = QLineEdit("reviewed")
        self.export_filter.setToolTip('"all", "reviewed" or a clip filter (as in the Clips view)')
        self.export_button = QPushButton("Export now")
        self.export_button.setToolTip(
            "Export the clips the filter selects into the dataset "
            "folder (or PROJECT/exports/train), then use it"
        )
        self.export_button.clicked.connect(self.export_now)
        export_row.addWidget(self.export_filter, 1)
        export_row.addWidget(self.export_button)
        data.addRow("Clips", export_row)
        self.dataset_hint = QLabel()  # the empty state: how to get a dataset
        self.dataset_hint.setWordWrap(True)
        data.addRow(self.dataset_hint)
        self.dataset.textChanged.connect(lambda _t: self.update_dataset_hint())
        self.update_dataset_hint()
        self.base_model = PathField(
            "SD1.5 diffusers folder or .safetensors", "either", "Checkpoints (*.safetensors *.ckpt)"
        )
        data.addRow("Base model", self.base_model)
        self.motion_module = PathField(
            "empty = a fresh module", "either", "Motion modules (*.safetensors *.ckpt)"
        )
        data.addRow("Motion module", self.motion_module)
        self.output = PathField("output folder of this run")
        data.addRow("Output", self.output)
        for name, field in self.path_fields().items():
            field.textChanged.connect(lambda _t, name=name: self._on_edit(name))
        return data_box

    def path_fields(self) -> dict[str, PathField]:
        return {
            "dataset": self.dataset,
            "base_model": self.base_model,
            "motion_module": self.motion_module,
            "output": self.output,
        }

    def _build_recipe_box(self) -> QGroupBox:
        preset_box = QGroupBox("Recipe")
        preset = QFormLayout(preset_box)
        preset.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.currentTextChanged.connect(self._apply_preset)
        preset.addRow("Preset", self.preset)
        self.prompts = QPlainTextEdit()
        self.prompts.setPlaceholderText(
            "validation prompts, one a line (default: the first two captions)"
        )
        self.prompts.setMaximumHeight(60)
        self.prompts.textChanged.connect(lambda: self._on_edit("sample_prompts"))
        preset.addRow("Prompts", self.prompts)
        self.estimate = QLabel()
        self.estimate.setToolTip(estimate_vram_gb.__doc__ or "")
        preset.addRow("GPU memory", self.estimate)
        return preset_box

    def _build_run_buttons(self) -> QHBoxLayout:
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        for b in (self.start_button, self.stop_button, self.resume_button):
            buttons.addWidget(b)
        return buttons

    def _build_results(self) -> QWidget:
        """The right side: status, loss plot, then samples and the runs list side by side."""
        right = QWidget()
        right_lay = QVBoxLayout(right)
        self.status = QLabel("No run yet.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right_lay.addWidget(self.status)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # "loss (x0.001)" reads badly
        self.plot.addLegend(offset=(-10, 10))
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#4aa3ff88", width=1), name="loss")
        self.smooth_curve = self.plot.plot(
            [], [], pen=pg.mkPen("#ffb000", width=2), name="smoothed"
        )
        right_lay.addWidget(self.plot, 2)
        lower = QSplitter(Qt.Orientation.Horizontal)
        self.sample_panel = SamplesPanel()
        self.sample_panel.message.connect(self._on_status)
        self.samples = self.sample_panel.list
        lower.addWidget(self.sample_panel)
        self.runs = RunsPanel()
        self.runs.runChosen.connect(self._on_run_chosen)
        self.runs.useSettings.connect(self._use_run_settings)
        self.runs.message.connect(self._on_status)
        self.history = self.runs.history
        self.run_details = self.runs.details
        self.use_settings_button = self.runs.use_settings_button
        self.log_button = self.runs.log_button
        self.open_button = self.runs.open_button
        lower.addWidget(self.runs)
        lower.setSizes([340, 500])
        right_lay.addWidget(lower, 3)
        return right

    # -- form <-> settings ---------------------------------------------------------------------
    def settings(self) -> TrainSettings:
        """The form as TrainSettings (paths as typed; :meth:`validate` checks them)."""
        values: dict[str, Any] = {  # each field its own type
            "dataset": self.dataset.text(),
            "base_model": self.base_model.text(),
            "motion_module": self.motion_module.text(),
            "output": self.output.text(),
            "sample_prompts": [
                p.strip() for p in self.prompts.toPlainText().splitlines() if p.strip()
            ],
            **self.advanced.values(),
        }
        return TrainSettings(**values)

    def set_settings(self, s: TrainSettings) -> None:
        """Fill the form from ``s`` (a preset, or an earlier run's settings)."""
        self.dataset.setText(s.dataset)
        self.base_model.setText(s.base_model)
        self.motion_module.setText(s.motion_module)
        if s.output:
            self.output.setText(s.output)
        self.prompts.setPlainText("\n".join(s.sample_prompts))
        self.advanced.set_values(s)
        self._update_estimate()

    def _apply_preset(self, name: str) -> None:
        self.set_settings(apply_preset(self.settings(), name))

    def _update_estimate(self, *_args) -> None:
        try:
            gb = estimate_vram_gb(self.settings())
        except (TypeError, ValueError):
            return
        self.estimate.setText(f"about {gb:.0f} GB (rough)")

    # -- checks as the person types ------------------------------------------------------------
    def _on_edit(self, _name: str) -> None:
        """A field changed: check the form once typing pauses."""
        self._run_problems.clear()  # the last run's error was about the form before this edit
        self._update_estimate()
        self._check_timer.start()

    def validate(self) -> dict[str, FieldCheck]:
        """Check every field now: its note and border, Start's state and tooltip; the form is
        remembered for the project.  Returns the checks by field name."""
        self._check_timer.stop()
        s = self.settings()
        self.checks = check_form(s)
        shown = dict(self.checks)
        for name, problem in self._run_problems.items():
            shown[name] = FieldCheck(f"the last run failed: {problem}")
        for name, field in self.path_fields().items():
            field.show_check(shown.get(name, FieldCheck()))
        self.advanced.show_checks(shown)
        if any(c.problem for n, c in shown.items() if n in self.fields):
            self.advanced.expand(animate=False)
        self._update_buttons()
        self.memory.save(self.preset.currentText(), s)
        self.validated.emit()
        return self.checks

    def update_dataset_hint(self) -> str:
        """With no dataset chosen, say how to make one (none when one is); returns the text."""
        text = "" if self.dataset.text() else no_dataset_hint(self.session.project.clip_counts()[0])
        self.dataset_hint.setText(text)
        self.dataset_hint.setVisible(bool(text))
        return text

    def problems(self) -> list[str]:
        """What stops a run, one "Field: problem" a line (empty: it can start)."""
        return [
            f"{FORM_LABELS.get(name, label_of(name))}: {c.problem}"
            for name, c in self.checks.items()
            if c.problem
        ]

    def _restore_form(self) -> bool:
        """The form as the person left it in this project; False when none was saved."""
        remembered = self.memory.load()
        if remembered is None:
            return False
        preset, s = remembered
        if preset in PRESETS:
            self.preset.blockSignals(True)  # its values are in the settings, maybe edited
            self.preset.setCurrentText(preset)
            self.preset.blockSignals(False)
        self.set_settings(s)
        return True

    # -- folders -------------------------------------------------------------------------------
    @property
    def player(self) -> PlayerWidget | None:
        return self.sample_panel.player

    def play_sample(self, path: Path) -> None:
        self.sample_panel.play(path)

    @property
    def runs_root(self) -> Path:
        return Path(self.session.root) / "runs"

    def new_output_folder(self) -> Path:
        return self.runs_root / time.strftime("run-%Y%m%d-%H%M%S")

    # -- export --------------------------------------------------------------------------------
    def export_now(self):
        """The Export dialog; its export's folder goes into the Dataset field."""
        from workstation.ui.export import ExportDialog

        dialog = ExportDialog(self.session, self.jobs, self, out=self.dataset.text() or None)

        def done(result) -> None:
            self.dataset.setText(str(result.out))
            self.status.setText(f"exported {len(result.clips)} clips to {result.out}")

        dialog.exported.connect(done)
        dialog.show()
        self.export_dialog = dialog
        return dialog

    # -- running ---------------------------------------------------------------------------------
    def start(self, resume: bool = False) -> bool:
        """Start (or resume) the run the form describes; False when something is missing."""
        self.validate()
        problems = self.problems()
        if problems:
            self._on_status("Fix first: " + "; ".join(problems))
            self._focus_first_problem()
            return False
        s = self.settings()
        if resume:
            if not any(Path(s.output).glob("checkpoint-*")):
                self._on_status(f"{s.output}: no checkpoint-N folder to resume from.")
                return False
            s = dataclasses.replace(s, resume="latest")
        elif any(Path(s.output, name).exists() for name in (SETTINGS_FILE, EVENTS_FILE)):
            s = dataclasses.replace(s, output=str(self.new_output_folder()))
            self.output.setText(s.output)
        self._run_problems.clear()
        self.curve.setData([], [])
        self.smooth_curve.setData([], [])
        self.samples.clear()
        try:
            self.run.start(s, self._command_override)
        except (OSError, WorkstationError, RuntimeError) as exc:
            self._on_status(f"{s.output}: cannot start the run ({exc})")
            return False
        self.validate()
        return True

    def _focus_first_problem(self) -> None:
        for name, c in self.checks.items():
            if not c.problem:
                continue
            field = self.path_fields().get(name)
            widget = field.edit if field is not None else self.fields.get(name)
            if widget is not None:
                widget.setFocus()
            return

    def stop(self) -> None:
        self.run.stop()

    def _on_loss(self, _step: int, _loss: float) -> None:
        self.curve.setData(self.run.steps, self.run.losses)
        self.smooth_curve.setData(self.run.steps, smoothed(self.run.losses))

    def _on_status(self, text: str) -> None:
        set_text_color(self.status, None, QPalette.ColorRole.WindowText)
        self.status.setText(text)
        self.status.setToolTip("")

    def _on_event(self, ev) -> None:
        if ev.kind == "start":
            self.refresh_history()  # the child wrote train_settings.json before "start"

    def _on_failed(self, message: str) -> None:
        lines = message.splitlines()
        shown = "\n".join(lines[:1] + lines[1:][-10:])  # the sentence and the log's last lines
        set_text_color(self.status, PROBLEM_COLOR, QPalette.ColorRole.WindowText)
        self.status.setText(shown)
        self.status.setToolTip(message)
        log.error("%s", message)
        if self.run.settings is not None:
            field = field_of_error(self.run.reason, self.run.settings)
            if field is not None:
                value = str(getattr(self.run.settings, field))
                self._run_problems[field] = without_path(self.run.reason, value)

    def _on_finished(self, ok: bool) -> None:
        self.refresh_history(select=self.run.output)
        self.validate()
        self.runFinished.emit(ok)

    def _update_buttons(self) -> None:
        running = self.run.is_running()
        problems = self.problems()
        self.stop_button.setEnabled(running)
        self.start_button.setEnabled(not running and not problems)
        self.start_button.setToolTip(
            "A training run is going on"
            if running
            else "Fix first:\n" + "\n".join(problems)
            if problems
            else "Start a new run in the Output folder"
        )
        names = [p.split(":", 1)[0] for p in problems]  # the reasons are beside the fields
        self.start_hint.setText(f"Start needs: {', '.join(names)} (see the red notes)")
        set_text_color(self.start_hint, PROBLEM_COLOR, QPalette.ColorRole.WindowText)
        self.start_hint.setVisible(bool(problems) and not running)
        out = self.output.text()
        has_checkpoint = bool(out) and any(Path(out).glob("checkpoint-*"))
        self.resume_button.setEnabled(not running and not problems and has_checkpoint)
        self.resume_button.setToolTip(
            "Continue the run in the Output folder from its latest checkpoint"
            if has_checkpoint
            else "The Output folder has no checkpoint-N to resume from"
        )

    # -- history ---------------------------------------------------------------------------------
    def refresh_history(self, select: Path | None = None) -> None:
        self.runs.refresh(self.runs_root, select)

    def _on_run_chosen(self, record: RunRecord | None) -> None:
        if record is None or self.run.is_running() or record.folder == self.run.output:
            return  # a live (or just finished) run keeps the samples it showed
        self.sample_panel.show_all(sample_videos(record.folder))

    def _use_run_settings(self, record: RunRecord) -> None:
        if record.settings is None:
            return
        self.set_settings(
            dataclasses.replace(record.settings, resume="", output=str(record.folder))
        )
        self._on_status(
            f"settings of {record.folder.name} loaded; Resume continues it, Start begins a new run"
        )

    def open_output_folder(self) -> bool:
        """Open the chosen run's folder in the file manager."""
        return self.runs.open_folder()

    def shutdown(self) -> None:
        """Stop a running child (window closing) without leaving it orphaned; remember the form."""
        self.run.stop_now()
        if not self.session.is_closed:
            self.memory.save(self.preset.currentText(), self.settings())
