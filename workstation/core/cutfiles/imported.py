"""What reading a cut file gives (:class:`ImportedCuts`), and shot lists turned into it.

CSV, FFMETADATA and EDL list shots ``[start, end)``; frames no shot covers become rejected
segments, so nothing is silently kept that the file left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workstation.core.errors import CutFileError
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
