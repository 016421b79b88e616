"""The clip grid's rows: what the grid shows of a clip (:class:`ClipRow`, read in one query),
the sort keys, and what the thumbnail loader needs of a clip (no Qt here).

Kept apart from :mod:`workstation.ui.clips.model` (the Qt item model over these rows), which
re-exports these names.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from workstation.core.store import Project
from workstation.core.thumbs import ThumbSource

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

HOVER_FRAMES = 8  # frames of the animated preview while the mouse rests on a clip


class SortKey(Enum):
    """What the grid is sorted by (the label is what the sort menu shows)."""

    NAME = "Name"
    ADDED = "Date added"
    DURATION = "Duration"
    FRAMES = "Frame count"
    TAGS = "Tag count"
    REVIEWED = "Reviewed first"
    MOTION = "Motion"


@dataclass(slots=True)
class ClipRow:
    """What the grid shows of one clip (read once from SQLite, refreshed after edits).

    Plain strings and ints: building 10,000 ``Path``/``Fraction`` objects at load costs more
    than the whole SQL query, and only the clips a person looks at need them."""

    id: int
    stored_path: str  # as in the database: relative to the project root, or absolute
    root: str  # the project folder (one shared string)
    frame_count: int
    duration: float
    fps_num: int
    fps_den: int
    width: int
    height: int
    reviewed: bool
    tags: int  # tags shown (not rejected)
    unreviewed_auto: int  # auto tags nobody accepted or rejected yet
    has_caption: bool
    motion: float | None
    rejected: bool = False  # hidden unless the filter asks for rejected:yes
    stale: bool = False  # out of date: a cut now lies inside its source range

    @property
    def file(self) -> str:
        """The absolute path (worked out when needed: most rows are never looked at)."""
        s = self.stored_path
        return s if os.path.isabs(s) else os.path.join(self.root, s)

    @property
    def name(self) -> str:
        return os.path.basename(self.stored_path)

    @property
    def path(self) -> Path:
        return Path(self.file)

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den or 1)


def read_rows(project: Project, clip_ids: Iterable[int] | None = None) -> list[ClipRow]:
    """These clips as grid rows, in one query; or every clip, with tag counts of 0 (see
    :meth:`ClipModel.fill_counts`)."""
    root = str(project.root)
    rows: list[ClipRow] = []
    append = rows.append
    for r in project.grid_rows(clip_ids):
        append(
            ClipRow(
                r[0],
                r[1],
                root,
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                bool(r[8]),
                r[12],
                r[13],
                bool(r[14]),
                r[9],
                bool(r[10]),
                bool(r[11]),
            )
        )
    return rows


def sort_key(key: SortKey) -> Callable[[ClipRow], SupportsRichComparison]:
    return {
        SortKey.NAME: lambda r: r.stored_path.lower(),
        SortKey.ADDED: lambda r: r.id,
        SortKey.DURATION: lambda r: r.duration,
        SortKey.FRAMES: lambda r: r.frame_count,
        SortKey.TAGS: lambda r: r.tags,
        SortKey.REVIEWED: lambda r: (not r.reviewed, r.stored_path.lower()),
        SortKey.MOTION: lambda r: (r.motion is None, r.motion or 0.0),
    }[key]


def thumb_source(row: ClipRow) -> ThumbSource | None:
    """The loader's input for a clip; None when the file is gone.  The cache key includes the
    file's size and mtime, so a re-sliced clip never shows the old clip's pictures."""
    try:
        st = os.stat(row.path)
    except OSError:
        return None
    digest = hashlib.sha1(
        f"{row.stored_path}\0{st.st_size}\0{st.st_mtime_ns}".encode(), usedforsecurity=False
    ).hexdigest()[:20]
    return ThumbSource(
        path=row.path,
        content_id=f"clip-{digest}",
        width=row.width or 16,
        height=row.height or 9,
        frame_count=row.frame_count,
    )


def hover_frames(frame_count: int, n: int = HOVER_FRAMES) -> list[int]:
    """Evenly spread frames of a clip for the hover animation (the first is the cover)."""
    if frame_count <= 1:
        return [0]
    n = min(n, frame_count)
    return sorted({round(i * (frame_count - 1) / max(1, n - 1)) for i in range(n)})
