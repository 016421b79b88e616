"""Project methods writing single rows for undoable edits (see :mod:`workstation.core.review.edits`).

An edit of clip data is recorded as row diffs; these methods read, insert, update, delete and
put back one row of the tables such edits touch, keyed by the columns in :data:`ROW_KEYS`.
Table and column names come from the code in :mod:`workstation.core.review`, never from input.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workstation.core.store.database import ProjectDatabase, inserted_id

# Key columns of the tables edits touch.
ROW_KEYS = {
    "clip_tags": ("clip_id", "tag_id"),
    "captions": ("clip_id",),
    "tags": ("id",),
    "clips": ("id",),
}

RowValues = tuple[tuple[str, Any], ...]  # (column, value) pairs


def _where(key: dict[str, Any]) -> str:
    return " AND ".join(f"{k}=?" for k in key)


class EditRowTables(ProjectDatabase):
    """Single-row reads and writes of the edit tables (mixed into :class:`Project`)."""

    def edit_row(
        self, table: str, key: dict[str, Any], cols: Iterable[str] | None = None
    ) -> RowValues | None:
        """The row's values (only ``cols`` when given), None when there is no such row."""
        what = ", ".join(cols) if cols else "*"
        row = self.db.execute(
            f"SELECT {what} FROM {table} WHERE {_where(key)}", tuple(key.values())
        ).fetchone()
        return None if row is None else tuple(zip(row.keys(), tuple(row), strict=True))

    def insert_edit_row(self, table: str, row: dict[str, Any]) -> int:
        """Insert a row; returns its rowid."""
        cols = ", ".join(row)
        return inserted_id(
            self.db.execute(
                f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in row)})",
                tuple(row.values()),
            )
        )

    def update_edit_row(self, table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
        self.db.execute(
            f"UPDATE {table} SET {', '.join(f'{k}=?' for k in values)} WHERE {_where(key)}",
            (*values.values(), *key.values()),
        )

    def delete_edit_row(self, table: str, key: dict[str, Any]) -> None:
        self.db.execute(f"DELETE FROM {table} WHERE {_where(key)}", tuple(key.values()))

    def put_back_edit_row(self, table: str, row: dict[str, Any]) -> None:
        """Insert a row an undo or redo brings back."""
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        # A clip's tag or caption that an auto run (not on the undo stack) wrote in between is
        # replaced: the person's restored row wins.  Tags have dependents: a clash is an error.
        verb = "INSERT" if table == "tags" else "INSERT OR REPLACE"
        self.db.execute(f"{verb} INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))
