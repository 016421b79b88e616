"""What reading a cut file gives (:class:`ImportedCuts`), shot lists turned into it, and what
importing it would change (:class:`ImportPlan`, refused as :class:`CutsWouldBeRemoved`).

CSV, FFMETADATA and EDL list shots ``[start, end)``; frames no shot covers become rejected
segments, so nothing is silently kept that the file left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workstation.core.errors import CutFileError, WorkstationError
from workstation.core.store import Cut


@dataclass(frozen=True)
class ImportedCuts:
    """What a cut file says: the cuts and the start frames of rejected segments (0 allowed)."""

    cuts: list[Cut]
    rejected_starts: list[int] = field(default_factory=list)

    @property
    def frames(self) -> list[int]:
        return [c.frame for c in self.cuts]


def _scenes_to_cuts(
    path: Path, scenes: list[tuple[int, int, int | None]], frames: int
) -> ImportedCuts:
    """Scenes [start, end) to cuts; frames no scene covers become rejected segments."""
    scenes.sort()
    cuts: set[int] = set()
    rejected: set[int] = set()
    pos = 0
    for start, end, line in scenes:
        if start < pos:
            raise CutFileError(
                path, line, f"scene starting at frame {start} overlaps the previous one"
            )
        if start > pos:
            rejected.add(pos)
            if pos > 0:
                cuts.add(pos)
        if start > 0:
            cuts.add(start)
        pos = max(pos, end)
    if pos < frames:
        rejected.add(pos)
        if pos > 0:
            cuts.add(pos)
    return ImportedCuts([Cut(f, "manual") for f in sorted(cuts)], sorted(rejected))


@dataclass(frozen=True)
class ImportPlan:
    """What importing a cut file would do to a video, worked out before anything changes.

    ``removed``: current cuts whose frame the file does not list (``removed_manual`` of them
    placed or kept by a person); ``unrejected``: rejected segments the file does not reject.
    An import that removes nothing (the file lists every current cut, and maybe more) is a
    merge and needs no confirmation; any other replaces data and needs ``replace=True``.
    """

    path: Path
    video_name: str
    cuts: ImportedCuts
    current: int
    removed: int
    removed_manual: int
    unrejected: int

    @property
    def added(self) -> int:
        return len(self.cuts.cuts) - (self.current - self.removed)

    @property
    def removes_anything(self) -> bool:
        return bool(self.removed or self.unrejected)

    def describe(self) -> str:
        """``remove 3 cuts (2 manual) of trip.mp4 and un-reject 1 of its segments``."""
        n = self.removed
        text = f"remove {n} cut{'s' if n != 1 else ''} ({self.removed_manual} manual) of {self.video_name}"
        if self.unrejected:
            text += f" and un-reject {self.unrejected} of its segments"
        return text


class CutsWouldBeRemoved(WorkstationError):
    """An import that would remove cuts or reject marks, refused because it was not asked to."""

    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan
        super().__init__(
            f"{plan.path}: importing it would {plan.describe()}; "
            "run again with --replace to replace them"
        )
