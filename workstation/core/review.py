"""Tag and caption review: the edits the clip panel and the CLI make, each one undoable.

Every edit runs in one transaction and returns an :class:`~workstation.core.edits.Edit`: the
rows it changed with their values before and after, so ``edit.undo(project)`` and
``edit.redo(project)`` restore the database exactly (see :mod:`workstation.core.edits`).

Manual work wins over automatic results:

* removing an auto tag marks it ``rejected`` (a tombstone), so the next auto-tagging run cannot
  bring it back; removing a manual tag deletes it;
* adding a tag that an auto run proposed marks it ``accepted``;
* :func:`set_auto_tags` replaces only the auto tags nobody touched (``active``); manual, accepted
  and rejected tags stay as they are; :func:`set_auto_caption` never replaces a manual caption.

After each edit (and undo/redo) the touched clips' ``.txt`` sidecars are rewritten when sidecars
are enabled (see :mod:`workstation.core.cliptext`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workstation.core import cliptext
from workstation.core.edits import Edit, Recorder
from workstation.core.edits import RowChange as RowChange  # re-exported: the panel needs
from workstation.core.edits import UndoStack as UndoStack  # only this module
from workstation.core.errors import WorkstationError
from workstation.core.store import Project

CATEGORIES = ("general", "character", "rating", "meta")
STATES = ("active", "accepted", "rejected")


def _run(project: Project, label: str, body) -> Edit:
    """Run ``body(recorder)`` in one transaction; sync sidecars after it committed."""
    rec = Recorder(project)
    with project.transaction():
        extra = body(rec) or ()
    edit = rec.edit(label, extra)
    cliptext.sync_sidecars(project, edit.clip_ids)
    return edit


# -- names and lookups -----------------------------------------------------------------------
def clean_tag(name: str) -> str:
    """A tag as stored: trimmed, inner whitespace collapsed; commas are refused because they
    separate tags in the clip .txt files."""
    text = re.sub(r"\s+", " ", str(name)).strip()
    if not text:
        raise WorkstationError("tag name is empty")
    if "," in text:
        raise WorkstationError(f"tag {text!r}: a tag name can't contain a comma")
    return text


def spelling(name: str) -> str:
    """What makes two tag names the same tag to a person: "Long hair" = "long_hair".  A tag a
    person decided on blocks auto tags of any spelling of it."""
    return name.strip().lower().replace(" ", "_")


def _check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise WorkstationError(f"tag category {category!r}: must be one of {', '.join(CATEGORIES)}")
    return category


def _tag_id(db, name: str) -> int | None:
    row = db.execute("SELECT id FROM tags WHERE name=?", (name,)).fetchone()
    return None if row is None else int(row[0])


def _ensure_tag(rec: Recorder, name: str, category: str = "general") -> int:
    tid = _tag_id(rec.db, name)
    if tid is None:
        tid = rec.insert("tags", {"name": name, "category": _check_category(category)})
    return tid


def _existing_clips(project: Project, clip_ids: Iterable[int]) -> list[int]:
    ids = list(dict.fromkeys(int(c) for c in clip_ids))
    found = {
        r[0]
        for r in project.db.execute(
            "SELECT id FROM clips WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
        )
    }
    missing = [c for c in ids if c not in found]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        raise WorkstationError(f"no clip with id {shown} in {project.root}")
    return ids


def _clip_tag(db, clip_id: int, tag_id: int):
    return db.execute(
        "SELECT * FROM clip_tags WHERE clip_id=? AND tag_id=?", (clip_id, tag_id)
    ).fetchone()


def _next_position(db, clip_id: int) -> int:
    row = db.execute("SELECT MAX(position) FROM clip_tags WHERE clip_id=?", (clip_id,)).fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def _names(names: str | Iterable[str]) -> list[str]:
    items = [names] if isinstance(names, str) else list(names)
    return list(dict.fromkeys(clean_tag(n) for n in items))


# -- tag edits -------------------------------------------------------------------------------
_MISSING = object()


def _add(
    rec: Recorder, clip_id: int, tag_id: int, position: int | None = None, row: Any = _MISSING
) -> None:
    if row is _MISSING:
        row = _clip_tag(rec.db, clip_id, tag_id)
    key = {"clip_id": clip_id, "tag_id": tag_id}
    if row is None:
        pos = _next_position(rec.db, clip_id) if position is None else position
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
    elif row["source"] == "auto" and row["state"] != "accepted":
        rec.update("clip_tags", key, {"state": "accepted"}, row)


def _rows_of_tag(db, tag_id: int, clip_ids: list[int]) -> dict[int, Any]:
    return {
        r["clip_id"]: r
        for r in db.execute(
            "SELECT * FROM clip_tags WHERE tag_id=? AND clip_id IN (SELECT value FROM json_each(?))",
            (tag_id, json.dumps(clip_ids)),
        )
    }


def _next_positions(db, clip_ids: list[int]) -> dict[int, int]:
    rows = db.execute(
        "SELECT clip_id, MAX(position) FROM clip_tags "
        "WHERE clip_id IN (SELECT value FROM json_each(?)) GROUP BY clip_id",
        (json.dumps(clip_ids),),
    )
    nxt = {cid: int(m) + 1 for cid, m in rows}
    return {cid: nxt.get(cid, 0) for cid in clip_ids}


def _remove(rec: Recorder, clip_id: int, tag_id: int, row: Any = _MISSING) -> None:
    if row is _MISSING:
        row = _clip_tag(rec.db, clip_id, tag_id)
    key = {"clip_id": clip_id, "tag_id": tag_id}
    if row is None:
        return
    if row["source"] == "manual":
        rec.delete("clip_tags", key)
    else:  # a tombstone, so the next auto run doesn't bring it back
        rec.update("clip_tags", key, {"state": "rejected"}, row)


def add_tags(
    project: Project,
    clip_ids: Iterable[int],
    names: str | Iterable[str],
    *,
    category: str = "general",
) -> Edit:
    """Add tags (manual) to clips; an auto tag already there becomes accepted."""
    tags = _names(names)
    ids = _existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        positions = _next_positions(rec.db, ids)
        for name in tags:
            tid = _ensure_tag(rec, name, category)
            rows = _rows_of_tag(rec.db, tid, ids)
            for cid in ids:
                row = rows.get(cid)
                _add(rec, cid, tid, positions[cid], row)
                if row is None:
                    positions[cid] += 1

    return _run(project, f"add tag {', '.join(tags)}", body)


def remove_tags(project: Project, clip_ids: Iterable[int], names: str | Iterable[str]) -> Edit:
    """Remove tags from clips: manual ones are deleted, auto ones rejected."""
    tags = _names(names)
    ids = _existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        for name in tags:
            tid = _tag_id(rec.db, name)
            if tid is not None:
                for cid, row in _rows_of_tag(rec.db, tid, ids).items():
                    _remove(rec, cid, tid, row)

    return _run(project, f"remove tag {', '.join(tags)}", body)


def replace_tag(project: Project, clip_ids: Iterable[int], old: str, new: str) -> Edit:
    """On these clips, swap ``old`` for ``new`` in the same place of the tag order."""
    old, new = clean_tag(old), clean_tag(new)
    ids = _existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        old_id = _tag_id(rec.db, old)
        if old_id is None or old == new:
            return
        new_id: int | None = None
        for cid in ids:
            row = _clip_tag(rec.db, cid, old_id)
            if row is None or row["state"] == "rejected":
                continue
            if new_id is None:
                new_id = _ensure_tag(rec, new)
            _remove(rec, cid, old_id)
            _add(rec, cid, new_id, position=row["position"])

    return _run(project, f"replace tag {old} with {new}", body)


def set_tags(project: Project, clip_id: int, names: Sequence[str]) -> Edit:
    """Make a clip's visible tags exactly ``names`` in this order (the panel's tag editor)."""
    tags = _names(names)
    (cid,) = _existing_clips(project, [clip_id])

    def body(rec: Recorder) -> None:
        wanted = {name: _ensure_tag(rec, name) for name in tags}
        for row in rec.db.execute(
            "SELECT tag_id FROM clip_tags WHERE clip_id=? AND state != 'rejected'", (cid,)
        ).fetchall():
            if row[0] not in wanted.values():
                _remove(rec, cid, row[0])
        for tid in wanted.values():
            _add(rec, cid, tid)
        _reorder(rec, cid, list(wanted.values()))

    return _run(project, "edit tags", body)


def _reorder(rec: Recorder, clip_id: int, first: list[int]) -> None:
    rows = rec.db.execute(
        "SELECT tag_id FROM clip_tags WHERE clip_id=? ORDER BY position, tag_id", (clip_id,)
    ).fetchall()
    rest = [r[0] for r in rows if r[0] not in first]
    present = {r[0] for r in rows}
    for pos, tid in enumerate([t for t in first if t in present] + rest):
        rec.update("clip_tags", {"clip_id": clip_id, "tag_id": tid}, {"position": pos})


def reorder_tags(project: Project, clip_id: int, names: Sequence[str]) -> Edit:
    """Put these tags first, in this order; the clip's other tags keep their order after them."""
    tags = _names(names)
    (cid,) = _existing_clips(project, [clip_id])

    def body(rec: Recorder) -> None:
        ids = [t for t in (_tag_id(rec.db, n) for n in tags) if t is not None]
        _reorder(rec, cid, ids)

    return _run(project, "reorder tags", body)


def _set_state(
    project: Project, label: str, state: str, clip_ids, names, where: str = "", params: tuple = ()
) -> Edit:
    ids = None if clip_ids is None else _existing_clips(project, clip_ids)
    tags = None if names is None else _names(names)

    def body(rec: Recorder) -> None:
        sql = (
            "SELECT ct.clip_id, ct.tag_id FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id "
            "WHERE ct.source = 'auto' AND ct.state != ?"
        )
        args: list[Any] = [state]
        if ids is not None:
            sql += " AND ct.clip_id IN (SELECT value FROM json_each(?))"
            args.append(json.dumps(ids))
        if tags is not None:
            sql += " AND t.name IN (SELECT value FROM json_each(?))"
            args.append(json.dumps(tags))
        for cid, tid in rec.db.execute(sql + where, (*args, *params)).fetchall():
            rec.update("clip_tags", {"clip_id": cid, "tag_id": tid}, {"state": state})

    return _run(project, label, body)


def accept_tags(
    project: Project,
    clip_ids: Iterable[int] | None = None,
    names: str | Iterable[str] | None = None,
) -> Edit:
    """Accept auto tags (of these clips / with these names; None = all)."""
    return _set_state(project, "accept tags", "accepted", clip_ids, names, " AND ct.state='active'")


def reject_tags(
    project: Project,
    clip_ids: Iterable[int] | None = None,
    names: str | Iterable[str] | None = None,
) -> Edit:
    """Reject auto tags: they disappear from the clip and later auto runs won't re-add them."""
    return _set_state(project, "reject tags", "rejected", clip_ids, names)


def accept_above(project: Project, threshold: float, clip_ids: Iterable[int] | None = None) -> Edit:
    """Accept every untouched auto tag at least ``threshold`` confident."""
    return _set_state(
        project,
        f"accept tags ≥ {threshold:g}",
        "accepted",
        clip_ids,
        None,
        " AND ct.state='active' AND ct.confidence >= ?",
        (float(threshold),),
    )


def reject_below(project: Project, threshold: float, clip_ids: Iterable[int] | None = None) -> Edit:
    """Reject every untouched auto tag less than ``threshold`` confident."""
    return _set_state(
        project,
        f"reject tags < {threshold:g}",
        "rejected",
        clip_ids,
        None,
        " AND ct.state='active' AND ct.confidence < ?",
        (float(threshold),),
    )


# -- project-wide tag edits ------------------------------------------------------------------
def _require_tag(db, name: str) -> int:
    tid = _tag_id(db, name)
    if tid is None:
        raise WorkstationError(f"no tag named {name!r} in the project")
    return tid


def rename_tag(project: Project, old: str, new: str) -> Edit:
    """Rename a tag everywhere; when ``new`` exists already the two are merged."""
    old, new = clean_tag(old), clean_tag(new)

    def body(rec: Recorder) -> list[int]:
        old_id = _require_tag(rec.db, old)
        clips = [
            r[0] for r in rec.db.execute("SELECT clip_id FROM clip_tags WHERE tag_id=?", (old_id,))
        ]
        new_id = _tag_id(rec.db, new)
        if old == new:
            return []
        if new_id is None:
            rec.update("tags", {"id": old_id}, {"name": new})
            return clips
        for cid in clips:  # merge
            row = dict(_clip_tag(rec.db, cid, old_id))
            there = _clip_tag(rec.db, cid, new_id)
            rec.delete("clip_tags", {"clip_id": cid, "tag_id": old_id})
            if there is None:
                rec.insert("clip_tags", {**row, "tag_id": new_id})
            elif (there["source"], there["state"]) == ("auto", "active") and (
                row["source"] == "manual" or row["state"] == "accepted"
            ):  # a person's decision under the old name wins over an untouched auto tag
                rec.update("clip_tags", {"clip_id": cid, "tag_id": new_id}, {"state": "accepted"})
        rec.delete("tags", {"id": old_id})
        return clips

    return _run(project, f"rename tag {old} to {new}", body)


def delete_tag(project: Project, name: str) -> Edit:
    """Remove a tag from every clip and from the project."""
    name = clean_tag(name)

    def body(rec: Recorder) -> None:
        tid = _require_tag(rec.db, name)
        for (cid,) in rec.db.execute(
            "SELECT clip_id FROM clip_tags WHERE tag_id=?", (tid,)
        ).fetchall():
            rec.delete("clip_tags", {"clip_id": cid, "tag_id": tid})
        rec.delete("tags", {"id": tid})

    return _run(project, f"delete tag {name}", body)


def set_tag_category(project: Project, name: str, category: str) -> Edit:
    name, category = clean_tag(name), _check_category(category)

    def body(rec: Recorder) -> None:
        rec.update("tags", {"id": _require_tag(rec.db, name)}, {"category": category})

    return _run(project, f"set category of {name}", body)


# -- captions and review state ---------------------------------------------------------------
def set_caption(project: Project, clip_ids: Iterable[int], text: str) -> Edit:
    """Set a manual caption.  An empty text is kept as an empty manual caption (a person said
    "no caption"), so an auto captioner won't fill it in later; :func:`clear_caption` allows that."""
    ids = _existing_clips(project, clip_ids)
    text = str(text).strip()

    def body(rec: Recorder) -> None:
        now = time.time()
        for cid in ids:
            row = rec.db.execute("SELECT * FROM captions WHERE clip_id=?", (cid,)).fetchone()
            if row is None:
                rec.insert(
                    "captions",
                    {
                        "clip_id": cid,
                        "text": text,
                        "source": "manual",
                        "model": None,
                        "prompt": None,
                        "updated_at": now,
                    },
                )
            elif row["text"] != text or row["source"] != "manual":
                rec.update(
                    "captions",
                    {"clip_id": cid},
                    {
                        "text": text,
                        "source": "manual",
                        "model": None,
                        "prompt": None,
                        "updated_at": now,
                    },
                    row,
                )

    return _run(project, "set caption", body)


def clear_caption(project: Project, clip_ids: Iterable[int]) -> Edit:
    """Remove captions entirely (an auto captioner may fill them in again)."""
    ids = _existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        for cid in ids:
            rec.delete("captions", {"clip_id": cid})

    return _run(project, "clear caption", body)


def mark_reviewed(project: Project, clip_ids: Iterable[int], reviewed: bool = True) -> Edit:
    ids = _existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        for cid in ids:
            rec.update("clips", {"id": cid}, {"reviewed": int(reviewed)})

    return _run(project, "mark reviewed" if reviewed else "mark not reviewed", body)


# -- automatic results -----------------------------------------------------------------------
@dataclass(frozen=True)
class AutoTag:
    name: str
    confidence: float
    category: str = "general"
    threshold: float | None = None  # this tag's own cut-off (per category); None = the run's


def _auto_tags(tags) -> list[AutoTag]:
    if isinstance(tags, Mapping):
        tags = list(tags.items())
    out: dict[str, AutoTag] = {}
    for t in tags:
        tag = t if isinstance(t, AutoTag) else AutoTag(*t)
        tag = AutoTag(
            clean_tag(tag.name), float(tag.confidence), _check_category(tag.category), tag.threshold
        )
        if tag.name not in out or out[tag.name].confidence < tag.confidence:
            out[tag.name] = tag
    return sorted(out.values(), key=lambda a: (-a.confidence, a.name))


def set_auto_tags_many(
    project: Project,
    results: Iterable[tuple[int, Any]],
    model: str,
    threshold: float | None = None,
    aggregation: str | None = None,
) -> Edit:
    """Store an auto-tagging run for many clips in one transaction (see :func:`set_auto_tags`)."""
    batch = [(cid, _auto_tags(tags)) for cid, tags in results]
    _existing_clips(project, [cid for cid, _ in batch])

    def body(rec: Recorder) -> None:
        for cid, tags in batch:
            rows = {
                r["tag_id"]: r
                for r in rec.db.execute(
                    "SELECT ct.*, t.name FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id "
                    "WHERE ct.clip_id=?",
                    (cid,),
                ).fetchall()
            }
            decided = {
                spelling(r["name"])
                for r in rows.values()
                if not (r["source"] == "auto" and r["state"] == "active")
            }
            new_ids = {
                _ensure_tag(rec, t.name, t.category): t
                for t in tags
                if spelling(t.name) not in decided
            }
            for tid, row in rows.items():  # untouched auto tags of an earlier run go
                if row["source"] == "auto" and row["state"] == "active" and tid not in new_ids:
                    rec.delete("clip_tags", {"clip_id": cid, "tag_id": tid})
            kept = [
                r["position"]
                for tid, r in rows.items()
                if not (r["source"] == "auto" and r["state"] == "active")
            ]
            pos = max(kept, default=-1) + 1
            for tid, t in new_ids.items():
                row = rows.get(tid)
                values = {
                    "confidence": t.confidence,
                    "model": model,
                    "threshold": threshold if t.threshold is None else t.threshold,
                    "aggregation": aggregation,
                }
                key = {"clip_id": cid, "tag_id": tid}
                if row is None:
                    rec.insert(
                        "clip_tags",
                        {**key, **values, "source": "auto", "state": "active", "position": pos},
                    )
                else:  # an untouched auto tag of an earlier run
                    rec.update("clip_tags", key, {**values, "position": pos}, row)
                pos += 1

    return _run(project, f"auto tags ({model})", body)


def set_auto_tags(
    project: Project,
    clip_id: int,
    tags: Iterable[AutoTag | tuple] | Mapping[str, float],
    model: str,
    threshold: float | None = None,
    aggregation: str | None = None,
) -> Edit:
    """Store one clip's auto tags: ``[(name, confidence[, category])]`` or ``{name: conf}``.

    Replaces the previous run's untouched (active) auto tags; manual, accepted and rejected
    tags are never changed, and block auto tags of any spelling of their name (see
    :func:`spelling`).  New auto tags go after the kept ones, most confident first.
    """
    return set_auto_tags_many(project, [(clip_id, tags)], model, threshold, aggregation)


def set_auto_caption(
    project: Project, clip_id: int, text: str, model: str, prompt: str | None = None
) -> Edit:
    """Store an auto caption unless the clip has a manual one (that one always stays)."""
    (cid,) = _existing_clips(project, [clip_id])

    def body(rec: Recorder) -> None:
        row = rec.db.execute("SELECT * FROM captions WHERE clip_id=?", (cid,)).fetchone()
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

    return _run(project, f"auto caption ({model})", body)


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClipTag:
    name: str
    category: str
    source: str
    state: str
    confidence: float | None
    model: str | None
    position: int


@dataclass(frozen=True)
class Caption:
    text: str
    source: str
    model: str | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class TagCount:
    name: str
    category: str
    count: int  # clips that show the tag (not rejected)
    manual: int = 0
    auto: int = 0  # of which come from an auto tagger


def clip_tags(project: Project, clip_id: int, *, include_rejected: bool = False) -> list[ClipTag]:
    return clip_tags_many(project, [clip_id], include_rejected=include_rejected).get(clip_id, [])


def clip_tags_many(
    project: Project, clip_ids: Iterable[int], *, include_rejected: bool = False
) -> dict[int, list[ClipTag]]:
    """The tags of many clips in one query, each clip's in its tag order."""
    rejected = "" if include_rejected else "AND ct.state != 'rejected'"
    out: dict[int, list[ClipTag]] = {}
    for r in project.db.execute(
        "SELECT ct.*, t.name, t.category FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id "
        f"WHERE ct.clip_id IN (SELECT value FROM json_each(?)) {rejected} "
        "ORDER BY ct.clip_id, ct.position, t.name",
        (json.dumps(list(clip_ids)),),
    ):
        out.setdefault(r["clip_id"], []).append(
            ClipTag(
                r["name"],
                r["category"],
                r["source"],
                r["state"],
                r["confidence"],
                r["model"],
                r["position"],
            )
        )
    return out


def caption(project: Project, clip_id: int) -> Caption | None:
    return captions_many(project, [clip_id]).get(clip_id)


def captions_many(project: Project, clip_ids: Iterable[int]) -> dict[int, Caption]:
    return {
        r["clip_id"]: Caption(r["text"], r["source"], r["model"], r["prompt"])
        for r in project.db.execute(
            "SELECT * FROM captions WHERE clip_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(clip_ids)),),
        )
    }


def tag_counts(
    project: Project, clip_ids: Iterable[int] | None = None, *, include_unused: bool = False
) -> list[TagCount]:
    """Every tag with how many clips show it (the all-tags panel), most used first."""
    within = "" if clip_ids is None else "AND ct.clip_id IN (SELECT value FROM json_each(?))"
    params = () if clip_ids is None else (json.dumps(list(clip_ids)),)
    rows = project.db.execute(
        "SELECT t.name, t.category, COUNT(ct.clip_id) AS n, "
        "SUM(ct.source = 'manual') AS manual, SUM(ct.source = 'auto') AS auto "
        "FROM tags t LEFT JOIN clip_tags ct ON ct.tag_id = t.id AND ct.state != 'rejected' "
        f"{within} GROUP BY t.id ORDER BY n DESC, t.name",
        params,
    )
    return [
        TagCount(r[0], r[1], r[2], r[3] or 0, r[4] or 0) for r in rows if include_unused or r[2] > 0
    ]


def complete_tags(project: Project, text: str, limit: int = 20) -> list[TagCount]:
    """Autocomplete: tags starting with ``text`` first, then containing it; by use count."""
    needle = text.strip().lower()
    esc = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = project.db.execute(
        "SELECT t.name, t.category, COUNT(ct.clip_id) AS n, "
        "SUM(ct.source = 'manual'), SUM(ct.source = 'auto') FROM tags t "
        "LEFT JOIN clip_tags ct ON ct.tag_id = t.id AND ct.state != 'rejected' "
        "WHERE t.name LIKE ? ESCAPE '\\' GROUP BY t.id "
        "ORDER BY t.name LIKE ? ESCAPE '\\' DESC, n DESC, t.name LIMIT ?",
        (f"%{esc}%", f"{esc}%", limit),
    )
    return [TagCount(r[0], r[1], r[2], r[3] or 0, r[4] or 0) for r in rows]
