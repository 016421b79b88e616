"""The main window's menus and the actions behind them: adding videos (dialogs, drops),
detecting and slicing the selected videos as jobs, the Models dialog, and which actions are
enabled.

A mixin of :class:`~workstation.ui.main_window.MainWindow`; the project and recent-projects
handling is in :mod:`workstation.ui.project_opening`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QWidget

from workstation.ui.common.jobs import Job

# The window's messages keep one logger name in the Log panel, whichever module sends them.
log = logging.getLogger("workstation.ui.main_window")


class WindowMenus:
    """Docks, menus and the video actions of the main window."""

    # -- building --------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")  # needed by saveState/restoreState
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.new_action = file.addAction("&New project…", self.new_project_dialog)
        self.new_action.setShortcut(QKeySequence.StandardKey.New)
        self.open_action = file.addAction("&Open project…", self.open_project_dialog)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file.addSeparator()
        self.add_videos_action = file.addAction("&Add videos…", self.add_videos_dialog)
        self.add_videos_action.setShortcut(QKeySequence("Ctrl+I"))
        self.add_folder_action = file.addAction("Add a &folder of videos…", self.add_folder_dialog)
        file.addSeparator()
        self.close_action = file.addAction("&Close project", self.close_project)
        self.quit_action = file.addAction("&Quit", self.close)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)

        videos = bar.addMenu("&Videos")
        self.detect_action = videos.addAction("&Detect cuts", self.detect_selected)
        self.detect_action.setToolTip("Find the cuts of the selected videos (a job per video)")
        self.detect_settings_action = videos.addAction(
            "Detection se&ttings…", self.edit_detection_settings
        )
        self.detect_settings_action.setToolTip("Which detector Detect cuts runs, and its settings")
        self.slice_action = videos.addAction("&Slice kept segments", self.slice_selected)
        self.slice_action.setToolTip("Write a clip per kept segment of the selected videos")
        self.video_list.context_actions = [self.detect_action, self.slice_action]
        self.models_action = videos.addAction("Auto-tagging &models…", self.open_models)
        self.models_action.setToolTip("Tagger and captioner models on this machine; device")

        view = bar.addMenu("V&iew")
        for dock in (self.videos_dock, self.jobs_dock, self.log_dock):
            view.addAction(dock.toggleViewAction())

    def edit_detection_settings(self) -> bool:
        """The app-wide detector choice (the same dialog as the Cut view's toolbar)."""
        from workstation.ui.cut.detect_settings import ask_detection_settings

        said = ask_detection_settings(self)
        if said is None:
            return False
        self.statusBar().showMessage(said, 8000)
        return True

    def open_models(self):
        """The Models dialog of the open project (None, with a message, when none is open)."""
        if self.session is None:
            self.statusBar().showMessage(
                "Open a project first: models are chosen per project", 8000
            )
            return None
        from workstation.ui.clips.models_dialog import ModelsDialog

        dialog = getattr(self, "_models_dialog", None)
        if dialog is None or dialog.session is not self.session:
            dialog = self._models_dialog = ModelsDialog(self.session, self.jobs, self)
        dialog.refresh()
        dialog.show()
        dialog.raise_()
        return dialog

    def _update_actions(self) -> None:
        has_project = self.session is not None
        has_selection = has_project and bool(self.video_list.selected_video_ids())
        for a in (self.add_videos_action, self.add_folder_action, self.close_action):
            a.setEnabled(has_project)
        for a in (self.detect_action, self.slice_action):
            a.setEnabled(has_selection)

    # -- videos ----------------------------------------------------------------------------
    def add_videos_dialog(self) -> None:
        from workstation.core.media import VIDEO_EXTENSIONS

        patterns = " ".join(f"*{ext}" for ext in sorted(VIDEO_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add videos", "", f"Videos ({patterns});;All files (*)"
        )
        if files:
            self.add_videos(files)

    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add every video in a folder")
        if folder:
            self.add_videos([folder])

    def add_videos(self, paths: list[str | Path]) -> Job | None:
        """Probe and add files/folders as a job; bad files are reported, the rest added."""
        session = self.session
        if session is None:
            return None
        paths = [str(p) for p in paths]

        def stage(project):
            from workstation.core.ingest import add_paths

            return add_paths(project, paths)

        def done(result) -> None:
            errors = list(getattr(result, "errors", []))
            for error in errors:
                log.warning("not added: %s", error)
            added = len(getattr(result, "added", []))
            text = f"Added {added} video(s)."
            if errors:
                text += f" {len(errors)} file(s) could not be added: see the Log."
                self.log_dock.raise_()
            self.statusBar().showMessage(text, 15000)
            if session is self.session:
                session.videosChanged.emit()
                if self.video_list.current_video_id() is None:
                    self.video_list.select_first()

        title = f"Add videos: {Path(paths[0]).name}" + (
            f" +{len(paths) - 1}" if len(paths) > 1 else ""
        )
        return self.jobs.run_on_project(
            title, stage, on_done=done, stage_name="add", target=";".join(paths)[:500]
        )

    def detect_selected(self) -> list[Job]:
        """Detect cuts of the selected videos, one job each (the Cut view's own for its video)."""
        session = self.session
        if session is None:
            return []
        jobs = []
        for vid in self.video_list.selected_video_ids():
            if (
                self.cut_view is not None
                and getattr(self.cut_view, "video_id", None) == vid
                and hasattr(self.cut_view, "detect")
            ):
                job = self.cut_view.detect()
                if job is not None:
                    jobs.append(job)
                continue
            name = session.project.video(vid).name

            def stage(project, vid=vid):
                from workstation.ui.cut.view import detection_stage

                return detection_stage(project, vid)

            def done(_result, vid=vid) -> None:
                if session is self.session:
                    session.cutsChanged.emit(vid)
                    self.video_list.model.refresh_video(vid)

            jobs.append(
                self.jobs.run_on_project(
                    f"Detect cuts: {name}", stage, on_done=done, stage_name="detect", target=name
                )
            )
        return jobs

    def slice_selected(self) -> list[Job]:
        """Slice the kept segments of the selected videos into clips, one job each."""
        session = self.session
        if session is None:
            return []
        flush = getattr(self.cut_view, "flush", None)
        if flush is not None:
            flush()
        jobs = []
        for vid in self.video_list.selected_video_ids():
            name = session.project.video(vid).name

            def stage(project, vid=vid):
                from workstation.core.slicing import split_video

                return split_video(project, vid)

            def done(_result, vid=vid) -> None:
                if session is self.session:
                    session.clipsChanged.emit()
                    self.video_list.model.refresh_video(vid)

            jobs.append(
                self.jobs.run_on_project(
                    f"Slice: {name}", stage, on_done=done, stage_name="slice", target=name
                )
            )
        return jobs

    def dragEnterEvent(self, event) -> None:
        if self.session is not None and event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths and self.session is not None:
            event.acceptProposedAction()
            self.add_videos(paths)

    def _on_job_finished(self, job: Job) -> None:
        if job.state == "failed":
            self.statusBar().showMessage(f"{job.title} failed: {job.error}", 15000)
        elif job.state == "done":
            self.statusBar().showMessage(f"{job.title}: done", 5000)
