"""How clips are cut: the slicing settings, checked, and stored with every clip.

A clip row keeps :meth:`SliceSettings.to_params`, so a re-run with the same settings reuses
the clips already written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from workstation.core.errors import WorkstationError

SETTINGS_VERSION = 1
# x264's presets, fastest first (the Slice dialog lists them).
X264_PRESETS: tuple[str, ...] = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)


class SliceSettingsError(WorkstationError, ValueError):
    """A slicing setting out of range; the message names the field."""


def _frame_rate(value: Any) -> Fraction:
    """A frame rate from 24, "24000/1001" or 23.976 (NTSC rates snap to N*1000/1001)."""
    try:
        fps = Fraction(value) if not isinstance(value, float) else None
    except (TypeError, ValueError, ZeroDivisionError):
        raise SliceSettingsError(f"fps: {value!r} is not a frame rate") from None
    if fps is None:
        base = round(value * 1001 / 1000)
        if value != int(value) and abs(base * 1000 / 1001 - value) < 0.002:
            fps = Fraction(base * 1000, 1001)
        else:
            fps = Fraction(value).limit_denominator(1001)
    if not 0 < fps <= 1000:
        raise SliceSettingsError(f"fps: {value!r} must be above 0 and at most 1000")
    return fps


@dataclass(frozen=True)
class SliceSettings:
    """How clips are cut; stored with every clip so a re-run with the same settings is a no-op."""

    fps: Fraction | None = None  # None: the source's rate (and timestamps, for VFR)
    max_side: int | None = None  # downscale so the longer side is at most this (even dims)
    min_frames: int = 8  # shorter segments/chunks are skipped and reported
    max_frames: int | None = None  # longer segments are split into chunks of this many
    trim: int = 0  # frames dropped at each cut edge
    # A fade's or dissolve's frames (its cut's span) go into the clips on either side; by
    # default they are left out: a training clip shows one shot, not the blend into the next.
    keep_transitions: bool = False
    crf: int = 18
    preset: str = "fast"

    def __post_init__(self) -> None:
        if self.fps is not None:
            object.__setattr__(self, "fps", _frame_rate(self.fps))
        if self.max_side is not None and self.max_side < 16:
            raise SliceSettingsError(f"max_side: {self.max_side} is too small (at least 16)")
        if self.min_frames < 1:
            raise SliceSettingsError(f"min_frames: {self.min_frames} must be at least 1")
        if self.max_frames is not None and self.max_frames < self.min_frames:
            raise SliceSettingsError(
                f"max_frames: {self.max_frames} is below min_frames ({self.min_frames})"
            )
        if self.trim < 0:
            raise SliceSettingsError(f"trim: {self.trim} must not be negative")
        if not 0 <= self.crf <= 51:
            raise SliceSettingsError(f"crf: {self.crf} must be between 0 and 51")
        if self.preset not in X264_PRESETS:
            raise SliceSettingsError(
                f"preset: {self.preset!r} is not one of {', '.join(X264_PRESETS)}"
            )

    def to_params(self) -> dict[str, Any]:
        """A JSON-able dict (what the clip rows store and compare)."""
        d = asdict(self)
        d["fps"] = None if self.fps is None else f"{self.fps.numerator}/{self.fps.denominator}"
        d.update(version=SETTINGS_VERSION, codec="libx264", pix_fmt="yuv420p")
        return d

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SliceSettings:
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        return cls(**known)
