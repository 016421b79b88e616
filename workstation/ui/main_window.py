"""The main window: projects, the video list, the Cut view, and the jobs and log docks.

It owns the open :class:`ProjectSession` and the :class:`JobsController`; views get both.  Long
work (adding videos, detection, slicing) always runs as a job; the window only reacts to the
results on the main thread, after checking they belong to the project still open.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication, QEventLoop, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.core import settings as app_settings
from workstation.core.errors import WorkstationError
from workstation.ui.jobs import Job, JobsController, JobsPanel
from workstation.ui.log_panel import LogPanel
from workstation.ui.session import ProjectSession
from workstation.ui.video_list import VideoList

log = logging.getLogger(__name__)

APP_TITLE = "Motion Dataset Workstation"
LAST_VIDEO_KEY = "ui.last_video"


class PlayerPage(QWidget):
    """Stand-in for the Cut view when it cannot be loaded: the player and its controls."""

    def __init__(self, session: ProjectSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from workstation.ui.player import PlayerControls, PlayerWidget

        self.session = session
        self.video_id: int | None = None
        self.player = PlayerWidget(self)
        self.controls = PlayerControls(self.player, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.player, 1)
        layout.addWidget(self.controls)

    def show_video(self, video_id: int) -> None:
        video = self.session.project.video(video_id)
        self.video_id = video_id
        self.player.load(
            video.path,
            fps=video.fps,
            frame_count=video.frame_count,
            index=self.session.project.frame_index(video_id),
        )


class WelcomePage(QWidget):
    """What an empty window shows: the ways to get started."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        title = QLabel(f"<h2>{APP_TITLE}</h2>")
        text = QLabel(
            "Open a project folder or create one, then add your videos.<br>"
            "The workstation finds the cuts, lets you review them and slices the kept "
            "shots into training clips."
        )
        text.setWordWrap(True)
        text.setFixedWidth(460)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        new = QPushButton("New project…")
        new.clicked.connect(window.new_project_dialog)
        open_ = QPushButton("Open project…")
        open_.clicked.connect(window.open_project_dialog)
        self.recent = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (title, text, new, open_):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(self.recent)
        layout.addStretch(2)


class MainWindow(QMainWindow):
    projectOpened = Signal(object)  # ProjectSession
    projectClosed = Signal()
    videoShown = Signal(int)
    firstPainted = Signal()
    projectOpenFailed = Signal(str)  # the message (also in the log)

    def __init__(
        self,
        settings: app_settings.AppSettings | None = None,
        *,
        persist: bool = True,
        interactive: bool = True,
    ):
        super().__init__()
        self.interactive = interactive  # False: problems go to the log, never to a dialog
        self.settings = settings if settings is not None else app_settings.load()
        self.persist = persist  # False in smoke mode: don't touch the user's settings
        self.session: ProjectSession | None = None
        self.cut_view: QWidget | None = None
        self.jobs = JobsController(None, self)
        self.setWindowTitle(APP_TITLE)
        self.resize(1280, 800)

        # centre: welcome page or the views
        self.tabs = QTabWidget()
        self.cut_holder = QWidget()
        self.cut_holder_layout = QVBoxLayout(self.cut_holder)
        self.cut_holder_layout.setContentsMargins(0, 0, 0, 0)
        self.tabs.addTab(self.cut_holder, "Cut")
        self.clips_view: QWidget | None = None
        self.clips_holder = QWidget()
        self.clips_holder_layout = QVBoxLayout(self.clips_holder)
        self.clips_holder_layout.setContentsMargins(0, 0, 0, 0)
        self.clips_tab = self.tabs.addTab(self.clips_holder, "Clips")
        self.train_view: QWidget | None = None
        self.train_holder = QWidget()
        self.train_holder_layout = QVBoxLayout(self.train_holder)
        self.train_holder_layout.setContentsMargins(0, 0, 0, 0)
        self.train_tab = self.tabs.addTab(self.train_holder, "Train")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.welcome = WelcomePage(self)
        self.opening = QLabel()
        self.opening.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._painted = False
        self._last_error: str | None = None
        self._pending_open: tuple[Path, bool] | None = None
        self.center = QStackedWidget()
        self.center.addWidget(self.welcome)
        self.center.addWidget(self.opening)
        self.center.addWidget(self.tabs)
        self.setCentralWidget(self.center)

        # docks
        self.video_list = VideoList()
        self.video_list.setMinimumWidth(340)
        self.video_list.currentVideoChanged.connect(self.show_video)
        self.video_list.selectionChanged.connect(self._update_actions)
        self.videos_dock = self._dock(
            "Videos", self.video_list, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.jobs_panel = JobsPanel(self.jobs)
        self.jobs_dock = self._dock("Jobs", self.jobs_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.log_panel = LogPanel(loggers=("workstation", "mpv"))
        self.log_dock = self._dock("Log", self.log_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.jobs_dock, self.log_dock)
        self.jobs_dock.raise_()
        self.resizeDocks([self.videos_dock], [470], Qt.Orientation.Horizontal)
        self.resizeDocks([self.jobs_dock], [140], Qt.Orientation.Vertical)
        self.jobs.jobAdded.connect(lambda _job: self.jobs_dock.raise_())
        self.jobs.jobFinished.connect(self._on_job_finished)

        self._build_menus()
        self.setAcceptDrops(True)  # drop video files or folders to add them
        self._restore_window_state()
        self._show_welcome()
        self._update_actions()

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
        self.add_videos_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.add_folder_action = file.addAction("Add a &folder of videos…", self.add_folder_dialog)
        file.addSeparator()
        self.close_action = file.addAction("&Close project", self.close_project)
        self.quit_action = file.addAction("&Quit", self.close)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)

        videos = bar.addMenu("&Videos")
        self.detect_action = videos.addAction("&Detect cuts", self.detect_selected)
        self.detect_action.setToolTip("Find the cuts of the selected videos (a job per video)")
        self.slice_action = videos.addAction("&Slice kept segments", self.slice_selected)
        self.slice_action.setToolTip("Write a clip per kept segment of the selected videos")
        self.video_list.context_actions = [self.detect_action, self.slice_action]
        self.models_action = videos.addAction("Auto-tagging &models…", self.open_models)
        self.models_action.setToolTip("Tagger and captioner models on this machine; device")

        view = bar.addMenu("V&iew")
        for dock in (self.videos_dock, self.jobs_dock, self.log_dock):
            view.addAction(dock.toggleViewAction())

    def open_models(self):
        """The Models dialog of the open project (None, with a message, when none is open)."""
        if self.session is None:
            self.statusBar().showMessage("Open a project first: models are chosen per project",
                                         8000)
            return None
        from workstation.ui.models_view import ModelsDialog

        dialog = getattr(self, "_models_dialog", None)
        if dialog is None or dialog.session is not self.session:
            dialog = self._models_dialog = ModelsDialog(self.session, self.jobs, self)
        dialog.refresh()
        dialog.show()
        dialog.raise_()
        return dialog

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.settings.recent_projects if Path(p).exists()]
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_project(p))

    def _update_actions(self) -> None:
        has_project = self.session is not None
        has_selection = has_project and bool(self.video_list.selected_video_ids())
        for a in (self.add_videos_action, self.add_folder_action, self.close_action):
            a.setEnabled(has_project)
        for a in (self.detect_action, self.slice_action):
            a.setEnabled(has_selection)

    def _show_welcome(self) -> None:
        layout = self.welcome.recent
        while layout.count():
            item = layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for path in [p for p in self.settings.recent_projects if Path(p).exists()][:5]:
            button = QPushButton(f"Open {path}")
            button.setFlat(True)
            button.clicked.connect(lambda _c=False, p=path: self.open_project(p))
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.center.setCurrentWidget(self.welcome)

    # -- properties for callers and tests --------------------------------------------------
    @property
    def player(self):
        """The PlayerWidget of the Cut view (or of the stand-in page)."""
        return getattr(self.cut_view, "player", None)

    # -- views -----------------------------------------------------------------------------
    def _on_tab_changed(self, index: int) -> None:
        """Pause the player of the view left behind; build the Clips view on first visit."""
        for tab, view in ((0, self.cut_view), (self.clips_tab, self.clips_view)):
            player = getattr(view, "player", None)
            if player is not None and tab != index:
                player.pause()
        if index == self.clips_tab:
            self.ensure_clips_view()
        if index == self.train_tab:
            self.ensure_train_view()

    def ensure_train_view(self) -> QWidget | None:
        """The Train view, created when first shown (pyqtgraph loads with it)."""
        if self.train_view is not None or self.session is None:
            return self.train_view
        from workstation.ui.train_view import TrainView

        self.train_view = TrainView(self.session, self.jobs, self.train_holder)
        self.train_holder_layout.addWidget(self.train_view)
        return self.train_view

    def ensure_clips_view(self) -> QWidget | None:
        """The Clips view, created when first shown (it loads thumbnails and a player)."""
        if self.clips_view is not None or self.session is None:
            return self.clips_view
        try:
            from workstation.ui.clips_view import ClipsView
        except ImportError as exc:
            log.warning("Clips view not available (%s)", exc)
            label = QLabel("The Clips view is not available in this build.")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.clips_view = label
        else:
            self.clips_view = ClipsView(self.session, self.jobs, self.clips_holder)
        self.clips_holder_layout.addWidget(self.clips_view)
        return self.clips_view

    # -- projects --------------------------------------------------------------------------
    def new_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "New project: choose an empty folder")
        if folder:
            self.open_project(folder, create=True)

    def open_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a project folder")
        if folder:
            self.open_project(folder)

    def open_project(self, path: str | Path, *, create: bool = False) -> bool:
        """Open (or create) a project; the current one is closed first.  False on failure."""
        if not self.close_project():
            return False
        try:
            session = ProjectSession(path, self, create=create)
        except (WorkstationError, OSError) as exc:
            self._warn("Cannot open project", str(exc))
            return False
        except Exception as exc:  # e.g. a damaged database file
            message = f"{path}: cannot open the project ({type(exc).__name__}: {exc})"
            self._warn("Cannot open project", message)
            return False
        self.session = session
        self.jobs.session = session
        session.videosChanged.connect(self.video_list.reload)
        session.videosChanged.connect(self._update_actions)
        session.cutsChanged.connect(self.video_list.model.refresh_video)
        session.clipsChanged.connect(self.video_list.reload)
        self.cut_view = self._make_cut_view(session)
        self.cut_holder_layout.addWidget(self.cut_view)
        self.video_list.set_project(session.project)
        self.center.setCurrentWidget(self.tabs)
        self.setWindowTitle(f"{session.name} — {APP_TITLE}")
        self.settings.add_recent(session.root)
        self._save_settings()
        log.info("opened project %s (%d videos)", session.root, len(self.video_list.model.rows))
        last = session.project.get_setting(LAST_VIDEO_KEY)
        if not (isinstance(last, int) and self.video_list.select_video(last)):
            self.video_list.select_first()
        self._update_actions()
        self.projectOpened.emit(session)
        return True

    def open_when_shown(self, path: str | Path, *, create: bool = False) -> None:
        """Open a project right after the window's first paint, so the window shows at once
        (opening loads numpy, PyAV and the views: about a second on a slow machine)."""
        self._pending_open = (Path(path), create)
        self.opening.setText(f"Opening {path}…")
        self.center.setCurrentWidget(self.opening)
        if self._painted:
            QTimer.singleShot(0, self._open_pending)

    def _open_pending(self) -> None:
        pending, self._pending_open = self._pending_open, None
        if pending is not None and not self.open_project(pending[0], create=pending[1]):
            self._show_welcome()
            self.projectOpenFailed.emit(self._last_error or f"{pending[0]}: cannot open")

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.firstPainted.emit()
            if self._pending_open is not None:
                QTimer.singleShot(0, self._open_pending)

    def _make_cut_view(self, session: ProjectSession) -> QWidget:
        try:
            from workstation.ui.cut_view import CutView
        except ImportError as exc:
            log.warning("Cut view not available (%s); showing the player only", exc)
            return PlayerPage(session)
        view = CutView(session, self.jobs, self.cut_holder)
        message = getattr(view, "message", None)
        if message is not None:
            message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        return view

    def close_project(self) -> bool:
        """Close the open project (asks first while jobs run).  False if the person declined."""
        session = self.session
        if session is None:
            return True
        running = self.jobs.running()
        if running and self.interactive:
            answer = QMessageBox.question(
                self,
                "Jobs are running",
                f"{len(running)} job(s) are still running. Cancel them and close the project?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.jobs.shutdown()
        if self.train_view is not None:
            self.train_view.shutdown()
            self.train_holder_layout.removeWidget(self.train_view)
            self.train_view.deleteLater()
            self.train_view = None
        if self.cut_view is not None:
            flush = getattr(self.cut_view, "flush", None)
            if flush is not None:
                flush()
            player = self.player
            if player is not None:
                player.unload()
            self.cut_holder_layout.removeWidget(self.cut_view)
            self.cut_view.deleteLater()
            self.cut_view = None
        if self.clips_view is not None:
            player = getattr(self.clips_view, "player", None)
            if player is not None:
                player.unload()
            self.clips_holder_layout.removeWidget(self.clips_view)
            self.clips_view.deleteLater()
            self.clips_view = None
        self.tabs.setCurrentIndex(0)
        # Views may have deferred work queued (zero-timers that read the project): let it run
        # while the database is still open.  User input waits, so nothing new starts.
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        self.video_list.set_project(None)
        self.session = None
        self.jobs.session = None
        session.close()
        self.setWindowTitle(APP_TITLE)
        self._show_welcome()
        self._update_actions()
        self.projectClosed.emit()
        return True

    # -- videos ----------------------------------------------------------------------------
    def show_video(self, video_id: int) -> None:
        if self.session is None or self.cut_view is None:
            return
        try:
            self.cut_view.show_video(video_id)
        except Exception as exc:
            log.exception("cannot show video %s", video_id)
            self.statusBar().showMessage(f"Cannot show this video: {exc}", 10000)
            return
        self.session.project.set_setting(LAST_VIDEO_KEY, video_id)
        self.videoShown.emit(video_id)

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
                from workstation.ui.cut_view import detection_stage

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

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.session is not None and event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths and self.session is not None:
            event.acceptProposedAction()
            self.add_videos(paths)

    def _on_job_finished(self, job: Job) -> None:
        if job.state == "failed":
            self.statusBar().showMessage(f"{job.title} failed: {job.error}", 15000)
        elif job.state == "done":
            self.statusBar().showMessage(f"{job.title}: done", 5000)

    # -- settings and shutdown -------------------------------------------------------------
    def _restore_window_state(self) -> None:
        try:
            if self.settings.window_geometry:
                self.restoreGeometry(QByteArray(base64.b64decode(self.settings.window_geometry)))
            if self.settings.window_state:
                self.restoreState(QByteArray(base64.b64decode(self.settings.window_state)))
        except (ValueError, TypeError):
            log.warning("window layout in the settings is damaged; using the default layout")

    def _save_settings(self) -> None:
        if not self.persist:
            return
        try:
            app_settings.update(lambda s: self._merge_into(s))
        except OSError as exc:
            log.warning("%s: cannot save settings (%s)", app_settings.settings_path(), exc)

    def _merge_into(self, stored: app_settings.AppSettings) -> None:
        """Write what the window owns; keep what others saved meanwhile (shortcuts)."""
        stored.recent_projects = list(self.settings.recent_projects)
        stored.last_project = self.settings.last_project
        stored.window_geometry = self.settings.window_geometry
        stored.window_state = self.settings.window_state

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.close_project():
            event.ignore()
            return
        self.settings.window_geometry = base64.b64encode(bytes(self.saveGeometry())).decode()
        self.settings.window_state = base64.b64encode(bytes(self.saveState())).decode()
        self._save_settings()
        self.log_panel.detach()
        super().closeEvent(event)

    def _warn(self, title: str, message: str) -> None:
        log.error("%s", message)
        self._last_error = message
        self.statusBar().showMessage(message, 15000)
        if self.interactive:
            QMessageBox.warning(self, title, message)

    def show_status(self, text: str, ms: int = 5000) -> None:
        QTimer.singleShot(0, lambda: self.statusBar().showMessage(text, ms))
