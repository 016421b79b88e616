"""What an export is asked to do (:class:`ExportSettings`) and what it did (:class:`ExportResult`).

The settings are declared once with their defaults and stored in the export's manifest, so a
re-run knows what every file was made from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from workstation.core.cliptext import SidecarFormat, SidecarSettings
from workstation.core.errors import WorkstationError


class ExportFormat(StrEnum):
    PAIRS = "pairs"
    WEBVID = "webvid"
    WEBDATASET = "webdataset"


@dataclass(frozen=True)
class ExportSettings:
    """What to export and how; declared once with defaults, stored in the manifest."""

    format: ExportFormat = ExportFormat.PAIRS
    selection: str = "all"  # "all", "reviewed", or a clip filter query
    text_format: SidecarFormat = SidecarFormat.TAGS_CAPTION
    separator: str = ", "
    trigger: str = ""  # written first in every caption
    keep_first_tags: int = 0
    spaces_for_underscores: bool = False
    include_auto: bool = True  # auto tags nobody accepted yet
    size: int | None = None  # resize so the SHORT side is this many pixels
    crop: str | None = None  # centre crop to an aspect: "1:1", "16:9", "4:3" ...
    fps: Fraction | None = None  # resample to this rate (sample and hold by timestamps)
    val_fraction: float = 0.0  # share of source videos held out for validation
    seed: int = 0
    shard_size: int = 500  # samples per WebDataset tar
    crf: int = 16

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "format", ExportFormat(self.format))
        except ValueError:
            raise WorkstationError(
                f"export setting 'format': must be one of "
                f"{'|'.join(f.value for f in ExportFormat)}, not {self.format!r}"
            ) from None
        object.__setattr__(self, "text_format", SidecarFormat(self.text_format))
        if self.fps is not None:
            object.__setattr__(self, "fps", Fraction(self.fps))
            if not 0 < self.fps <= 240:
                raise WorkstationError(f"export setting 'fps': {self.fps} is not a usable rate")
        if self.size is not None and self.size < 16:
            raise WorkstationError(f"export setting 'size': {self.size} is too small (at least 16)")
        if self.crop is not None:
            parse_aspect(self.crop)
        if not 0 <= self.val_fraction < 1:
            raise WorkstationError("export setting 'val_fraction': must be at least 0 and below 1")
        if self.shard_size < 1:
            raise WorkstationError("export setting 'shard_size': must be at least 1")

    @property
    def transforms(self) -> bool:
        return self.size is not None or self.crop is not None or self.fps is not None

    def text_settings(self) -> SidecarSettings:
        return SidecarSettings(
            format=self.text_format,
            separator=self.separator,
            trigger=self.trigger,
            keep_first_tags=self.keep_first_tags,
            spaces_for_underscores=self.spaces_for_underscores,
            include_auto=self.include_auto,
        )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ExportSettings:
        """Settings from :meth:`to_params` output stored earlier (a project remembers the
        export dialog's values): unknown keys, values of the wrong type and values the
        settings refuse are left at their defaults, one by one."""
        hints = get_type_hints(cls)
        kept: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in params:
                continue
            value = _typed(hints[f.name], params[f.name])
            if value is _BAD:
                continue
            try:
                cls(**{f.name: value}).text_settings()
            except (WorkstationError, ValueError, TypeError, ZeroDivisionError):
                continue
            kept[f.name] = value
        return cls(**kept)

    def to_params(self) -> dict[str, Any]:
        d = asdict(self)
        d["format"] = self.format.value
        d["text_format"] = self.text_format.value
        d["fps"] = None if self.fps is None else f"{self.fps.numerator}/{self.fps.denominator}"
        return d


_BAD = object()


def _typed(hint: Any, value: Any) -> Any:
    """``value`` (read from JSON) as the field type ``hint``, or :data:`_BAD`."""
    options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    if value is None:
        return None if type(None) in options else _BAD
    for t in options:
        if t is bool and isinstance(value, bool):
            return value
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(t, type) and issubclass(t, str) and isinstance(value, str):
            return value  # a str or a StrEnum: the settings check it
        if t is Fraction and isinstance(value, str | int):
            try:
                return Fraction(value)
            except (ValueError, ZeroDivisionError):
                return _BAD
    return _BAD


def parse_aspect(text: str) -> Fraction:
    m = re.fullmatch(r"\s*(\d+)\s*[:x/]\s*(\d+)\s*", text)
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        raise WorkstationError(f"export setting 'crop': {text!r} is not an aspect like 1:1 or 16:9")
    return Fraction(int(m.group(1)), int(m.group(2)))


@dataclass
class TrainerNote:
    trainer: str
    ok: bool
    message: str
    effect: str = "fits"  # a :class:`~.trainers.Effect` value: what the trainer does to the clip


@dataclass
class ExportedClip:
    key: str
    clip_id: int
    split: str  # train | val
    frames: int
    fps: str
    width: int
    height: int
    caption: str
    notes: list[TrainerNote] = field(default_factory=list)


@dataclass
class ExportResult:
    out: Path
    format: str
    clips: list[ExportedClip] = field(default_factory=list)
    reused: int = 0
    encoded: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)  # one sentence per clip left out
    # One sentence per file in OUT the export no longer writes but did not delete (a person
    # changed it, or an older manifest cannot show the export wrote it).
    left: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one sentence per clip that failed

    @property
    def train(self) -> int:
        return sum(c.split == "train" for c in self.clips)

    @property
    def val(self) -> int:
        return sum(c.split == "val" for c in self.clips)
