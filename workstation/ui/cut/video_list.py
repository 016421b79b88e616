"""The project's videos as a table: what each one has been through (probed → sliced).

A ``QAbstractTableModel`` that mirrors the store and nothing else: one query
(``Project.video_overview``) fills every row, a cut change refreshes one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.common.empty_hint import paint_empty_hint

if TYPE_CHECKING:
    from workstation.core.store import Project


@dataclass(frozen=True)
class VideoRow:
    id: int
    path: Path
    frames: int
    fps: float
    width: int
    height: int
    duration: float
    vfr: bool
    reviewed: bool
    cuts: int
    detected: bool
    clips: int
    missing: bool

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def states(self) -> list[str]:
        """Pipeline stages done, in order (probed is implied by being in the project)."""
        out = ["probed"]
        if self.detected:
            out.append("detected")
        if self.reviewed:
            out.append("cuts reviewed")
        if self.clips:
            out.append("sliced")
        return out

    @property
    def state_text(self) -> str:
        if self.missing:
            return "file missing"
        last = self.states[-1]
        return f"sliced ({self.clips} clips)" if last == "sliced" else last


def read_rows(project: Project, video_id: int | None = None) -> list[VideoRow]:
    rows = []
    for r in project.video_overview(video_id):
        path = Path(r["path"])
        rows.append(
            VideoRow(
                id=r["id"],
                path=path,
                frames=r["frame_count"],
                fps=r["fps_num"] / r["fps_den"] if r["fps_den"] else 0.0,
                width=r["width"],
                height=r["height"],
                duration=r["duration"],
                vfr=bool(r["vfr"]),
                reviewed=bool(r["cuts_reviewed"]),
                cuts=r["cuts"],
                detected=bool(r["detected"]),
                clips=r["clips"],
                missing=not path.exists(),
            )
        )
    return rows


def _fps(fps: float) -> str:
    return (f"{fps:.3f}".rstrip("0").rstrip(".") or "0") + " fps"


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class VideoListModel(QAbstractTableModel):
    COLUMNS = ("Video", "Length", "Cuts", "State")
    VideoIdRole = Qt.ItemDataRole.UserRole + 1
    SortRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[VideoRow] = []
        self._project: Project | None = None

    def set_project(self, project: Project | None) -> None:
        self._project = project
        self.reload()

    def reload(self) -> None:
        self.beginResetModel()
        self.rows = read_rows(self._project) if self._project is not None else []
        self.endResetModel()

    def refresh_video(self, video_id: int) -> None:
        """Re-read one row (after a cut edit or a job on that video)."""
        if self._project is None:
            return
        for i, row in enumerate(self.rows):
            if row.id == video_id:
                fresh = read_rows(self._project, video_id)
                if not fresh:
                    self.reload()
                    return
                self.rows[i] = fresh[0]
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.COLUMNS) - 1))
                return

    def row_of(self, video_id: int) -> int:
        for i, row in enumerate(self.rows):
            if row.id == video_id:
                return i
        return -1

    # -- Qt model API ----------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == self.VideoIdRole:
            return row.id
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                row.name,
                _duration(row.duration),
                str(row.cuts) if row.detected or row.cuts else "–",
                row.state_text,
            )[col]
        if role == self.SortRole:
            return (row.name.lower(), row.frames, row.cuts, len(row.states))[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 3:
                return " → ".join(row.states)
            text = f"{row.path}\n{row.frames} frames, {row.width}×{row.height}, {_fps(row.fps)}" + (
                ", variable frame rate" if row.vfr else ""
            )
            return text + ("\nThe file is missing: relink it." if row.missing else "")
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.missing:
                return QColor("#e06c6c")
            if col == 3 and row.clips:
                return QColor("#6cbf6c")
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (1, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


NO_VIDEOS = "No videos yet: File ▸ Add videos… (or drop video files on the window)"


class VideoTable(QTableView):
    """The table, saying what to do when it shows no video (none yet, or none matches)."""

    def empty_text(self) -> str:
        proxy = self.model()
        if not isinstance(proxy, QSortFilterProxyModel) or proxy.rowCount() > 0:
            return ""
        source = proxy.sourceModel()
        if source is None or source.rowCount() == 0:
            return NO_VIDEOS
        return f"No video names contain “{proxy.filterRegularExpression().pattern()}”"

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        paint_empty_hint(self, self.empty_text())


class VideoList(QWidget):
    """Filter box + sortable table; emits the video the person picked."""

    currentVideoChanged = Signal(int)
    selectionChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = VideoListModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(VideoListModel.SortRole)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter videos by name")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table: VideoTable = VideoTable()
        self.table.setModel(self.proxy)
        self.filter.textChanged.connect(lambda _t: self.table.viewport().update())
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        # Names share their end (".mp4"), not their start: elide the end; the tooltip has it all.
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(VideoListModel.COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self.selectionChanged.emit()
        )
        self.context_actions: list[QAction | None] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)

    def set_project(self, project: Project | None) -> None:
        keep = self.current_video_id()
        self.model.set_project(project)
        if keep is not None:
            self.select_video(keep)

    def reload(self) -> None:
        keep = self.current_video_id()
        selected = self.selected_video_ids()
        self.model.reload()
        if keep is not None:
            self.select_video(keep, emit=False)
        for vid in selected:
            if vid != keep:
                self._select_row(vid, add=True)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.currentVideoChanged.emit(int(current.data(VideoListModel.VideoIdRole)))

    def current_video_id(self) -> int | None:
        index = self.table.currentIndex()
        return int(index.data(VideoListModel.VideoIdRole)) if index.isValid() else None

    def selected_video_ids(self) -> list[int]:
        rows = self.table.selectionModel().selectedRows()
        ids = [int(i.data(VideoListModel.VideoIdRole)) for i in rows]
        if not ids and (current := self.current_video_id()) is not None:
            ids = [current]
        return ids

    def select_video(self, video_id: int, *, emit: bool = True) -> bool:
        row = self.model.row_of(video_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        sm = self.table.selectionModel()
        if not emit:
            sm.blockSignals(True)
        try:
            self.table.setCurrentIndex(index)
            self.table.selectRow(index.row())
        finally:
            sm.blockSignals(False)
        self.table.scrollTo(index)
        return True

    def _select_row(self, video_id: int, *, add: bool) -> None:
        row = self.model.row_of(video_id)
        if row >= 0:
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            flags = self.table.selectionModel().SelectionFlag
            self.table.selectionModel().select(index, flags.Select | flags.Rows)

    def select_first(self) -> int | None:
        if self.proxy.rowCount() == 0:
            return None
        index = self.proxy.index(0, 0)
        self.table.setCurrentIndex(index)
        self.table.selectRow(0)
        return int(index.data(VideoListModel.VideoIdRole))

    def _context_menu(self, pos) -> None:
        if not self.context_actions:
            return
        menu = QMenu(self)
        for action in self.context_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(pos))
