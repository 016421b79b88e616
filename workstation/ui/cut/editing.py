"""The Cut view's edits: checks that an edit makes sense, then one undoable command per edit.

:class:`CutEdits` is the glue between requests (keys, the timeline's and the review strip's
signals) and the commands of :mod:`workstation.ui.cut.commands`: it refuses what cannot be done
(a cut on the first frame, onto another cut, past the end) with a message, selects instead of
adding a cut that exists, and pushes the command on the shown video's undo stack.  It reads the
view through :class:`EditHost`, which is also the commands' target.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QLabel

from workstation.core.store import Cut
from workstation.ui.cut.commands import (
    AcceptCut,
    AddCut,
    CutCommand,
    CutEditTarget,
    DeleteCut,
    MergeWithNext,
    MoveCut,
    NudgeCut,
    ToggleReject,
)
from workstation.ui.cut.timeline.widget import Timeline


class EditHost(CutEditTarget, Protocol):
    """What the edits read of the Cut view (besides being the commands' target)."""

    @property
    def video_id(self) -> int | None: ...
    @property
    def undo_stack(self) -> QUndoStack | None: ...
    @property
    def timeline(self) -> Timeline: ...
    @property
    def status(self) -> QLabel: ...

    def seek(self, frame: int) -> None: ...


class CutEdits:
    """Add, delete, move, nudge, accept cuts; reject and merge segments; step between cuts."""

    def __init__(self, host: EditHost) -> None:
        self.host = host

    @property
    def timeline(self) -> Timeline:
        return self.host.timeline

    def push(self, command: CutCommand) -> bool:
        """Do ``command`` on the shown video's undo stack; whether it worked."""
        stack = self.host.undo_stack
        if stack is None:
            return False
        stack.push(command)
        return command.error is None

    def add_cut(self, frame: int) -> bool:
        vid, tl = self.host.video_id, self.timeline
        if vid is None:
            return False
        if not 0 < frame < tl.frame_count:
            self.host.edit_failed(f"A cut must be after the first frame (frame {frame} is not).")
            return False
        if tl.cut_at_frame(frame) is not None:
            tl.select_cut(frame)
            return False
        return self.push(AddCut(self.host, vid, frame))

    def add_cut_at_playhead(self) -> bool:
        return self.add_cut(self.timeline.playhead)

    def delete_cut(self, frame: int | None) -> bool:
        vid = self.host.video_id
        if vid is None or frame is None or self.timeline.cut_at_frame(frame) is None:
            return False
        return self.push(DeleteCut(self.host, vid, frame))

    def move_cut(self, old: int, new: int) -> bool:
        vid, tl = self.host.video_id, self.timeline
        if vid is None or old == new or tl.cut_at_frame(old) is None:
            return False
        if not 0 < new < tl.frame_count:
            return False
        if tl.cut_at_frame(new) is not None:
            self.host.edit_failed(f"There is already a cut at frame {new}.")
            return False
        return self.push(MoveCut(self.host, vid, old, new))

    def nudge(self, delta: int) -> bool:
        """Move the selected cut by ``delta`` frames; a run of nudges is one undo step."""
        vid, tl = self.host.video_id, self.timeline
        sel = tl.selected_cut
        if sel is None or vid is None:
            return False
        new = sel + delta
        if not 0 < new < tl.frame_count or tl.cut_at_frame(new):
            return False
        return self.push(NudgeCut(self.host, vid, sel, new))

    def nudge_cut_at(self, frame: int, delta: int) -> None:
        """Select the cut at ``frame`` (without scrolling to it) and nudge it."""
        self.timeline.select_cut(frame, reveal=False)
        self.nudge(delta)

    def accept_cut(self, frame: int | None) -> bool:
        vid = self.host.video_id
        if vid is None or frame is None or self.timeline.cut_at_frame(frame) is None:
            return False
        return self.push(AcceptCut(self.host, vid, frame))

    def toggle_segment(self, start: int) -> bool:
        vid = self.host.video_id
        if vid is None:
            return False
        seg_start, _end, keep = self.timeline.segment_at(start)
        return self.push(ToggleReject(self.host, vid, seg_start, not keep))

    def toggle_reject_at_playhead(self) -> bool:
        return self.toggle_segment(self.timeline.playhead)

    def merge_segment(self, start: int) -> bool:
        vid = self.host.video_id
        if vid is None:
            return False
        _s, end, _keep = self.timeline.segment_at(start)
        if end >= self.timeline.frame_count:
            self.host.edit_failed("The last segment has no next segment to merge with.")
            return False
        return self.push(MergeWithNext(self.host, vid, end))

    def merge_at_playhead(self) -> bool:
        return self.merge_segment(self.timeline.playhead)

    def undo(self) -> None:
        stack = self.host.undo_stack
        if stack is not None:
            stack.undo()

    def redo(self) -> None:
        stack = self.host.undo_stack
        if stack is not None:
            stack.redo()

    def step_cut(self, direction: int, *, only_uncertain: bool = False) -> int | None:
        """Select the next/previous cut from the selection (or the playhead) and seek there."""
        tl = self.timeline
        cuts: list[Cut] = [c for c in tl.cuts if c.uncertain or not only_uncertain]
        if not cuts:
            if only_uncertain:
                self.host.status.setText("No uncertain cuts left in this video.")
            return None
        sel = tl.selected_cut
        ref = sel if sel is not None else tl.playhead
        if direction > 0:
            after = [c.frame for c in cuts if c.frame > ref]
            target = after[0] if after else (cuts[0].frame if only_uncertain else None)
        else:
            before = [c.frame for c in cuts if c.frame < ref]
            target = before[-1] if before else (cuts[-1].frame if only_uncertain else None)
        if target is None:
            return None
        tl.select_cut(target)
        self.host.seek(target)
        return target

    def step_uncertain(self, direction: int) -> int | None:
        return self.step_cut(direction, only_uncertain=True)
