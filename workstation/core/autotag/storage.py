"""Storing automatic results through the review API, so one rule guards a person's work.

``workstation.core.review.set_auto_tags_many`` / ``set_auto_caption`` never touch manual tags,
accepted or rejected auto tags (of any spelling) or manual captions, record an undoable diff and
rewrite the clips' .txt sidecars.  This module adapts the tagger's results to them and adds
the per-tag provenance the review API has no field for: the threshold of each tag's category
(characters 0.85, general 0.35; none for the rating).
"""

from __future__ import annotations

from collections.abc import Sequence

from workstation.core import review
from workstation.core.autotag.base import TagResult
from workstation.core.review.edits import Edit
from workstation.core.store import Project


def store_auto_tags(
    project: Project,
    results: Sequence[tuple[int, Sequence[TagResult]]],
    model: str,
    aggregation: str,
    general_threshold: float,
) -> Edit:
    """Store a batch of clips' tags in one transaction (one undoable edit)."""
    batch = [
        (
            clip_id,
            [review.AutoTag(t.name, t.confidence, t.category) for t in tags if "," not in t.name],
        )  # a comma would split the tag in the .txt sidecar
        for clip_id, tags in results
    ]
    with project.transaction():
        edit = review.set_auto_tags_many(project, batch, model, general_threshold, aggregation)
        # Per-category thresholds (the review API stores one per run).
        for clip_id, tags in results:
            for t in tags:
                if t.threshold != general_threshold:
                    project.set_auto_tag_threshold(clip_id, t.name, model, t.threshold)
    return edit


def clip_tag_names(project: Project, clip_id: int) -> list[str]:
    """The clip's tags a person would see (rejected ones left out), in display order."""
    return [t.name for t in review.clip_tags(project, clip_id)]


def store_auto_caption(project: Project, clip_id: int, text: str, model: str, prompt: str) -> bool:
    """Write an auto caption unless the clip has a manual one; True when written."""
    with project.transaction():
        if project.caption_source(clip_id) == "manual":
            return False
        review.set_auto_caption(project, clip_id, text, model, prompt)
        return True
