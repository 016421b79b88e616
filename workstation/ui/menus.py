"""The main window's menus and the actions behind them: adding videos (dialogs, drops),
the video actions (detect, slice, remove, re-link: :mod:`workstation.ui.cut.video_actions`),
the Models dialog, and which actions are enabled.

:class:`WindowMenus` is one part the window holds.  It gets what it works with explicitly: the
window as a plain ``QMainWindow`` (its menu bar, status bar, dialogs' parent), the jobs
controller, the video list, the :class:`~workstation.ui.project_opening.ProjectOpener` behind
New/Open/recent, and the docks; the window sets :attr:`WindowMenus.session` and
:attr:`WindowMenus.cut_view` as projects open and close (as it does ``JobsController.session``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QWidget

from workstation.ui.common.jobs import Job, JobsController
from workstation.ui.cut.video_actions import VideoActions
from workstation.ui.cut.video_list import VideoList
from workstation.ui.project_opening import ProjectOpener
from workstation.ui.session import ProjectSession

if TYPE_CHECKING:
    from workstation.core.store import Project
    from workstation.ui.clips.models_dialog import ModelsDialog

# The window's messages keep one logger name in the Log panel, whichever module sends them.
log = logging.getLogger("workstation.ui.main_window")


class WindowMenus(QObject):
    """Menus and the video actions of the main window."""

    def __init__(
        self,
        window: QMainWindow,
        jobs: JobsController,
        video_list: VideoList,
        opener: ProjectOpener,
        *,
        close_project: Callable[[], bool],
        docks: Sequence[QDockWidget],
        log_dock: QDockWidget,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.jobs = jobs
        self.video_list = video_list
        self.log_dock = log_dock  # raised when added files were refused
        self.session: ProjectSession | None = None
        self.cut_view: QWidget | None = None
        self._models_dialog: ModelsDialog | None = None
        self._build(opener, close_project, docks)

    def _status(self, text: str, ms: int) -> None:
        self.window.statusBar().showMessage(text, ms)

    # -- building --------------------------------------------------------------------------
    def _build(
        self,
        opener: ProjectOpener,
        close_project: Callable[[], bool],
        docks: Sequence[QDockWidget],
    ) -> None:
        bar = self.window.menuBar()
        file = bar.addMenu("&File")
        self.new_action = file.addAction("&New project…", opener.new_project_dialog)
        self.new_action.setShortcut(QKeySequence.StandardKey.New)
        self.open_action = file.addAction("&Open project…", opener.open_project_dialog)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(lambda: opener.fill_recent_menu(self.recent_menu))
        file.addSeparator()
        self.add_videos_action = file.addAction("&Add videos…", self.add_videos_dialog)
        self.add_videos_action.setShortcut(QKeySequence("Ctrl+I"))
        self.add_folder_action = file.addAction("Add a &folder of videos…", self.add_folder_dialog)
        file.addSeparator()
        self.close_action = file.addAction("&Close project", close_project)
        self.quit_action = file.addAction("&Quit", self.window.close)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)

        videos = bar.addMenu("&Videos")
        self.video_actions = VideoActions(
            self.window,
            self.video_list,
            self.jobs,
            lambda: self.session,
            lambda: self.cut_view,
            lambda text: self._status(text, 10000),
        )
        self.video_actions.add_to(videos)
        self.detect_action, self.slice_action = self.video_actions.detect, self.video_actions.slice
        self.video_list.context_actions = self.video_actions.context_actions
        self.detect_settings_action = videos.addAction(
            "Detection se&ttings…", self.edit_detection_settings
        )
        self.detect_settings_action.setToolTip("Which detector Detect cuts runs, and its settings")
        self.models_action = videos.addAction("Auto-tagging &models…", self.open_models)
        self.models_action.setToolTip("Tagger and captioner models on this machine; device")

        view = bar.addMenu("V&iew")
        for dock in docks:
            view.addAction(dock.toggleViewAction())

    def edit_detection_settings(self) -> bool:
        """The app-wide detector choice (the same dialog as the Cut view's toolbar)."""
        from workstation.ui.cut.detect_settings import ask_detection_settings

        said = ask_detection_settings(self.window)
        if said is None:
            return False
        self._status(said, 8000)
        return True

    def open_models(self) -> ModelsDialog | None:
        """The Models dialog of the open project (None, with a message, when none is open)."""
        if self.session is None:
            self._status("Open a project first: models are chosen per project", 8000)
            return None
        from workstation.ui.clips.models_dialog import ModelsDialog

        dialog = self._models_dialog
        if dialog is None or dialog.session is not self.session:
            dialog = self._models_dialog = ModelsDialog(self.session, self.jobs, self.window)
        dialog.refresh()
        dialog.show()
        dialog.raise_()
        return dialog

    def update_actions(self) -> None:
        has_project = self.session is not None
        for a in (self.add_videos_action, self.add_folder_action, self.close_action):
            a.setEnabled(has_project)
        self.video_actions.update_enabled()

    # -- videos ----------------------------------------------------------------------------
    def add_videos_dialog(self) -> None:
        from workstation.core.media import VIDEO_EXTENSIONS

        patterns = " ".join(f"*{ext}" for ext in sorted(VIDEO_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(
            self.window, "Add videos", "", f"Videos ({patterns});;All files (*)"
        )
        if files:
            self.add_videos(files)

    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Add every video in a folder")
        if folder:
            self.add_videos([folder])

    def add_videos(self, paths: Sequence[str | Path]) -> Job | None:
        """Probe and add files/folders as a job; bad files are reported, the rest added."""
        session = self.session
        if session is None:
            return None
        names = [str(p) for p in paths]

        def stage(project: Project) -> Any:
            from workstation.core.ingest import add_paths

            return add_paths(project, [*names])

        def done(result: Any) -> None:
            errors = list(getattr(result, "errors", []))
            for error in errors:
                log.warning("not added: %s", error)
            added = len(getattr(result, "added", []))
            text = f"Added {added} video(s)."
            if errors:
                text += f" {len(errors)} file(s) could not be added: see the Log."
                self.log_dock.raise_()
            self._status(text, 15000)
            if session is self.session:
                session.videosChanged.emit()
                if self.video_list.current_video_id() is None:
                    self.video_list.select_first()

        title = f"Add videos: {Path(names[0]).name}" + (
            f" +{len(names) - 1}" if len(names) > 1 else ""
        )
        return self.jobs.run_on_project(
            title, stage, on_done=done, stage_name="add", target=";".join(names)[:500]
        )
