"""Every tag of the project with its count: filter by it, rename, merge, delete, bulk edits.

The table mirrors :func:`workstation.core.review.tag_counts`; a ``QSortFilterProxyModel``
sorts it and narrows it to what is typed in its search box (a few thousand tags at most, so the
proxy is the right tool here, unlike the clip grid).  Project-wide edits go through the Clips
view like every other edit, so they are undoable.  Dialogs live in the button handlers only;
:meth:`rename`, :meth:`delete` and :meth:`bulk` do the work and are what tests call.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workstation.core import review
from workstation.core.errors import WorkstationError
from workstation.core.review import TagCount
from workstation.ui.clips.edits import ClipEditor
from workstation.ui.clips.wording import bulk_question, n_clips


def tag_query(name: str) -> str:
    """The filter-bar query for one tag (quoted when it has spaces or quotes)."""
    if any(c in name for c in ' "()'):
        return 'tag:"' + name.replace('"', '\\"') + '"'
    return f"tag:{name}"


class Scope(Enum):
    SELECTED = "Selected clips"
    FILTERED = "Filtered clips"
    ALL = "All clips"


class BulkOp(Enum):
    ADD = "Add tag"
    REMOVE = "Remove tag"
    REPLACE = "Replace tag"


class TagCountModel(QAbstractTableModel):
    """Name · category · clips · manual · auto."""

    HEADERS = ("Tag", "Category", "Clips", "Manual", "Auto")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[TagCount] = []

    def set_rows(self, rows: list[TagCount]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if not index.isValid():
            return None
        t = self.rows[index.row()]
        values = (t.name, t.category, t.count, t.manual, t.auto)
        if role == Qt.ItemDataRole.DisplayRole:
            return values[index.column()]
        if role == Qt.ItemDataRole.UserRole:
            return t.name
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class AllTagsPanel(QWidget):
    """The project's tag list and the edits that work across clips."""

    filterRequested = Signal(str)  # a query for the filter bar

    def __init__(
        self,
        editor: ClipEditor,
        scope_ids: Callable[[Scope], list[int]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.editor = editor
        self.scope_ids = scope_ids
        self._stale = True
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a tag")
        self.search.setClearButtonEnabled(True)
        lay.addWidget(self.search)

        self.model = TagCountModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setSortRole(Qt.ItemDataRole.DisplayRole)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Click a tag to show the clips that have it")
        self.table.clicked.connect(self._clicked)
        lay.addWidget(self.table, 1)

        row = QHBoxLayout()
        for text, slot in (
            ("Rename…", self._rename_clicked),
            ("Merge into…", self._merge_clicked),
            ("Delete", self._delete_clicked),
        ):
            b = QPushButton(text)
            b.clicked.connect(slot)
            row.addWidget(b)
        lay.addLayout(row)

        lay.addWidget(QLabel("Bulk edit"))
        bulk = QHBoxLayout()
        self.op = QComboBox()
        for op in BulkOp:
            self.op.addItem(op.value, op)
        self.scope = QComboBox()
        for s in Scope:
            self.scope.addItem(s.value, s)
        self.scope.setCurrentIndex(1)
        bulk.addWidget(self.op)
        bulk.addWidget(QLabel("on"))
        bulk.addWidget(self.scope)
        lay.addLayout(bulk)
        bulk2 = QHBoxLayout()
        self.bulk_tag = QLineEdit()
        self.bulk_tag.setPlaceholderText("tag")
        self.bulk_new = QLineEdit()
        self.bulk_new.setPlaceholderText("new tag")
        self.op.currentIndexChanged.connect(
            lambda _i: self.bulk_new.setVisible(self.op.currentData() is BulkOp.REPLACE)
        )
        self.bulk_new.hide()
        apply_b = QPushButton("Apply")
        apply_b.clicked.connect(self._bulk_clicked)
        bulk2.addWidget(self.bulk_tag, 1)
        bulk2.addWidget(self.bulk_new, 1)
        bulk2.addWidget(apply_b)
        lay.addLayout(bulk2)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

    # -- data ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-count the tags now when the panel shows, else when it is next shown (counting
        10,000 clips' tags after every single edit would slow each edit down)."""
        self._stale = True
        if self.isVisible():
            self._reload()

    def _reload(self) -> None:
        self._stale = False
        self.model.set_rows(review.tag_counts(self.editor.project))
        self.status.setText(f"{len(self.model.rows)} tags")

    def showEvent(self, event) -> None:
        if self._stale:
            self._reload()
        super().showEvent(event)

    def current_tag(self) -> str | None:
        idx = self.table.currentIndex()
        return None if not idx.isValid() else idx.data(Qt.ItemDataRole.UserRole)

    def counts(self) -> dict[str, int]:
        if self._stale:
            self._reload()
        return {t.name: t.count for t in self.model.rows}

    def _clicked(self, index: QModelIndex) -> None:
        name = index.data(Qt.ItemDataRole.UserRole)
        if name:
            self.filterRequested.emit(tag_query(name))

    # -- edits (what the buttons do) -------------------------------------------------------
    def rename(self, old: str, new: str) -> None:
        """Rename a tag everywhere; renaming onto an existing tag merges the two."""
        self.editor.apply_edit(lambda p: review.rename_tag(p, old, new), refilter=True)

    def delete(self, name: str) -> None:
        self.editor.apply_edit(lambda p: review.delete_tag(p, name), refilter=True)

    def bulk(self, op: BulkOp, scope: Scope, tag: str, new: str = "") -> None:
        """Add/remove/replace a tag over the selected, filtered or all clips."""
        ids = self.scope_ids(scope)
        if not ids:
            self.status.setText(f"{scope.value}: no clips")
            return
        if op is BulkOp.ADD:
            fn = lambda p: review.add_tags(p, ids, tag)  # noqa: E731
        elif op is BulkOp.REMOVE:
            fn = lambda p: review.remove_tags(p, ids, tag)  # noqa: E731
        else:
            if not new.strip():
                self.status.setText("Replace tag: type the new tag")
                return
            fn = lambda p: review.replace_tag(p, ids, tag, new)  # noqa: E731
        edit = self.editor.apply_edit(fn, refilter=True)
        if edit is not None:
            self.status.setText(f"{op.value} {tag}: {n_clips(len(edit.clip_ids))} changed")

    # -- dialogs ---------------------------------------------------------------------------
    def _need_tag(self) -> str | None:
        name = self.current_tag()
        if name is None:
            self.status.setText("Select a tag in the list first")
        return name

    def _rename_clicked(self) -> None:
        old = self._need_tag()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename tag", f"New name for “{old}”:", text=old)
        if ok and new.strip() and new.strip() != old:
            self.rename(old, new)

    def _merge_clicked(self) -> None:
        old = self._need_tag()
        if old is None:
            return
        others = [t.name for t in self.model.rows if t.name != old]
        if not others:
            return
        new, ok = QInputDialog.getItem(self, "Merge tag", f"Merge “{old}” into:", others, 0, True)
        if ok and new.strip():
            self.rename(old, new)

    def _delete_clicked(self) -> None:
        name = self._need_tag()
        if name is None:
            return
        n = self.counts().get(name, 0)
        answer = QMessageBox.question(
            self, "Delete tag", f"Remove “{name}” from {n_clips(n)} and from the project?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(name)

    def _bulk_clicked(self) -> None:
        tag = self.bulk_tag.text().strip()
        if not tag:
            self.status.setText("Bulk edit: type a tag")
            return
        op, scope, new = self.op.currentData(), self.scope.currentData(), self.bulk_new.text()
        n = len(self.scope_ids(scope))  # the clips the grid shows now, for "Filtered clips"
        if n and not (op is BulkOp.REPLACE and not new.strip()):
            answer = QMessageBox.question(
                self, f"Bulk edit: {scope.value}", bulk_question(op.value, tag, n, new.strip())
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        try:
            self.bulk(op, scope, tag, new)
        except WorkstationError as exc:  # apply_edit reports errors; this guards the scope
            self.status.setText(str(exc))
