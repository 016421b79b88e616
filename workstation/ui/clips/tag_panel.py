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

The panel holds its parts as objects and talks to them through their methods and signals: the
:class:`~workstation.ui.clips.caption_editor.CaptionEditor` (caption, token count, save on a
pause), the :class:`~workstation.ui.clips.tag_entry.TagEntry` (tag box and completer) and the
:class:`~workstation.ui.clips.tag_chips.ChipArea` (chips by category).  What stays here is what
ties them to the shown clips: the heading, the chips' contents, the tag edits, the accept-above
row and the sidecar settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workstation.core import cliptext, review
from workstation.core.review import ClipTag
from workstation.core.review.edits import Edit
from workstation.core.store import Project
from workstation.ui.clips.caption_editor import CLIP_TOKEN_LIMIT, CaptionEditor, approx_clip_tokens
from workstation.ui.clips.edits import ClipEditor
from workstation.ui.clips.tag_chips import ChipArea, ChipGroup, TagChip, describe
from workstation.ui.clips.tag_entry import TagCompleter, TagEntry

# The chips, the tag box and the token count live in their own modules; they stay importable
# from here.
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


# -- the panel -------------------------------------------------------------------------------
class TagPanel(QWidget):
    """Caption + tags of the selected clips."""

    tagsEdited = Signal()

    def __init__(self, editor: ClipEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.clip_ids: list[int] = []
        self._tags: dict[int, list[ClipTag]] = {}
        self._multi: list[tuple[str, str, int, int]] = []

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.heading = QLabel("No clip selected")
        f = self.heading.font()
        f.setBold(True)
        self.heading.setFont(f)
        outer.addWidget(self.heading)

        self.caption_editor = CaptionEditor(editor)
        self.caption = self.caption_editor.caption  # the text box (focus, tests)
        self.token_label = self.caption_editor.token_label
        outer.addWidget(self.caption_editor)

        self.tag_entry = TagEntry(lambda: self.project)
        self.tag_entry.tagsEntered.connect(self.add_tag)
        self.tag_box = self.tag_entry.tag_box
        self.completer = self.tag_entry.completer
        outer.addWidget(self.tag_entry)

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

        self.chip_area = ChipArea()
        self.chip_area.removeClicked.connect(self.remove_tag)
        self.chip_area.acceptClicked.connect(self.accept_tag)
        self.chip_area.addAllClicked.connect(self.add_tag)
        self.chip_area.moveClicked.connect(self.move_tag)
        self.chip_area.chipDropped.connect(self.drop_tag)
        self.more_label = self.chip_area.more_label
        outer.addWidget(self.chip_area, 1)

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

    @property
    def chips(self) -> dict[str, TagChip]:
        """The chips shown, by tag name, in order."""
        return self.chip_area.chips

    def set_clips(self, clip_ids: Sequence[int]) -> None:
        """Show these clips (the grid's selection); saves a caption being typed first."""
        if self.caption_editor.dirty:
            self.commit_caption()
        self.clip_ids = list(clip_ids)
        self.refresh()

    def refresh(self) -> None:
        """Re-read tags and caption of the shown clips (after any edit or undo)."""
        ids = self.clip_ids
        n = len(ids)
        self.tag_entry.forget_counts()
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
        self.caption_editor.show_clips(ids)
        self._build_chips()

    def commit_caption(self) -> None:
        """Save the caption being typed to every shown clip (one undo step per pause)."""
        self.caption_editor.commit_caption()

    def _multi_tags(self, ids: list[int]) -> list[tuple[str, str, int, int]]:
        """(name, category, clips with it, of which untouched auto) over many clips, in SQL:
        10,000 selected clips are 50,000 tag rows, too many to fetch one by one."""
        return self.project.tags_across(ids)

    def setEnabledParts(self, enabled: bool) -> None:
        for w in (self.caption, self.tag_box, self.accept_button, self.threshold):
            w.setEnabled(enabled)

    def _build_chips(self) -> None:
        ids = self.clip_ids
        if not ids:
            self.chip_area.clear()
            return
        settings = cliptext.load_settings(self.project)
        keep = settings.keep_first_tags
        single = len(ids) == 1
        runs = {}  # auto tag -> (threshold, aggregation) of the run that proposed it
        if single:
            runs = self.project.auto_tag_runs(ids[0])
        chips: list[tuple[TagChip, str]] = []
        if single:
            for i, tag in enumerate(self._tags.get(ids[0], [])):
                kind, detail, tip = describe(tag, *runs.get(tag.name, (None, None)))
                faded = keep > 0 and i >= keep
                if faded:
                    tip += f"\nnot written to the .txt (only the first {keep} tags are)"
                chip = TagChip(tag.name, kind, detail, tip, movable=True, faded=faded)
                chips.append((chip, tag.category))
        n = len(ids)
        for name, category, count, autos in self._multi[:MAX_CHIPS]:
            if count == n:
                kind = "auto" if autos == n else "manual"
                detail = "auto" if kind == "auto" else ""
                tip = f"{name}: on all {n} selected clips"
            else:
                kind, detail = "partial", f"{count}/{n}"
                tip = f"{name}: on {count} of the {n} selected clips"
            chips.append((TagChip(name, kind, detail, tip), category))
        self.chip_area.show_chips(chips, len(self._multi) - MAX_CHIPS)

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

    def focus_tag_box(self) -> None:
        self.tag_entry.focus()

    def completion_names(self) -> list[str]:
        return self.tag_entry.completion_names()

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
