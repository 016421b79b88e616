"""Undoable edits of clip data as small row diffs (used by :mod:`workstation.core.review`).

An :class:`Edit` lists the rows one edit changed, each with its value before and after (only
the changed columns of an updated row).  Undo writes the "before" values back in reverse order,
redo writes the "after" values, both in one transaction; the diff of tagging 10,000 clips is
10,000 small rows, never a copy of the database.  After undo/redo the touched clips' ``.txt``
sidecars are rewritten (when enabled), like after the edit itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workstation.core import cliptext
from workstation.core.errors import WorkstationError
from workstation.core.store import Project

# Key columns of the tables edits touch (table and column names never come from input).
_KEYS = {
    "clip_tags": ("clip_id", "tag_id"),
    "captions": ("clip_id",),
    "tags": ("id",),
    "clips": ("id",),
}


# -- diffs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowChange:
    """One row's change: ``before``/``after`` are column values, None = the row is absent."""

    table: str
    key: tuple[tuple[str, Any], ...]
    before: tuple[tuple[str, Any], ...] | None
    after: tuple[tuple[str, Any], ...] | None


@dataclass(frozen=True)
class Edit:
    """What one edit changed, so it can be undone and redone exactly."""

    label: str
    changes: tuple[RowChange, ...] = ()
    clip_ids: frozenset[int] = frozenset()  # whose tags/caption/review state changed

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def undo(self, project: Project) -> None:
        self._write(project, "undo", [(c, c.before, c.after) for c in reversed(self.changes)])

    def redo(self, project: Project) -> None:
        self._write(project, "redo", [(c, c.after, c.before) for c in self.changes])

    def _write(self, project: Project, verb: str, steps) -> None:
        try:
            with project.transaction():
                for change, target, other in steps:
                    _apply(project, change, target, other)
        except sqlite3.IntegrityError as exc:  # rolled back: nothing half-done
            raise WorkstationError(
                f"can't {verb} '{self.label}': the project changed since ({exc})"
            ) from None
        cliptext.sync_sidecars(project, self.clip_ids)


def _apply(project: Project, change: RowChange, target: Any, other: Any) -> None:
    key = dict(change.key)
    where = " AND ".join(f"{k}=?" for k in key)
    if target is None:
        project.db.execute(f"DELETE FROM {change.table} WHERE {where}", tuple(key.values()))
    elif other is None:
        row = {**dict(target), **key}
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        # A clip's tag or caption that an auto run (not on the undo stack) wrote in between is
        # replaced: the person's restored row wins.  Tags have dependents: a clash is an error.
        verb = "INSERT" if change.table == "tags" else "INSERT OR REPLACE"
        project.db.execute(
            f"{verb} INTO {change.table} ({cols}) VALUES ({marks})", tuple(row.values())
        )
    else:
        values = dict(target)
        sets = ", ".join(f"{k}=?" for k in values)
        project.db.execute(
            f"UPDATE {change.table} SET {sets} WHERE {where}",
            (*values.values(), *key.values()),
        )


class Recorder:
    """Performs row operations inside a transaction and records each as a :class:`RowChange`."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.db = project.db
        self.changes: list[RowChange] = []
        self.clips: set[int] = set()

    def _row(self, table: str, key: dict[str, Any], cols: Iterable[str] | None = None):
        what = ", ".join(cols) if cols else "*"
        where = " AND ".join(f"{k}=?" for k in key)
        row = self.db.execute(
            f"SELECT {what} FROM {table} WHERE {where}", tuple(key.values())
        ).fetchone()
        return None if row is None else tuple(zip(row.keys(), tuple(row), strict=True))

    def _touch(self, table: str, key: dict[str, Any]) -> None:
        if table != "tags":
            self.clips.add(key["clip_id"] if "clip_id" in key else key["id"])

    def insert(self, table: str, row: dict[str, Any], *, complete: bool = False) -> int:
        """Insert a row; ``complete`` = ``row`` names every column, so no read-back is needed."""
        cols = ", ".join(row)
        cur = self.db.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in row)})",
            tuple(row.values()),
        )
        key = {k: row[k] for k in _KEYS[table] if k in row} or {"id": cur.lastrowid}
        after = tuple(row.items()) if complete else self._row(table, key)
        self.changes.append(RowChange(table, tuple(key.items()), None, after))
        self._touch(table, key)
        return int(cur.lastrowid)

    def delete(self, table: str, key: dict[str, Any]) -> None:
        before = self._row(table, key)
        if before is None:
            return
        where = " AND ".join(f"{k}=?" for k in key)
        self.db.execute(f"DELETE FROM {table} WHERE {where}", tuple(key.values()))
        self.changes.append(RowChange(table, tuple(key.items()), before, None))
        self._touch(table, key)

    def update(
        self, table: str, key: dict[str, Any], values: dict[str, Any], current: Any = None
    ) -> None:
        """Update some columns; ``current`` (the row as read already) saves a read."""
        if current is not None:
            before = tuple((k, current[k]) for k in values)
        else:
            before = self._row(table, key, values)
        if before is None or dict(before) == values:
            return
        changed = {k: v for k, v in values.items() if dict(before)[k] != v}
        where = " AND ".join(f"{k}=?" for k in key)
        self.db.execute(
            f"UPDATE {table} SET {', '.join(f'{k}=?' for k in changed)} WHERE {where}",
            (*changed.values(), *key.values()),
        )
        old = tuple((k, v) for k, v in before if k in changed)
        self.changes.append(RowChange(table, tuple(key.items()), old, tuple(changed.items())))
        self._touch(table, key)

    def edit(self, label: str, extra_clips: Iterable[int] = ()) -> Edit:
        return Edit(label, tuple(self.changes), frozenset(self.clips | set(extra_clips)))


# -- undo stack ------------------------------------------------------------------------------
@dataclass
class UndoStack:
    """Edits in order with a cursor; the GUI's Ctrl+Z/Ctrl+Shift+Z and the CLI use it.

    The oldest edits are forgotten beyond ``limit`` edits or ``max_rows`` changed rows in all
    (a row diff is ~1 KB: 500 bulk edits of 10,000 clips would otherwise hold gigabytes).  The
    newest edit is always kept.
    """

    limit: int = 500
    max_rows: int = 500_000
    edits: list[Edit] = field(default_factory=list)
    index: int = 0  # edits[:index] are done

    def push(self, edit: Edit) -> Edit:
        if edit:
            del self.edits[self.index :]
            self.edits.append(edit)
            rows = sum(len(e) for e in self.edits)
            while len(self.edits) > 1 and (len(self.edits) > self.limit or rows > self.max_rows):
                rows -= len(self.edits.pop(0))
            self.index = len(self.edits)
        return edit

    @property
    def can_undo(self) -> bool:
        return self.index > 0

    @property
    def can_redo(self) -> bool:
        return self.index < len(self.edits)

    def undo(self, project: Project) -> Edit | None:
        if not self.can_undo:
            return None
        self.index -= 1
        edit = self.edits[self.index]
        edit.undo(project)
        return edit

    def redo(self, project: Project) -> Edit | None:
        if not self.can_redo:
            return None
        edit = self.edits[self.index]
        edit.redo(project)
        self.index += 1
        return edit
