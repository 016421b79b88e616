"""Rebuilding a damaged project database from what SQLite can still read.

:func:`recover_project` never works on the only copy: it first copies the database (and its
``-wal``, which holds the latest commits) to ``project.wsdb.damaged-YYYYmmdd-HHMMSS`` (and
``…-wal``), builds the new database under a temp name from that copy, checks it, and only
then puts it in place.  A crash at any point leaves the original or the backup.

Two ways to read a damaged file, the better one first:

- the ``sqlite3`` program's ``.recover`` (SQLite's recovery extension: it reads every page it
  can, orphan rows land in ``lost_and_found``).  It needs a build with the ``sqlite_dbpage``
  table; Debian 12's ``sqlite3`` 3.40.1 lacks it (``.recover`` fails with "SQL logic error"),
  and Python's ``sqlite3`` module has no recovery API;
- row by row through Python's ``sqlite3``: every table is read in rowid order, and where a
  damaged page stops the read, it goes on past it (rowid steps that double until a read
  works).  Rows on damaged pages are lost; everything else is kept.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from workstation.core import atomic
from workstation.core.errors import ProjectError
from workstation.core.progress import Progress, Stage
from workstation.core.store.faults import read_only_reason
from workstation.core.store.schema import DB_NAME

_MIN_ROWID = -(2**63)
_MAX_ROWID = 2**63 - 1


@dataclass(frozen=True)
class RecoveryReport:
    """What :func:`recover_project` did: where the damaged file went and what came back."""

    db_path: Path
    backup: Path
    wal_backup: Path | None
    method: str  # "sqlite3 .recover" or "row by row"
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows in the new database
    unreadable: dict[str, int] = field(default_factory=dict)  # table -> damaged spots skipped

    def summary(self) -> str:
        """The report in a few lines a person reads."""
        lines = [
            f"recovered {self.db_path} ({self.method}); the damaged file is kept as {self.backup}"
            + (f" and {self.wal_backup}" if self.wal_backup else "")
        ]
        for table, n in sorted(self.rows.items()):
            lost = self.unreadable.get(table, 0)
            note = f" ({lost} damaged spot{'s' * (lost != 1)} skipped)" if lost else ""
            lines.append(f"  {table}: {n} rows{note}")
        return "\n".join(lines)


def _backup(src: Path, dst: Path) -> None:
    with atomic.replacing(dst) as tmp:
        shutil.copyfile(src, tmp)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def recover_project(root: str | Path, *, use_cli: bool = True) -> Stage[RecoveryReport]:
    """Back up ``root``'s database, rebuild it from what can be read, put the new one in place.

    ``use_cli``: try the ``sqlite3`` program's ``.recover`` first (when it is installed).
    Close the project everywhere (the app, other commands) before running this.
    """
    root = Path(root).resolve()
    db_path = root / DB_NAME
    if not db_path.is_file():
        raise ProjectError(f"{root}: not a workstation project (no {DB_NAME})")
    reason = read_only_reason(root)
    if reason is not None:
        raise ProjectError(
            f"{root}: cannot recover in place, the project is read-only ({reason}): copy the "
            "folder somewhere writable and recover the copy."
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = root / f"{DB_NAME}.damaged-{stamp}"
    wal = root / f"{DB_NAME}-wal"
    wal_backup = root / f"{backup.name}-wal" if wal.is_file() else None
    try:
        _backup(db_path, backup)
        if wal_backup is not None:
            _backup(wal, wal_backup)
    except OSError as exc:
        raise atomic.write_error(backup, exc) from None
    yield Progress("recover", 0, None, message=f"backed up to {backup.name}")

    tmp = atomic.temp_path(db_path)
    tmp.unlink(missing_ok=True)
    method, unreadable = "sqlite3 .recover", {}
    try:
        if not (use_cli and _recover_with_cli(backup, tmp)):
            method = "row by row"
            unreadable = yield from _recover_rows(db_path, backup, tmp)
        rows = _check_rebuilt(tmp, backup)
        for side in ("-wal", "-shm"):  # the old database's: they must not meet the new one
            (root / f"{DB_NAME}{side}").unlink(missing_ok=True)
        tmp.replace(db_path)
    finally:
        Path(f"{backup}-shm").unlink(missing_ok=True)  # made by reading the backup's -wal
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
            leftover.unlink(missing_ok=True)
    return RecoveryReport(db_path, backup, wal_backup, method, rows, unreadable)


def _recover_with_cli(backup: Path, tmp: Path) -> bool:
    """``sqlite3 BACKUP .recover | sqlite3 TMP``; False (and no TMP) when it cannot."""
    exe = shutil.which("sqlite3")
    if exe is None:
        return False
    with tempfile.TemporaryFile() as dump_err:
        dump = subprocess.Popen(
            [exe, "-readonly", str(backup), ".recover"],
            stdout=subprocess.PIPE,
            stderr=dump_err,
        )
        assert dump.stdout is not None
        load = subprocess.run(
            [exe, "-bail", str(tmp)], stdin=dump.stdout, capture_output=True, check=False
        )
        dump.stdout.close()
        dump_rc = dump.wait()
        dump_err.seek(0)
        complaints = dump_err.read().strip()
    if dump_rc == 0 and load.returncode == 0 and not complaints and tmp.is_file():
        return True
    tmp.unlink(missing_ok=True)
    return False


def _recover_rows(db_path: Path, backup: Path, tmp: Path) -> Stage[dict[str, int]]:
    """Copy every table's readable rows from ``backup`` (of ``db_path``) into ``tmp``."""
    # immutable: no -wal/-shm of our own beside the backup; a -wal it has must be read, though.
    wal = Path(f"{backup}-wal")
    query = "mode=ro" if wal.is_file() else "mode=ro&immutable=1"
    src = sqlite3.connect(f"{backup.as_uri()}?{query}", uri=True, isolation_level=None)
    dst = sqlite3.connect(tmp, isolation_level=None)
    try:
        try:
            schema = src.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%' ORDER BY type != 'table', rowid"
            ).fetchall()
            version = int(src.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise ProjectError(
                f"{db_path}: nothing can be recovered, even the list of tables cannot be read "
                f"({exc}); it stays as it was (a copy is in {backup.name})."
            ) from None
        tables = [name for kind, name, _ in schema if kind == "table"]
        if not tables:
            raise ProjectError(
                f"{db_path}: nothing can be recovered, no table of the project can be read; "
                f"it stays as it was (a copy is in {backup.name})."
            )
        dst.execute("BEGIN")
        for kind, _, sql in schema:
            if kind in ("table", "index"):
                dst.execute(sql)
        unreadable: dict[str, int] = {}
        for i, table in enumerate(tables):
            yield Progress("recover", i, len(tables), item=table)
            skipped = _copy_table(src, dst, table)
            if skipped:
                unreadable[table] = skipped
        dst.execute(f"PRAGMA user_version={version}")
        dst.execute("COMMIT")
        yield Progress("recover", len(tables), len(tables))
        return unreadable
    finally:
        src.close()
        dst.close()


def _copy_table(src: sqlite3.Connection, dst: sqlite3.Connection, table: str) -> int:
    """Copy ``table``'s readable rows; returns how many damaged spots were skipped."""
    name = _quote(table)
    try:
        columns = [r[1] for r in src.execute(f"PRAGMA table_info({name})")]
    except sqlite3.DatabaseError:
        return 1
    cols = ", ".join(_quote(c) for c in columns)
    insert = f"INSERT OR IGNORE INTO {name}(rowid, {cols}) VALUES ({', '.join('?' * (len(columns) + 1))})"
    select = f"SELECT rowid, {cols} FROM {name} WHERE rowid >= ? ORDER BY rowid"
    low, step, skipped = _MIN_ROWID, 1, 0
    while low <= _MAX_ROWID:
        try:
            for row in src.execute(select, (low,)):
                low, step = row[0] + 1, 1
                try:
                    dst.execute(insert, tuple(row))
                except sqlite3.IntegrityError:  # a damaged value breaks a constraint
                    skipped += 1
            return skipped
        except sqlite3.DatabaseError:
            skipped += step == 1  # one damaged spot, however many probes step over it
            if low == _MIN_ROWID:
                low = 0  # rowids start at 1: a damaged first page is no reason to walk 2**63
            low, step = low + step, step * 2
    return skipped


def _check_rebuilt(tmp: Path, backup: Path) -> dict[str, int]:
    """The new database's row counts; ProjectError when it is not sound."""
    db = sqlite3.connect(tmp, isolation_level=None)
    try:
        findings = [r[0] for r in db.execute("PRAGMA integrity_check(1)")]
        if findings != ["ok"]:
            raise ProjectError(
                f"{backup}: the rebuilt database is not sound ({findings[0]}); the project is "
                "left as it was."
            )
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        rows = {
            t: int(db.execute(f"SELECT count(*) FROM {_quote(t)}").fetchone()[0]) for t in tables
        }
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA journal_mode=WAL")
        return rows
    finally:
        db.close()
