"""The SQLite connection of a project folder: opening, migrations, transactions.

The per-table methods of :class:`~workstation.core.store.Project` build on this class.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from workstation.core.errors import ProjectError
from workstation.core.store.schema import DB_NAME, MIGRATIONS, SCHEMA_VERSION, _split_sql


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an INSERT just made (an INSERT into a rowid table always sets it)."""
    rowid = cursor.lastrowid
    if rowid is None:  # pragma: no cover - not an INSERT: a bug in the caller
        raise RuntimeError("no row was inserted")
    return rowid


class ProjectDatabase:
    """An open project database and its folders; the base of :class:`Project`."""

    def __init__(self, root: str | Path, *, create: bool = False) -> None:
        self.root = Path(root).resolve()
        db_path = self.root / DB_NAME
        if not db_path.exists():
            if not create:
                raise ProjectError(f"{self.root}: not a workstation project (no {DB_NAME})")
            self.root.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(db_path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._depth = 0
        self._migrate()
        for sub in ("clips", "cache"):
            (self.root / sub).mkdir(exist_ok=True)

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path) -> Self:
        return cls(root, create=True)

    @classmethod
    def open(cls, root: str | Path) -> Self:
        return cls(root)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def clips_dir(self) -> Path:
        return self.root / "clips"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"{self.root}: project was written by a newer workstation "
                f"(schema {version}, this one knows {SCHEMA_VERSION})"
            )
        for target in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _split_sql(MIGRATIONS[target]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={target + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception; nests (outermost wins)."""
        if self._depth == 0:
            self.db.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield self.db
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self.db.execute("ROLLBACK")
            raise
        else:
            self._depth -= 1
            if self._depth == 0:
                self.db.execute("COMMIT")
