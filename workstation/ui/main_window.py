"""The main window: projects, the video list, the Cut view, and the jobs and log docks.

It owns the open :class:`ProjectSession` and the :class:`JobsController`; views get both.  Long
work (adding videos, detection, slicing) always runs as a job; the window only reacts to the
results on the main thread, after checking they belong to the project still open.

The menus and video actions are in :mod:`workstation.ui.menus`, opening and closing
projects in :mod:`workstation.ui.project_opening`; this module builds the window and owns its
views and settings.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.core import settings as app_settings
from workstation.core.store import LAST_VIDEO
from workstation.ui.common.jobs import JobsController, JobsPanel
from workstation.ui.common.log_panel import LogPanel
from workstation.ui.cut.video_list import VideoList
from workstation.ui.menus import WindowMenus
from workstation.ui.project_opening import (
    APP_TITLE,
    PlayerPage,
    ProjectOpening,
    WelcomePage,
)
from workstation.ui.session import ProjectSession

log = logging.getLogger(__name__)

# The pages and the title moved with the project handling; they stay importable from here.
__all__ = ["APP_TITLE", "MainWindow", "PlayerPage", "WelcomePage"]


class MainWindow(ProjectOpening, WindowMenus, QMainWindow):
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
        from workstation.ui.train.view import TrainView

        self.train_view = TrainView(self.session, self.jobs, self.train_holder)
        self.train_holder_layout.addWidget(self.train_view)
        return self.train_view

    def ensure_clips_view(self) -> QWidget | None:
        """The Clips view, created when first shown (it loads thumbnails and a player)."""
        if self.clips_view is not None or self.session is None:
            return self.clips_view
        try:
            from workstation.ui.clips.view import ClipsView
        except ImportError as exc:
            log.warning("Clips view not available (%s)", exc)
            label = QLabel("The Clips view is not available in this build.")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.clips_view = label
        else:
            self.clips_view = ClipsView(self.session, self.jobs, self.clips_holder)
        self.clips_holder_layout.addWidget(self.clips_view)
        return self.clips_view

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
        self.session.project.put(LAST_VIDEO, video_id)
        self.videoShown.emit(video_id)

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
