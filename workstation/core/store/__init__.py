"""The project store: one SQLite database per project folder, the single source of truth.

Layout of a project folder::

    project.wsdb      the database (WAL mode, foreign keys on)
    clips/            clips written by the slicer
    cache/            thumbnails, score arrays and other things that can be rebuilt

Each thread uses its own :class:`Project` (SQLite connections are not shared across threads);
WAL lets readers run while the single writer commits.  Every multi-row change happens inside
:meth:`Project.transaction`, so a crash never leaves half an edit.

The code is split by concern: ``schema`` (migrations), ``records`` (the dataclasses handed
out), ``database`` (connection, transactions, settings) and one module of methods per table
group (``videos``, ``cuts``, ``clips``, ``runs``), all combined into :class:`Project`.
"""

from __future__ import annotations

from workstation.core.store.clips import ClipTables
from workstation.core.store.cuts import CutTables
from workstation.core.store.records import Clip, Cut, Segment, Video
from workstation.core.store.review_tables import ReviewTables
from workstation.core.store.runs import RunTables
from workstation.core.store.schema import DB_NAME, MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Clip",
    "Cut",
    "Project",
    "Segment",
    "Video",
]


class Project(CutTables, ClipTables, RunTables, ReviewTables):
    """An open project folder.  Not thread-safe: open one per thread."""
