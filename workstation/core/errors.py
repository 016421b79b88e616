"""User-facing errors: each names the file or field and says what is wrong with it."""

from __future__ import annotations

from pathlib import Path


class WorkstationError(Exception):
    """An error whose ``str()`` is a complete sentence a person can act on."""


class MediaError(WorkstationError):
    """A video file that cannot be used (unreadable, truncated, empty, no video stream...)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class CutFileError(WorkstationError):
    """A cut file (sidecar, CSV) with a bad line; nothing of it was applied."""

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {problem}")


class ProjectError(WorkstationError):
    """A project folder that is missing, not a project, or from a newer version."""
