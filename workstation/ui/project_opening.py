"""Getting a project into the main window: the New/Open dialogs, the recent projects (menu and
welcome page), and opening after the window's first paint.

:class:`ProjectOpener` is one part the window holds; it knows the app settings (the recent
list), the stack it shows its two pages in, and the window's ``open_project`` — nothing else of
the window.  A project whose database is damaged gets the same message the CLI gives and the
offer to back it up and recover it (:meth:`ProjectOpener.offer_recovery`).  A folder without a
project is never made one silently: Open on an empty folder asks "create one?", New project on a
folder with files in it offers a new folder inside it (:func:`no_project_at`,
:func:`unfit_for_new`).  Attaching the opened project to the views stays with the window.  Also
here: the stand-in page the window shows when the Cut view cannot be loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.core.errors import WorkstationError
from workstation.core.progress import drive
from workstation.core.settings import AppSettings
from workstation.core.store import DB_NAME, DamagedProjectError, recover_project
from workstation.ui.session import ProjectSession

# The window's messages keep one logger name in the Log panel, whichever module sends them.
log = logging.getLogger("workstation.ui.main_window")

APP_TITLE = "Motion Dataset Workstation"
SUBFOLDER = "workstation-project"  # offered for a new project inside a folder with files


def no_project_at(path: str | Path) -> str | None:
    """Why there is no project to open at ``path`` (a sentence), or None when there is one."""
    path = Path(path)
    if (path / DB_NAME).is_file():
        return None
    make = f"To make one, run `workstation new {path}` or use File → New project."
    if not path.exists():
        return f"{path}: no project there (the folder does not exist). {make}"
    if not path.is_dir():
        return f"{path}: not a folder, so not a project."
    return f"{path}: no project there (no {DB_NAME} in it). {make}"


def is_empty_folder(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def unfit_for_new(path: str | Path) -> str | None:
    """Why a new project cannot be made at ``path``, or None: it is missing or an empty folder."""
    path = Path(path)
    if (path / DB_NAME).exists():
        return f"{path}: already a project."
    if not path.exists() or is_empty_folder(path):
        return None
    if not path.is_dir():
        return f"{path}: not a folder."
    return (
        f"{path}: has files in it. A new project needs an empty folder (or one that does "
        "not exist yet)."
    )


class OpenProject(Protocol):
    """The window's ``open_project``: closes the open project first; False on failure."""

    def __call__(self, path: str | Path, *, create: bool = False) -> bool: ...


class PlayerPage(QWidget):
    """Stand-in for the Cut view when it cannot be loaded: the player and its controls."""

    def __init__(self, session: ProjectSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from workstation.ui.cut.player import PlayerWidget
        from workstation.ui.cut.player_controls import PlayerControls

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

    def __init__(
        self,
        new_project: Callable[[], None],
        open_project: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        title = QLabel(f"<h2>{APP_TITLE}</h2>")
        text = QLabel(
            "Open a project folder or create one, then add your videos.<br>"
            "The workstation finds the cuts, lets you review them and slices the kept "
            "shots into training clips."
        )
        text.setWordWrap(True)
        text.setFixedWidth(460)
        # An aligned item gets its size hint, not its height for this width: without this the
        # wrapped text's last line was cut off.
        text.setMinimumHeight(text.heightForWidth(460))
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        new = QPushButton("New project…")
        new.clicked.connect(new_project)
        open_ = QPushButton("Open project…")
        open_.clicked.connect(open_project)
        self.recent = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (title, text, new, open_):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(self.recent)
        layout.addStretch(2)


class ProjectOpener(QObject):
    """The ways a project gets opened: dialogs, recent projects, a deferred open.

    Its pages (the welcome page, the "Opening …" line) are added to ``center``; the window adds
    its views after them.  ``last_error`` says why the window's last open failed.
    """

    openFailed = Signal(str)  # a deferred open failed: the message (also in the log)

    def __init__(
        self,
        parent: QWidget,
        settings: AppSettings,
        center: QStackedWidget,
        open_project: OpenProject,
        last_error: Callable[[], str | None],
    ) -> None:
        super().__init__(parent)
        self._parent = parent  # of the dialogs
        self.settings = settings
        self.center = center
        self._open = open_project
        self._last_error = last_error
        self.welcome = WelcomePage(self.new_project_dialog, self.open_project_dialog, center)
        self.page = QLabel()  # "Opening …" while a deferred open waits
        self.page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._shown = False
        self._pending_open: tuple[Path, bool] | None = None
        self._before_page: QWidget | None = None
        center.addWidget(self.welcome)
        center.addWidget(self.page)

    def _recent(self) -> list[str]:
        return [p for p in self.settings.recent_projects if Path(p).exists()]

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        recent = self._recent()
        if not recent:
            menu.addAction("(none)").setEnabled(False)
        for path in recent:
            action = menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self._open(p))

    def show_welcome(self) -> None:
        """Show the welcome page, its recent projects listed afresh."""
        layout = self.welcome.recent
        while layout.count():
            item = layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget:
                widget.deleteLater()
        for path in self._recent()[:5]:
            # A long path is shortened in the middle (its name stays); the tooltip has it all.
            button_text = f"Open {path}"
            button = QPushButton()
            shown = button.fontMetrics().elidedText(button_text, Qt.TextElideMode.ElideMiddle, 460)
            button.setText(shown)
            button.setToolTip(path)
            button.setFlat(True)
            button.clicked.connect(lambda _c=False, p=path: self._open(p))
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.center.setCurrentWidget(self.welcome)

    # -- dialogs ---------------------------------------------------------------------------
    def new_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._parent, "New project: choose an empty folder"
        )
        if folder:
            self.new_project(Path(folder))

    def new_project(self, folder: Path) -> bool:
        """Make a project in ``folder`` if it is empty; an existing project is offered to open,
        a folder with files a new folder inside it.  True once a project is open."""
        if (folder / DB_NAME).exists():
            if self._ask("Already a project", f"{folder} is already a project. Open it?"):
                return self._open(folder)
            return False
        if unfit_for_new(folder) is None:
            return self._open(folder, create=True)
        name = self.ask_subfolder(folder)
        if not name:
            return False
        inner = folder / name
        problem = unfit_for_new(inner)
        if problem is not None:
            QMessageBox.warning(self._parent, "Cannot make the project there", problem)
            return False
        return self._open(inner, create=True)

    def ask_subfolder(self, folder: Path) -> str | None:
        """The name of a new folder inside ``folder`` for the project (None: cancelled)."""
        name, ok = QInputDialog.getText(
            self._parent,
            "The folder is not empty",
            f"{folder} has files in it; a project needs a folder of its own.\n"
            "Make the project in a new folder inside it, named:",
            text=SUBFOLDER,
        )
        name = name.strip()
        return name if ok and name and "/" not in name and name not in (".", "..") else None

    def open_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self._parent, "Open a project folder")
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path) -> bool:
        """Open the project in ``folder``; an empty folder is offered to become one."""
        if no_project_at(folder) is not None and is_empty_folder(folder):
            if not self._ask("No project here", f"No project at {folder}. Create one?"):
                return False
            return self._open(folder, create=True)
        return self._open(folder)

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(
            self._parent,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    # -- after the first paint -------------------------------------------------------------
    def open_when_shown(self, path: str | Path, *, create: bool = False) -> None:
        """Open a project right after the window's first paint, so the window shows at once
        (opening loads numpy, PyAV and the views: about a second on a slow machine)."""
        self._pending_open = (Path(path), create)
        self._before_page = self.center.currentWidget()
        self.page.setText(f"Opening {path}…")
        self.center.setCurrentWidget(self.page)
        if self._shown:
            QTimer.singleShot(0, self._open_pending)

    def window_shown(self) -> None:
        """The window painted for the first time: a waiting open goes ahead."""
        self._shown = True
        if self._pending_open is not None:
            QTimer.singleShot(0, self._open_pending)

    def _open_pending(self) -> None:
        pending, self._pending_open = self._pending_open, None
        if pending is not None and not self._open(pending[0], create=pending[1]):
            before = self._before_page
            if before is None or before is self.welcome or before is self.page:
                self.show_welcome()
            else:  # the project open before stays open
                self.center.setCurrentWidget(before)
            self.openFailed.emit(self._last_error() or f"{pending[0]}: cannot open")

    # -- a damaged database ----------------------------------------------------------------
    def offer_recovery(self, error: DamagedProjectError) -> bool:
        """Say what is wrong and offer the recovery; True once the project was recovered
        (the caller opens it again).  Nothing is touched unless the person says yes."""
        answer = QMessageBox.question(
            self._parent,
            "The project database is damaged",
            f"{error}\n\nBack up the damaged file and recover what can still be read?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            report = drive(recover_project(error.root))
        except (WorkstationError, OSError) as exc:
            log.error("%s", exc)
            QMessageBox.warning(self._parent, "Recovery failed", str(exc))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        log.info("%s", report.summary())
        QMessageBox.information(self._parent, "Project recovered", report.summary())
        return True
