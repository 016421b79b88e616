"""Merging automatic results (auto-tagger and captioner runs) into the clips' data without
overwriting what a person did.

:func:`set_auto_tags_many` replaces only the auto tags nobody touched (``active``); manual,
accepted and rejected tags stay as they are, and block auto tags of any spelling of their name.
:func:`set_auto_caption` never replaces a manual caption.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workstation.core.review.editing import existing_clips, run_edit
from workstation.core.review.edits import Edit, Recorder
from workstation.core.review.names import check_category, clean_tag, spelling
from workstation.core.review.tags import ensure_tag
from workstation.core.store import Project


@dataclass(frozen=True)
class AutoTag:
    name: str
    confidence: float
    category: str = "general"
    threshold: float | None = None  # this tag's own cut-off (per category); None = the run's


# What a tagger hands in for one clip: AutoTags or (name, confidence[, category[, threshold]]),
# or {name: confidence}.
_TagTuple = tuple[str, float] | tuple[str, float, str] | tuple[str, float, str, float | None]
AutoTags = Iterable[AutoTag | _TagTuple] | Mapping[str, float]


def _auto_tags(tags: AutoTags) -> list[AutoTag]:
    items = list(tags.items()) if isinstance(tags, Mapping) else tags
    out: dict[str, AutoTag] = {}
    for t in items:
        tag = t if isinstance(t, AutoTag) else AutoTag(*t)
        tag = AutoTag(
            clean_tag(tag.name), float(tag.confidence), check_category(tag.category), tag.threshold
        )
        if tag.name not in out or out[tag.name].confidence < tag.confidence:
            out[tag.name] = tag
    return sorted(out.values(), key=lambda a: (-a.confidence, a.name))


def _untouched(row: sqlite3.Row) -> bool:
    """An auto tag nobody accepted or rejected."""
    return bool(row["source"] == "auto" and row["state"] == "active")


def set_auto_tags_many(
    project: Project,
    results: Iterable[tuple[int, AutoTags]],
    model: str,
    threshold: float | None = None,
    aggregation: str | None = None,
) -> Edit:
    """Store an auto-tagging run for many clips in one transaction (see :func:`set_auto_tags`)."""
    batch = [(cid, _auto_tags(tags)) for cid, tags in results]
    existing_clips(project, [cid for cid, _ in batch])
    run = {"model": model, "aggregation": aggregation}

    def body(rec: Recorder) -> None:
        for cid, tags in batch:
            _merge_clip(rec, cid, tags, run, threshold)

    return run_edit(project, f"auto tags ({model})", body)


def _merge_clip(
    rec: Recorder,
    clip_id: int,
    tags: list[AutoTag],
    run: dict[str, str | None],
    threshold: float | None,
) -> None:
    """One clip's part of :func:`set_auto_tags_many`."""
    rows = {r["tag_id"]: r for r in rec.project.clip_tag_rows_with_names(clip_id)}
    decided = {spelling(r["name"]) for r in rows.values() if not _untouched(r)}
    new_ids = {
        ensure_tag(rec, t.name, t.category): t for t in tags if spelling(t.name) not in decided
    }
    for tid, row in rows.items():  # untouched auto tags of an earlier run go
        if _untouched(row) and tid not in new_ids:
            rec.delete("clip_tags", {"clip_id": clip_id, "tag_id": tid})
    kept = [r["position"] for r in rows.values() if not _untouched(r)]
    pos = max(kept, default=-1) + 1
    for tid, t in new_ids.items():
        earlier = rows.get(tid)
        values = {
            "confidence": t.confidence,
            "model": run["model"],
            "threshold": threshold if t.threshold is None else t.threshold,
            "aggregation": run["aggregation"],
        }
        key = {"clip_id": clip_id, "tag_id": tid}
        if earlier is None:
            rec.insert(
                "clip_tags", {**key, **values, "source": "auto", "state": "active", "position": pos}
            )
        else:  # an untouched auto tag of an earlier run
            rec.update("clip_tags", key, {**values, "position": pos}, earlier)
        pos += 1


def set_auto_tags(
    project: Project,
    clip_id: int,
    tags: AutoTags,
    model: str,
    threshold: float | None = None,
    aggregation: str | None = None,
) -> Edit:
    """Store one clip's auto tags: ``[(name, confidence[, category])]`` or ``{name: conf}``.

    Replaces the previous run's untouched (active) auto tags; manual, accepted and rejected
    tags are never changed, and block auto tags of any spelling of their name (see
    :func:`~workstation.core.review.names.spelling`).  New auto tags go after the kept ones,
    most confident first.
    """
    return set_auto_tags_many(project, [(clip_id, tags)], model, threshold, aggregation)


def set_auto_caption(
    project: Project, clip_id: int, text: str, model: str, prompt: str | None = None
) -> Edit:
    """Store an auto caption unless the clip has a manual one (that one always stays)."""
    (cid,) = existing_clips(project, [clip_id])

    def body(rec: Recorder) -> None:
        row = project.caption_row(cid)
        values = {
            "text": str(text).strip(),
            "source": "auto",
            "model": model,
            "prompt": prompt,
            "updated_at": time.time(),
        }
        if row is None:
            rec.insert("captions", {"clip_id": cid, **values})
        elif row["source"] == "auto":
            rec.update("captions", {"clip_id": cid}, values)

    return run_edit(project, f"auto caption ({model})", body)
