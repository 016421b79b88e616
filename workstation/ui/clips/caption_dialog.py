"""The Caption dialog: every option of ``workstation caption``, starting from the last run.

Two captioners: an OpenAI-compatible server (LM Studio, Ollama, vLLM: address + model name,
with "Test connection", which lists the server's models or shows its plain error) or a local
video-language model from the Models list or a folder.  The fields are
:class:`CaptionSettings`, read from the project's saved settings; OK saves them (the server
address without any password, the API key never) and hands them to :class:`AutotagActions`.

A user name and password typed into the address are taken out of the field when it is left,
kept in memory for this window's runs, and never shown or saved.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
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
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
)

from workstation.core.autotag.base import (
    DEFAULT_CAPTION_PROMPT,
    CaptionerKind,
    CaptionSettings,
    load_settings,
    save_settings,
    split_credentials,
)
from workstation.core.autotag.hf_captioner import HF_CAPTION_MODELS, load_device, save_device
from workstation.core.autotag.models import captioner_problem, list_models, server_models_stage
from workstation.core.errors import WorkstationError
from workstation.core.store import DEVICES
from workstation.ui.clips.all_tags_panel import Scope
from workstation.ui.clips.autotag_fields import ClipScopeChooser, ModelPicker
from workstation.ui.clips.wording import n_clips

DEVICE_TEXT = {"auto": "Auto (GPU when there is one)", "cpu": "CPU", "cuda": "CUDA GPU"}


def with_credentials(url: str, credentials: str | None) -> str:
    """Put ``user:password`` back into an address for the request (never for display)."""
    if not credentials:
        return url
    parts = urllib.parse.urlsplit(url if "://" in url else "http://" + url)
    user, _, password = credentials.partition(":")
    login = urllib.parse.quote(user, safe="") + (
        ":" + urllib.parse.quote(password, safe="") if password else ""
    )
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{login}@{parts.netloc}"))


def _spin(lo: float, hi: float, value: float, step: float, decimals: int) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    return box


def _int_spin(lo: int, hi: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setValue(value)
    return box


class CaptionDialog(QDialog):
    """Choose the captioner, the prompt and the clips; OK emits :attr:`runRequested`."""

    openModels = Signal()
    runRequested = Signal(object, object, str)  # Scope, CaptionSettings, device
    connectionTested = Signal(str)  # what the Test connection line now says

    def __init__(self, project, jobs, counts: dict[Scope, int], scope: Scope, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Caption clips")
        self.project = project
        self.jobs = jobs
        self._credentials: str | None = None
        self._test_job = None
        try:
            self.base = load_settings(project, CaptionSettings)
            unreadable = ""
        except WorkstationError as exc:
            self.base, unreadable = CaptionSettings(), f"Saved caption settings ignored: {exc}"
        s = self.base
        self.use_server = QRadioButton("A server (OpenAI-compatible: LM Studio, Ollama, vLLM)")
        self.use_local = QRadioButton("A local video-language model on this machine")
        group = QButtonGroup(self)
        group.addButton(self.use_server)
        group.addButton(self.use_local)
        local = s.backend is CaptionerKind.TRANSFORMERS
        (self.use_local if local else self.use_server).setChecked(True)
        self.use_server.toggled.connect(self._backend_changed)
        self._build_server(s)
        self._build_local(s)
        self._build_common(s, counts, scope)
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
        self._backend_changed()

    # -- building ------------------------------------------------------------------------
    def _build_server(self, s: CaptionSettings) -> None:
        self.server = QLineEdit(
            s.server if s.backend is CaptionerKind.OPENAI else CaptionSettings().server
        )
        self.server.setPlaceholderText("http://127.0.0.1:1234 (LM Studio) or :11434 (Ollama)")
        self.server.editingFinished.connect(self._take_credentials)
        self.server_model = QComboBox()
        self.server_model.setEditable(True)
        self.server_model.setEditText(s.model if s.backend is CaptionerKind.OPENAI else "")
        edit = self.server_model.lineEdit()
        if edit is not None:
            edit.setPlaceholderText("empty: the server's first model")
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel("")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("most local servers need none; never saved")
        self.timeout = _spin(1, 3600, s.timeout, 10, 0)
        self.timeout.setSuffix(" s")
        self.server_box = QGroupBox("Server")
        form = QFormLayout(self.server_box)
        row = QHBoxLayout()
        row.addWidget(self.server, 1)
        row.addWidget(self.test_button)
        form.addRow("Address", row)
        form.addRow("", self.test_result)
        form.addRow("Model name", self.server_model)
        form.addRow("API key", self.api_key)
        form.addRow("Time per clip", self.timeout)

    def _build_local(self, s: CaptionSettings) -> None:
        self.local_model = ModelPicker("captioner")
        self.local_model.changed.connect(lambda _v: self._update_ok())
        self.local_problem = QLabel("")
        self.local_problem.setWordWrap(True)
        self.models_button = QPushButton("Models…")
        self.models_button.setToolTip("Add a model folder or download a captioner")
        self.models_button.clicked.connect(self.openModels.emit)
        self.device = QComboBox()
        for d in DEVICES:
            self.device.addItem(DEVICE_TEXT[d], d)
        self.device.setCurrentIndex(DEVICES.index(load_device(self.project)))
        self.batch = _int_spin(1, 64, s.batch_size)
        self.batch.setToolTip("Clips per model call: faster on a GPU, more memory")
        self.local_box = QGroupBox("Local model")
        form = QFormLayout(self.local_box)
        row = QHBoxLayout()
        row.addWidget(self.local_model, 1)
        row.addWidget(self.models_button)
        form.addRow("Model", row)
        form.addRow("", self.local_problem)
        form.addRow("Run on", self.device)
        form.addRow("Clips per batch", self.batch)

    def _build_common(self, s: CaptionSettings, counts: dict[Scope, int], scope: Scope) -> None:
        self.prompt = QPlainTextEdit(s.prompt)
        self.prompt.setPlaceholderText("What to ask; {tags} becomes the clip's tags")
        self.prompt.setFixedHeight(self.fontMetrics().lineSpacing() * 5 + 12)
        self.reset_prompt = QPushButton("Default prompt")
        self.reset_prompt.clicked.connect(lambda: self.prompt.setPlainText(DEFAULT_CAPTION_PROMPT))
        self.fps = _spin(0.05, 30, s.sample_fps, 0.5, 2)
        self.fps.setSuffix(" frames/s")
        self.max_frames = _int_spin(1, 256, s.max_frames)
        self.max_side = _int_spin(64, 4096, s.max_side)
        self.max_side.setSuffix(" px")
        self.max_tokens = _int_spin(16, 8192, s.max_tokens)
        self.temperature = _spin(0, 2, s.temperature, 0.1, 2)
        self.redo = QCheckBox("Redo clips that have an automatic caption (manual ones are kept)")
        self.scope = ClipScopeChooser(counts, scope)
        self.scope.changed.connect(lambda _s: self._update_ok())

    def _lay_out(self) -> None:
        which = QGroupBox("Captioner")
        wl = QVBoxLayout(which)
        wl.addWidget(self.use_server)
        wl.addWidget(self.use_local)
        prompt_row = QVBoxLayout()
        prompt_row.addWidget(self.prompt)
        hint = QHBoxLayout()
        hint.addWidget(QLabel("{tags} is replaced by the clip's tags"), 1)
        hint.addWidget(self.reset_prompt)
        prompt_row.addLayout(hint)
        form = QFormLayout()
        form.addRow("Prompt", prompt_row)
        frames = QHBoxLayout()
        for label, w in (
            ("", self.fps),
            ("at most", self.max_frames),
            ("frames of", self.max_side),
        ):
            if label:
                frames.addWidget(QLabel(label))
            frames.addWidget(w)
        frames.addStretch(1)
        form.addRow("Frames", frames)
        answer = QHBoxLayout()
        answer.addWidget(self.max_tokens)
        answer.addWidget(QLabel("tokens, temperature"))
        answer.addWidget(self.temperature)
        answer.addStretch(1)
        form.addRow("Answer", answer)
        form.addRow("", self.redo)
        layout = QVBoxLayout(self)
        layout.addWidget(which)
        layout.addWidget(self.server_box)
        layout.addWidget(self.local_box)
        layout.addLayout(form)
        layout.addWidget(self.scope)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    # -- behaviour ----------------------------------------------------------------------------
    def refresh_models(self) -> None:
        local = self.base.backend is CaptionerKind.TRANSFORMERS
        current = self.local_model.value() or (self.base.model if local else "")
        self.local_model.fill(list_models(self.project), HF_CAPTION_MODELS, current)
        self._update_ok()

    def _backend_changed(self, _on: bool = False) -> None:
        server = self.use_server.isChecked()
        self.server_box.setVisible(server)
        self.local_box.setVisible(not server)
        self._update_ok()
        self.adjustSize()

    def _update_ok(self) -> None:
        problem = None
        if self.use_local.isChecked():
            model = self.local_model.value()
            problem = captioner_problem(model) if model else "Choose a model, or add one in Models…"
        self.local_problem.setText(problem or "")
        self.local_problem.setVisible(bool(problem))
        self.ok_button.setText(f"Caption {n_clips(self.scope.count)}")
        self.ok_button.setEnabled(self.scope.count > 0 and not problem)

    def _take_credentials(self) -> None:
        """Move a user name/password out of the address field (kept in memory only)."""
        clean, credentials = split_credentials(self.server.text().strip())
        if credentials is None:
            return
        self._credentials = credentials
        self.server.setText(clean)
        self.test_result.setText(
            "The user name and password from the address are used for this window's runs "
            "only; they are not shown or saved."
        )

    def server_url(self) -> str:
        """The address to send requests to (with the remembered sign-in, if any)."""
        self._take_credentials()
        return with_credentials(self.server.text().strip(), self._credentials)

    def test_connection(self):
        """List the server's models in a job; the line under the address says the outcome."""
        url = self.server_url()
        self.test_result.setText("Connecting…")
        self.test_button.setEnabled(False)
        self._test_job = self.jobs.run(
            "Test caption server",
            lambda: server_models_stage(url, self.api_key.text(), timeout=10.0),
            on_done=self._tested,
            on_error=self._test_failed,
            stage_name="test server",
            target=self.server.text(),
        )
        return self._test_job

    def _tested(self, models: list[str]) -> None:
        self.test_button.setEnabled(True)
        typed = self.server_model.currentText()
        self.server_model.clear()
        self.server_model.addItems(models)
        self.server_model.setEditText(typed if typed in models or not models else models[0])
        if models:
            text = f"Connected: the server offers {', '.join(models)}"
        else:
            text = "Connected; the server does not list its models: type the model name"
        self._say_tested(text)

    def _test_failed(self, message: str) -> None:
        self.test_button.setEnabled(True)
        self._say_tested(message)

    def _say_tested(self, text: str) -> None:
        self.test_result.setText(text)
        self.connectionTested.emit(text)

    def settings(self) -> CaptionSettings:
        """The settings the fields say (raises WorkstationError naming a bad field)."""
        common = replace(
            self.base,
            prompt=self.prompt.toPlainText().strip() or DEFAULT_CAPTION_PROMPT,
            sample_fps=self.fps.value(),
            max_frames=self.max_frames.value(),
            max_side=self.max_side.value(),
            max_tokens=self.max_tokens.value(),
            temperature=self.temperature.value(),
            batch_size=self.batch.value(),
            timeout=self.timeout.value(),
            redo=self.redo.isChecked(),
        )
        if self.use_local.isChecked():
            model = self.local_model.value()
            if not model:
                raise WorkstationError("Local model: choose one, or add one in Models…")
            return replace(common, backend=CaptionerKind.TRANSFORMERS, model=model, server="")
        url = self.server_url()
        if not url:
            raise WorkstationError("Server address: type one, e.g. http://127.0.0.1:1234")
        return replace(
            common,
            backend=CaptionerKind.OPENAI,
            server=url,
            model=self.server_model.currentText().strip(),
            api_key=self.api_key.text(),
        )

    def run(self) -> None:
        """OK: remember the settings in the project (no secrets) and ask for the job."""
        try:
            settings = self.settings()
        except WorkstationError as exc:
            self.message.setText(str(exc))
            return
        device = str(self.device.currentData())
        save_settings(self.project, settings)
        if settings.backend is CaptionerKind.TRANSFORMERS:
            save_device(self.project, device)
        self.accept()
        self.runRequested.emit(self.scope.scope, settings, device)
