"""Project methods for the record of files the workstation wrote outside its database (cut
sidecars beside videos, clip ``.txt`` files): path, size and checksum of what it wrote, and of
what the file held before, so a later write can tell its own file from a person's edit even
after a crash between the record and the write (:mod:`workstation.core.owned`)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from workstation.core.store.database import ProjectDatabase


class Written(NamedTuple):
    size: int
    sha256: str
    previous: str | None  # the checksum the file had before that write (None: it was new)


class WrittenFileTables(ProjectDatabase):
    """The ``written_files`` table (mixed into :class:`Project`)."""

    def written_files(self, paths: Iterable[str | Path]) -> dict[str, Written]:
        """The records of those paths that have one (one query per 500 paths)."""
        names = [str(p) for p in paths]
        out: dict[str, Written] = {}
        for i in range(0, len(names), 500):
            chunk = names[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT path, size, sha256, previous FROM written_files WHERE path IN ({marks})",
                chunk,
            ):
                out[str(row[0])] = Written(int(row[1]), str(row[2]), row[3])
        return out

    def record_written(self, records: Iterable[tuple[str | Path, Written]]) -> None:
        """Record (or replace) these files' records in one transaction."""
        now = time.time()
        with self.transaction():
            self.db.executemany(
                "INSERT INTO written_files(path, size, sha256, previous, written_at) "
                "VALUES (?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET size=excluded.size, "
                "sha256=excluded.sha256, previous=excluded.previous, "
                "written_at=excluded.written_at",
                [(str(p), w.size, w.sha256, w.previous, now) for p, w in records],
            )
