"""Storing automatic results without ever overwriting what a person did.

Rules (the same as ``workstation.core.review.set_auto_tags`` / ``set_auto_caption``):
- manual tags, and auto tags a person accepted or rejected, are left exactly as they are; a
  rejected tag does not come back when the clip is tagged again;
- the clip's untouched auto tags (state ``active``) are replaced by the new result;
- an auto caption never replaces a manual one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from workstation.core.autotag.base import TagResult
from workstation.core.store import Project


def _spelling(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def tag_id(project: Project, name: str, category: str) -> int:
    project.db.execute(
        "INSERT INTO tags(name, category) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
        (name, category),
    )
    return int(project.db.execute("SELECT id FROM tags WHERE name=?", (name,)).fetchone()[0])


def store_auto_tags(
    project: Project, clip_id: int, tags: Sequence[TagResult], model: str, aggregation: str
) -> int:
    """Replace the clip's untouched auto tags with ``tags``; returns how many were stored."""
    with project.transaction():
        rows = project.db.execute(
            "SELECT t.name, ct.position FROM clip_tags ct JOIN tags t ON t.id=ct.tag_id "
            "WHERE ct.clip_id=? AND (ct.source='manual' OR ct.state!='active')",
            (clip_id,),
        ).fetchall()
        # "long hair" and "long_hair" are one tag to a person who rejected it.
        kept = {_spelling(r[0]) for r in rows}
        project.db.execute(
            "DELETE FROM clip_tags WHERE clip_id=? AND source='auto' AND state='active'",
            (clip_id,),
        )
        position = max((int(r[1]) for r in rows), default=-1) + 1
        stored = 0
        for tag in tags:
            if _spelling(tag.name) in kept:
                continue
            tid = tag_id(project, tag.name, tag.category)
            project.db.execute(
                "INSERT INTO clip_tags(clip_id, tag_id, source, confidence, model, threshold, "
                "aggregation, state, position) VALUES (?,?,'auto',?,?,?,?,'active',?)",
                (clip_id, tid, float(tag.confidence), model, tag.threshold, aggregation, position),
            )
            position += 1
            stored += 1
        return stored


def has_auto_tags(project: Project, clip_id: int, model: str) -> bool:
    """A clip counts as tagged by ``model`` when any auto tag of it came from that model."""
    row = project.db.execute(
        "SELECT 1 FROM clip_tags WHERE clip_id=? AND source='auto' AND model=? LIMIT 1",
        (clip_id, model),
    ).fetchone()
    return row is not None


def clip_tag_names(project: Project, clip_id: int) -> list[str]:
    """The clip's tags a person would see (rejected ones left out), in display order."""
    rows = project.db.execute(
        "SELECT t.name FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.clip_id=? "
        "AND ct.state!='rejected' ORDER BY ct.position, t.name",
        (clip_id,),
    )
    return [r[0] for r in rows]


def caption_source(project: Project, clip_id: int) -> str | None:
    row = project.db.execute("SELECT source FROM captions WHERE clip_id=?", (clip_id,)).fetchone()
    return None if row is None else str(row[0])


def store_auto_caption(project: Project, clip_id: int, text: str, model: str, prompt: str) -> bool:
    """Write an auto caption unless the clip has a manual one; True when written."""
    with project.transaction():
        if caption_source(project, clip_id) == "manual":
            return False
        project.db.execute(
            "INSERT INTO captions(clip_id, text, source, model, prompt, updated_at) "
            "VALUES (?,?,'auto',?,?,?) ON CONFLICT(clip_id) DO UPDATE SET text=excluded.text, "
            "source='auto', model=excluded.model, prompt=excluded.prompt, "
            "updated_at=excluded.updated_at",
            (clip_id, text, model, prompt, time.time()),
        )
        return True


def set_motion(project: Project, clip_id: int, motion: float) -> None:
    project.db.execute("UPDATE clips SET motion=? WHERE id=?", (float(motion), clip_id))
