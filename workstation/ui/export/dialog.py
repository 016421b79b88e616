"""The Export dialog: the export folder, the settings form, the job, then the result page.

Defaults come from ``ExportSettings()`` (the same dataclass the CLI's ``--set`` fills); the
last values are remembered per project (:data:`~workstation.core.store.EXPORT_DIALOG`).
Export runs :func:`~workstation.core.export.export_dataset` as a job (it shows in the Jobs
panel too): the dialog shows its progress, Cancel stops it at the next clip, and the result
page (:class:`~workstation.ui.export.result_page.ExportResultPage`) says what was written and
what the trainers will do with the clips.  A problem (a bad field, a bad filter, a person's
file where the export writes) is said under the form, which stays as it was.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.core.errors import WorkstationError
from workstation.core.export import ExportResult, ExportSettings
from workstation.ui.clips.filter_bar import query_error_html
from workstation.ui.common.jobs import Job, JobsController
from workstation.ui.export.form import ExportForm, selection_query
from workstation.ui.export.result_page import ExportResultPage
from workstation.ui.session import ProjectSession

if TYPE_CHECKING:
    from workstation.core.progress import Progress

log = logging.getLogger(__name__)

REFRESH_PAUSE_MS = 250  # the count and the folder warning follow typing after this pause
_WARN_STYLE = "color:#b07000;"
_ERROR_STYLE = "color:#e05050;"


class ExportDialog(QDialog):
    """Settings page, then (after a finished export) the result page."""

    exported = Signal(object)  # ExportResult
    exportFailed = Signal(str)

    def __init__(
        self,
        session: ProjectSession,
        jobs: JobsController,
        parent: QWidget | None = None,
        *,
        out: str | Path | None = None,
        show_clips: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.session = session
        self.jobs = jobs
        self.job: Job | None = None
        self.export_result: ExportResult | None = None
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_PAUSE_MS)
        self._refresh_timer.timeout.connect(self.refresh)

        self.form = ExportForm()
        self.result_page = ExportResultPage(session, show_clips)
        self.result_page.backRequested.connect(self.show_form)
        self.result_page.closeRequested.connect(self.accept)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_form_page())
        self.pages.addWidget(self.result_page)
        lay = QVBoxLayout(self)
        lay.addWidget(self.pages)
        self._load(out)
        self.form.changed.connect(self._refresh_timer.start)
        self.out_edit.textChanged.connect(lambda _t: self._refresh_timer.start())
        self.refresh()
        self.resize(1040, 620)

    # -- building --------------------------------------------------------------------------
    def _build_form_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        row = QHBoxLayout()
        row.addWidget(QLabel("Export folder"))
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("a folder for the dataset (created when missing)")
        row.addWidget(self.out_edit, 1)
        self.choose_button = QPushButton("Choose…")
        self.choose_button.clicked.connect(self.choose_folder)
        row.addWidget(self.choose_button)
        lay.addLayout(row)
        self.folder_note = QLabel()
        self.folder_note.setWordWrap(True)
        self.folder_note.setStyleSheet(_WARN_STYLE)
        lay.addWidget(self.folder_note)
        columns = QHBoxLayout()
        columns.addWidget(self.form.what_box, 1)
        right = QVBoxLayout()
        right.addWidget(self.form.text_box)
        right.addWidget(self.form.video_box)
        columns.addLayout(right, 1)
        lay.addLayout(columns, 1)
        self.count_label = QLabel()
        self.count_label.setWordWrap(True)
        self.count_label.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.count_label)
        self.example_label = QLabel()
        self.example_label.setWordWrap(True)
        self.example_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.example_label)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(_ERROR_STYLE)
        self.problem_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.problem_label)
        buttons = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m clips")
        self.progress.hide()
        self.progress_label = QLabel()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.progress_label, 1)
        self.defaults_button = QPushButton("Defaults")
        self.defaults_button.setToolTip("Put every field back to its default")
        self.defaults_button.clicked.connect(lambda: self.form.set_settings(ExportSettings()))
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self._cancel_or_close)
        for b in (self.defaults_button, self.export_button, self.cancel_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        return page

    # -- remembered values -----------------------------------------------------------------
    def _load(self, out: str | Path | None) -> None:
        from workstation.core.store import EXPORT_DIALOG

        stored = self.session.project.get(EXPORT_DIALOG)
        params = stored.get("settings")
        settings = (
            ExportSettings.from_params(params) if isinstance(params, dict) else ExportSettings()
        )
        self.form.set_settings(settings)
        folder = out or stored.get("out") or self.session.root / "exports" / "dataset"
        self.out_edit.setText(str(folder))

    def _remember(self, out: Path, settings: ExportSettings) -> None:
        from workstation.core.store import EXPORT_DIALOG

        project = self.session.project
        if project.read_only:
            return
        try:
            project.put(EXPORT_DIALOG, {"out": str(out), "settings": settings.to_params()})
        except WorkstationError as exc:  # remembering is a convenience, never a blocker
            log.warning("could not remember the export settings: %s", exc)

    # -- live checks -----------------------------------------------------------------------
    def out_path(self) -> Path | None:
        text = self.out_edit.text().strip()
        if not text:
            return None
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.session.root / path

    def refresh(self) -> None:
        """The clip count (or the filter's error) and the folder's warning, as fields change."""
        self._refresh_timer.stop()
        self._show_count()
        self._show_folder_note()

    def _show_count(self) -> None:
        from workstation.core.review import QueryError, count_clips, filter_clip_ids

        query = selection_query(self.form.selection)
        project = self.session.project
        counted = count_clips(project, query)
        self.count_ok = not isinstance(counted, QueryError)
        if isinstance(counted, QueryError):
            self.count_label.setText(
                f"<span style='{_ERROR_STYLE}'>Filter: {query_error_html(counted, query)}</span>"
            )
            self.example_label.setText("")
            return
        noun = "clip" if counted == 1 else "clips"
        self.count_label.setText(f"<b>{counted:,} {noun}</b> will be exported.")
        ids = filter_clip_ids(project, query) if counted else []
        self.example_label.setText(self._example(ids[0]) if isinstance(ids, list) and ids else "")

    def _example(self, clip_id: int) -> str:
        from workstation.core.cliptext import sidecar_texts

        try:
            text_settings = self.form.settings().text_settings()
        except WorkstationError:
            return ""
        text = sidecar_texts(self.session.project, [clip_id], text_settings)[clip_id][1]
        return f"Caption of the first clip: {text or '(empty)'}"

    def _show_folder_note(self) -> None:
        from workstation.core.export.guard import unknown_files

        out = self.out_path()
        note = ""
        if out is None:
            note = "Choose a folder for the dataset."
        elif out.exists() and not out.is_dir():
            note = f"{out} is a file, not a folder."
        else:
            found = unknown_files(out, limit=50)
            if found:
                shown = ", ".join(html.escape(p.name) for p in found[:3])
                many = "50 or more files" if len(found) >= 50 else f"{len(found)} file"
                many += "s" if len(found) > 1 and len(found) < 50 else ""
                note = (
                    f"This folder holds {many} no export wrote ({shown}"
                    f"{', …' if len(found) > 3 else ''}). The export writes beside them and "
                    "stops before overwriting any of them; an empty folder is safest."
                )
        self.folder_note.setText(note)
        self.folder_note.setVisible(bool(note))

    def choose_folder(self) -> None:
        start = self.out_edit.text() or str(self.session.root)
        folder = QFileDialog.getExistingDirectory(self, "Export the dataset into", start)
        if folder:
            self.out_edit.setText(folder)

    # -- running ---------------------------------------------------------------------------
    def start_export(self) -> Job | None:
        """Check the fields, remember them, and run the export as a job (None: a problem,
        said under the form)."""
        from workstation.core.export import export_dataset

        out = self.out_path()
        self.problem_label.setText("")
        if out is None:
            self.problem_label.setText("Export folder: choose a folder for the dataset.")
            return None
        try:
            settings = self.form.settings()
        except WorkstationError as exc:
            self.problem_label.setText(str(exc))
            return None
        self._show_count()
        if not self.count_ok:
            self.problem_label.setText("Clips: the filter has an error (see above).")
            return None
        self._remember(out, settings)
        self.export_result = None
        self.job = self.jobs.run_on_project(
            f"Export dataset: {out.name}",
            lambda project: export_dataset(project, out, settings),
            on_progress=self._on_progress,
            on_done=self._on_done,
            on_error=self._on_error,
            stage_name="export",
            target=str(out)[:500],
        )
        self.job.cancelled.connect(self._on_cancelled)
        self._set_running(True)
        return self.job

    def _set_running(self, running: bool) -> None:
        self.form.setEnabled(not running)
        for w in (self.out_edit, self.choose_button, self.export_button, self.defaults_button):
            w.setEnabled(not running)
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)
        self.progress_label.setText("starting…" if running else "")
        self.cancel_button.setText("Cancel export" if running else "Close")

    def _on_progress(self, p: Progress) -> None:
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
        self.progress_label.setText(p.message if not p.item else f"{p.message}: {p.item}")

    def _on_done(self, result: object) -> None:
        self._set_running(False)
        if not isinstance(result, ExportResult):
            return
        self.export_result = result
        self.result_page.show_result(result, self.form.selection)
        self.pages.setCurrentWidget(self.result_page)
        self.exported.emit(result)

    def _on_error(self, message: str) -> None:
        self._set_running(False)
        self.problem_label.setText(message)
        self.exportFailed.emit(message)

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.problem_label.setText(
            "Export cancelled. The videos already written stay; the next export reuses them."
        )

    def _cancel_or_close(self) -> None:
        if self.job is not None and self.job.is_running:
            self.job.cancel()
            self.progress_label.setText("cancelling after this clip…")
        else:
            self.reject()

    def show_form(self) -> None:
        self.pages.setCurrentIndex(0)
        self.refresh()
