"""The main window: projects, the video list, the Cut view, and the jobs and log docks.

It owns the open :class:`ProjectSession`, the :class:`JobsController` and, while a project is
open, the one :class:`~workstation.ui.common.thumb_loader.ThumbLoader` its views share; views get
what they use.  Long work (adding videos, detection, slicing) always runs as a job; the window
only reacts to the results on the main thread, after checking they belong to the project still
open.

The window holds its parts rather than inheriting them: ``self.opening``
(:class:`~workstation.ui.project_opening.ProjectOpener`: New/Open dialogs, recent projects, the
welcome page, opening after the first paint) and ``self.menus``
(:class:`~workstation.ui.menus.WindowMenus`: the menus, their actions, adding videos, detect and
slice jobs; Edit, Help, the toolbar).  This module builds the window, attaches a project to its
views and detaches it, and keeps the window's settings (layout, splitter sizes, theme).  While a
read-only project is open every action that would change it is disabled (``edit_lock``), not
only refused when used.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QEventLoop, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QPaintEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.core import settings as app_settings
from workstation.core.errors import WorkstationError
from workstation.core.store import LAST_VIDEO, DamagedProjectError
from workstation.ui.common.jobs import Job, JobsController
from workstation.ui.common.jobs_panel import JobsPanel
from workstation.ui.common.log_panel import LogPanel
from workstation.ui.cut.video_list import VideoList
from workstation.ui.hydrus.hooks import HydrusHooks
from workstation.ui.menus import WindowMenus
from workstation.ui.project_opening import (
    APP_TITLE,
    PlayerPage,
    ProjectOpener,
    WelcomePage,
    unfit_for_new,
)
from workstation.ui.session import ProjectSession
from workstation.ui.window_layout import DockPerTab, restore_splitters, save_splitters
from workstation.ui.wording import counted

if TYPE_CHECKING:
    from workstation.ui.common.thumb_loader import ThumbLoader
    from workstation.ui.cut.player import PlayerWidget
    from workstation.ui.cut.view import CutView
    from workstation.ui.train.view import TrainView

log = logging.getLogger(__name__)

READ_ONLY_BANNER = "This project is read-only: you can look and export, not edit."

# The pages and the title moved with the project handling; they stay importable from here.
__all__ = ["APP_TITLE", "MainWindow", "PlayerPage", "WelcomePage"]


def _holder() -> tuple[QWidget, QVBoxLayout]:
    """A tab's page that a view is put into once a project is open."""
    holder = QWidget()
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    return holder, layout


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
        self.thumbs: ThumbLoader | None = None  # the open project's, shared by its views
        self.cut_view: CutView | PlayerPage | None = None
        self.clips_view: QWidget | None = None
        self.train_view: TrainView | None = None
        self.jobs = JobsController(None, self)
        self.setWindowTitle(APP_TITLE)
        self.resize(1280, 800)

        # centre: welcome page or the views
        self.tabs = QTabWidget()
        self.cut_holder, self.cut_holder_layout = _holder()
        self.tabs.addTab(self.cut_holder, "Cut")
        self.clips_holder, self.clips_holder_layout = _holder()
        self.clips_tab = self.tabs.addTab(self.clips_holder, "Clips")
        self.train_holder, self.train_holder_layout = _holder()
        self.train_tab = self.tabs.addTab(self.train_holder, "Train")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._painted = False
        self._last_error: str | None = None
        self.center = QStackedWidget()
        self.opening = ProjectOpener(
            self, self.settings, self.center, self.open_project, lambda: self._last_error
        )
        self.opening.openFailed.connect(self.projectOpenFailed)
        self.firstPainted.connect(self.opening.window_shown)
        self.center.addWidget(self.tabs)
        # A strip above everything while a read-only project is open.
        self.read_only_banner = QLabel(READ_ONLY_BANNER)
        self.read_only_banner.setObjectName("readOnlyBanner")
        self.read_only_banner.setStyleSheet(
            "QLabel#readOnlyBanner { background: #fff3cd; color: #664d03; padding: 6px; }"
        )
        self.read_only_banner.setWordWrap(True)
        self.read_only_banner.hide()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.read_only_banner)
        central_layout.addWidget(self.center, 1)
        self.setCentralWidget(central)

        # docks
        self.video_list = VideoList()
        self.video_list.setMinimumWidth(220)
        self.video_list.currentVideoChanged.connect(self.show_video)
        self.videos_dock = self._dock(
            "Videos", self.video_list, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.jobs_panel = JobsPanel(self.jobs)
        self.jobs_dock = self._dock("Jobs", self.jobs_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.log_panel = LogPanel(loggers=("workstation", "mpv"))
        self.log_dock = self._dock("Log", self.log_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.jobs_dock, self.log_dock)
        self.jobs_dock.raise_()
        # A quarter of the window at most: the views need the width more than the names.
        width = max(260, min(380, self.width() // 4))
        self.resizeDocks([self.videos_dock], [width], Qt.Orientation.Horizontal)
        self.videos_on_cut = DockPerTab(self.videos_dock, 0, self)
        self.tabs.currentChanged.connect(self.videos_on_cut.tab_changed)
        self.resizeDocks([self.jobs_dock], [140], Qt.Orientation.Vertical)
        self.jobs.jobAdded.connect(lambda _job: self.jobs_dock.raise_())
        self.jobs.jobFinished.connect(self._on_job_finished)

        self.menus = WindowMenus(
            self,
            self.jobs,
            self.video_list,
            self.opening,
            close_project=self.close_project,
            docks=(self.videos_dock, self.jobs_dock, self.log_dock),
            log_dock=self.log_dock,
            current_view=self.current_view,
            set_theme=self.set_theme,
            theme=self.settings.theme,
        )
        # Every action that changes the project, off while a read-only one is open (a disabled
        # group keeps its actions disabled whatever their owners set).
        self.edit_lock = QActionGroup(self)
        self.edit_lock.setExclusionPolicy(QActionGroup.ExclusionPolicy.None_)
        self._lock(self.menus.editing_actions())
        self.hydrus = HydrusHooks(self)  # Hydrus menu, status indicator, open in Hydrus (issue 16)
        self._lock(self.hydrus.writing_actions())  # a sync or a new link writes the project
        self.video_list.selectionChanged.connect(self.menus.update_actions)
        self.setAcceptDrops(True)  # drop video files or folders to add them
        self._restore_window_state()
        self.opening.show_welcome()
        self.menus.update_actions()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")  # needed by saveState/restoreState
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # -- properties for callers and tests --------------------------------------------------
    @property
    def player(self) -> PlayerWidget | None:
        """The PlayerWidget of the Cut view (or of the stand-in page)."""
        return self.cut_view.player if self.cut_view is not None else None

    def current_view(self) -> QWidget | None:
        """The view of the tab shown (None on Train or with no project)."""
        index = self.tabs.currentIndex()
        return self.cut_view if index == 0 else self.clips_view if index == self.clips_tab else None

    def _lock(self, actions: list[QAction]) -> None:
        for action in actions:
            self.edit_lock.addAction(action)

    # -- projects --------------------------------------------------------------------------
    def open_project(self, path: str | Path, *, create: bool = False) -> bool:
        """Open (or create) a project, then close the one open before.  False on failure, and
        the project open before stays open.  ``create`` makes a project only in a missing or
        empty folder, never in one with files in it."""
        problem = unfit_for_new(path) if create else None
        if problem is not None:
            self._warn("Cannot create the project", problem)
            return False
        session = self._open_session(path, create=create)
        if session is None:
            return False
        if not self.close_project():
            session.close()
            return False
        self._attach(session)
        return True

    def _open_session(self, path: str | Path, *, create: bool) -> ProjectSession | None:
        """The project at ``path`` opened (a damaged one offered to recover); None: a message."""
        try:
            return ProjectSession(path, self, create=create)
        except DamagedProjectError as exc:
            if self.interactive and self.opening.offer_recovery(exc):
                return self._open_session(path, create=False)
            self._warn("Cannot open project", str(exc), dialog=False)
        except (WorkstationError, OSError) as exc:
            self._warn("Cannot open project", str(exc))
        except Exception as exc:  # e.g. a damaged database file
            message = f"{path}: cannot open the project ({type(exc).__name__}: {exc})"
            self._warn("Cannot open project", message)
        return None

    def _attach(self, session: ProjectSession) -> None:
        """Show a freshly opened project in the views."""
        from workstation.ui.common.thumb_loader import ThumbLoader

        self.session = self.jobs.session = self.menus.session = session
        session.videosChanged.connect(self.video_list.reload)
        session.videosChanged.connect(self.menus.update_actions)
        session.cutsChanged.connect(self.video_list.model.refresh_video)
        session.clipsChanged.connect(self.video_list.reload)
        self.thumbs = ThumbLoader(session.project.cache_dir, self)
        self.cut_view = self.menus.cut_view = self._make_cut_view(session, self.thumbs)
        self.cut_holder_layout.addWidget(self.cut_view)
        restore_splitters("cut", self.cut_view, self.settings.splitter_states)
        self.video_list.set_project(session.project)
        self.center.setCurrentWidget(self.tabs)
        self.setWindowTitle(f"{session.name} — {APP_TITLE}")
        self._show_read_only(session.project.read_only_reason)
        self.settings.add_recent(session.root)
        self._save_settings()
        log.info("opened project %s (%d videos)", session.root, len(self.video_list.model.rows))
        last = session.project.get(LAST_VIDEO)
        if last is None or not self.video_list.select_video(last):
            self.video_list.select_first()
        self.menus.update_actions()
        self.projectOpened.emit(session)

    def open_when_shown(self, path: str | Path, *, create: bool = False) -> None:
        """Open a project right after the window's first paint (see :class:`ProjectOpener`)."""
        self.opening.open_when_shown(path, create=create)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.firstPainted.emit()

    def _make_cut_view(self, session: ProjectSession, thumbs: ThumbLoader) -> CutView | PlayerPage:
        try:
            from workstation.ui.cut.view import CutView
        except ImportError as exc:
            log.warning("Cut view not available (%s); showing the player only", exc)
            return PlayerPage(session)
        view = CutView(session, self.jobs, self.cut_holder, loader=thumbs)
        view.selected_videos = self.video_list.selected_video_ids  # Detect, Slice act on these
        view.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self._lock(self.menus.adopt_cut_view(view))
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
                f"{counted(len(running), 'job')} still running. Cancel and close the project?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.jobs.shutdown()
        thumbs, self.thumbs = self.thumbs, None
        if thumbs is not None:
            # Its views are going (their lambdas stay connected until the loader goes too):
            # thumbnails still on their way must reach none of them.
            thumbs.blockSignals(True)
        self._drop_views()
        self.tabs.setCurrentIndex(0)
        # Views may have deferred work queued (zero-timers that read the project): let it run
        # while the database is still open.  User input waits, so nothing new starts.
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        self.video_list.set_project(None)
        self.session = self.jobs.session = self.menus.session = None
        session.close()
        if thumbs is not None:
            thumbs.shutdown()
            thumbs.deleteLater()
        self.setWindowTitle(APP_TITLE)
        self._show_read_only(None)
        self.opening.show_welcome()
        self.menus.update_actions()
        self.projectClosed.emit()
        return True

    def _drop_views(self) -> None:
        """Take the project's views out of their tabs (players unloaded, edits written)."""
        self._remember_splitters()
        if self.train_view is not None:
            self.train_view.shutdown()
            self.train_holder_layout.removeWidget(self.train_view)
            self.train_view.deleteLater()
            self.train_view = None
        if self.cut_view is not None:
            flush = getattr(self.cut_view, "flush", None)
            if flush is not None:
                flush()
            self.cut_view.player.unload()
            self.cut_holder_layout.removeWidget(self.cut_view)
            self.cut_view.deleteLater()
            self.cut_view = self.menus.cut_view = None
        if self.clips_view is not None:
            player = getattr(self.clips_view, "player", None)
            if player is not None:
                player.unload()
            self.clips_holder_layout.removeWidget(self.clips_view)
            self.clips_view.deleteLater()
            self.clips_view = None

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

    def ensure_train_view(self) -> TrainView | None:
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
            view = self.clips_view = ClipsView(
                self.session, self.jobs, self.clips_holder, loader=self.thumbs
            )
            restore_splitters("clips", view, self.settings.splitter_states)
            self.hydrus.adopt_clips_view(view)
            self._lock([*view.binder.editing_actions(), *view.autotag.actions.values()])
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
        if not self.session.project.read_only:
            self.session.project.put(LAST_VIDEO, video_id)
        self.videoShown.emit(video_id)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.session is not None and event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths and self.session is not None:
            event.acceptProposedAction()
            self.menus.add_videos(paths)

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
        stored.splitter_states = dict(self.settings.splitter_states)
        stored.theme = self.settings.theme

    def _remember_splitters(self) -> None:
        """The sizes the person gave the views' splitters, for the next time they are built."""
        states = self.settings.splitter_states
        save_splitters("cut", self.cut_view, states)
        save_splitters("clips", self.clips_view, states)

    def set_theme(self, theme: str) -> None:
        """Light, dark or the system's (``system``); remembered."""
        from workstation.ui.app import apply_style

        self.settings.theme = theme
        apply_style(QApplication.instance(), theme)
        self.menus.refresh_icons()
        self._save_settings()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.menus.refresh_icons()  # they are painted in the palette's text colour
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.close_project():
            event.ignore()
            return
        self.videos_on_cut.restore_for_saving()
        self.settings.window_geometry = base64.b64encode(self.saveGeometry().data()).decode()
        self.settings.window_state = base64.b64encode(self.saveState().data()).decode()
        self._save_settings()
        self.log_panel.detach()
        super().closeEvent(event)

    def _warn(self, title: str, message: str, *, dialog: bool = True) -> None:
        log.error("%s", message)
        self._last_error = message
        self.statusBar().showMessage(message, 15000)
        if self.interactive and dialog:
            QMessageBox.warning(self, title, message)

    def _show_read_only(self, reason: str | None) -> None:
        """The read-only banner: shown (with the reason) while a read-only project is open."""
        self.read_only_banner.setVisible(reason is not None)
        self.edit_lock.setEnabled(reason is None)
        if reason is not None:
            self.read_only_banner.setToolTip(f"Why: {reason}")
            log.warning("%s is read-only (%s)", self.session.root if self.session else "", reason)

    def show_status(self, text: str, ms: int = 5000) -> None:
        QTimer.singleShot(0, lambda: self.statusBar().showMessage(text, ms))
