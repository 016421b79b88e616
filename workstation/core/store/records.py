"""The plain records the store hands out (videos, cuts, segments, clips): frozen, no database.

Other modules and worker processes pass these around; they never hold a connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Video:
    id: int
    path: Path
    content_id: str
    size_bytes: int
    fps: Fraction
    frame_count: int
    duration: float
    width: int
    height: int
    rotation: int
    vfr: bool
    codec: str
    cuts_reviewed: bool
    time_base: Fraction = Fraction(1, 1)

    @property
    def name(self) -> str:
        return self.path.name

    def time_of(self, frame: int) -> float:
        return float(frame / self.fps)


@dataclass(frozen=True)
class Cut:
    frame: int
    source: str = "manual"  # 'auto' | 'manual'
    detector: str | None = None
    score: float | None = None
    kind: str = "cut"
    span_start: int | None = None
    span_end: int | None = None
    uncertain: bool = False
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, end)`` of a video between two cuts."""

    video_id: int
    start: int
    end: int
    keep: bool = True

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Clip:
    id: int
    path: Path
    video_id: int | None
    start_frame: int | None
    end_frame: int | None
    fps: Fraction
    frame_count: int
    width: int
    height: int
    duration: float
    verified: bool | None
    verify_error: str | None
    reviewed: bool
    motion: float | None
    rejected: bool = False  # a person rejected it: no export, no auto-tagging
