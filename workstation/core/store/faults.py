"""What can be wrong with a project's database file, in words: read-only, damaged, locked,
on a full or failing disk.

SQLite reports these as :class:`sqlite3.DatabaseError` with a result code; :func:`database_error`
turns one into a :class:`~workstation.core.errors.WorkstationError` that names the file.  The
store raises these itself where it can (opening, :meth:`ProjectDatabase.transaction`); the CLI
turns any SQLite error that still escapes a command into the same message.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from workstation.core.errors import ProjectError, WorkstationError
from workstation.core.store.schema import DB_NAME

# SQLite's primary result codes (the low byte of an extended code).
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26


class ReadOnlyProjectError(ProjectError):
    """A change asked of a project that is open read-only."""

    def __init__(self, root: str | Path, reason: str) -> None:
        self.root = Path(root)
        self.reason = reason
        super().__init__(
            f"{self.root} is read-only ({reason}): this command changes the project; "
            "copy it somewhere writable or fix its permissions."
        )


class DamagedProjectError(ProjectError):
    """A project database SQLite cannot read: garbage, damaged pages, an empty file."""

    def __init__(self, db_path: str | Path, problem: str) -> None:
        self.db_path = Path(db_path)
        self.root = self.db_path.parent
        self.problem = problem
        super().__init__(
            f"{self.db_path}: the project database is damaged ({problem}); nothing was changed. "
            f"`workstation recover {self.root}` backs it up and rebuilds it from what can "
            "still be read."
        )


def result_code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code of ``exc`` (None when it carries none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the file is damaged or not a database at all."""
    return result_code(exc) in (SQLITE_CORRUPT, SQLITE_NOTADB)


def database_error(db_path: str | Path, exc: sqlite3.Error) -> WorkstationError:
    """A message naming ``db_path`` and what ``exc`` says went wrong with it."""
    path = Path(db_path)
    code = result_code(exc)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return DamagedProjectError(path, str(exc))
    if code == SQLITE_FULL:
        return WorkstationError(f"{path}: cannot write: the disk is full")
    if code == SQLITE_READONLY:
        return WorkstationError(f"{path}: cannot write: the database is read-only ({exc})")
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return WorkstationError(
            f"{path}: the database is locked by another program (the app or another command "
            "still writing?); try again when it has finished"
        )
    if code == SQLITE_IOERR:
        return WorkstationError(
            f"{path}: input/output error (a failing disk or a lost network mount)"
        )
    if code in (SQLITE_CANTOPEN, SQLITE_PERM):
        return WorkstationError(f"{path}: cannot open the database file ({exc})")
    return WorkstationError(f"{path}: database error: {exc}")


def read_only_reason(root: Path) -> str | None:
    """Why the project in ``root`` cannot be written, or None when it can.

    A project needs its database, the database's ``-wal``/``-shm`` files and its folder
    writable (SQLite creates the ``-wal``/``-shm`` files beside the database; the slicer
    writes clips into the folder).
    """
    db = root / DB_NAME
    try:
        if os.statvfs(root).f_flag & os.ST_RDONLY:
            return "it is on a read-only file system"
    except OSError:
        pass
    if not os.access(db, os.W_OK):
        return f"{DB_NAME} is not writable"
    if not os.access(root, os.W_OK | os.X_OK):
        return "its folder is not writable"
    for suffix in ("-wal", "-shm"):
        side = root / (DB_NAME + suffix)
        if side.exists() and not os.access(side, os.W_OK):
            return f"{side.name} is not writable"
    return None
