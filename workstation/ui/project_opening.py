"""Opening and closing projects in the main window: the New/Open dialogs, the recent projects
(menu and welcome page), opening after the first paint, and the view that shows a video.

A mixin of :class:`~workstation.ui.main_window.MainWindow`, plus the two pages it shows when no
project (or no Cut view) is there.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from workstation.core.errors import WorkstationError
from workstation.core.store import LAST_VIDEO
from workstation.ui.session import ProjectSession

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

# The window's messages keep one logger name in the Log panel, whichever module sends them.
log = logging.getLogger("workstation.ui.main_window")

APP_TITLE = "Motion Dataset Workstation"


class PlayerPage(QWidget):
    """Stand-in for the Cut view when it cannot be loaded: the player and its controls."""

    def __init__(self, session: ProjectSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from workstation.ui.cut.player import PlayerControls, PlayerWidget

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


class ProjectOpening:
    """Project open/close and recent-project handling of the main window."""

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.settings.recent_projects if Path(p).exists()]
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_project(p))

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
        last = session.project.get(LAST_VIDEO)
        if last is None or not self.video_list.select_video(last):
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
            from workstation.ui.cut.view import CutView
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
