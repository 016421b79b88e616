"""The Train view: pick a dataset and models, start/stop/resume a run, watch loss and samples.

The run itself is a child process (:class:`TrainingRun`); this view only builds
:class:`TrainSettings` from the form, mirrors the child's events, and lists earlier runs (any
folder under ``PROJECT/runs`` holding a ``train_settings.json``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workstation.core.errors import WorkstationError
from workstation.train.launch import TrainSettings, load_settings
from workstation.ui.train.form import AdvancedSettings, PathField
from workstation.ui.train.run import (
    PRESETS,
    SETTINGS_FILE,
    TrainingRun,
    apply_preset,
    estimate_vram_gb,
    find_runs,
    sample_videos,
    smoothed,
)

if TYPE_CHECKING:
    from workstation.ui.cut.player import PlayerWidget

log = logging.getLogger(__name__)


def _video_shape(path: Path) -> tuple[Fraction, int]:
    """Frame rate and frame count of a small sample MP4 (from the container header)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = Fraction(stream.average_rate or 8)
        frames = stream.frames or int(
            float(stream.duration * stream.time_base) * fps
            if stream.duration and stream.time_base
            else 16
        )
    return fps, max(1, frames)


class TrainView(QWidget):
    """Form on the left; status, loss plot, samples and run history on the right."""

    runFinished = Signal(bool)

    def __init__(self, session, jobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.jobs = jobs
        self.run = TrainingRun(self)
        self.player: PlayerWidget | None = None  # built when a sample is first played (needs GL)
        self.export_job = None
        self._command_override: list[str] | None = None  # tests: a fake child

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._build_form())
        split.addWidget(self._build_results())
        split.setStretchFactor(1, 1)
        split.setSizes([420, 860])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(split)

        self.run.lossAdded.connect(self._on_loss)
        self.run.sampleWritten.connect(self._on_sample)
        self.run.statusChanged.connect(self._on_status)
        self.run.eventReceived.connect(self._on_event)
        self.run.failed.connect(self._on_failed)
        self.run.finished.connect(self._on_finished)

        self.set_settings(apply_preset(TrainSettings(), self.preset.currentText()))
        self.output.setText(str(self.new_output_folder()))
        self.refresh_history()
        self._update_buttons()

    # -- building --------------------------------------------------------------------------------
    def _build_form(self) -> QScrollArea:
        """The left side: data and models, recipe, advanced settings, Start/Stop/Resume."""
        form_box = QWidget()
        form_lay = QVBoxLayout(form_box)
        form_lay.addWidget(self._build_data_box())
        form_lay.addWidget(self._build_recipe_box())
        self.advanced = AdvancedSettings(self._update_estimate)
        self.fields = self.advanced.fields
        form_lay.addWidget(self.advanced)
        form_lay.addLayout(self._build_run_buttons())
        form_lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_box)
        return scroll

    def _build_data_box(self) -> QGroupBox:
        data_box = QGroupBox("Data and models")
        data = QFormLayout(data_box)
        self.dataset = PathField("export folder (metadata.jsonl + clips)")
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
        return data_box

    def _build_recipe_box(self) -> QGroupBox:
        preset_box = QGroupBox("Recipe")
        preset = QFormLayout(preset_box)
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.currentTextChanged.connect(self._apply_preset)
        preset.addRow("Preset", self.preset)
        self.prompts = QPlainTextEdit()
        self.prompts.setPlaceholderText(
            "validation prompts, one a line (default: the first two captions)"
        )
        self.prompts.setMaximumHeight(60)
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
        self.resume_button.setToolTip(
            "Continue the run in the Output folder from its latest checkpoint"
        )
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
        lower.addWidget(self._build_samples_box())
        lower.addWidget(self._build_runs_box())
        right_lay.addWidget(lower, 3)
        return right

    def _build_samples_box(self) -> QGroupBox:
        samples_box = QGroupBox("Samples (newest first; click to play)")
        samples_lay = QVBoxLayout(samples_box)
        self.samples = QListWidget()
        self.samples.currentItemChanged.connect(self._on_sample_chosen)
        samples_lay.addWidget(self.samples, 1)
        self.player_holder = QVBoxLayout()
        samples_lay.addLayout(self.player_holder, 2)
        return samples_box

    def _build_runs_box(self) -> QGroupBox:
        """Earlier runs, the chosen one's settings, and what can be done with it."""
        history_box = QGroupBox("Runs")
        history_lay = QVBoxLayout(history_box)
        self.history = QListWidget()
        self.history.currentItemChanged.connect(self._on_run_chosen)
        history_lay.addWidget(self.history, 1)
        self.run_details = QPlainTextEdit()
        self.run_details.setReadOnly(True)
        history_lay.addWidget(self.run_details, 1)
        hb = QHBoxLayout()
        self.use_settings_button = QPushButton("Use these settings")
        self.use_settings_button.clicked.connect(self._use_run_settings)
        self.open_button = QPushButton("Open output folder")
        self.open_button.clicked.connect(self.open_output_folder)
        hb.addWidget(self.use_settings_button)
        hb.addWidget(self.open_button)
        history_lay.addLayout(hb)
        return history_box

    # -- form <-> settings ---------------------------------------------------------------------
    def settings(self) -> TrainSettings:
        """The form as TrainSettings (paths as typed; the engine checks them)."""
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

    # -- folders -------------------------------------------------------------------------------
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
        s = self.settings()
        missing = [
            label
            for label, value in (
                ("Dataset", s.dataset),
                ("Base model", s.base_model),
                ("Output", s.output),
            )
            if not value
        ]
        if missing:
            self.status.setText(f"Fill in: {', '.join(missing)}.")
            return False
        if resume:
            if not any(Path(s.output).glob("checkpoint-*")):
                self.status.setText(f"{s.output}: no checkpoint-N folder to resume from.")
                return False
            s = dataclasses.replace(s, resume="latest")
        elif Path(s.output, SETTINGS_FILE).exists():
            s = dataclasses.replace(s, output=str(self.new_output_folder()))
            self.output.setText(s.output)
        self.curve.setData([], [])
        self.smooth_curve.setData([], [])
        self.samples.clear()
        try:
            self.run.start(s, self._command_override)
        except (OSError, WorkstationError, RuntimeError) as exc:
            self.status.setText(str(exc))
            return False
        self._update_buttons()
        return True

    def stop(self) -> None:
        self.run.stop()

    def _on_loss(self, _step: int, _loss: float) -> None:
        self.curve.setData(self.run.steps, self.run.losses)
        self.smooth_curve.setData(self.run.steps, smoothed(self.run.losses))

    def _on_sample(self, path: str) -> None:
        item = QListWidgetItem(Path(path).name)
        item.setData(Qt.ItemDataRole.UserRole, path)
        item.setToolTip(path)
        self.samples.insertItem(0, item)

    def _on_status(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)
        self.status.setToolTip("")

    def _on_event(self, ev) -> None:
        if ev.kind == "start":
            self.refresh_history()  # the child wrote train_settings.json before "start"

    def _on_failed(self, message: str) -> None:
        lines = message.splitlines()
        shown = "\n".join(lines[:1] + lines[1:][-10:])  # the sentence and the log's last lines
        self.status.setStyleSheet("color: #d33;")
        self.status.setText(shown)
        self.status.setToolTip(message)
        log.error("%s", message)

    def _on_finished(self, ok: bool) -> None:
        self._update_buttons()
        self.refresh_history()
        self.runFinished.emit(ok)

    def _update_buttons(self) -> None:
        running = self.run.is_running()
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    # -- samples ---------------------------------------------------------------------------------
    def _on_sample_chosen(self, item: QListWidgetItem | None, _prev=None) -> None:
        if item is not None:
            self.play_sample(Path(item.data(Qt.ItemDataRole.UserRole)))

    def play_sample(self, path: Path) -> None:
        """Play a sample MP4 inline, looping."""
        if self.player is None:
            from workstation.ui.cut.player import PlayerWidget

            player = PlayerWidget()
            player.setMinimumHeight(160)
            player.loadFailed.connect(self.status.setText)
            player.loaded.connect(lambda _p: player.play())
            self.player_holder.addWidget(player)
            self.player = player
        try:
            fps, frames = _video_shape(path)
        except Exception as exc:
            self.status.setText(f"{path}: cannot read this sample ({exc})")
            return
        # The player has no loop switch of its own; mpv's loop-file keeps a short sample going.
        self.player._ensure_mpv()["loop-file"] = "inf"
        self.player.load(path, fps=fps, frame_count=frames)

    # -- history ---------------------------------------------------------------------------------
    def refresh_history(self) -> None:
        current = self.history.currentItem()
        keep = current.data(Qt.ItemDataRole.UserRole) if current else None
        self.history.clear()
        for run in find_runs(self.runs_root):
            item = QListWidgetItem(run.name)
            item.setData(Qt.ItemDataRole.UserRole, str(run))
            self.history.addItem(item)
            if str(run) == keep:
                self.history.setCurrentItem(item)

    def _chosen_run(self) -> Path | None:
        item = self.history.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def _on_run_chosen(self, item: QListWidgetItem | None, _prev=None) -> None:
        run = self._chosen_run()
        if run is None:
            self.run_details.clear()
            return
        try:
            s = load_settings(run / SETTINGS_FILE)
        except WorkstationError as exc:
            self.run_details.setPlainText(str(exc))
            return
        changed = {
            k: v
            for k, v in dataclasses.asdict(s).items()
            if v != getattr(TrainSettings(), k) or k in ("dataset", "base_model")
        }
        ckpts = sorted(run.glob("checkpoint-*"), key=lambda p: p.name)
        text = json.dumps(changed, indent=1, default=str)
        if ckpts:
            text += f"\nlatest checkpoint: {ckpts[-1].name}"
        self.run_details.setPlainText(text)
        if not self.run.is_running():
            self.samples.clear()
            for path in reversed(sample_videos(run)):
                self._on_sample(str(path))

    def _use_run_settings(self) -> None:
        run = self._chosen_run()
        if run is None:
            return
        try:
            s = load_settings(run / SETTINGS_FILE)
        except WorkstationError as exc:
            self.status.setText(str(exc))
            return
        self.set_settings(dataclasses.replace(s, resume=""))
        self.status.setText(
            f"settings of {run.name} loaded; Resume continues it, Start begins a new run"
        )

    def open_output_folder(self) -> bool:
        run = self._chosen_run() or (Path(self.output.text()) if self.output.text() else None)
        if run is None or not run.is_dir():
            self.status.setText(f"{run}: the folder does not exist yet")
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(run)))

    def shutdown(self) -> None:
        """Stop a running child (window closing) without leaving it orphaned."""
        self.run.stop_now()
