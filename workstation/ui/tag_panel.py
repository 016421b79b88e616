"""The side panel for the selected clip(s): caption editor, tag chips, autocomplete.

The caption is natural language and has its own editor: it is never split on commas (commas
separate *tags*, in the tag box and in the clip .txt files).  Tags show as chips grouped by
category; an auto tag shows its confidence and where it came from (model, threshold), a manual
tag says so.  The tag order (what the .txt lists first) changes by dragging a chip onto another
or with its ◀ ▶ buttons.  With several clips selected the panel shows the tags all of them share and, marked
as partial, the tags only some have, and every edit applies to all of them.

The panel never writes to the project itself: it hands each edit (a function of the project that
returns a core ``Edit``) to its :class:`~workstation.ui.clip_edits.ClipEditor`, which runs it and
pushes it on the undo stack; the Clips view hears about it and refreshes the grid and the panels.

Token count: transformers' ``CLIPTokenizer`` needs transformers (seconds to import, not in the GUI
process) and its BPE vocab (not shipped with the app), so :func:`approx_clip_tokens` estimates the
count with CLIP's own pre-tokenisation regex and a length rule for long words, and the panel says
"≈".  On English captions it lands within a few tokens of the real count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QMimeData, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QDrag, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QApplication,
    QCompleter,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QFlowLayout

from workstation.core import cliptext, review
from workstation.core.edits import Edit
from workstation.core.review import ClipTag
from workstation.core.store import Project
from workstation.ui.clip_edits import ClipEditor

MAX_CHIPS = 150  # with many clips selected: the most common tags; the rest are counted
CLIP_TOKEN_LIMIT = 77  # CLIP's text encoder context, start and end tokens included
_CLIP_PAT = re.compile(
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|"
    r"[^\s\w]+|_",
    re.IGNORECASE,
)


def approx_clip_tokens(text: str) -> int:
    """About how many tokens CLIP's tokenizer makes of ``text`` (start/end tokens included).

    Same pre-tokenisation as CLIP (lower case, words, single digits, punctuation runs); a word
    of up to 7 letters counts as one BPE token (common English words are whole tokens), longer
    words as one more per 4 further letters; a punctuation run as one per 2 characters.
    """
    n = 2
    for piece in _CLIP_PAT.findall(text.lower()):
        if piece[0].isalpha():
            n += 1 if len(piece) <= 7 else 1 + (len(piece) - 4) // 4
        else:
            n += max(1, len(piece) // 2)
    return n


# -- a tag chip ------------------------------------------------------------------------------
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
        lay = QHBoxLayout(self)
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

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
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

    def _button(self, text: str, tip: str, slot, key: str) -> None:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.clicked.connect(slot)
        self.layout().addWidget(b)
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

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(_CHIP_MIME):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(_CHIP_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        name = bytes(event.mimeData().data(_CHIP_MIME)).decode()
        target = self.childAt(event.position().toPoint())
        while target is not None and not isinstance(target, TagChip):
            target = target.parentWidget()
        if target is not None and target.name != name:
            event.acceptProposedAction()
            self.chipDropped.emit(name, target.name)


class TagCompleter(QCompleter):
    """Completes the tag being typed after the last comma and keeps the tags before it; the
    list shows "name  (count)" and inserts the name.  The panel fills the list (already
    filtered, prefix matches first) on every edit, so the completer only shows it."""

    def __init__(self, model, box: QLineEdit) -> None:
        super().__init__(model, box)
        self.box = box
        self.typed = ""  # the box's text when the list was filled
        self.setCompletionRole(Qt.ItemDataRole.UserRole)
        self.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.setMaxVisibleItems(12)
        self.setWidget(box)  # not box.setCompleter: that would replace the whole text
        self.activated[QModelIndex].connect(self._insert)

    def offer(self, typed: str) -> None:
        self.typed = typed
        if self.model().rowCount() and self.box.hasFocus():
            self.complete()
            self.popup().setCurrentIndex(QModelIndex())  # nothing chosen until arrows/click
        else:
            self.popup().hide()

    def _insert(self, index: QModelIndex) -> None:
        head, comma, _word = self.typed.rpartition(",")
        name = index.data(Qt.ItemDataRole.UserRole)
        self.box.setText(f"{head}{comma}{' ' if comma else ''}{name}")


# -- the panel -------------------------------------------------------------------------------
class TagPanel(QWidget):
    """Caption + tags of the selected clips."""

    tagsEdited = Signal()

    def __init__(self, editor: ClipEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.clip_ids: list[int] = []
        self.chips: dict[str, TagChip] = {}
        self._tags: dict[int, list[ClipTag]] = {}
        self._caption_loaded = ""
        self._caption_dirty = False
        self._loading = False
        self._multi: list[tuple[str, str, int, int]] = []
        self._tag_counts: list | None = None  # autocomplete source, read on first keystroke

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.heading = QLabel("No clip selected")
        f = self.heading.font()
        f.setBold(True)
        self.heading.setFont(f)
        outer.addWidget(self.heading)

        # caption
        cap_row = QHBoxLayout()
        cap_row.addWidget(QLabel("Caption"))
        self.caption_source = QLabel("")
        self.caption_source.setStyleSheet("color:#999;")
        cap_row.addWidget(self.caption_source, 1)
        self.token_label = QLabel("")
        cap_row.addWidget(self.token_label)
        outer.addLayout(cap_row)
        self.caption = QPlainTextEdit()
        self.caption.setPlaceholderText("A sentence describing the clip (saved as you type)")
        self.caption.setFixedHeight(76)
        self.caption.setTabChangesFocus(True)
        self.caption.textChanged.connect(self._caption_typed)
        self.caption.installEventFilter(self)
        outer.addWidget(self.caption)
        self._caption_timer = QTimer(self, singleShot=True, interval=900)
        self._caption_timer.timeout.connect(self.commit_caption)

        # tag entry
        add_row = QHBoxLayout()
        self.tag_box = QLineEdit()
        self.tag_box.setPlaceholderText("Add tags (comma-separated), Enter to add")
        self.tag_box.returnPressed.connect(self._add_from_box)
        self.tag_box.textEdited.connect(self._complete)
        self._completions = QStandardItemModel(self)
        self.completer = TagCompleter(self._completions, self.tag_box)
        add_row.addWidget(self.tag_box, 1)
        outer.addLayout(add_row)

        # accept above
        acc_row = QHBoxLayout()
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.5)
        self.threshold.setToolTip("Accept the auto tags at least this confident")
        self.accept_button = QPushButton("Accept auto tags ≥")
        self.accept_button.clicked.connect(lambda: self.accept_above(self.threshold.value()))
        acc_row.addWidget(self.accept_button)
        acc_row.addWidget(self.threshold)
        acc_row.addStretch(1)
        outer.addLayout(acc_row)

        # chips
        self._chips_host = QWidget()
        self._chips_layout = QVBoxLayout(self._chips_host)
        self._chips_layout.setContentsMargins(0, 0, 0, 0)
        self._chips_layout.setSpacing(2)
        self._groups: dict[str, tuple[QLabel, QWidget, QFlowLayout]] = {}
        for cat in ("rating", "character", "general", "meta"):
            title = QLabel(cat.capitalize())
            title.setStyleSheet("color:#aaa; font-weight:bold; margin-top:4px;")
            host = ChipGroup()
            host.chipDropped.connect(self.drop_tag)
            flow = QFlowLayout(host)
            flow.setContentsMargins(0, 0, 0, 0)
            self._chips_layout.addWidget(title)
            self._chips_layout.addWidget(host)
            self._groups[cat] = (title, host, flow)
        self.more_label = QLabel("")
        self.more_label.setStyleSheet("color:#999;")
        self.more_label.hide()
        self._chips_layout.addWidget(self.more_label)
        self._chips_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._chips_host)
        outer.addWidget(scroll, 1)

        # sidecar settings that shape what a tag list means for training
        form = QFormLayout()
        self.trigger = QLineEdit()
        self.trigger.setPlaceholderText("e.g. mystyle (written first in every .txt)")
        self.trigger.editingFinished.connect(self._save_sidecar_settings)
        self.keep_first = QSpinBox()
        self.keep_first.setRange(0, 500)
        self.keep_first.setSpecialValueText("all")
        self.keep_first.setToolTip("Write only the first N tags to each clip's .txt")
        self.keep_first.editingFinished.connect(self._save_sidecar_settings)
        form.addRow("Trigger word", self.trigger)
        form.addRow("Keep first tags", self.keep_first)
        outer.addLayout(form)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color:#e07b39;")
        outer.addWidget(self.status)
        self._load_sidecar_settings()
        self.set_clips([])

    # -- loading ---------------------------------------------------------------------------
    @property
    def project(self) -> Project:
        return self.editor.project

    def set_clips(self, clip_ids: Sequence[int]) -> None:
        """Show these clips (the grid's selection); saves a caption being typed first."""
        if self._caption_dirty:
            self.commit_caption()
        self.clip_ids = list(clip_ids)
        self.refresh()

    def refresh(self) -> None:
        """Re-read tags and caption of the shown clips (after any edit or undo)."""
        ids = self.clip_ids
        n = len(ids)
        self._tag_counts = None
        self.setEnabledParts(n > 0)
        self._tags = review.clip_tags_many(self.project, ids) if n == 1 else {}
        self._multi = self._multi_tags(ids) if n > 1 else []
        if n == 0:
            self.heading.setText("No clip selected")
        elif n == 1:
            row = self.project.db.execute(
                "SELECT path, reviewed FROM clips WHERE id=?", (ids[0],)
            ).fetchone()
            name = row[0].rsplit("/", 1)[-1] if row else "?"
            self.heading.setText(f"{name}" + ("  ✓ reviewed" if row and row[1] else ""))
        else:
            self.heading.setText(f"{n} clips selected")
        self._load_caption()
        self._build_chips()

    def _multi_tags(self, ids: list[int]) -> list[tuple[str, str, int, int]]:
        """(name, category, clips with it, of which untouched auto) over many clips, in SQL:
        10,000 selected clips are 50,000 tag rows, too many to fetch one by one."""
        return self.project.db.execute(
            "SELECT t.name, t.category, COUNT(*), SUM(ct.source = 'auto' AND ct.state = 'active') "
            "FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id "
            "WHERE ct.clip_id IN (SELECT value FROM json_each(?)) AND ct.state != 'rejected' "
            "GROUP BY t.id ORDER BY COUNT(*) DESC, t.name",
            (json.dumps(ids),),
        ).fetchall()

    def _captions(self, ids: list[int]) -> tuple[str, bool]:
        """The shown clips' caption, and whether they differ."""
        n, distinct, text = self.project.db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT text), MIN(text) FROM captions "
            "WHERE clip_id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        ).fetchone()
        if n == 0:
            return "", False
        return (text, False) if n == len(ids) and distinct == 1 else ("", True)

    def setEnabledParts(self, enabled: bool) -> None:  # noqa: N802 - Qt style like setEnabled
        for w in (self.caption, self.tag_box, self.accept_button, self.threshold):
            w.setEnabled(enabled)

    def _load_caption(self) -> None:
        if self._caption_dirty:  # never overwrite what is being typed (it saves on a pause)
            self._show_tokens()
            return
        self._loading = True
        try:
            ids = self.clip_ids
            caps = review.captions_many(self.project, ids) if len(ids) == 1 else {}
            text, differ = self._captions(ids) if ids else ("", False)
            if not differ:
                self.caption.setPlaceholderText(
                    "A sentence describing the clip (saved as you type)"
                )
            else:
                self.caption.setPlaceholderText(
                    f"The {len(self.clip_ids)} clips have different captions — typing here "
                    "replaces all of them"
                )
            if self.caption.toPlainText() != text:
                self.caption.setPlainText(text)
            self._caption_loaded = text
            self._caption_dirty = False
            if len(self.clip_ids) == 1 and self.clip_ids[0] in caps:
                c = caps[self.clip_ids[0]]
                self.caption_source.setText(
                    "manual" if c.source == "manual" else f"auto ({c.model or 'captioner'})"
                )
            else:
                self.caption_source.setText("")
            self._show_tokens()
        finally:
            self._loading = False

    def _build_chips(self) -> None:
        for _title, _host, flow in self._groups.values():
            while flow.count():
                item = flow.takeAt(0)
                if item.widget() is not None:
                    item.widget().deleteLater()
        self.chips = {}
        ids = self.clip_ids
        if not ids:
            for title, host, _ in self._groups.values():
                title.hide()
                host.hide()
            self.more_label.hide()
            return
        settings = cliptext.load_settings(self.project)
        keep = settings.keep_first_tags
        single = len(ids) == 1
        runs = {}  # auto tag -> (threshold, aggregation) of the run that proposed it
        if single:
            runs = {
                r[0]: (r[1], r[2])
                for r in self.project.db.execute(
                    "SELECT t.name, ct.threshold, ct.aggregation FROM clip_tags ct "
                    "JOIN tags t ON t.id = ct.tag_id WHERE ct.clip_id = ? AND ct.source = 'auto'",
                    (ids[0],),
                )
            }
        used = set()

        def place(chip: TagChip, category: str) -> None:
            chip.removeClicked.connect(self.remove_tag)
            chip.acceptClicked.connect(self.accept_tag)
            chip.addAllClicked.connect(self.add_tag)
            chip.moveClicked.connect(self.move_tag)
            cat = category if category in self._groups else "general"
            self._groups[cat][2].addWidget(chip)
            used.add(cat)
            self.chips[chip.name] = chip

        if single:
            for i, tag in enumerate(self._tags.get(ids[0], [])):
                kind, detail, tip = describe(tag, *runs.get(tag.name, (None, None)))
                faded = keep > 0 and i >= keep
                if faded:
                    tip += f"\nnot written to the .txt (only the first {keep} tags are)"
                place(TagChip(tag.name, kind, detail, tip, movable=True, faded=faded), tag.category)
        n = len(ids)
        for name, category, count, autos in self._multi[:MAX_CHIPS]:
            if count == n:
                kind = "auto" if autos == n else "manual"
                detail = "auto" if kind == "auto" else ""
                tip = f"{name}: on all {n} selected clips"
            else:
                kind, detail = "partial", f"{count}/{n}"
                tip = f"{name}: on {count} of the {n} selected clips"
            place(TagChip(name, kind, detail, tip), category)
        more = len(self._multi) - MAX_CHIPS
        self.more_label.setVisible(more > 0)
        self.more_label.setText(f"… and {more} more tags (the All tags tab lists them all)")
        for cat, (title, host, _) in self._groups.items():
            title.setVisible(cat in used)
            host.setVisible(cat in used)

    # -- caption ---------------------------------------------------------------------------
    def _caption_typed(self) -> None:
        self._show_tokens()
        if self._loading:
            return
        self._caption_dirty = self.caption.toPlainText() != self._caption_loaded
        if self._caption_dirty:
            self._caption_timer.start()

    def _show_tokens(self) -> None:
        n = approx_clip_tokens(self.caption.toPlainText())
        self.token_label.setText(f"≈ {n} / {CLIP_TOKEN_LIMIT} tokens")
        self.token_label.setToolTip(
            "Estimated CLIP text-encoder tokens (start and end included); text past "
            f"{CLIP_TOKEN_LIMIT} tokens is cut off in training"
        )
        self.token_label.setStyleSheet("color:#e05050;" if n > CLIP_TOKEN_LIMIT else "color:#999;")

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self.caption and event.type() == QEvent.Type.FocusOut and self._caption_dirty:
            self.commit_caption()  # leaving the editor saves (Tab, a click in the grid)
        return super().eventFilter(obj, event)

    def commit_caption(self) -> None:
        """Save the caption being typed to every shown clip (one undo step per pause)."""
        self._caption_timer.stop()
        if not self._caption_dirty or not self.clip_ids:
            return
        text = self.caption.toPlainText()
        ids = list(self.clip_ids)
        self._caption_dirty = False
        self._caption_loaded = text
        self.editor.apply_edit(lambda p: review.set_caption(p, ids, text))

    # -- tags ------------------------------------------------------------------------------
    def _run(self, fn: Callable[[Project], Edit]) -> None:
        if self.clip_ids:
            self.commit_caption()  # a caption being typed is saved first, as its own step
            self.editor.apply_edit(fn)

    def add_tag(self, names: str | Sequence[str]) -> None:
        ids = list(self.clip_ids)
        self._run(lambda p: review.add_tags(p, ids, names))

    def remove_tag(self, name: str) -> None:
        ids = list(self.clip_ids)
        self._run(lambda p: review.remove_tags(p, ids, name))

    def accept_tag(self, name: str) -> None:
        ids = list(self.clip_ids)
        self._run(lambda p: review.accept_tags(p, ids, [name]))

    def accept_above(self, threshold: float) -> None:
        ids = list(self.clip_ids)
        self._run(lambda p: review.accept_above(p, threshold, ids))

    def move_tag(self, name: str, delta: int) -> None:
        """Swap a tag with its neighbour of the same category (one clip shown)."""
        if len(self.clip_ids) != 1:
            return
        cid = self.clip_ids[0]
        tags = self._tags.get(cid, [])
        names = [t.name for t in tags]
        if name not in names:
            return
        cat = {t.name: t.category for t in tags}
        same = [n for n in names if cat[n] == cat[name]]
        j = same.index(name) + delta
        if not 0 <= j < len(same):
            return
        a, b = names.index(name), names.index(same[j])
        names[a], names[b] = names[b], names[a]
        self._run(lambda p: review.reorder_tags(p, cid, names))

    def drop_tag(self, name: str, before: str) -> None:
        """Put a tag just before another of the same category (drag and drop, one clip)."""
        if len(self.clip_ids) != 1:
            return
        cid = self.clip_ids[0]
        tags = self._tags.get(cid, [])
        cat = {t.name: t.category for t in tags}
        if name not in cat or before not in cat or cat[name] != cat[before]:
            return
        names = [t.name for t in tags if t.name != name]
        names.insert(names.index(before), name)
        self._run(lambda p: review.reorder_tags(p, cid, names))

    def _add_from_box(self) -> None:
        popup = self.completer.popup()
        if popup.isVisible() and popup.currentIndex().isValid():
            return  # this Enter picks a completion (the completer inserts it)
        popup.hide()
        text = self.tag_box.text()
        names = [n.strip() for n in text.split(",") if n.strip()]
        if not names:
            return
        self.tag_box.clear()
        self.add_tag(names)

    def focus_tag_box(self) -> None:
        self.tag_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.tag_box.selectAll()

    def _complete(self, text: str) -> None:
        """Fill the completer with project tags matching the last comma-separated word."""
        word = text.rsplit(",", 1)[-1].strip()
        self._completions.clear()
        if not word:
            self.completer.offer(text)
            return
        if self._tag_counts is None:  # once per edit, not per keystroke
            self._tag_counts = review.tag_counts(self.project, include_unused=True)
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
        m = self._completions
        return [m.item(r).data(Qt.ItemDataRole.UserRole) for r in range(m.rowCount())]

    # -- sidecar settings ------------------------------------------------------------------
    def _load_sidecar_settings(self) -> None:
        s = cliptext.load_settings(self.project)
        self.trigger.setText(s.trigger)
        self.keep_first.setValue(s.keep_first_tags)

    def _save_sidecar_settings(self) -> None:
        s = cliptext.load_settings(self.project)
        trigger, keep = self.trigger.text().strip(), int(self.keep_first.value())
        if (trigger, keep) == (s.trigger, s.keep_first_tags):
            return
        cliptext.update_settings(self.project, trigger=trigger, keep_first_tags=keep)
        self.editor.rewrite_sidecars(None)
        self._build_chips()

    def show_error(self, message: str) -> None:
        self.status.setText(message)
