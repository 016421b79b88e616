"""The open project as the GUI sees it: one main-thread :class:`Project` plus change signals.

Views read the store through ``session.project`` on the main thread and listen to the signals
to refresh; workers never use this connection (SQLite connections belong to one thread), they
open their own ``Project(session.root)`` inside the job.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from workstation.core.store import Project


class ProjectSession(QObject):
    """The open project folder (main thread only)."""

    videosChanged = Signal()
    cutsChanged = Signal(int)  # video_id: cuts or segment keep flags changed
    clipsChanged = Signal()
    closed = Signal()

    def __init__(self, root: str | Path, parent: QObject | None = None, *, create: bool = False):
        super().__init__(parent)
        from workstation.core.store import Project  # numpy + PyAV: loaded with the first project

        self.project: Project = Project(root, create=create)
        self.root: Path = self.project.root
        self._closed = False

    @classmethod
    def create(cls, root: str | Path, parent: QObject | None = None) -> ProjectSession:
        """Open ``root``, making an empty project there first when it is not one yet."""
        return cls(root, parent, create=True)

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the database connection; views must drop their references after ``closed``."""
        if self._closed:
            return
        self._closed = True
        self.project.close()
        self.closed.emit()
