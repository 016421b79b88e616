"""The Models dialog: which tagger/captioner models are here, what each is for, which to use.

"On this machine": the folders the person added (kept in the project) and the Hugging Face
cache, with purpose and size on disk, or an empty state saying what to add and why; a folder
is loaded as a job would before it is listed; "Use for tagging / captions" set the project's
TagSettings / CaptionSettings.  "Download from Hugging Face": each known model's download size
from the hub ("unknown offline"), a confirmation with the size, progress and Cancel.  The work
is Qt-free (``core.autotag.models`` / ``.downloads``) and runs as jobs, off the GUI thread.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from workstation.core.autotag.base import (
    WD14_MODELS,
    CaptionerKind,
    CaptionSettings,
    TagSettings,
    load_settings,
    save_settings,
)
from workstation.core.autotag.downloads import (
    DownloadPlan,
    OfflineError,
    download_stage,
    expected_kind,
    offline,
    plans_stage,
)
from workstation.core.autotag.hf_captioner import HF_CAPTION_MODELS, load_device, save_device
from workstation.core.autotag.models import (
    PURPOSE,
    ModelEntry,
    add_folder_stage,
    check_stage,
    list_models,
    tagger_problem,
)
from workstation.core.autotag.openai_captioner import redact_url
from workstation.core.errors import WorkstationError
from workstation.core.store import DEVICES
from workstation.ui.clips.autotag_fields import human_size, table_item, table_widget

log = logging.getLogger(__name__)

EMPTY_TEXT = (
    "<b>No models on this machine yet.</b><br>"
    "<b>Tagging</b> needs a <i>tagger</i>: a WD14 ONNX folder (model.onnx + selected_tags.csv, "
    "about 0.4–1.3 GB). It finds Danbooru-style tags (subject, clothing, setting) in each "
    "clip.<br>"
    "<b>Captions</b> need a <i>captioner</i>: a local video-language model folder (config.json "
    "+ *.safetensors, e.g. Qwen2.5-VL-3B, about 7.5 GB), or no model at all here if you run a "
    "server such as LM Studio, Ollama or vLLM (set its address in Caption…).<br>"
    "Add a folder you already have with <b>Add folder…</b>, or download one below."
)
USE_FOR = {"tagger": "Tagging", "captioner": "Captions", "?": "—"}


class ModelsDialog(QDialog):
    """Present models, add a folder, download, choose the device, tagger and captioner."""

    messageShown = Signal(str)
    modelsChanged = Signal()  # a folder was added, a model downloaded or chosen

    def __init__(self, session, jobs, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.session = session
        self.jobs = jobs
        self.entries: list[ModelEntry] = []
        self.plans: dict[str, DownloadPlan | str] = {}  # hub id -> plan, or why unknown
        self.download_job = None
        self._lookup_job = None
        self._build_local()
        self._build_download()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.local_box, 3)
        layout.addWidget(self.download_box, 2)
        layout.addWidget(self.message)
        self.resize(980, 700)
        self.refresh()

    # -- building ------------------------------------------------------------------------
    def _build_local(self) -> None:
        self.empty_hint = QLabel(EMPTY_TEXT)
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setTextFormat(Qt.TextFormat.RichText)
        self.table = table_widget(["Model", "Used for", "Where", "Size on disk"])
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.device = QComboBox()
        for d in DEVICES:
            self.device.addItem({"auto": "Auto", "cpu": "CPU", "cuda": "CUDA"}[d], d)
        self.device.setToolTip("Where local captioners run")
        self.device.currentIndexChanged.connect(self._device_changed)
        self.add_button = QPushButton("Add folder…")
        self.add_button.setToolTip("A WD14 tagger folder or a transformers model folder")
        self.add_button.clicked.connect(self._add_folder_dialog)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.tag_button = QPushButton("Use for tagging")
        self.tag_button.clicked.connect(self.use_selected_for_tagging)
        self.use_button = QPushButton("Use for captions")
        self.use_button.setToolTip("Caption with this local model (instead of a server)")
        self.use_button.clicked.connect(self.use_selected_for_captions)
        self.check_button = QPushButton("Check it loads")
        self.check_button.setToolTip("Load the whole model once (a captioner takes a while)")
        self.check_button.clicked.connect(self.check_selected)
        self.in_use = QLabel("")
        self.in_use.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Local models run on"))
        top.addWidget(self.device)
        top.addStretch(1)
        top.addWidget(self.add_button)
        top.addWidget(self.refresh_button)
        actions = QHBoxLayout()
        actions.addWidget(self.tag_button)
        actions.addWidget(self.use_button)
        actions.addWidget(self.check_button)
        actions.addStretch(1)
        self.local_box = QGroupBox("On this machine")
        box = QVBoxLayout(self.local_box)
        box.addLayout(top)
        box.addWidget(self.empty_hint)
        box.addWidget(self.table, 1)
        box.addLayout(actions)
        box.addWidget(self.in_use)

    def _build_download(self) -> None:
        self.hub_table = table_widget(["Model", "Used for", "Download size"])
        self.hub_table.itemSelectionChanged.connect(self._hub_selected)
        self.hub_id = QLineEdit()
        self.hub_id.setPlaceholderText("or any Hugging Face id: owner/name")
        self.download_button = QPushButton("Download…")
        self.download_button.clicked.connect(lambda: self.download(self.hub_id.text()))
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.clicked.connect(self.cancel_download)
        row = QHBoxLayout()
        row.addWidget(self.hub_id, 1)
        row.addWidget(self.download_button)
        progress = QHBoxLayout()
        progress.addWidget(self.progress, 1)
        progress.addWidget(self.cancel_button)
        self.download_box = QGroupBox("Download from Hugging Face (into its cache)")
        box = QVBoxLayout(self.download_box)
        box.addWidget(self.hub_table, 1)
        box.addLayout(row)
        box.addLayout(progress)
        self._show_progress(False)

    @property
    def project(self):
        return self.session.project

    # -- listing -------------------------------------------------------------------------
    def refresh(self) -> None:
        self.entries = list_models(self.project)
        self.table.setRowCount(len(self.entries))
        for r, e in enumerate(self.entries):
            size = human_size(e.size) if e.where != "folder (missing)" else "—"
            cells = (e.name, USE_FOR[e.kind], e.where, size)
            for c, text in enumerate(cells):
                self.table.setItem(r, c, table_item(text, f"{PURPOSE[e.kind]}\n{e.path}"))
        empty = not self.entries
        self.empty_hint.setVisible(empty)
        self.table.setVisible(not empty)
        self.device.blockSignals(True)
        self.device.setCurrentIndex(DEVICES.index(load_device(self.project)))
        self.device.blockSignals(False)
        self.in_use.setText(self._in_use_text())
        self._fill_hubtable_widget()
        self._update_buttons()
        if not self.plans and self._lookup_job is None:
            self.look_up_sizes()

    def _in_use_text(self) -> str:
        try:
            model = load_settings(self.project, TagSettings).model
            missing = " (not on this machine yet)" if tagger_problem(model) else ""
            tag = f"Tagging uses {model}{missing}"
        except WorkstationError as exc:
            tag = f"Tag settings unreadable ({exc})"
        try:
            cap = load_settings(self.project, CaptionSettings)
            captions = (
                f"Captions: local model {cap.model}"
                if cap.backend is CaptionerKind.TRANSFORMERS
                else f"Captions: server {redact_url(cap.server)}"
            )
        except WorkstationError as exc:
            captions = f"Captions: saved settings unreadable ({exc})"
        return f"{tag}. {captions}."

    def hub_ids(self) -> list[str]:
        """Known models that are not in the cache yet (then any typed id looked up)."""
        here = {e.name for e in self.entries if not e.local}
        known = [m for m in (*WD14_MODELS, *HF_CAPTION_MODELS) if m not in here]
        return known + [m for m in self.plans if m not in known and m not in here]

    def _fill_hubtable_widget(self) -> None:
        ids = self.hub_ids()
        self.hub_table.setRowCount(len(ids))
        for r, repo in enumerate(ids):
            plan = self.plans.get(repo)
            kind = plan.kind if isinstance(plan, DownloadPlan) else expected_kind(repo)
            if isinstance(plan, DownloadPlan):
                size, tip = human_size(plan.size), f"{len(plan.files)} files"
            elif isinstance(plan, str):
                size, tip = ("unknown offline" if "offline" in plan else "unknown"), plan
            else:
                size, tip = ("unknown offline" if offline() else "looking up…"), ""
            self.hub_table.setItem(r, 0, table_item(repo, PURPOSE[kind]))
            self.hub_table.setItem(r, 1, table_item(USE_FOR[kind], PURPOSE[kind]))
            self.hub_table.setItem(r, 2, table_item(size, tip))

    def look_up_sizes(self, ids: list[str] | None = None):
        """Ask the hub for the download sizes (a job; offline says so at once)."""
        ids = ids or self.hub_ids()
        if offline():
            for repo in ids:
                self.plans[repo] = str(OfflineError(repo, "HF_HUB_OFFLINE is set"))
            self._fill_hubtable_widget()
            self.show_message(
                "You are offline: HF_HUB_OFFLINE is set, so download sizes are unknown and "
                "nothing can be downloaded. Copy a model folder to this machine and add it "
                "with “Add folder…”."
            )
            return None
        self._lookup_job = self.jobs.run(
            "Look up model sizes",
            lambda: plans_stage(ids),
            on_done=self._sizes_known,
            on_error=self._lookup_failed,
            stage_name="look up sizes",
            target=f"{len(ids)} models",
        )
        return self._lookup_job

    def _sizes_known(self, plans: dict[str, DownloadPlan | str]) -> None:
        self._lookup_job = None
        self.plans.update(plans)
        self._fill_hubtable_widget()
        offline_says = next(
            (p for p in plans.values() if isinstance(p, str) and "offline" in p), ""
        )
        if offline_says:
            self.show_message(offline_says)

    def _lookup_failed(self, message: str) -> None:
        self._lookup_job = None
        self.show_message(message)

    # -- messages and selection ----------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.message.setText(text)
        log.info("%s", text)
        self.messageShown.emit(text)

    def selected(self) -> ModelEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows else None

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)

    def _update_buttons(self) -> None:
        e = self.selected()
        self.tag_button.setEnabled(e is not None and e.kind == "tagger")
        self.use_button.setEnabled(e is not None and e.kind == "captioner")
        self.check_button.setEnabled(e is not None and e.kind != "?")

    def _hub_selected(self) -> None:
        rows = self.hub_table.selectionModel().selectedRows()
        item = self.hub_table.item(rows[0].row(), 0) if rows else None
        if item is not None:
            self.hub_id.setText(item.text())

    def _device_changed(self, index: int) -> None:
        save_device(self.project, self.device.itemData(index))
        self.show_message(f"Local models run on: {self.device.currentText()}")

    # -- adding, checking, choosing --------------------------------------------------------
    def _add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a model folder")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str | Path):
        """Check the folder's model loads (a job), then list it; a junk model is refused."""
        self.show_message(f"Checking {folder}…")
        return self.jobs.run_on_project(
            f"Add model {Path(folder).name}",
            lambda p: add_folder_stage(p, folder),
            on_done=self._added,
            on_error=lambda m: self.show_message(f"Not added: {m}"),
            stage_name="add model",
            target=str(folder),
        )

    def _added(self, path: str) -> None:
        self.refresh()
        self.show_message(f"Added {path}")
        self.modelsChanged.emit()

    def check_selected(self):
        entry = self.selected()
        if entry is None:
            self.show_message("Choose a model in the list first")
            return None
        name, kind = entry.model_ref, entry.kind
        device = load_device(self.project)
        return self.jobs.run(
            f"Load {entry.name}",
            lambda: check_stage(name, kind, device),
            on_done=self.show_message,
            on_error=lambda m: self.show_message(f"cannot load {entry.name}: {m}"),
            stage_name="check",
            target=entry.name,
        )

    def use_selected_for_tagging(self) -> bool:
        entry = self.selected()
        if entry is None or entry.kind != "tagger":
            self.show_message("Choose a tagger (a WD14 ONNX folder) in the list first")
            return False
        try:
            current = load_settings(self.project, TagSettings)
        except WorkstationError:
            current = TagSettings()
        save_settings(self.project, replace(current, model=entry.model_ref))
        self.refresh()
        self.show_message(f"Tagging will use {entry.model_ref}")
        self.modelsChanged.emit()
        return True

    def use_selected_for_captions(self) -> bool:
        entry = self.selected()
        if entry is None or entry.kind != "captioner":
            self.show_message("Choose a captioner (a transformers model) in the list first")
            return False
        try:
            current = load_settings(self.project, CaptionSettings)
        except WorkstationError:
            current = CaptionSettings()
        name = entry.model_ref
        save_settings(
            self.project, replace(current, backend=CaptionerKind.TRANSFORMERS, model=name)
        )
        self.refresh()
        self.show_message(f"Captions will use {name}")
        self.modelsChanged.emit()
        return True

    # -- downloading -----------------------------------------------------------------------
    def download(self, repo_id: str):
        """Look up the size if needed, ask with it, then download (a job with progress)."""
        repo_id = repo_id.strip()
        if not repo_id:
            self.show_message("Download: choose a model in the list or type a Hugging Face id")
            return None
        if offline():
            self.show_message(str(OfflineError(repo_id, "HF_HUB_OFFLINE is set")))
            return None
        plan = self.plans.get(repo_id)
        if isinstance(plan, DownloadPlan):
            return self._confirm_and_start(plan)
        return self.jobs.run(
            f"Look up {repo_id}",
            lambda: plans_stage([repo_id]),
            on_done=lambda plans: self._looked_up(repo_id, plans),
            on_error=self.show_message,
            stage_name="look up sizes",
            target=repo_id,
        )

    def _looked_up(self, repo_id: str, plans: dict[str, DownloadPlan | str]) -> None:
        self.plans.update(plans)
        self._fill_hubtable_widget()
        plan = plans.get(repo_id)
        if isinstance(plan, DownloadPlan):
            self._confirm_and_start(plan)
        else:
            self.show_message(str(plan))

    def confirm_download(self, plan: DownloadPlan) -> bool:
        """Ask before any download, with its size and the free space where it goes."""
        from huggingface_hub import constants

        cache = Path(constants.HF_HUB_CACHE)
        probe = next((p for p in (cache, *cache.parents) if p.exists()), Path.home())
        free = shutil.disk_usage(probe).free
        answer = QMessageBox.question(
            self,
            "Download a model",
            f"Download {plan.repo_id} ({USE_FOR[plan.kind].lower()}): {len(plan.files)} files, "
            f"{human_size(plan.size)}, into {cache} ({human_size(free)} free there)?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def _confirm_and_start(self, plan: DownloadPlan):
        if not self.confirm_download(plan):
            self.show_message(f"{plan.repo_id}: not downloaded")
            return None
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat(f"{plan.repo_id}: starting")
        self._show_progress(True)
        job = self.download_job = self.jobs.run(
            f"Download {plan.repo_id}",
            lambda: download_stage(plan),
            on_progress=lambda rec, p=plan: self._download_progress(p, rec),
            on_done=lambda path, p=plan: self._downloaded(p, str(path)),
            on_error=lambda m: self._download_ended(m),
            stage_name="download",
            target=plan.repo_id,
        )
        job.cancelled.connect(
            lambda p=plan: self._download_ended(
                f"{p.repo_id}: download cancelled (what was fetched stays in the cache and "
                "a new download resumes it)"
            )
        )
        return job

    def _download_progress(self, plan: DownloadPlan, record) -> None:
        if record.total:
            self.progress.setValue(int(1000 * min(1.0, record.done / record.total)))
        self.progress.setFormat(
            f"{plan.repo_id}: {human_size(record.done)} of {human_size(plan.size)}"
        )

    def _downloaded(self, plan: DownloadPlan, path: str) -> None:
        self._download_ended(f"Downloaded {plan.repo_id} to {path}")
        self.refresh()
        self.modelsChanged.emit()

    def _download_ended(self, text: str) -> None:
        self.download_job = None
        self._show_progress(False)
        self.show_message(text)

    def cancel_download(self) -> None:
        if self.download_job is not None:
            self.download_job.cancel()

    def _show_progress(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)
        self.download_button.setEnabled(not on)
