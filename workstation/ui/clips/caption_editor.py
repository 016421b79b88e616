"""The caption part of the tag panel: loading the shown clips' caption, saving what is typed
(on a pause or when the editor loses focus, one undo step each), and the token count.

:class:`CaptionEditor` is a widget of its own: the panel gives it the
:class:`~workstation.ui.clips.edits.ClipEditor` (the project, and the edits it runs) and the
clip ids to show, and asks it to save before any other edit so the caption is its own undo step.

Token count: transformers' ``CLIPTokenizer`` needs transformers (seconds to import, not in the GUI
process) and its BPE vocab (not shipped with the app), so :func:`approx_clip_tokens` estimates the
count with CLIP's own pre-tokenisation regex and a length rule for long words, and the panel says
"≈".  On English captions it lands within a few tokens of the real count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from workstation.core import review
from workstation.core.store import Project
from workstation.ui.clips.edits import ClipEditor

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


PLACEHOLDER = "A sentence describing the clip (saved as you type)"


class CaptionEditor(QWidget):
    """The shown clips' caption: a "Caption" row (where it came from, the token count) over the
    text box.  What is typed is saved to every shown clip after a pause, when the box loses
    focus, or when :meth:`commit` is called: one undo step each."""

    def __init__(self, editor: ClipEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.clip_ids: list[int] = []
        self._caption_loaded = ""
        self._caption_dirty = False
        self._loading = False

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Caption"))
        self.caption_source = QLabel("")
        self.caption_source.setStyleSheet("color:#999;")
        row.addWidget(self.caption_source, 1)
        self.token_label = QLabel("")
        row.addWidget(self.token_label)
        lay.addLayout(row)
        self.caption = QPlainTextEdit()
        self.caption.setPlaceholderText(PLACEHOLDER)
        self.caption.setFixedHeight(76)
        self.caption.setTabChangesFocus(True)
        self.caption.textChanged.connect(self._caption_typed)
        self.caption.installEventFilter(self)
        lay.addWidget(self.caption)
        self._caption_timer = QTimer(self, singleShot=True, interval=900)
        self._caption_timer.timeout.connect(self.commit_caption)

    @property
    def project(self) -> Project:
        return self.editor.project

    @property
    def dirty(self) -> bool:
        """Typed and not saved yet."""
        return self._caption_dirty

    def show_clips(self, clip_ids: Sequence[int]) -> None:
        """Show the caption of these clips (unless one is being typed: that saves on a pause)."""
        self.clip_ids = list(clip_ids)
        self._load_caption()

    def stop(self) -> None:
        """Drop a pending save (the project is closing)."""
        self._caption_timer.stop()

    def _captions(self, ids: list[int]) -> tuple[str, bool]:
        """The shown clips' caption, and whether they differ."""
        n, distinct, text = self.project.caption_spread(ids)
        if n == 0 or text is None:
            return "", False
        return (text, False) if n == len(ids) and distinct == 1 else ("", True)

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
                self.caption.setPlaceholderText(PLACEHOLDER)
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

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
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
