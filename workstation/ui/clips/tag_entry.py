"""The tag panel's tag box: comma-separated tags, Enter adds them, a completer offers the
project's tags (with their counts) for the word being typed.

:class:`TagEntry` knows the project only to read its tag counts (once per edit, on the first
keystroke); it never writes: it emits :attr:`TagEntry.tagsEntered` and the panel adds them.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCompleter, QHBoxLayout, QLineEdit, QWidget

from workstation.core import review
from workstation.core.review import TagCount
from workstation.core.store import Project


class TagCompleter(QCompleter):
    """Completes the tag being typed after the last comma and keeps the tags before it; the
    list shows "name  (count)" and inserts the name.  The panel fills the list (already
    filtered, prefix matches first) on every edit, so the completer only shows it."""

    def __init__(self, model: QStandardItemModel, box: QLineEdit) -> None:
        super().__init__(model, box)
        self.box = box
        self.typed = ""  # the box's text when the list was filled
        self.setCompletionRole(Qt.ItemDataRole.UserRole)
        self.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.setMaxVisibleItems(12)
        self.setWidget(box)  # not box.setCompleter: that would replace the whole text
        # activated is overloaded (QModelIndex / str); the index one is the second signature
        self.activated[QModelIndex].connect(self._insert)  # type: ignore[index]

    def offer(self, typed: str) -> None:
        self.typed = typed
        popup = self.popup()
        assert popup is not None  # a completer always has its popup
        if self.model().rowCount() and self.box.hasFocus():
            self.complete()
            popup.setCurrentIndex(QModelIndex())  # nothing chosen until arrows/click
        else:
            popup.hide()

    def _insert(self, index: QModelIndex) -> None:
        head, comma, _word = self.typed.rpartition(",")
        name = index.data(Qt.ItemDataRole.UserRole)
        self.box.setText(f"{head}{comma}{' ' if comma else ''}{name}")


class TagEntry(QWidget):
    """The tag box and its completer; Enter emits the typed tags."""

    tagsEntered = Signal(list)  # the tag names typed, in order

    def __init__(self, project: Callable[[], Project], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._project = project
        self._tag_counts: list[TagCount] | None = None  # read on the first keystroke
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.tag_box = QLineEdit()
        self.tag_box.setPlaceholderText("Add tags (comma-separated), Enter to add")
        self.tag_box.returnPressed.connect(self._add_from_box)
        self.tag_box.textEdited.connect(self._complete)
        self._completions = QStandardItemModel(self)
        self.completer = TagCompleter(self._completions, self.tag_box)
        lay.addWidget(self.tag_box, 1)

    def forget_counts(self) -> None:
        """The project's tags changed: the next keystroke reads their counts again."""
        self._tag_counts = None

    def focus(self) -> None:
        self.tag_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.tag_box.selectAll()

    def _add_from_box(self) -> None:
        popup = self.completer.popup()
        assert popup is not None
        if popup.isVisible() and popup.currentIndex().isValid():
            return  # this Enter picks a completion (the completer inserts it)
        popup.hide()
        text = self.tag_box.text()
        names = [n.strip() for n in text.split(",") if n.strip()]
        if not names:
            return
        self.tag_box.clear()
        self.tagsEntered.emit(names)

    def _complete(self, text: str) -> None:
        """Fill the completer with project tags matching the last comma-separated word."""
        word = text.rsplit(",", 1)[-1].strip()
        self._completions.clear()
        if not word:
            self.completer.offer(text)
            return
        if self._tag_counts is None:  # once per edit, not per keystroke
            self._tag_counts = review.tag_counts(self._project(), include_unused=True)
        needle = word.lower()
        starts = [t for t in self._tag_counts if t.name.lower().startswith(needle)]
        inside = [
            t
            for t in self._tag_counts
            if needle in t.name.lower() and not t.name.lower().startswith(needle)
        ]
        for t in (starts + inside)[:20]:
            item = QStandardItem(f"{t.name}  ({t.count})")
            item.setData(t.name, Qt.ItemDataRole.UserRole)
            self._completions.appendRow(item)
        self.completer.offer(text)

    def completion_names(self) -> list[str]:
        """The tag names the completer offers now (in its order)."""
        m = self._completions
        return [m.item(r).data(Qt.ItemDataRole.UserRole) for r in range(m.rowCount())]
