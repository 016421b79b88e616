"""Tag chips for the tag panel: one chip per tag, the per-category group that takes drops, and
the scrolling area of groups that shows them.

A chip shows what a tag is (manual, accepted, an auto tag with its confidence, or partial over a
multi-selection) and has small buttons for what can be done with it; the :class:`ChipArea`
passes their signals on and the panel connects them to its edits.  Dragging a movable chip onto
another of its group reorders the tags.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QFlowLayout

from workstation.core.review import ClipTag

_CHIP_STYLE = {
    # translucent fills: readable on light and dark palettes alike
    "manual": "border:1px solid #4a8fe0; background:rgba(74,143,224,45);",
    "accepted": "border:1px solid #2ea043; background:rgba(46,160,67,45);",
    "auto": "border:1px dashed #d48c14; background:rgba(212,140,20,40);",
    "partial": "border:1px dashed #888; background:rgba(136,136,136,30);",
}


_CHIP_MIME = "application/x-workstation-tag"


class TagChip(QFrame):
    """One tag: its name, what it is, and small buttons for what can be done with it.
    A movable chip can be dragged onto another chip of its group to go before it."""

    removeClicked = Signal(str)
    acceptClicked = Signal(str)
    addAllClicked = Signal(str)
    moveClicked = Signal(str, int)

    def __init__(
        self,
        name: str,
        kind: str,
        detail: str = "",
        tooltip: str = "",
        *,
        movable: bool = False,
        faded: bool = False,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.name = name
        self.kind = kind  # manual | accepted | auto | partial
        self.movable = movable
        self.setObjectName("chip")
        fade = "color:#8a8a8a;" if faded else ""
        self.setStyleSheet(
            f"QFrame#chip {{ {_CHIP_STYLE[kind]} border-radius:9px; }}"
            f"QLabel {{ {fade} border:none; background:transparent; }}"
            "QToolButton { border:none; padding:0 1px; }"
        )
        lay = self._lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 1, 3, 1)
        lay.setSpacing(2)
        self.label = QLabel(name + (f"  <small>{detail}</small>" if detail else ""))
        lay.addWidget(self.label)
        self.setToolTip(tooltip)
        self.buttons: dict[str, QToolButton] = {}
        if movable:
            self._button(
                "◀",
                "Move left (earlier in the .txt)",
                lambda: self.moveClicked.emit(name, -1),
                "left",
            )
            self._button("▶", "Move right", lambda: self.moveClicked.emit(name, 1), "right")
        if kind == "auto":
            self._button(
                "✓", "Accept this auto tag", lambda: self.acceptClicked.emit(name), "accept"
            )
        if kind == "partial":
            self._button(
                "+", "Add to every selected clip", lambda: self.addAllClicked.emit(name), "add"
            )
        self._button(
            "×",
            "Reject this auto tag" if kind == "auto" else "Remove",
            lambda: self.removeClicked.emit(name),
            "remove",
        )

    def mousePressEvent(self, event) -> None:
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        start = getattr(self, "_press", None)
        if (
            self.movable
            and start is not None
            and event.buttons() & Qt.MouseButton.LeftButton
            and (event.position().toPoint() - start).manhattanLength()
            >= QApplication.startDragDistance()
        ):
            self._press = None
            mime = QMimeData()
            mime.setData(_CHIP_MIME, self.name.encode())
            drag = QDrag(self)
            drag.setMimeData(mime)
            drag.setPixmap(self.grab())
            drag.exec(Qt.DropAction.MoveAction)
            return
        super().mouseMoveEvent(event)

    def _button(self, text: str, tip: str, slot: Callable[[], None], key: str) -> None:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.clicked.connect(slot)
        self._lay.addWidget(b)
        self.buttons[key] = b


def describe(
    tag: ClipTag, threshold: float | None = None, aggregation: str | None = None
) -> tuple[str, str, str]:
    """(kind, short detail, tooltip) of one clip's tag."""
    if tag.source == "manual":
        return "manual", "manual", f"{tag.name}: added by hand"
    where = tag.model or "an auto tagger"
    run = [f"threshold {threshold:g}"] if threshold is not None else []
    run += [f"{aggregation} over frames"] if aggregation else []
    if run:
        where += f" ({', '.join(run)})"
    conf = "" if tag.confidence is None else f"{tag.confidence:.2f}"
    kind = "accepted" if tag.state == "accepted" else "auto"
    tip = f"{tag.name}: auto tag from {where}" + (f", confidence {conf}" if conf else "")
    tip += " (accepted)" if kind == "accepted" else " — not reviewed yet"
    return kind, conf, tip


class ChipGroup(QWidget):
    """The chips of one category; a chip dropped on another moves before it."""

    chipDropped = Signal(str, str)  # dragged tag, the tag it was dropped on

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(_CHIP_MIME):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(_CHIP_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        name = bytes(event.mimeData().data(_CHIP_MIME)).decode()
        target = self.childAt(event.position().toPoint())
        while target is not None and not isinstance(target, TagChip):
            target = target.parentWidget()
        if target is not None and target.name != name:
            event.acceptProposedAction()
            self.chipDropped.emit(name, target.name)


CATEGORIES = ("rating", "character", "general", "meta")  # the groups, top to bottom


class ChipArea(QScrollArea):
    """The chips of the shown clips, one titled group per category, and a line counting the
    tags left out; the chips' button signals and drops come out of the area's own signals."""

    removeClicked = Signal(str)
    acceptClicked = Signal(str)
    addAllClicked = Signal(str)
    moveClicked = Signal(str, int)
    chipDropped = Signal(str, str)  # dragged tag, the tag it was dropped on

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chips: dict[str, TagChip] = {}
        host = QWidget()
        lay = QVBoxLayout(host)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self._groups: dict[str, tuple[QLabel, QWidget, QFlowLayout]] = {}
        for cat in CATEGORIES:
            title = QLabel(cat.capitalize())
            title.setStyleSheet("color:#aaa; font-weight:bold; margin-top:4px;")
            group = ChipGroup()
            group.chipDropped.connect(self.chipDropped)
            flow = QFlowLayout(group)
            flow.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(title)
            lay.addWidget(group)
            self._groups[cat] = (title, group, flow)
        self.more_label = QLabel("")
        self.more_label.setStyleSheet("color:#999;")
        self.more_label.hide()
        lay.addWidget(self.more_label)
        lay.addStretch(1)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidget(host)

    def _remove_chips(self) -> None:
        for _title, _group, flow in self._groups.values():
            while flow.count():
                item = flow.takeAt(0)
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.deleteLater()
        self.chips = {}

    def clear(self) -> None:
        """No clip shown: no chips, no groups."""
        self._remove_chips()
        for title, group, _ in self._groups.values():
            title.hide()
            group.hide()
        self.more_label.hide()

    def show_chips(self, chips: Iterable[tuple[TagChip, str]], more: int) -> None:
        """Show these (chip, category) in order instead of the current ones (a category
        without a group goes to "general"), and say that ``more`` tags were left out."""
        self._remove_chips()
        used = set()
        for chip, category in chips:
            chip.removeClicked.connect(self.removeClicked)
            chip.acceptClicked.connect(self.acceptClicked)
            chip.addAllClicked.connect(self.addAllClicked)
            chip.moveClicked.connect(self.moveClicked)
            cat = category if category in self._groups else "general"
            self._groups[cat][2].addWidget(chip)
            used.add(cat)
            self.chips[chip.name] = chip
        self.more_label.setVisible(more > 0)
        self.more_label.setText(f"… and {more} more tags (the All tags tab lists them all)")
        for cat, (title, group, _) in self._groups.items():
            title.setVisible(cat in used)
            group.setVisible(cat in used)
