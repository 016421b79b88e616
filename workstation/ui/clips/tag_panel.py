"""The side panel for the selected clip(s): caption editor, tag chips, autocomplete.

The caption is natural language and has its own editor: it is never split on commas (commas
separate *tags*, in the tag box and in the clip .txt files).  Tags show as chips grouped by
category; an auto tag shows its confidence and where it came from (model, threshold), a manual
tag says so.  The tag order (what the .txt lists first) changes by dragging a chip onto another
or with its ◀ ▶ buttons.  With several clips selected the panel shows the tags all of them share and, marked
as partial, the tags only some have, and every edit applies to all of them.

The panel never writes to the project itself: it hands each edit (a function of the project that
returns a core ``Edit``) to its :class:`~workstation.ui.clips.edits.ClipEditor`, which runs it and
pushes it on the undo stack; the Clips view hears about it and refreshes the grid and the panels.

The caption editor's behaviour and the token count live in :mod:`workstation.ui.clips.caption_editor`,
the chips in :mod:`workstation.ui.clips.tag_chips`; this module composes them into the panel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
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
    QVBoxLayout,
    QWidget,
)
from superqt import QFlowLayout

from workstation.core import cliptext, review
from workstation.core.edits import Edit
from workstation.core.review import ClipTag
from workstation.core.store import Project
from workstation.ui.clips.caption_editor import CLIP_TOKEN_LIMIT, CaptionEditing, approx_clip_tokens
from workstation.ui.clips.edits import ClipEditor
from workstation.ui.clips.tag_chips import ChipGroup, TagChip, describe

# The chips and the token count moved to their own modules; they stay importable from here.
__all__ = [
    "CLIP_TOKEN_LIMIT",
    "MAX_CHIPS",
    "ChipGroup",
    "TagChip",
    "TagCompleter",
    "TagPanel",
    "approx_clip_tokens",
    "describe",
]

MAX_CHIPS = 150  # with many clips selected: the most common tags; the rest are counted


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
class TagPanel(CaptionEditing, QWidget):
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
            row = self.project.clip_path_and_reviewed(ids[0])
            name = row[0].rsplit("/", 1)[-1] if row else "?"
            self.heading.setText(f"{name}" + ("  ✓ reviewed" if row and row[1] else ""))
        else:
            self.heading.setText(f"{n} clips selected")
        self._load_caption()
        self._build_chips()

    def _multi_tags(self, ids: list[int]) -> list[tuple[str, str, int, int]]:
        """(name, category, clips with it, of which untouched auto) over many clips, in SQL:
        10,000 selected clips are 50,000 tag rows, too many to fetch one by one."""
        return self.project.tags_across(ids)

    def setEnabledParts(self, enabled: bool) -> None:
        for w in (self.caption, self.tag_box, self.accept_button, self.threshold):
            w.setEnabled(enabled)

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
            runs = self.project.auto_tag_runs(ids[0])
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
