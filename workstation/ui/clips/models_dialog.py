"""The Models dialog: which tagger/captioner models are on this machine, and which to use.

Lists the model folders the person added (kept in the project's settings) and the models in the
Hugging Face cache (``huggingface_hub.scan_cache_dir``) with their size on disk.  Downloads and
load checks run as jobs (never on the GUI thread); offline (``HF_HUB_OFFLINE``) a download says
so at once.  The device choice (auto/CPU/CUDA) and the captioner to use are stored in the
project's autotag settings, where the Caption job reads them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
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
    DEVICES,
    HF_CAPTION_MODELS,
    load_device,
    offline,
    save_device,
)
from workstation.core.progress import Progress

log = logging.getLogger(__name__)
FOLDERS_KEY = "autotag.model_folders"


@dataclass(frozen=True)
class ModelEntry:
    name: str  # hub id or folder path
    where: str  # "folder" | "HF cache"
    size: int  # bytes on disk
    path: str
    kind: str  # "captioner" | "tagger" | "?"


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _kind_of(folder: Path) -> str:
    if (folder / "model.onnx").is_file() and (folder / "selected_tags.csv").is_file():
        return "tagger"
    if (folder / "config.json").is_file():
        return "captioner"
    return "?"


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def model_folders(project) -> list[str]:
    row = project.db.execute("SELECT value FROM settings WHERE key=?", (FOLDERS_KEY,)).fetchone()
    try:
        data = json.loads(row[0]) if row else []
    except json.JSONDecodeError:
        return []
    return [str(x) for x in data if isinstance(x, str)] if isinstance(data, list) else []


def add_model_folder(project, folder: str | Path) -> str:
    """Remember a local model folder; a folder that holds no model is refused with why."""
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise ModelError(path, "no such folder")
    if _kind_of(path) == "?":
        raise ModelError(
            path,
            "holds no model: expected config.json + weights (a transformers "
            "captioner) or model.onnx + selected_tags.csv (a WD14 tagger)",
        )
    folders = model_folders(project)
    if str(path) not in folders:
        folders.append(str(path))
        project.db.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
            "value=excluded.value",
            (FOLDERS_KEY, json.dumps(folders)),
        )
    return str(path)


def cached_models(cache_dir: str | Path | None = None) -> list[ModelEntry]:
    """Models in the Hugging Face cache (empty when there is no cache yet)."""
    try:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound
    except ImportError:
        return []
    try:
        info = scan_cache_dir(cache_dir)
    except (CacheNotFound, OSError):
        return []
    out = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        snaps = sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True)
        path = str(snaps[0].snapshot_path) if snaps else str(repo.repo_path)
        kind = _kind_of(Path(path)) if snaps else "?"
        out.append(ModelEntry(repo.repo_id, "HF cache", repo.size_on_disk, path, kind))
    return sorted(out, key=lambda e: e.name.lower())


def list_models(project) -> list[ModelEntry]:
    entries = []
    for f in model_folders(project):
        p = Path(f)
        if p.is_dir():
            entries.append(ModelEntry(f, "folder", folder_size(p), f, _kind_of(p)))
        else:
            entries.append(ModelEntry(f, "folder (missing)", 0, f, "?"))
    return entries + cached_models()


def download_stage(repo_id: str):
    """Download a hub model into the HF cache (a job: the GUI stays live)."""
    if offline():
        raise ModelError(
            repo_id,
            "cannot download: HF_HUB_OFFLINE is set (offline); copy the "
            "model folder here and add it with “Add folder…”",
        )
    from huggingface_hub import snapshot_download

    yield Progress("download", 0, 1, repo_id, "downloading")
    try:
        path = snapshot_download(repo_id)
    except Exception as exc:  # no network, no such repo, gated model
        raise ModelError(repo_id, f"download failed: {str(exc).splitlines()[0]}") from None
    yield Progress("download", 1, 1, repo_id, "done")
    return path


def check_stage(name: str, kind: str, device: str):
    """Load a model once and free it: tells whether it can be used before a long job."""
    yield Progress("check", 0, 1, name, "loading")
    if kind == "tagger":
        from workstation.core.autotag import TagSettings, create_tagger

        tagger = create_tagger(TagSettings(model=name))
        where = tagger.provider
        del tagger
    else:
        from workstation.core.autotag.hf_captioner import HFCaptioner

        cap = HFCaptioner.load(name, device=device)
        where = f"{cap.device} ({cap.dtype})"
        cap.close()
    yield Progress("check", 1, 1, name, "loaded")
    return f"{name} loads on {where}"


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
                else f"Captions: server {cap.server}"
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
            on_done=lambda path: (self.refresh(), self.show_message(f"Downloaded to {path}")),
            on_error=self.show_message,
            stage_name="download",
            target=repo_id,
        )

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
