"""The project store: one SQLite database per project folder, the single source of truth.

Layout of a project folder::

    project.wsdb      the database (WAL mode, foreign keys on)
    clips/            clips written by the slicer
    cache/            thumbnails, score arrays and other things that can be rebuilt

Each thread uses its own :class:`Project` (SQLite connections are not shared across threads);
WAL lets readers run while the single writer commits.  Every multi-row change happens inside
:meth:`Project.transaction`, so a crash never leaves half an edit.

The code is split by concern: ``schema`` (migrations), ``records`` (the dataclasses handed
out), ``database`` (connection, transactions, read-only and damaged files), ``faults`` (those
errors in words), ``recovery`` (rebuilding a damaged database), ``settings`` (every
project-setting key, typed)
and one module of methods per table group (``videos``, ``cuts``, ``clips``, ``runs``, ``tags``,
``captions``, ``clip_rows`` for bulk reads, ``edit_rows`` for the row writes of undoable edits,
``clip_query`` for the clip filter language compiled to SQL, ``written`` for the files it
wrote beside videos and clips, ``hydrus`` for the Hydrus mirror), all combined into :class:`Project`.
"""

from __future__ import annotations

from workstation.core.store.captions import CaptionTables
from workstation.core.store.clip_query import ClipQueryTables
from workstation.core.store.clip_rows import CLIP_SEGMENT_KEY, ClipRowTables
from workstation.core.store.clips import ClipTables
from workstation.core.store.cuts import CutRows, CutTables
from workstation.core.store.edit_rows import EditRowTables
from workstation.core.store.faults import DamagedProjectError, ReadOnlyProjectError, database_error
from workstation.core.store.hydrus import HydrusTables
from workstation.core.store.records import Clip, Cut, Segment, Video
from workstation.core.store.recovery import RecoveryReport, recover_project
from workstation.core.store.runs import RunTables
from workstation.core.store.schema import DB_NAME, MIGRATIONS, SCHEMA_VERSION
from workstation.core.store.settings import (
    AUTOTAG_CAPTION,
    AUTOTAG_DEVICE,
    AUTOTAG_TAG,
    CLIP_SIDECARS,
    DETECT,
    DEVICES,
    EXPORT_DIALOG,
    LAST_VIDEO,
    MODEL_FOLDERS,
    PROJECT_SETTINGS,
    SLICING,
    TRAIN_FORM,
    JsonObject,
    Setting,
    SettingError,
    SettingsTables,
)
from workstation.core.store.tags import TagTables
from workstation.core.store.videos import VideoRemoval
from workstation.core.store.written import Written, WrittenFileTables

__all__ = [
    "AUTOTAG_CAPTION",
    "AUTOTAG_DEVICE",
    "AUTOTAG_TAG",
    "CLIP_SEGMENT_KEY",
    "CLIP_SIDECARS",
    "DB_NAME",
    "DETECT",
    "DEVICES",
    "EXPORT_DIALOG",
    "LAST_VIDEO",
    "MIGRATIONS",
    "MODEL_FOLDERS",
    "PROJECT_SETTINGS",
    "SCHEMA_VERSION",
    "SLICING",
    "TRAIN_FORM",
    "Clip",
    "CutRows",
    "Cut",
    "DamagedProjectError",
    "JsonObject",
    "Project",
    "ReadOnlyProjectError",
    "RecoveryReport",
    "Segment",
    "Setting",
    "SettingError",
    "Video",
    "VideoRemoval",
    "Written",
    "database_error",
    "recover_project",
]


class Project(
    CutTables,
    ClipTables,
    RunTables,
    SettingsTables,
    TagTables,
    CaptionTables,
    ClipRowTables,
    EditRowTables,
    ClipQueryTables,
    WrittenFileTables,
    HydrusTables,
):
    """An open project folder.  Not thread-safe: open one per thread."""
