"""The Models dialog: which tagger/captioner models are on this machine, and which to use.

Lists the model folders the person added (kept in the project's settings) and the models in the
Hugging Face cache with their size on disk.  The listing, the download and the load check are
Qt-free (``workstation.core.autotag.models``); downloads and load checks run as jobs (never on
the GUI thread); offline (``HF_HUB_OFFLINE``) a download says so at once.  The device choice
(auto/CPU/CUDA) and the captioner to use are stored in the project's autotag settings, where
the Caption job reads them.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from workstation.core.autotag.base import (
    WD14_MODELS,
    CaptionerKind,
    CaptionSettings,
    ModelError,
    load_settings,
    save_settings,
)
from workstation.core.autotag.hf_captioner import (
    HF_CAPTION_MODELS,
    load_device,
    offline,
    save_device,
)
from workstation.core.autotag.models import (
    ModelEntry,
    add_model_folder,
    check_stage,
    download_stage,
    list_models,
)
from workstation.core.autotag.openai_captioner import redact_url
from workstation.core.store import DEVICES

log = logging.getLogger(__name__)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class ModelsDialog(QDialog):
    """Present models, add a folder, download, choose the device and the captioner."""

    messageShown = Signal(str)

    def __init__(self, session, jobs, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.session = session
        self.jobs = jobs
        self.entries: list[ModelEntry] = []
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Model", "Where", "Kind", "Size"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.device = QComboBox()
        for d in DEVICES:
            self.device.addItem({"auto": "Auto", "cpu": "CPU", "cuda": "CUDA"}[d], d)
        self.device.currentIndexChanged.connect(self._device_changed)
        self.hub_id = QComboBox()
        self.hub_id.setEditable(True)
        self.hub_id.addItems(list(HF_CAPTION_MODELS) + list(WD14_MODELS))
        self.add_button = QPushButton("Add folder…")
        self.add_button.clicked.connect(self._add_folder_dialog)
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(lambda: self.download(self.hub_id.currentText()))
        self.check_button = QPushButton("Check it loads")
        self.check_button.clicked.connect(self.check_selected)
        self.use_button = QPushButton("Use for captions")
        self.use_button.setToolTip("Caption with this local model (instead of a server)")
        self.use_button.clicked.connect(self.use_selected_for_captions)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.captioner_label = QLabel("")

        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Device"))
        row1.addWidget(self.device)
        row1.addStretch(1)
        row1.addWidget(self.add_button)
        row1.addWidget(self.refresh_button)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Hugging Face id"))
        row2.addWidget(self.hub_id, 1)
        row2.addWidget(self.download_button)
        row3 = QHBoxLayout()
        row3.addWidget(self.captioner_label, 1)
        row3.addWidget(self.check_button)
        row3.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row1)
        layout.addWidget(self.table, 1)
        layout.addLayout(row3)
        layout.addLayout(row2)
        layout.addWidget(self.message)
        self.resize(760, 420)
        self.refresh()

    @property
    def project(self):
        return self.session.project

    def refresh(self) -> None:
        self.entries = list_models(self.project)
        self.table.setRowCount(len(self.entries))
        for r, e in enumerate(self.entries):
            for c, text in enumerate((e.name, e.where, e.kind, human_size(e.size))):
                item = QTableWidgetItem(text)
                item.setToolTip(e.path)
                self.table.setItem(r, c, item)
        device = load_device(self.project)
        self.device.blockSignals(True)
        self.device.setCurrentIndex(DEVICES.index(device))
        self.device.blockSignals(False)
        try:
            cap = load_settings(self.project, CaptionSettings)
            now = (
                f"Captions: local model {cap.model}"
                if cap.backend is CaptionerKind.TRANSFORMERS
                else f"Captions: server {redact_url(cap.server)}"
            )
        except Exception as exc:
            now = f"Captions: saved settings unreadable ({exc})"
        self.captioner_label.setText(now)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        log.info("%s", text)
        self.messageShown.emit(text)

    def _device_changed(self, index: int) -> None:
        device = self.device.itemData(index)
        save_device(self.project, device)
        self.show_message(f"Device for local models: {self.device.currentText()}")

    def _add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a model folder")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str | Path) -> bool:
        try:
            path = add_model_folder(self.project, folder)
        except ModelError as exc:
            self.show_message(str(exc))
            return False
        self.refresh()
        self.show_message(f"Added {path}")
        return True

    def selected(self) -> ModelEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows else None

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)

    def download(self, repo_id: str):
        repo_id = repo_id.strip()
        if not repo_id:
            self.show_message("Download: type a Hugging Face id (owner/name)")
            return None
        if offline():
            self.show_message(
                f"{repo_id}: cannot download while offline (HF_HUB_OFFLINE is "
                "set); copy the model folder here and use “Add folder…”"
            )
            return None
        return self.jobs.run(
            f"Download {repo_id}",
            lambda: download_stage(repo_id),
            on_done=self._downloaded,
            on_error=self.show_message,
            stage_name="download",
            target=repo_id,
        )

    def _downloaded(self, path: str) -> None:
        self.refresh()
        self.show_message(f"Downloaded to {path}")

    def check_selected(self):
        entry = self.selected()
        if entry is None:
            self.show_message("Choose a model in the list first")
            return None
        name = entry.path if entry.where.startswith("folder") else entry.name
        device = load_device(self.project)
        return self.jobs.run(
            f"Load {entry.name}",
            lambda: check_stage(name, entry.kind, device),
            on_done=self.show_message,
            on_error=lambda m: self.show_message(f"cannot load {entry.name}: {m}"),
            stage_name="check",
            target=entry.name,
        )

    def use_selected_for_captions(self) -> bool:
        entry = self.selected()
        if entry is None or entry.kind != "captioner":
            self.show_message("Choose a captioner (a transformers model) in the list first")
            return False
        name = entry.path if entry.where.startswith("folder") else entry.name
        try:
            current = load_settings(self.project, CaptionSettings)
        except Exception:
            current = CaptionSettings()
        save_settings(
            self.project, replace(current, backend=CaptionerKind.TRANSFORMERS, model=name)
        )
        self.refresh()
        self.show_message(f"Captions will use {name}")
        return True
