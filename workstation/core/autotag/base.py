"""What every auto-tagging backend shares: settings, errors and the small backend protocols.

Kept free of heavy imports (onnxruntime, huggingface_hub, cv2) so the GUI can import the
settings and the registry at start-up and load a model only when a job runs.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from workstation.core.errors import WorkstationError
from workstation.core.store import AUTOTAG_CAPTION, AUTOTAG_TAG, JsonObject, Project, Setting

DEFAULT_WD14_MODEL = "SmilingWolf/wd-eva02-large-tagger-v3"
# The v3 taggers SmilingWolf publishes (same signature, same label file layout).
WD14_MODELS: tuple[str, ...] = (
    "SmilingWolf/wd-eva02-large-tagger-v3",
    "SmilingWolf/wd-vit-large-tagger-v3",
    "SmilingWolf/wd-vit-tagger-v3",
    "SmilingWolf/wd-swinv2-tagger-v3",
    "SmilingWolf/wd-convnext-tagger-v3",
)


class ModelError(WorkstationError):
    """A tagger/captioner model that cannot be used; names the file (or model id) and why."""

    def __init__(self, where: str | Path, problem: str) -> None:
        self.where = str(where)
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class CaptionServerError(WorkstationError):
    """The caption server cannot be reached, has no such model, or answered nonsense.

    ``unreachable`` errors stop a captioning run (every clip would fail the same way);
    others fail one clip and the run goes on.
    """

    def __init__(
        self, message: str, *, status: int | None = None, unreachable: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.unreachable = unreachable


class CaptionOutOfMemory(CaptionServerError):
    """The model ran out of (GPU) memory; a batch of clips is then retried one clip at a time."""


class Aggregation(StrEnum):
    """How per-frame probabilities of a clip become one confidence per tag."""

    MEAN = "mean"  # robust default: a tag must be present through most of the clip
    MAX = "max"  # keeps things seen in one frame only (brief actions, a face turning)
    VOTE = "vote"  # kept when at least half the frames pass the threshold


class TaggerKind(StrEnum):
    WD14 = "wd14"


class CaptionerKind(StrEnum):
    OPENAI = "openai"  # any OpenAI-compatible server: LM Studio, Ollama, vLLM
    TRANSFORMERS = "transformers"  # a local VLM; needs torch (not part of the base install)


@dataclass(frozen=True)
class TagSettings:
    """Settings of a tagging run; every field is stored with the tags it produced."""

    model: str = DEFAULT_WD14_MODEL  # a folder with model.onnx + selected_tags.csv, or a hub id
    backend: TaggerKind = TaggerKind.WD14
    frames: int = 4
    general_threshold: float = 0.35
    character_threshold: float = 0.85
    aggregation: Aggregation = Aggregation.MEAN
    general_mcut: bool = False  # cut general tags at the largest gap (MCut), not the threshold
    character_mcut: bool = False  # the same for characters (never below 0.15)
    exclude: tuple[str, ...] = ()
    underscores: bool = False  # False: "long hair" (what captions/trainers want); True: long_hair
    include_rating: bool = True
    batch_size: int = 8
    redo: bool = False
    providers: tuple[str, ...] | None = None  # onnxruntime providers; None = best available
    decode_workers: int = 0  # 0: one on CPU (the model wants the cores), up to 4 on a GPU

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise WorkstationError(f"frames: must be at least 1 (got {self.frames})")
        for name in ("general_threshold", "character_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise WorkstationError(f"{name}: must be between 0 and 1 (got {value})")
        if self.batch_size < 1:
            raise WorkstationError(f"batch_size: must be at least 1 (got {self.batch_size})")
        try:
            object.__setattr__(self, "aggregation", Aggregation(self.aggregation))
        except ValueError:
            choices = ", ".join(a.value for a in Aggregation)
            raise WorkstationError(
                f"aggregation: {self.aggregation!r} is not one of {choices}"
            ) from None
        object.__setattr__(self, "backend", TaggerKind(self.backend))
        object.__setattr__(self, "exclude", tuple(self.exclude))
        if self.providers is not None:
            object.__setattr__(self, "providers", tuple(self.providers))


DEFAULT_CAPTION_PROMPT = (
    "These are frames sampled in order from one short video clip. Describe the clip in one or "
    "two sentences for a video generation training caption: the subject, the action and how "
    "it moves, the camera motion and the setting. Tags that may help: {tags}"
)


@dataclass(frozen=True)
class CaptionSettings:
    server: str = "http://127.0.0.1:1234"  # LM Studio's default; Ollama uses :11434
    model: str = ""  # empty: the server's first model
    backend: CaptionerKind = CaptionerKind.OPENAI
    prompt: str = DEFAULT_CAPTION_PROMPT
    sample_fps: float = 1.0
    max_frames: int = 8
    max_side: int = 512
    timeout: float = 120.0
    max_tokens: int = 300
    temperature: float = 0.2
    api_key: str = ""
    redo: bool = False
    # Clips per generate call for captioners that batch (local transformers models): several
    # times faster on a GPU; an out-of-memory batch falls back to one clip at a time.
    batch_size: int = 4

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise WorkstationError(f"batch_size: must be at least 1 (got {self.batch_size})")
        if self.sample_fps <= 0:
            raise WorkstationError(f"sample_fps: must be above 0 (got {self.sample_fps})")
        if self.max_frames < 1:
            raise WorkstationError(f"max_frames: must be at least 1 (got {self.max_frames})")
        if self.timeout <= 0:
            raise WorkstationError(f"timeout: must be above 0 s (got {self.timeout})")
        object.__setattr__(self, "backend", CaptionerKind(self.backend))


@dataclass(frozen=True)
class TagResult:
    """One tag of one clip as stored: name, category, confidence and its threshold."""

    name: str
    category: str  # rating | character | general
    confidence: float
    threshold: float | None


@dataclass
class TagSummary:
    model: str
    provider: str
    tagged: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    frames: int = 0
    seconds: float = 0.0
    inference_seconds: float = 0.0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


@dataclass
class CaptionSummary:
    model: str
    captioned: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    kept_manual: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0


class Tagger(Protocol):
    """A loaded image tagger: preprocess frames, then predict probabilities in batches."""

    model_id: str
    provider: str
    names: list[str]
    categories: np.ndarray  # int per label: 9 rating, 0 general, 4 character

    def preprocess(self, image: np.ndarray) -> np.ndarray: ...

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


class Captioner(Protocol):
    """A captioner turns a clip's sampled frames (RGB uint8) and a prompt into text."""

    model_id: str

    def caption(self, frames: list[np.ndarray], prompt: str) -> str: ...


class BatchCaptioner(Captioner, Protocol):
    """A captioner that can also caption several clips in one call (one answer per item, in
    order; an empty answer means the model said nothing for that clip)."""

    def caption_many(self, items: Sequence[tuple[list[np.ndarray], str]]) -> list[str]: ...


# -- saving settings in the project (settings table), typed and versioned --------------------
SETTINGS_VERSION = 1
_SETTINGS: dict[type, Setting[JsonObject]] = {
    TagSettings: AUTOTAG_TAG,
    CaptionSettings: AUTOTAG_CAPTION,
}
_SECRET_FIELDS = {"api_key"}  # never written to the project database
S = TypeVar("S", TagSettings, CaptionSettings)


def split_credentials(url: str) -> tuple[str, str | None]:
    """``http://user:pw@host/v1`` -> (``http://host/v1``, ``"user:pw"``, %-escapes decoded);
    an address without userinfo -> (it, None)."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return clean, f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"


def settings_to_dict(settings: TagSettings | CaptionSettings) -> dict[str, Any]:
    out: dict[str, Any] = {"version": SETTINGS_VERSION}
    for f in fields(settings):
        if f.name in _SECRET_FIELDS or f.name == "redo":
            continue
        value = getattr(settings, f.name)
        if f.name == "server" and isinstance(value, str):
            value = split_credentials(value)[0]  # a password never goes into the project
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def settings_from_dict(cls: type[S], data: dict[str, Any]) -> S:
    """Rebuild settings; unknown keys are ignored, a bad value names its field."""
    if not isinstance(data, dict):
        raise WorkstationError(f"{cls.__name__}: saved settings are not an object")
    version = data.get("version", SETTINGS_VERSION)
    if not isinstance(version, int) or version > SETTINGS_VERSION:
        raise WorkstationError(
            f"{cls.__name__}: settings version {version!r} is newer than "
            f"this workstation ({SETTINGS_VERSION})"
        )
    defaults = cls()
    values = {}
    for f in fields(cls):
        if f.name not in data or f.name in _SECRET_FIELDS:
            continue
        raw = data[f.name]
        ok = _valid(raw, getattr(defaults, f.name))
        if not ok:
            raise WorkstationError(f"{cls.__name__}.{f.name}: {raw!r} is not a valid value")
        if isinstance(raw, list):
            raw = tuple(raw)
        values[f.name] = raw
    try:
        return cls(**values)
    except ValueError as exc:  # an unknown enum value
        raise WorkstationError(f"{cls.__name__}: {exc}") from None


def _valid(raw: object, default: object) -> bool:
    """Whether a saved JSON value fits the field whose default is ``default``."""
    if isinstance(default, bool):
        return isinstance(raw, bool)
    if isinstance(default, (int, float)):
        return isinstance(raw, (int, float)) and not isinstance(raw, bool)
    if isinstance(default, (str, Enum)):
        return isinstance(raw, str)
    if isinstance(default, tuple) or default is None:
        return raw is None or (isinstance(raw, list) and all(isinstance(x, str) for x in raw))
    return False


def save_settings(project: Project, settings: TagSettings | CaptionSettings) -> None:
    """Remember the last settings in the project (the GUI's tagging dialog starts from them)."""
    project.put(_SETTINGS[type(settings)], settings_to_dict(settings))


def load_settings(project: Project, cls: type[S]) -> S:
    """The project's saved settings of ``cls`` (defaults when none were saved)."""
    stored: JsonObject = project.get(_SETTINGS[cls])
    return settings_from_dict(cls, dict(stored))
