"""Tag edits a person makes: on clips (add, remove, replace, order, accept/reject auto tags)
and project-wide (rename or merge, delete, category).

Removing an auto tag marks it ``rejected`` (a tombstone), so the next auto-tagging run cannot
bring it back; removing a manual tag deletes it; adding a tag that an auto run proposed marks it
``accepted``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from workstation.core.errors import WorkstationError
from workstation.core.review.editing import existing_clips, run_edit
from workstation.core.review.edits import Edit, Recorder
from workstation.core.review.names import check_category, clean_names, clean_tag
from workstation.core.store import Project

_MISSING = object()  # "the row was not read yet" (None = read, and there is none)


def ensure_tag(rec: Recorder, name: str, category: str = "general") -> int:
    """The id of the tag ``name``, created (in ``category``) when the project lacks it."""
    tid = rec.project.tag_id(name)
    if tid is None:
        tid = rec.insert("tags", {"name": name, "category": check_category(category)})
    return tid


def _require_tag(project: Project, name: str) -> int:
    tid = project.tag_id(name)
    if tid is None:
        raise WorkstationError(f"no tag named {name!r} in the project")
    return tid


# -- one clip's tag ----------------------------------------------------------------------------
def _add(
    rec: Recorder,
    clip_id: int,
    tag_id: int,
    position: int | None = None,
    row: object = _MISSING,
) -> None:
    if row is _MISSING:
        row = rec.project.clip_tag_row(clip_id, tag_id)
    key = {"clip_id": clip_id, "tag_id": tag_id}
    if row is None:
        pos = rec.project.next_tag_position(clip_id) if position is None else position
        rec.insert(
            "clip_tags",
            {
                **key,
                "source": "manual",
                "confidence": None,
                "model": None,
                "threshold": None,
                "aggregation": None,
                "state": "active",
                "position": pos,
            },
            complete=True,
        )
    elif isinstance(row, sqlite3.Row) and row["source"] == "auto" and row["state"] != "accepted":
        rec.update("clip_tags", key, {"state": "accepted"}, row)


def _remove(rec: Recorder, clip_id: int, tag_id: int, row: object = _MISSING) -> None:
    if row is _MISSING:
        row = rec.project.clip_tag_row(clip_id, tag_id)
    key = {"clip_id": clip_id, "tag_id": tag_id}
    if not isinstance(row, sqlite3.Row):
        return
    if row["source"] == "manual":
        rec.delete("clip_tags", key)
    else:  # a tombstone, so the next auto run doesn't bring it back
        rec.update("clip_tags", key, {"state": "rejected"}, row)


# -- tags of clips -----------------------------------------------------------------------------
def add_tags(
    project: Project,
    clip_ids: Iterable[int],
    names: str | Iterable[str],
    *,
    category: str = "general",
) -> Edit:
    """Add tags (manual) to clips; an auto tag already there becomes accepted."""
    tags = clean_names(names)
    ids = existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        positions = project.next_tag_positions(ids)
        for name in tags:
            tid = ensure_tag(rec, name, category)
            rows = project.clip_tag_rows_of(tid, ids)
            for cid in ids:
                row = rows.get(cid)
                _add(rec, cid, tid, positions[cid], row)
                if row is None:
                    positions[cid] += 1

    return run_edit(project, f"add tag {', '.join(tags)}", body)


def remove_tags(project: Project, clip_ids: Iterable[int], names: str | Iterable[str]) -> Edit:
    """Remove tags from clips: manual ones are deleted, auto ones rejected."""
    tags = clean_names(names)
    ids = existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        for name in tags:
            tid = project.tag_id(name)
            if tid is not None:
                for cid, row in project.clip_tag_rows_of(tid, ids).items():
                    _remove(rec, cid, tid, row)

    return run_edit(project, f"remove tag {', '.join(tags)}", body)


def replace_tag(project: Project, clip_ids: Iterable[int], old: str, new: str) -> Edit:
    """On these clips, swap ``old`` for ``new`` in the same place of the tag order."""
    old, new = clean_tag(old), clean_tag(new)
    ids = existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        old_id = project.tag_id(old)
        if old_id is None or old == new:
            return
        new_id: int | None = None
        for cid in ids:
            row = project.clip_tag_row(cid, old_id)
            if row is None or row["state"] == "rejected":
                continue
            if new_id is None:
                new_id = ensure_tag(rec, new)
            _remove(rec, cid, old_id)
            _add(rec, cid, new_id, position=row["position"])

    return run_edit(project, f"replace tag {old} with {new}", body)


def set_tags(project: Project, clip_id: int, names: Sequence[str]) -> Edit:
    """Make a clip's visible tags exactly ``names`` in this order (the panel's tag editor)."""
    tags = clean_names(names)
    (cid,) = existing_clips(project, [clip_id])

    def body(rec: Recorder) -> None:
        wanted = {name: ensure_tag(rec, name) for name in tags}
        for tid in project.shown_tag_ids(cid):
            if tid not in wanted.values():
                _remove(rec, cid, tid)
        for tid in wanted.values():
            _add(rec, cid, tid)
        _reorder(rec, cid, list(wanted.values()))

    return run_edit(project, "edit tags", body)


def _reorder(rec: Recorder, clip_id: int, first: list[int]) -> None:
    order = rec.project.tag_ids_in_order(clip_id)
    rest = [t for t in order if t not in first]
    present = set(order)
    for pos, tid in enumerate([t for t in first if t in present] + rest):
        rec.update("clip_tags", {"clip_id": clip_id, "tag_id": tid}, {"position": pos})


def reorder_tags(project: Project, clip_id: int, names: Sequence[str]) -> Edit:
    """Put these tags first, in this order; the clip's other tags keep their order after them."""
    tags = clean_names(names)
    (cid,) = existing_clips(project, [clip_id])

    def body(rec: Recorder) -> None:
        ids = [t for t in (project.tag_id(n) for n in tags) if t is not None]
        _reorder(rec, cid, ids)

    return run_edit(project, "reorder tags", body)


# -- deciding on auto tags -----------------------------------------------------------------
def _set_state(
    project: Project,
    label: str,
    state: str,
    clip_ids: Iterable[int] | None,
    names: str | Iterable[str] | None,
    *,
    active_only: bool = False,
    at_least: float | None = None,
    below: float | None = None,
) -> Edit:
    ids = None if clip_ids is None else existing_clips(project, clip_ids)
    tags = None if names is None else clean_names(names)

    def body(rec: Recorder) -> None:
        found = project.auto_tags_to_decide(
            state, ids, tags, active_only=active_only, at_least=at_least, below=below
        )
        for cid, tid in found:
            rec.update("clip_tags", {"clip_id": cid, "tag_id": tid}, {"state": state})

    return run_edit(project, label, body)


def accept_tags(
    project: Project,
    clip_ids: Iterable[int] | None = None,
    names: str | Iterable[str] | None = None,
) -> Edit:
    """Accept auto tags (of these clips / with these names; None = all)."""
    return _set_state(project, "accept tags", "accepted", clip_ids, names, active_only=True)


def reject_tags(
    project: Project,
    clip_ids: Iterable[int] | None = None,
    names: str | Iterable[str] | None = None,
) -> Edit:
    """Reject auto tags: they disappear from the clip and later auto runs won't re-add them."""
    return _set_state(project, "reject tags", "rejected", clip_ids, names)


def accept_above(project: Project, threshold: float, clip_ids: Iterable[int] | None = None) -> Edit:
    """Accept every untouched auto tag at least ``threshold`` confident."""
    label = f"accept tags ≥ {threshold:g}"
    return _set_state(
        project, label, "accepted", clip_ids, None, active_only=True, at_least=float(threshold)
    )


def reject_below(project: Project, threshold: float, clip_ids: Iterable[int] | None = None) -> Edit:
    """Reject every untouched auto tag less than ``threshold`` confident."""
    label = f"reject tags < {threshold:g}"
    return _set_state(
        project, label, "rejected", clip_ids, None, active_only=True, below=float(threshold)
    )


# -- project-wide tag edits ------------------------------------------------------------------
def rename_tag(project: Project, old: str, new: str) -> Edit:
    """Rename a tag everywhere; when ``new`` exists already the two are merged."""
    old, new = clean_tag(old), clean_tag(new)

    def body(rec: Recorder) -> list[int]:
        old_id = _require_tag(project, old)
        clips = project.clips_with_tag(old_id)
        new_id = project.tag_id(new)
        if old == new:
            return []
        if new_id is None:
            rec.update("tags", {"id": old_id}, {"name": new})
            return clips
        for cid in clips:
            _merge(rec, cid, old_id, new_id)
        rec.delete("tags", {"id": old_id})
        return clips

    return run_edit(project, f"rename tag {old} to {new}", body)


def _merge(rec: Recorder, clip_id: int, old_id: int, new_id: int) -> None:
    """Move a clip's row of tag ``old_id`` to tag ``new_id``."""
    old_row = rec.project.clip_tag_row(clip_id, old_id)
    assert old_row is not None  # the clip was found through this row
    row = dict(old_row)
    there = rec.project.clip_tag_row(clip_id, new_id)
    rec.delete("clip_tags", {"clip_id": clip_id, "tag_id": old_id})
    if there is None:
        rec.insert("clip_tags", {**row, "tag_id": new_id})
    elif (there["source"], there["state"]) == ("auto", "active") and (
        row["source"] == "manual" or row["state"] == "accepted"
    ):  # a person's decision under the old name wins over an untouched auto tag
        rec.update("clip_tags", {"clip_id": clip_id, "tag_id": new_id}, {"state": "accepted"})


def delete_tag(project: Project, name: str) -> Edit:
    """Remove a tag from every clip and from the project."""
    name = clean_tag(name)

    def body(rec: Recorder) -> None:
        tid = _require_tag(project, name)
        for cid in project.clips_with_tag(tid):
            rec.delete("clip_tags", {"clip_id": cid, "tag_id": tid})
        rec.delete("tags", {"id": tid})

    return run_edit(project, f"delete tag {name}", body)


def set_tag_category(project: Project, name: str, category: str) -> Edit:
    name, category = clean_tag(name), check_category(category)

    def body(rec: Recorder) -> None:
        rec.update("tags", {"id": _require_tag(project, name)}, {"category": category})

    return run_edit(project, f"set category of {name}", body)
