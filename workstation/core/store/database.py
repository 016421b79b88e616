"""The SQLite connection of a project folder: opening, migrations, transactions.

The per-table methods of :class:`~workstation.core.store.Project` build on this class.

Opening checks the file before anything can write to it:

- a project whose database, ``-wal``/``-shm`` files or folder cannot be written (permissions, a
  read-only mount) opens **read-only** (``read_only_reason`` says why): reads work, every write
  raises :class:`ReadOnlyProjectError`, no migration runs.  SQLite needs a ``-shm`` file to
  read a WAL database; where it cannot create one (a read-only folder) and no unmerged ``-wal``
  is there, the file is opened ``immutable`` (nobody can be writing it: nobody can write it);
- a database SQLite cannot read (garbage, damaged pages, an empty file) raises
  :class:`DamagedProjectError` and is never replaced by a new empty project.  ``PRAGMA
  quick_check`` runs at open on databases up to :data:`QUICK_CHECK_MAX_BYTES` (it reads every
  page: ~0.2 s warm, ~1.2 s cold for 274 MiB on a 2-core VM); damage in a bigger one is
  reported when a read reaches it.

Errors while writing (a full disk, a lost mount) reach the caller as WorkstationErrors naming
the database file (:func:`~workstation.core.store.faults.database_error`).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Self

from workstation.core.errors import ProjectError
from workstation.core.store.faults import (
    SQLITE_CANTOPEN,
    SQLITE_READONLY,
    DamagedProjectError,
    ReadOnlyProjectError,
    database_error,
    read_only_reason,
    result_code,
)
from workstation.core.store.schema import DB_NAME, MIGRATIONS, SCHEMA_VERSION, _split_sql

#: Databases up to this size get ``PRAGMA quick_check`` at open (~40 ms warm for 64 MiB).
QUICK_CHECK_MAX_BYTES = 64 * 2**20


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an INSERT just made (an INSERT into a rowid table always sets it)."""
    rowid = cursor.lastrowid
    if rowid is None:  # pragma: no cover - not an INSERT: a bug in the caller
        raise RuntimeError("no row was inserted")
    return rowid


class ReadOnlyConnection(sqlite3.Connection):
    """A read-only project's connection: a write raises ReadOnlyProjectError, once, in words."""

    root: Path
    reason: str

    def _refused(self, exc: sqlite3.Error) -> Exception:
        if result_code(exc) == SQLITE_READONLY:
            return ReadOnlyProjectError(self.root, self.reason)
        return exc

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise self._refused(exc) from None

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise self._refused(exc) from None

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        try:
            return super().executescript(script)
        except sqlite3.OperationalError as exc:
            raise self._refused(exc) from None


def _open_ro(root: Path, reason: str, query: str) -> ReadOnlyConnection:
    uri = f"{(root / DB_NAME).as_uri()}?{query}"
    db = sqlite3.connect(
        uri, uri=True, timeout=30, isolation_level=None, factory=ReadOnlyConnection
    )
    assert isinstance(db, ReadOnlyConnection)
    db.root, db.reason = root, reason
    try:
        # SQLite's own error (not ReadOnlyProjectError): the caller tells the kinds apart.
        sqlite3.Connection.execute(db, "SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        db.close()
        raise
    return db


def _connect_read_only(root: Path, reason: str) -> sqlite3.Connection:
    """Open ``root``'s database read-only (``mode=ro``; ``immutable`` where no -shm can be)."""
    try:
        return _open_ro(root, reason, "mode=ro")
    except sqlite3.OperationalError as exc:
        if result_code(exc) not in (SQLITE_READONLY, SQLITE_CANTOPEN):
            raise
    wal = root / (DB_NAME + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        # immutable would ignore the WAL and show an older project than the one saved.
        raise ProjectError(
            f"{wal}: holds changes not yet merged into {DB_NAME}, and the read-only folder "
            "does not let SQLite read them: copy the project somewhere writable to open it."
        )
    return _open_ro(root, reason, "mode=ro&immutable=1")


def _user_cache(root: Path) -> Path:
    """Where a read-only project's rebuildable cache goes (thumbnails): the user's cache."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return Path(base) / "motion-dataset-workstation" / "read-only-projects" / key


class ProjectDatabase:
    """An open project database and its folders; the base of :class:`Project`.

    ``read_only``: None finds out (see the module docstring); True opens read-only even where
    the project could be written.
    """

    def __init__(
        self, root: str | Path, *, create: bool = False, read_only: bool | None = None
    ) -> None:
        self.root = Path(root).resolve()
        self.db_path = self.root / DB_NAME
        self.read_only_reason: str | None = None
        self._depth = 0
        if not self.db_path.exists():
            self._prepare_new(create, read_only)
        elif self.db_path.is_file() and self.db_path.stat().st_size == 0:
            raise DamagedProjectError(self.db_path, "an empty file, 0 bytes")
        elif read_only is None:
            self.read_only_reason = read_only_reason(self.root)
        elif read_only:
            self.read_only_reason = "opened read-only"
        try:
            self.db = self._connect()
        except sqlite3.Error as exc:
            raise database_error(self.db_path, exc) from None
        try:
            self._check()
            self._migrate()
        except sqlite3.Error as exc:
            self.db.close()
            raise database_error(self.db_path, exc) from None
        except BaseException:
            self.db.close()
            raise
        if not self.read_only:
            for sub in ("clips", "cache"):
                (self.root / sub).mkdir(exist_ok=True)

    def _prepare_new(self, create: bool, read_only: bool | None) -> None:
        if not create:
            raise ProjectError(f"{self.root}: not a workstation project (no {DB_NAME})")
        if read_only:
            raise ProjectError(f"{self.root}: cannot create a project read-only")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from workstation.core.atomic import os_problem

            where = exc.filename or self.root
            problem = os_problem(exc)
            raise ProjectError(f"{where}: cannot create the project folder: {problem}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise ProjectError(f"{self.root}: cannot create a project here: permission denied")

    def _connect(self) -> sqlite3.Connection:
        if self.read_only_reason is not None:
            db = _connect_read_only(self.root, self.read_only_reason)
        else:
            db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                db.close()
                if result_code(exc) != SQLITE_READONLY:
                    raise
                # Writable by every sign os.access gives, yet SQLite cannot write (an ACL, a
                # root-squashed mount): read-only it is.
                self.read_only_reason = f"SQLite cannot write it: {exc}"
                db = _connect_read_only(self.root, self.read_only_reason)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        if not self.read_only:
            db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _check(self) -> None:
        """``PRAGMA quick_check`` where it is cheap; DamagedProjectError on any finding."""
        if self.db_path.stat().st_size > QUICK_CHECK_MAX_BYTES:
            self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return
        findings = [r[0] for r in self.db.execute("PRAGMA quick_check(1)")]
        if findings != ["ok"]:
            problem = "; ".join(findings).replace("*** in database main ***", "")
            raise DamagedProjectError(self.db_path, " ".join(problem.split()))

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path) -> Self:
        return cls(root, create=True)

    @classmethod
    def open(cls, root: str | Path, *, read_only: bool | None = None) -> Self:
        return cls(root, read_only=read_only)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def read_only(self) -> bool:
        """Whether this project is open read-only (``read_only_reason`` says why)."""
        return self.read_only_reason is not None

    def require_writable(self) -> None:
        """Raise ReadOnlyProjectError when the project is open read-only."""
        if self.read_only_reason is not None:
            raise ReadOnlyProjectError(self.root, self.read_only_reason)

    @property
    def clips_dir(self) -> Path:
        return self.root / "clips"

    @property
    def cache_dir(self) -> Path:
        """Thumbnails and other rebuildable files: in the project, or (read-only project)
        in the user's cache folder."""
        if self.read_only:
            return _user_cache(self.root)
        return self.root / "cache"

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"{self.root}: project was written by a newer workstation "
                f"(schema {version}, this one knows {SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION and self.read_only_reason is not None:
            raise ProjectError(
                f"{self.root}: the project has an older schema ({version}; this workstation "
                f"uses {SCHEMA_VERSION}) and is read-only ({self.read_only_reason}): copy it "
                "somewhere writable to upgrade it."
            )
        for target in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _split_sql(MIGRATIONS[target]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={target + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception; nests (outermost wins).

        A read-only project gets a plain BEGIN (reads inside work; a write raises
        ReadOnlyProjectError).  An SQLite error of the file or the machine (a full disk, a
        damaged page, a lock) becomes a WorkstationError naming the database file; a broken
        constraint (IntegrityError) stays what it is, for the caller that expects it (undo).
        """
        if self._depth == 0:
            self.db.execute("BEGIN" if self.read_only else "BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield self.db
        except BaseException as exc:
            self._depth -= 1
            if self._depth == 0:
                self._rollback()
                if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                    raise database_error(self.db_path, exc) from exc
            raise
        else:
            self._depth -= 1
            if self._depth == 0:
                try:
                    self.db.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    raise database_error(self.db_path, exc) from exc

    def _rollback(self) -> None:
        # SQLite may have rolled back already (a full disk, an I/O error).
        if self.db.in_transaction:
            with suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
