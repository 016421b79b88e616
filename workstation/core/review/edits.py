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
from dataclasses import dataclass
from typing import Any

from workstation.core import cliptext
from workstation.core.errors import WorkstationError
from workstation.core.store import Project
from workstation.core.store.edit_rows import ROW_KEYS, RowValues


# -- diffs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowChange:
    """One row's change: ``before``/``after`` are column values, None = the row is absent."""

    table: str
    key: RowValues
    before: RowValues | None
    after: RowValues | None


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

    def _write(self, project: Project, verb: str, steps: list[_Step]) -> None:
        try:
            with project.transaction():
                for change, target, other in steps:
                    _apply(project, change, target, other)
        except sqlite3.IntegrityError as exc:  # rolled back: nothing half-done
            raise WorkstationError(
                f"can't {verb} '{self.label}': the project changed since ({exc})"
            ) from None
        cliptext.sync_sidecars(project, self.clip_ids)


_Step = tuple[
    RowChange, RowValues | None, RowValues | None
]  # a change, the values to write, the others


def _apply(
    project: Project, change: RowChange, target: RowValues | None, other: RowValues | None
) -> None:
    key = dict(change.key)
    if target is None:
        project.delete_edit_row(change.table, key)
    elif other is None:
        project.put_back_edit_row(change.table, {**dict(target), **key})
    else:
        project.update_edit_row(change.table, key, dict(target))


class Recorder:
    """Performs row operations inside a transaction and records each as a :class:`RowChange`."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.changes: list[RowChange] = []
        self.clips: set[int] = set()

    def _touch(self, table: str, key: dict[str, Any]) -> None:
        if table != "tags":
            self.clips.add(key["clip_id"] if "clip_id" in key else key["id"])

    def insert(self, table: str, row: dict[str, Any], *, complete: bool = False) -> int:
        """Insert a row; ``complete`` = ``row`` names every column, so no read-back is needed."""
        rowid = self.project.insert_edit_row(table, row)
        key = {k: row[k] for k in ROW_KEYS[table] if k in row} or {"id": rowid}
        after = tuple(row.items()) if complete else self.project.edit_row(table, key)
        self.changes.append(RowChange(table, tuple(key.items()), None, after))
        self._touch(table, key)
        return rowid

    def delete(self, table: str, key: dict[str, Any]) -> None:
        before = self.project.edit_row(table, key)
        if before is None:
            return
        self.project.delete_edit_row(table, key)
        self.changes.append(RowChange(table, tuple(key.items()), before, None))
        self._touch(table, key)

    def update(
        self, table: str, key: dict[str, Any], values: dict[str, Any], current: Any = None
    ) -> None:
        """Update some columns; ``current`` (the row as read already) saves a read."""
        before: RowValues | None
        if current is not None:
            before = tuple((k, current[k]) for k in values)
        else:
            before = self.project.edit_row(table, key, values)
        if before is None or dict(before) == values:
            return
        changed = {k: v for k, v in values.items() if dict(before)[k] != v}
        self.project.update_edit_row(table, key, changed)
        old = tuple((k, v) for k, v in before if k in changed)
        self.changes.append(RowChange(table, tuple(key.items()), old, tuple(changed.items())))
        self._touch(table, key)

    def edit(self, label: str, extra_clips: Iterable[int] = ()) -> Edit:
        return Edit(label, tuple(self.changes), frozenset(self.clips | set(extra_clips)))


# How many edits the Clips view's undo history keeps (ui/clips/edits.py); the oldest are
# forgotten beyond it.  An edit holds its row diffs (~1 KB a row), so the history's memory is
# bounded by this count times the size of the edits made.
UNDO_LIMIT = 500
