"""Which clips an export takes, the key each is filed under, and the train/validation split."""

from __future__ import annotations

import hashlib
import re

from workstation.core.errors import WorkstationError
from workstation.core.store import Clip, Project


def select_clips(project: Project, selection: str) -> list[Clip]:
    """The clips a selection names: "all", "reviewed" or a filter query (raises on a bad one)."""
    clips = [c for c in project.clips() if not c.rejected]  # a person rejected them
    sel = selection.strip()
    if sel in ("", "all"):
        return clips
    if sel == "reviewed":
        return [c for c in clips if c.reviewed]
    from workstation.core.review import QueryError, filter_clip_ids

    ids = filter_clip_ids(project, sel)
    if isinstance(ids, QueryError):
        raise WorkstationError(f"export filter: {ids}")
    wanted = set(ids)
    return [c for c in clips if c.id in wanted]


_KEY_BAD = re.compile(r"[^A-Za-z0-9_-]+")


def clip_keys(clips: list[Clip]) -> dict[int, str]:
    """A stable, file-system-safe key per clip (its file stem; clashes get the clip id)."""
    stems: dict[str, int] = {}
    for c in clips:
        stem = _KEY_BAD.sub("_", c.path.stem).strip("_") or "clip"
        stems[stem] = stems.get(stem, 0) + 1
    keys = {}
    for c in clips:
        stem = _KEY_BAD.sub("_", c.path.stem).strip("_") or "clip"
        keys[c.id] = stem if stems[stem] == 1 else f"{stem}_{c.id}"
    return keys


def split_by_video(
    project: Project, clips: list[Clip], fraction: float, seed: int
) -> dict[int, str]:
    """``{clip_id: "train"|"val"}``; all clips of one source video land on the same side.

    Groups are ranked by a seeded hash of the source's content id (the clip's own path when it
    has no source video), and the first ``fraction`` of them (at least one, when asked and when
    there are two groups or more) is held out: deterministic, and stable as clips are added.
    """
    groups: dict[str, list[int]] = {}
    content = {v.id: v.content_id for v in project.videos()}
    for c in clips:
        g = content.get(c.video_id, "") if c.video_id is not None else ""
        groups.setdefault(g or f"clip:{c.path}", []).append(c.id)
    side = {c.id: "train" for c in clips}
    if fraction <= 0 or len(groups) < 2:
        return side
    ranked = sorted(groups, key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest())
    n_val = min(len(groups) - 1, max(1, round(fraction * len(groups))))
    for g in ranked[:n_val]:
        for cid in groups[g]:
            side[cid] = "val"
    return side
