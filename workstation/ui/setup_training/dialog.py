"""The "Install training components…" dialog: build the managed training environment.

It runs :func:`workstation.core.training_env.build` as a job (the same stage as
``workstation setup-training``), shows which PyTorch build the driver asks for, each step's
output line, the environment's size so far, and a Cancel button that stops ``uv`` and removes
the half-built folder.  When the environment exists it offers to rebuild it (repair).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core import training_env
from workstation.core.progress import Progress
from workstation.ui.common.jobs import Job, JobsController


def _gb(size: int) -> str:
    return f"{size / 1e9:.1f} GB"


class SetupTrainingDialog(QDialog):
    """Install (or repair) the training components; ``job`` is the running build, if any."""

    def __init__(self, jobs: JobsController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Install training components")
        self.jobs = jobs
        self.job: Job | None = None
        self.detected = training_env.variant_for_driver(training_env.detect_driver())
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Training motion modules needs PyTorch (2-6 GB, the build for this computer's GPU). "
            f"It is installed once into {training_env.env_dir()}."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.variant = QComboBox()
        for v in training_env.VARIANTS:
            label = f"{v} (detected)" if v == self.detected else v
            self.variant.addItem(label, v)
        self.variant.setCurrentIndex(training_env.VARIANTS.index(self.detected))
        form.addRow("PyTorch build:", self.variant)
        self.state = QLabel()
        form.addRow("Installed:", self.state)
        layout.addLayout(form)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.line = QLabel("")
        self.line.setWordWrap(True)
        self.size_label = QLabel("")
        layout.addWidget(self.bar)
        layout.addWidget(self.line)
        layout.addWidget(self.size_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.install_button = QPushButton("Install")
        self.cancel_button = QPushButton("Cancel installation")
        self.cancel_button.setEnabled(False)
        self.buttons.addButton(self.install_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.install_button.clicked.connect(self.install)
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())
        self._show_state()

    def _show_state(self) -> None:
        info = training_env.installed()
        if info is None:
            self.state.setText("no")
            self.install_button.setText("Install")
        else:
            gpu = "GPU usable" if info.cuda_available else "CPU only"
            self.state.setText(
                f"torch {info.torch} ({info.variant}, {gpu}), {_gb(info.size_bytes)}"
            )
            self.install_button.setText("Reinstall (repair)")

    def install(self) -> Job:
        variant = str(self.variant.currentData())
        repair = training_env.installed() is not None
        self.install_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.line.setText("Starting…")
        self.job = self.jobs.run(
            "Install training components",
            lambda: training_env.build(variant, repair=repair),
            on_progress=self._on_progress,
            on_done=self._on_done,
            on_error=self._on_error,
            stage_name="setup-training",
            target=variant,
        )
        self.job.cancelled.connect(self._on_cancelled)
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_progress(self, record: Progress) -> None:
        self.bar.setRange(0, record.total or 0)
        self.bar.setValue(record.done)
        if record.message:
            self.line.setText(f"{record.item}: {record.message}" if record.item else record.message)
        if "bytes" in record.data:
            self.size_label.setText(f"Size so far: {_gb(int(record.data['bytes']))}")

    def _finish(self, text: str) -> None:
        self.line.setText(text)
        self.install_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._show_state()

    def _on_done(self, result: object) -> None:
        assert isinstance(result, training_env.EnvInfo)
        self.size_label.setText(f"Size: {_gb(result.size_bytes)}")
        self._finish(f"Installed: torch {result.torch}. Training now runs with it.")

    def _on_error(self, message: str) -> None:
        self._finish(message)

    def _on_cancelled(self) -> None:
        self.size_label.setText("")
        self._finish("Cancelled: nothing was kept.")
