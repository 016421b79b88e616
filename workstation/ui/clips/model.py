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

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QPixmap

from workstation.core.review import QueryError, filter_clip_ids
from workstation.core.store import Project
from workstation.core.thumbs import ThumbSource
from workstation.ui.clips.rows import (
    ClipRow,
    SortKey,
    hover_frames,
    read_rows,
    sort_key,
    thumb_source,
)
from workstation.ui.common.thumb_loader import ThumbLoader

if TYPE_CHECKING:
    from PySide6.QtCore import QPersistentModelIndex

THUMB_HEIGHT = 108
PIXMAP_CAPACITY = 600  # 192x108 pixmaps: ~50 MB at most

__all__ = [  # the row types live in rows.py; they stay importable from here
    "THUMB_HEIGHT",
    "ClipIdRole",
    "ClipModel",
    "ClipRole",
    "ClipRow",
    "SortKey",
    "ThumbRole",
    "hover_frames",
    "thumb_source",
]

ClipRole = Qt.ItemDataRole.UserRole + 1  # the ClipRow
ClipIdRole = Qt.ItemDataRole.UserRole + 2
ThumbRole = Qt.ItemDataRole.UserRole + 3  # QPixmap | None (cover or the hover frame)


class ClipModel(QStringListModel):
    """Clips in the current filter and sort order.  Main thread only.

    Built on ``QStringListModel`` only for its C++ ``rowCount``: a view lays out its items by
    asking the model for every index, and with a Python ``rowCount`` that is one Python call
    per clip (45 ms for 10,000 clips each time the filter changes, instead of 10 ms).  The
    string list holds nothing but the row count; ``data()`` answers every role.
    """

    filterChanged = Signal()  # the visible set changed (count, query)
    coversAsked = Signal()  # the covers wanted on screen were just asked of the loader

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
                + ("\nrejected" if row.rejected else "")
                + ("\nout of date: a cut now lies inside it (slice it again)" if row.stale else "")
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
        # a re-sliced file has a new size/mtime, so its source (and cover) is worked out
        # again; the covers in memory stay, and cover() finds them without a repaint wait
        self._sources.clear()
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
        ids = self._matching(text)
        if isinstance(ids, QueryError):
            return ids
        self._query = text
        self._set_order(ids)
        return None

    def _matching(self, text: str) -> list[int] | QueryError:
        """The loaded clips ``text`` matches (not the rejected ones, unless it asks)."""
        if not text:
            return [cid for cid, r in self._rows.items() if not r.rejected]
        ids = filter_clip_ids(self.project, text)
        if isinstance(ids, QueryError):
            return ids
        return [i for i in ids if i in self._rows]

    def refilter(self) -> bool:
        """Re-run the current query after an edit; the grid changes (a model reset) only
        when the clips that match changed.  True when they did."""
        ids = self._matching(self._query)
        if isinstance(ids, QueryError) or set(ids) == set(self._order):
            return False
        self._set_order(ids)
        return True

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
        key = sort_key(self._sort)
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
        if len(ids) > 2000:  # one pass over every clip beats 2,000 lookups
            fresh = read_rows(self.project)
            counts = {c[0]: c[1:] for c in self.project.grid_tag_counts()}
            for r in fresh:
                r.tags, r.unreviewed_auto, r.has_caption = counts.get(r.id, (0, 0, False))
        else:
            fresh = read_rows(self.project, ids)
        for r in fresh:
            old = self._rows.get(r.id)
            if old is not None:
                if old.stored_path != r.stored_path:  # moved (to the bin and back)
                    self._sources.pop(r.id, None)
                self._rows[r.id] = r
        rows = sorted(self._pos[r.id] for r in fresh if r.id in self._pos)
        if rows:
            self.dataChanged.emit(self.index(rows[0]), self.index(rows[-1]))

    def refresh_stale(self) -> None:
        """Re-read which clips are out of date (the cuts of a video were edited)."""
        stale = self.project.stale_clip_ids()
        changed = [r.id for r in self._rows.values() if r.stale != (r.id in stale)]
        for cid in changed:
            self._rows[cid].stale = not self._rows[cid].stale
        rows = sorted(self._pos[c] for c in changed if c in self._pos)
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
        """The clips a filter picks from: those not rejected, unless it asks for them."""
        if "rejected" in self._query.lower():
            return len(self._rows)
        return len(self._rows) - self.rejected_count()

    def loaded_count(self) -> int:
        """Every clip of the project, rejected or not."""
        return len(self._rows)

    def rejected_count(self) -> int:
        return sum(1 for r in self._rows.values() if r.rejected)

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
        """The cover thumbnail from the memory caches, or None (never decodes; the first
        time a clip is drawn its file is stat'ed for the cache key)."""
        src = self.source(row.id)
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
            if src is None:
                continue
            if self.loader.image(src.content_id, 0, self.thumb_height) is not None:
                idx = self.index(pos)  # in memory already: the loader sends nothing
                self.dataChanged.emit(idx, idx, [ThumbRole])
                continue
            self._requested.add(cid)
            self.loader.request(f"clip:{cid}", src, [0], self.thumb_height)
        self.coversAsked.emit()

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
