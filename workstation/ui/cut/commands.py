"""Undoable cut edits: every change a person makes on the timeline is one ``QUndoCommand``.

Each command writes to the project at once (so a crash loses nothing) and snapshots the raw rows
at the frames it touches before and after (:meth:`Project.cut_rows`).  Undo and redo put those
rows back verbatim instead of re-running the inverse edit, so the store after an undo is exactly
what it was — tombstones of deleted auto cuts, scores, sources and keep flags included — even
where the forward edit is not cleanly invertible (moving an auto cut makes it manual; adding a
cut over a tombstone revives it).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from PySide6.QtGui import QUndoCommand

from workstation.core.errors import WorkstationError
from workstation.core.store import Cut, CutRows, Project


class CutEditTarget(Protocol):
    """Who applies the edits: the cut view (gives the main-thread project, hears changes)."""

    @property
    def project(self) -> Project: ...

    def cuts_edited(self, video_id: int, select: int | None, frames: list[int]) -> None: ...

    def edit_failed(self, message: str) -> None: ...


class CutCommand(QUndoCommand):
    """Base: snapshot rows at ``frames``, apply once, then replay snapshots."""

    def __init__(self, target: CutEditTarget, video_id: int, text: str, frames) -> None:
        super().__init__(text)
        self.target = target
        self.video_id = video_id
        self.frames = sorted({int(f) for f in frames})
        self._before: CutRows | None = None
        self._after: CutRows | None = None
        self.error: str | None = None
        self.select_after: int | None = None
        self.select_before: int | None = None

    def apply(self, project: Project) -> None:
        raise NotImplementedError

    def redo(self) -> None:
        project = self.target.project
        if self._after is None:
            self._before = project.cut_rows(self.video_id, self.frames)
            try:
                with project.transaction():
                    self.apply(project)
            except (ValueError, WorkstationError) as exc:  # e.g. a read-only project
                # Nothing was written (the transaction rolled back); drop the command.
                self.error = f"{self.text()}: {exc}"
                self.setObsolete(True)
                self.target.edit_failed(self.error)
                return
            self._after = project.cut_rows(self.video_id, self.frames)
        else:
            project.restore_cut_rows(self.video_id, self._after)
        self.target.cuts_edited(self.video_id, self.select_after, self.frames)

    def undo(self) -> None:
        if self._before is None:
            return
        self.target.project.restore_cut_rows(self.video_id, self._before)
        self.target.cuts_edited(self.video_id, self.select_before, self.frames)


class AddCut(CutCommand):
    """A new manual cut; the new segment inherits the reject flag of the one it splits."""

    def __init__(self, target, video_id: int, frame: int) -> None:
        super().__init__(target, video_id, f"Add cut at {frame}", [frame])
        self.frame = frame
        self.select_after = frame

    def apply(self, project: Project) -> None:
        if project.cuts_at(self.video_id, [self.frame]):
            raise ValueError(f"there is already a cut at frame {self.frame}")
        keep = project.segment_at(self.video_id, self.frame).keep
        project.add_cut(self.video_id, Cut(self.frame, "manual"))
        if not keep:
            project.set_segment_keep(self.video_id, self.frame, False)


class DeleteCut(CutCommand):
    def __init__(self, target, video_id: int, frame: int) -> None:
        super().__init__(target, video_id, f"Delete cut at {frame}", [frame])
        self.frame = frame
        self.select_before = frame

    def apply(self, project: Project) -> None:
        project.remove_cut(self.video_id, self.frame)


class MoveCut(CutCommand):
    """Move (drag or nudge) a cut; it becomes manual, its segment keeps its flag."""

    def __init__(self, target, video_id: int, old: int, new: int, text: str = "") -> None:
        super().__init__(target, video_id, text or f"Move cut {old} → {new}", [old, new])
        self.old, self.new = old, new
        self.select_before, self.select_after = old, new

    def apply(self, project: Project) -> None:
        frame_count = project.video(self.video_id).frame_count
        if not 0 < self.new < frame_count:
            raise ValueError(f"frame {self.new} is outside 1..{frame_count - 1}")
        project.move_cut(self.video_id, self.old, self.new)


class NudgeCut(MoveCut):
    """A one-frame nudge.  Consecutive nudges of the same cut merge into one undo step."""

    ID = 1001

    def __init__(self, target, video_id: int, old: int, new: int) -> None:
        super().__init__(target, video_id, old, new, f"Nudge cut {old} → {new}")
        self.origin = old

    def id(self) -> int:
        return self.ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (
            isinstance(other, NudgeCut)
            and other.video_id == self.video_id
            and other.old == self.new
            and self._before is not None
            and self._after is not None
            and other._before is not None
            and other._after is not None
        ):
            return False
        # Rows before = ours, plus the other's for frames we did not touch (they were
        # unchanged by us); rows after = the other's, plus ours for frames it did not touch.
        self._before = _union(self._before, other._before)
        self._after = _union(other._after, self._after)
        self.frames = sorted(set(self.frames) | set(other.frames))
        self.new = other.new
        self.select_after = other.new
        self.setText(f"Nudge cut {self.origin} → {self.new}")
        return True


def _union(first: CutRows, second: CutRows) -> CutRows:
    """Snapshot rows of ``first``, completed with ``second``'s rows at frames ``first`` lacks."""
    own = set(first["frames"])
    return CutRows(
        frames=sorted(own | set(second["frames"])),
        cuts=first["cuts"] + [r for r in second["cuts"] if r["frame"] not in own],
        segments=first["segments"] + [r for r in second["segments"] if r["start_frame"] not in own],
    )


class ToggleReject(CutCommand):
    """Flip keep/reject of the segment starting at ``start``."""

    def __init__(self, target, video_id: int, start: int, keep: bool) -> None:
        word = "Keep" if keep else "Reject"
        super().__init__(target, video_id, f"{word} segment at {start}", [start])
        self.start, self.keep = start, keep
        self.select_before = self.select_after = None

    def apply(self, project: Project) -> None:
        project.set_segment_keep(self.video_id, self.start, self.keep)


class MergeWithNext(CutCommand):
    """Join a segment with the next one by removing the cut between them."""

    def __init__(self, target, video_id: int, cut_frame: int) -> None:
        super().__init__(target, video_id, f"Merge segments at {cut_frame}", [cut_frame])
        self.cut_frame = cut_frame
        self.select_before = cut_frame

    def apply(self, project: Project) -> None:
        project.remove_cut(self.video_id, self.cut_frame)


class AcceptCut(CutCommand):
    """A person confirmed a detected cut: it becomes manual and no longer uncertain."""

    def __init__(self, target, video_id: int, frame: int) -> None:
        super().__init__(target, video_id, f"Accept cut at {frame}", [frame])
        self.frame = frame
        self.select_before = self.select_after = frame

    def apply(self, project: Project) -> None:
        found = project.cuts_at(self.video_id, [self.frame])
        if not found:
            raise ValueError(f"no cut at frame {self.frame}")
        cut = found[0]
        params = {**cut.params, "accepted": True}
        project.add_cut(
            self.video_id,
            dataclasses.replace(cut, source="manual", uncertain=False, params=params),
        )


def history_is_current(
    project: Project, video_id: int, commands: list[QUndoCommand], index: int
) -> bool:
    """Whether an undo history (``commands``, the first ``index`` of them done) can still be
    undone and redone exactly after someone else (a detection, an import) changed the cuts.

    Steps put saved rows back verbatim, so they stay right while the rows at the frames they
    touch are what the history expects there (the rows after the last done step that touched
    the frame, else those before the first undone one), and the row ids they would put back are
    not taken by other rows (a detection's new rows may reuse ids freed by an undo).
    """
    expected: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    ids: dict[int, int] = {}  # cut row id → its frame in the saved rows
    for i, cmd in enumerate(commands):
        if not isinstance(cmd, CutCommand) or cmd.video_id != video_id:
            continue
        if cmd._before is None or cmd._after is None:
            return False
        for rows in (cmd._before, cmd._after):
            ids.update({int(r["id"]): int(r["frame"]) for r in rows["cuts"]})
        done = i < index
        for frame in cmd.frames:
            if done or frame not in expected:
                expected[frame] = _at(cmd._after if done else cmd._before, frame)
    if not expected:
        return True
    now = project.cut_rows(video_id, list(expected))
    if any(_at(now, f) != rows for f, rows in expected.items()):
        return False
    taken = project.cut_frames_by_id(ids)
    return all(where == (video_id, ids[i]) for i, where in taken.items())


def _at(rows: CutRows, frame: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The saved cut and keep-flag rows at one frame, in a comparable order."""
    cuts = sorted((r for r in rows["cuts"] if r["frame"] == frame), key=lambda r: r["id"])
    segs = [r for r in rows["segments"] if r["start_frame"] == frame]
    return [dict(r) for r in cuts], [dict(r) for r in segs]
