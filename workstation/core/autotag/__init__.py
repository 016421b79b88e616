"""Automatic tags, captions and motion scores for clips.

Backends sit behind two small protocols (:class:`Tagger`, :class:`Captioner`) and registries
keyed by :class:`TaggerKind` / :class:`CaptionerKind`.  A factory imports its heavy library
(onnxruntime, huggingface_hub, torch) only when called, so importing this package is cheap.

Stages (generators yielding Progress, returning a summary): :func:`tag_clips`,
:func:`caption_clips`, :func:`score_motion`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from workstation.core.autotag.base import (
    DEFAULT_CAPTION_PROMPT,
    DEFAULT_WD14_MODEL,
    WD14_MODELS,
    Aggregation,
    Captioner,
    CaptionerKind,
    CaptionServerError,
    CaptionSettings,
    CaptionSummary,
    ModelError,
    Tagger,
    TaggerKind,
    TagResult,
    TagSettings,
    TagSummary,
)

if TYPE_CHECKING:  # loaded lazily at run time, by __getattr__ below
    from workstation.core.autotag.captioning import caption_clips
    from workstation.core.autotag.motion import score_motion
    from workstation.core.autotag.tagging import tag_clips


def _wd14(settings: TagSettings) -> Tagger:
    from workstation.core.autotag.wd14 import WD14Tagger

    # Idle onnxruntime threads sleep instead of spinning: the decode thread and the GUI share
    # the cores, and a spinning thread takes CPU from them for nothing.
    return WD14Tagger.load(settings.model, providers=settings.providers, spin=False)


def _openai(settings: CaptionSettings) -> Captioner:
    from workstation.core.autotag.openai_captioner import OpenAICaptioner

    return OpenAICaptioner.connect(settings)


def _transformers(settings: CaptionSettings) -> Captioner:
    from workstation.core.autotag.caption_child import local_captioner
    from workstation.core.autotag.hf_captioner import DEFAULT_HF_CAPTION_MODEL

    # In this process when torch is here, else in the managed environment's Python (the
    # packaged app). The device comes from the project's autotag settings where a caller has
    # the project (hf_captioner.caption_and_free); this registry path picks the best one.
    return local_captioner(
        settings.model or DEFAULT_HF_CAPTION_MODEL,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        sample_fps=settings.sample_fps,
    )


TAGGERS: dict[TaggerKind, Callable[[TagSettings], Tagger]] = {TaggerKind.WD14: _wd14}
CAPTIONERS: dict[CaptionerKind, Callable[[CaptionSettings], Captioner]] = {
    CaptionerKind.OPENAI: _openai,
    CaptionerKind.TRANSFORMERS: _transformers,
}


def register_tagger(kind: TaggerKind, factory: Callable[[TagSettings], Tagger]) -> None:
    TAGGERS[kind] = factory


def register_captioner(
    kind: CaptionerKind, factory: Callable[[CaptionSettings], Captioner]
) -> None:
    CAPTIONERS[kind] = factory


def create_tagger(settings: TagSettings) -> Tagger:
    """Load the tagger the settings name (may download it once; see wd14.resolve_model)."""
    return TAGGERS[TaggerKind(settings.backend)](settings)


def create_captioner(settings: CaptionSettings) -> Captioner:
    return CAPTIONERS[CaptionerKind(settings.backend)](settings)


_STAGES = {
    "tag_clips": "workstation.core.autotag.tagging",
    "caption_clips": "workstation.core.autotag.captioning",
    "score_motion": "workstation.core.autotag.motion",
}


def __getattr__(name: str) -> object:
    """The stages load on first use: the CLI and GUI import this package at start-up."""
    if name in _STAGES:
        import importlib

        return getattr(importlib.import_module(_STAGES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_CAPTION_PROMPT",
    "DEFAULT_WD14_MODEL",
    "WD14_MODELS",
    "Aggregation",
    "Captioner",
    "CaptionerKind",
    "CaptionServerError",
    "CaptionSettings",
    "CaptionSummary",
    "ModelError",
    "TaggerKind",
    "Tagger",
    "TagResult",
    "TagSettings",
    "TagSummary",
    "caption_clips",
    "create_captioner",
    "create_tagger",
    "register_captioner",
    "register_tagger",
    "score_motion",
    "tag_clips",
]
