"""Rejecting clips and moving their files to the project bin, from the Clips view.

Both act on the selected clips and go through the view's :class:`ClipEditor`, so they are on
the same undo stack as the tag edits: undo restores a rejected clip, and undoes "Delete clip
files…" by moving the files back (:mod:`workstation.core.review.rejects`).  Dialogs live in
the action handlers only; :meth:`ClipRemoval.reject` and :meth:`ClipRemoval.delete_files` do
the work and are what tests call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QMessageBox, QWidget

from workstation.core import review
from workstation.core.review.edits import Edit
from workstation.ui.clips.edits import ClipEditor
from workstation.ui.clips.selection import GridSelection
from workstation.ui.clips.wording import n_clips


class ClipRemoval:
    """The reject / restore and delete-files actions over the view's selection."""

    def __init__(
        self,
        parent: QWidget,
        editor: ClipEditor,
        selection: GridSelection,
        say: Callable[[str], None],
    ) -> None:
        self.parent = parent
        self.editor = editor
        self.selection = selection
        self.model = selection.model
        self.selected = selection.selected_ids
        self.say = say

    def _all_rejected(self, ids: Sequence[int]) -> bool:
        rows = [self.model.clip(c) for c in ids]
        return bool(rows) and all(r is not None and r.rejected for r in rows)

    def reject(self, ids: Sequence[int] | None = None) -> Edit | None:
        """Reject these clips (the selection when None); when every one of them is rejected
        already (shown by ``rejected:yes``), restore them instead."""
        ids = list(self.selected() if ids is None else ids)
        if not ids:
            self.say("Select the clips to reject first")
            return None
        restore = self._all_rejected(ids)
        edit = self.editor.apply_edit(lambda p: review.reject_clips(p, ids, not restore))
        if edit is not None:
            verb = "Restored" if restore else "Rejected"
            self.say(f"{verb} {n_clips(len(ids))} (Ctrl+Z undoes it)")
        return edit

    def delete_files(self, ids: Sequence[int] | None = None) -> Edit | None:
        """Move these clips' files (and sidecars) to PROJECT/bin and reject them."""
        ids = list(self.selected() if ids is None else ids)
        if not ids:
            self.say("Select the clips whose files to delete first")
            return None
        edit = self.editor.apply_edit(lambda p: review.delete_clip_files(p, ids))
        if edit is not None:
            self.say(f"Moved the files of {n_clips(len(ids))} to the project's bin folder")
        return edit

    # -- what the actions run ----------------------------------------------------------------
    def reject_clicked(self) -> None:
        self._then_next(self.reject)

    def delete_files_clicked(self) -> None:
        ids = self.selected()
        if not ids:
            self.say("Select the clips whose files to delete first")
            return
        answer = QMessageBox.question(
            self.parent,
            "Delete clip files",
            delete_question(len(ids), str(self.editor.project.root / review.BIN_DIR)),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._then_next(lambda: self.delete_files(ids))

    def _then_next(self, action: Callable[[], object]) -> None:
        """Run a removal; when the selected clips left the grid, select the one after them."""
        ids = self.selected()
        after = self.selection.next_after(ids) if ids else None
        action()
        if ids and after is not None and all(self.model.row_of(c) is None for c in ids):
            self.selection.select_clips([after])


def delete_question(n: int, bin_folder: str) -> str:
    return (
        f"Move the files of {n_clips(n)} to the project's bin ({bin_folder})?\n"
        "Their tags and captions are kept; Undo moves the files back."
    )
