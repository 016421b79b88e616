"""The clip grid's item model: one row per clip, filtered by the query language in SQL.

The model mirrors the ``clips`` table and does nothing else (no dialogs, no file I/O but a
``stat`` of the clips on screen).  Filtering runs the project's compiled SQL query
(:func:`workstation.core.review.filter_clip_ids`) rather than a ``QSortFilterProxyModel``: one
query over 10,000 clips costs a few ms, a Python ``filterAcceptsRow`` per row costs much more,
and the tag/caption joins live in SQLite anyway.  Sorting is a Python key sort of the visible
ids (one ``list.sort``, not n·log n ``lessThan`` calls through Qt).

``data()`` never decodes: the thumbnail role returns what the :class:`ThumbLoader` holds in
memory or ``None`` (the delegate draws a placeholder) and notes the clip as wanted; a zero-time
timer then asks the loader for the wanted clips that are still on screen.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QPixmap

from workstation.core.review import QueryError, filter_clip_ids
from workstation.core.store import Project
from workstation.core.thumbs import ThumbSource
from workstation.ui.common.thumb_loader import ThumbLoader

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison
    from PySide6.QtCore import QPersistentModelIndex

THUMB_HEIGHT = 108
PIXMAP_CAPACITY = 600  # 192x108 pixmaps: ~50 MB at most
HOVER_FRAMES = 8  # frames of the animated preview while the mouse rests on a clip

ClipRole = Qt.ItemDataRole.UserRole + 1  # the ClipRow
ClipIdRole = Qt.ItemDataRole.UserRole + 2
ThumbRole = Qt.ItemDataRole.UserRole + 3  # QPixmap | None (cover or the hover frame)


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
                r[10],
                r[11],
                bool(r[12]),
                r[9],
            )
        )
    return rows


def _sort_key(key: SortKey) -> Callable[[ClipRow], SupportsRichComparison]:
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


class ClipModel(QStringListModel):
    """Clips in the current filter and sort order.  Main thread only.

    Built on ``QStringListModel`` only for its C++ ``rowCount``: a view lays out its items by
    asking the model for every index, and with a Python ``rowCount`` that is one Python call
    per clip (45 ms for 10,000 clips each time the filter changes, instead of 10 ms).  The
    string list holds nothing but the row count; ``data()`` answers every role.
    """

    filterChanged = Signal()  # the visible set changed (count, query)

    def __init__(self, project: Project, loader: ThumbLoader, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project
        self.loader = loader
        self.thumb_height = THUMB_HEIGHT
        self._rows: dict[int, ClipRow] = {}
        self._counts_pending = False
        self.auto_fill_counts = True  # False: the view calls fill_counts after its first paint
        self._order: list[int] = []  # visible clip ids in sort order
        self._pos: dict[int, int] = {}  # clip id -> row
        self._query = ""
        self._sort = SortKey.NAME
        self._descending = False
        self._sources: dict[int, ThumbSource | None] = {}
        self._by_content: dict[str, int] = {}  # thumb content id -> clip id
        self._wanted: set[int] = set()
        self._pixmaps: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._requested: set[int] = set()  # clips whose cover the loader is making
        self._held_until = 0.0  # while scrolling, requests wait (see hold_requests)
        self._hover: tuple[int, int] | None = None  # clip id, frame
        self.is_visible: Callable[[int], bool] = lambda _row: True  # set by the view
        self._flush = QTimer(self, singleShot=True, interval=0)
        self._flush.timeout.connect(self._request_wanted)
        loader.thumbReady.connect(self._on_thumb)

    # -- Qt model API ----------------------------------------------------------------------
    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        n = index.row()
        if not index.isValid() or n >= len(self._order):
            return None
        row = self._rows[self._order[n]]
        if role == ThumbRole:
            return self._thumb(row, index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return row.name
        if role == ClipRole:
            return row
        if role == ClipIdRole:
            return row.id
        if role == Qt.ItemDataRole.ToolTipRole:
            fps = float(row.fps) if row.fps else 0.0
            return (
                f"{row.stored_path}\n{row.frame_count} frames · {row.duration:.2f} s · "
                f"{fps:g} fps · {row.width}×{row.height}\n{row.tags} tags"
                + (f" ({row.unreviewed_auto} auto to review)" if row.unreviewed_auto else "")
                + ("\nreviewed" if row.reviewed else "")
            )
        return None

    # -- loading and filtering -------------------------------------------------------------
    def reload(self) -> QueryError | None:
        """Re-read every clip row and re-run the current filter (after slicing/import).

        The tag counts (badges) follow in the next event-loop turn: counting 10,000 clips'
        tags takes three times as long as reading the clips, and the grid can be drawn first.
        """
        self._rows = {r.id: r for r in read_rows(self.project)}
        self._counts_pending = True
        if self.auto_fill_counts:
            QTimer.singleShot(0, self.fill_counts)
        self._sources.clear()
        self._by_content.clear()
        return self.set_query(self._query, force=True)

    def fill_counts(self) -> None:
        """Read the tag/caption counts of every clip (after :meth:`reload`)."""
        if not self._counts_pending:
            return
        self._counts_pending = False
        rows = self._rows
        for cid, n, auto, cap in self.project.grid_tag_counts():
            r = rows.get(cid)
            if r is not None:
                r.tags, r.unreviewed_auto, r.has_caption = n, auto, bool(cap)
        if self._sort is SortKey.TAGS:
            self.set_sort(self._sort, self._descending)
        if self._order:
            self.dataChanged.emit(self.index(0), self.index(len(self._order) - 1))

    @property
    def query(self) -> str:
        return self._query

    def set_query(self, text: str, *, force: bool = False) -> QueryError | None:
        """Show the clips matching ``text``; a bad query leaves the grid as it was and is
        returned (never raised)."""
        text = text.strip()
        if text == self._query and not force:
            return None
        if text:
            ids = filter_clip_ids(self.project, text)
            if isinstance(ids, QueryError):
                return ids
        else:
            ids = list(self._rows)
        self._query = text
        self._set_order([i for i in ids if i in self._rows])
        return None

    def set_sort(self, key: SortKey, descending: bool = False) -> None:
        self._sort, self._descending = key, descending
        if key is SortKey.TAGS:
            self.fill_counts()
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()  # selection and current: a few, not 10,000
        ids = [self._order[i.row()] if i.row() < len(self._order) else None for i in persistent]
        self._sort_order()
        self.changePersistentIndexList(
            persistent,
            [QModelIndex() if c is None else self.index(self._pos[c]) for c in ids],
        )
        self.layoutChanged.emit()

    @property
    def sort_key(self) -> tuple[SortKey, bool]:
        return self._sort, self._descending

    def _sort_order(self) -> None:
        rows = self._rows
        key = _sort_key(self._sort)
        self._order.sort(key=lambda cid: key(rows[cid]), reverse=self._descending)
        self._pos = {cid: i for i, cid in enumerate(self._order)}

    def _set_order(self, ids: list[int]) -> None:
        self._order = ids
        self._sort_order()
        self._wanted.clear()
        self.setStringList([""] * len(ids))  # the model reset (begin/end) happens in here
        self.filterChanged.emit()

    def refresh_clips(self, clip_ids: Iterable[int]) -> None:
        """Re-read these clips after an edit (tag counts, reviewed) without re-filtering, so
        the clip a person is working on never vanishes under them."""
        ids = list(clip_ids)
        fresh = read_rows(self.project) if len(ids) > 2000 else read_rows(self.project, ids)
        for r in fresh:
            if r.id in self._rows:
                self._rows[r.id] = r
        rows = sorted(self._pos[r.id] for r in fresh if r.id in self._pos)
        if rows:
            self.dataChanged.emit(self.index(rows[0]), self.index(rows[-1]))

    # -- lookups ---------------------------------------------------------------------------
    def clip_ids(self) -> list[int]:
        """The visible clips, in grid order."""
        return list(self._order)

    def ids_at(self, rows: Iterable[int]) -> list[int]:
        """The clip ids of these rows (rows past the end are skipped)."""
        order = self._order
        return [order[r] for r in rows if 0 <= r < len(order)]

    def total(self) -> int:
        return len(self._rows)

    def row_of(self, clip_id: int) -> int | None:
        return self._pos.get(clip_id)

    def clip(self, clip_id: int) -> ClipRow | None:
        return self._rows.get(clip_id)

    # -- thumbnails ------------------------------------------------------------------------
    def source(self, clip_id: int) -> ThumbSource | None:
        if clip_id not in self._sources:
            row = self._rows.get(clip_id)
            src = None if row is None else thumb_source(row)
            self._sources[clip_id] = src
            if src is not None:
                self._by_content[src.content_id] = clip_id
        return self._sources[clip_id]

    def _pixmap(self, content_id: str, frame: int) -> QPixmap | None:
        """A thumbnail as a screen-format pixmap: drawing the loader's RGB888 ``QImage``
        converts it on every paint (~1 ms a cell); converting once here makes it a blit."""
        key = (content_id, frame)
        pm = self._pixmaps.get(key)
        if pm is not None:
            self._pixmaps.move_to_end(key)
            return pm
        img = self.loader.image(content_id, frame, self.thumb_height)
        if img is None:
            return None
        pm = QPixmap.fromImage(img)
        self._pixmaps[key] = pm
        while len(self._pixmaps) > PIXMAP_CAPACITY:
            self._pixmaps.popitem(last=False)
        return pm

    def cover(self, row: ClipRow) -> QPixmap | None:
        """The cover thumbnail from the memory caches, or None (never decodes)."""
        src = self._sources.get(row.id)
        if src is None:
            return None
        return self._pixmap(src.content_id, 0)

    def _thumb(self, row: ClipRow, pos: int) -> QPixmap | None:
        if self._hover is not None and self._hover[0] == row.id:
            src = self._sources.get(row.id)
            if src is not None:
                pm = self._pixmap(src.content_id, self._hover[1])
                if pm is not None:
                    return pm
        img = self.cover(row)
        if img is None and row.id not in self._wanted:
            self._wanted.add(row.id)
            if not self._flush.isActive():
                self._flush.start(self._hold_ms())
        return img

    def _hold_ms(self) -> int:
        return max(0, int(1000 * (self._held_until - time.monotonic())))

    def hold_requests(self, msecs: int) -> None:
        """Ask for no thumbnails for ``msecs`` (the view calls this on every scroll step): the
        decoding threads then never compete with painting for the GIL while a person scrolls,
        and only the clips where the scrolling stops get decoded."""
        self._held_until = time.monotonic() + msecs / 1000
        if self._flush.isActive():
            self._flush.start(msecs)

    def _request_wanted(self) -> None:
        """Ask the loader for covers of wanted clips that are still on screen; cancel the
        requests of clips that scrolled away before their cover was made."""
        if self._hold_ms() > 0:
            self._flush.start(self._hold_ms())
            return
        gone = [
            c
            for c in self._requested
            if (pos := self._pos.get(c)) is None or not self.is_visible(pos)
        ]
        if gone:
            self.loader.cancel(f"clip:{c}" for c in gone)
            self._requested.difference_update(gone)
        wanted, self._wanted = self._wanted, set()
        for cid in wanted:
            pos = self._pos.get(cid)
            if pos is None or not self.is_visible(pos):
                continue
            src = self.source(cid)
            if src is not None:
                self._requested.add(cid)
                self.loader.request(f"clip:{cid}", src, [0], self.thumb_height)

    def stop_requests(self) -> None:
        """Drop the covers noted as wanted and not yet asked for (the project closed)."""
        self._flush.stop()
        self._wanted.clear()

    @property
    def asking(self) -> bool:
        """Covers were noted as wanted and will be asked for in a moment."""
        return bool(self._wanted)

    def pending_covers(self, rows: Iterable[int]) -> list[int]:
        """Rows whose cover is not in memory yet (and whose file exists)."""
        out = []
        for pos in rows:
            row = self._rows[self._order[pos]]
            src = self.source(row.id)
            if src is not None and self.loader.image(src.content_id, 0, self.thumb_height) is None:
                out.append(pos)
        return out

    def set_hover(self, clip_id: int | None, frame: int = 0) -> None:
        """Show ``frame`` of this clip instead of its cover (the hover animation)."""
        old = self._hover
        self._hover = None if clip_id is None else (clip_id, frame)
        for cid in {c for c in (old and old[0], clip_id) if c is not None}:
            pos = self._pos.get(cid)
            if pos is not None:
                idx = self.index(pos)
                self.dataChanged.emit(idx, idx, [ThumbRole])

    def request_hover(self, clip_id: int) -> list[int]:
        """Ask for the hover animation's frames of a clip; returns them."""
        row = self._rows.get(clip_id)
        src = self.source(clip_id)
        if row is None or src is None:
            return []
        frames = hover_frames(row.frame_count)
        self.loader.request("clip-hover", src, frames, self.thumb_height)
        return frames

    def _on_thumb(self, cid: str, frame: int, height: int, _image) -> None:
        if height != self.thumb_height:
            return
        clip_id = self._by_content.get(cid)
        if frame == 0:
            self._requested.discard(clip_id)
        pos = None if clip_id is None else self._pos.get(clip_id)
        if pos is not None and (frame == 0 or self._hover == (clip_id, frame)):
            idx = self.index(pos)
            self.dataChanged.emit(idx, idx, [ThumbRole])
