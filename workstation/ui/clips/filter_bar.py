"""The Clips view's filter bar: the query box (applied after a short pause or on Enter), the
sort order, the clip count, and the error line under it that points at a query's bad spot.

The bar knows no model: it emits :attr:`FilterBar.filterRequested` and
:attr:`FilterBar.sortChanged`; the view runs the query and hands back an error to show.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.review import QueryError
from workstation.ui.clips.model import SortKey
from workstation.ui.clips.wording import n_clips

FILTER_PAUSE_MS = 250  # typing applies the filter once it pauses this long


def query_error_html(err: QueryError, text: str = "") -> str:
    """The error line's rich text: what is wrong, and the query with the bad spot marked
    (``text``: the query, when the error does not carry it)."""
    q = err.query or text
    pos = min(err.position, len(q))
    before, at, after = q[:pos], q[pos : pos + 1] or " ", q[pos + 1 :]
    shown = (
        f"<code>{html.escape(before)}<span style='background:#a33;color:white'>"
        f"{html.escape(at).replace(' ', '&nbsp;')}</span>{html.escape(after)}</code>"
    )
    return f"{html.escape(err.message)} (at character {pos + 1}): {shown}"


class FilterBar(QWidget):
    """Query box, sort, count (and room for the view's buttons) over the error line."""

    filterRequested = Signal()  # the text was edited and paused, or Enter was pressed
    sortChanged = Signal(object, bool)  # SortKey, descending

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_PAUSE_MS)
        self._filter_timer.timeout.connect(self.filterRequested)
        self.filter_edit = QLineEdit()
        # Short enough to show whole at 1280 px; every field is in the tooltip.
        self.filter_edit.setPlaceholderText("Filter, e.g. tag:dog -tag:cat reviewed:no")
        self.filter_edit.setToolTip(
            'Filter the clips: tag:dog -tag:cat caption:"a dog" frames>=48 reviewed:no '
            "rejected:yes stale:yes video:NAME … (AND by default; OR and -NOT work)"
        )
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(lambda _t: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self.filterRequested)
        self.filter_error = QLabel("")
        self.filter_error.setTextFormat(Qt.TextFormat.RichText)
        self.filter_error.setStyleSheet("color:#e05050;")
        self.filter_error.hide()
        self.sort_combo = QComboBox()
        for key in SortKey:
            self.sort_combo.addItem(key.value, key)
        self.sort_combo.currentIndexChanged.connect(self._sort_changed)
        self.sort_desc = QToolButton()
        self.sort_desc.setText("↓")
        self.sort_desc.setCheckable(True)
        self.sort_desc.setToolTip("Reverse the order")
        self.sort_desc.toggled.connect(self._sort_changed)
        self.count_label = QLabel("")
        self._row = QHBoxLayout()
        self._row.addWidget(self.filter_edit, 1)
        self._row.addWidget(QLabel("Sort"))
        self._row.addWidget(self.sort_combo)
        self._row.addWidget(self.sort_desc)
        self._row.addWidget(self.count_label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self._row)
        lay.addWidget(self.filter_error)

    def add_widget(self, widget: QWidget) -> None:
        """Put a button at the end of the bar (the view's Auto-tag and Shortcuts buttons)."""
        self._row.addWidget(widget)

    def text(self) -> str:
        return self.filter_edit.text()

    def stop(self) -> None:
        """Forget a pending apply (the filter is applied now, or the project closed)."""
        self._filter_timer.stop()

    def focus(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def _sort_changed(self, *_a: object) -> None:
        self.sortChanged.emit(self.sort_combo.currentData(), self.sort_desc.isChecked())

    def show_count(self, n: int, total: int, rejected: int = 0) -> None:
        """'14 of 16 clips' (``total``: the clips not rejected), '· 2 rejected' after it."""
        text = n_clips(n) if n == total else f"{n:,} of {n_clips(total)}"
        self.count_label.setText(text + (f" · {rejected:,} rejected" if rejected else ""))

    def clear_error(self) -> None:
        self.filter_error.hide()
        self.filter_edit.setStyleSheet("")

    def show_error(self, err: QueryError) -> None:
        """Say what is wrong with the query and mark the spot (the cursor goes there)."""
        pos = min(err.position, len(err.query or self.filter_edit.text()))
        self.filter_error.setText(query_error_html(err, self.filter_edit.text()))
        self.filter_error.setToolTip(err.pointer())
        self.filter_error.show()
        self.filter_edit.setStyleSheet("QLineEdit { border: 1px solid #e05050; }")
        if self.filter_edit.hasFocus():
            self.filter_edit.setCursorPosition(pos)

    @property
    def error_text(self) -> str:
        """The error line as shown ("" when the query is good)."""
        return self.filter_error.text() if self.filter_error.isVisible() else ""
