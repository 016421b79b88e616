"""What the workstation has now, in Hydrus's terms, and the outbox rows that bring Hydrus there.

Each clip that is not rejected is a file (by sha256 of the clip file, hashed once per size and
mtime), a set of tags in Hydrus form and a note (its caption; none when it has no or an empty
caption).  Queuing compares that with the clip's state as last synced and keeps one outbox row
per clip and kind (file, tags, note) holding the whole change, so re-planning an unsent row
replaces it in place; a row Hydrus answered but did not commit yet (``sent``) still counts as
possibly applied: its tags are deleted again if no longer wanted.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from workstation.core.hydrus import tagmap
from workstation.core.hydrus.link import HydrusLink
from workstation.core.hydrus.session import STAGE
from workstation.core.progress import Progress, Stage
from workstation.core.store import Project

KINDS = ("file", "tags", "note")


@dataclass(frozen=True)
class Local:
    """A clip as the workstation has it now, in Hydrus's terms."""

    clip_id: int
    path: Path
    tags: frozenset[str]
    note: str | None
    names: tuple[tuple[str, str], ...]  # the clip's shown (name, category) tags


def local_states(project: Project, link: HydrusLink) -> dict[int, Local]:
    sources = project.hydrus_sources()
    ids = [r["id"] for r in sources]
    tags = project.clip_tags_many(ids)
    captions = project.caption_texts(ids)
    out: dict[int, Local] = {}
    for r in sources:
        names = tuple((t.name, t.category) for t in tags.get(r["id"], []))
        wanted = {tagmap.to_hydrus(n, c, link.namespaces) for n, c in names}
        if link.source_tags:
            video = None if r["video"] is None else Path(r["video"]).name
            wanted.update(tagmap.derived_tags(video, r["start_frame"], r["end_frame"]))
        wanted.discard("")
        out[r["id"]] = Local(
            r["id"],
            project.clip_path(r["path"]),
            frozenset(wanted),
            captions.get(r["id"]) or None,
            names,
        )
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_clips(project: Project, states: dict[int, Local], failed: list[str]) -> Stage[None]:
    """Record each clip file's sha256, hashing only files whose size or mtime changed (a
    progress record per file hashed); a sentence per clip that cannot be mirrored (a missing
    file) goes to ``failed``."""
    known = project.hydrus_clip_rows()
    todo: list[tuple[int, Local, os.stat_result]] = []
    for cid, local in states.items():
        try:
            st = local.path.stat()
        except OSError as exc:
            failed.append(f"{local.path}: cannot read the clip file ({exc.strerror}).")
            continue
        row = known.get(cid)
        if row is None or (row["size"], row["mtime_ns"]) != (st.st_size, st.st_mtime_ns):
            todo.append((cid, local, st))
    for n, (cid, local, st) in enumerate(todo):
        yield Progress(STAGE, n, len(todo), item=local.path.name, message="Hashing clips")
        try:
            digest = sha256_of(local.path)
        except OSError as exc:
            failed.append(f"{local.path}: cannot read the clip file ({exc.strerror}).")
            continue
        with project.transaction():
            project.put_hydrus_clip(cid, digest, st.st_size, st.st_mtime_ns)


def _tags_row(
    wanted: frozenset[str], base: set[str], old: sqlite3.Row | None
) -> dict[str, list[str]] | None:
    add, delete = wanted - base, base - wanted
    if old is not None and old["sent"]:  # it may have reached Hydrus: undo what is unwanted
        before = json.loads(old["payload"])
        touched = set(before.get("add", [])) | set(before.get("delete", []))
        delete |= touched - wanted
        add |= touched & wanted
    if not add and not delete:
        return None
    return {"add": sorted(add), "delete": sorted(delete), "result": sorted(wanted)}


def _note_row(
    ours: str | None, base: str | None, old: sqlite3.Row | None
) -> dict[str, object] | None:
    sent_before: list[str | None] = []
    if old is not None and old["sent"]:
        before = json.loads(old["payload"])
        sent_before = [before.get("text"), *before.get("also", [])]
    if ours == base and all(t == ours for t in sent_before):
        return None
    return {"text": ours, "also": [t for t in sent_before if t != ours]}


def plan(
    project: Project, states: dict[int, Local], *, write: bool
) -> tuple[set[tuple[int, str]], list[str]]:
    """The (clip id, kind) rows that bring Hydrus to ``states``; ``write`` queues them (and
    drops rows no longer needed) in one transaction.  Clips sharing one file with an earlier
    clip are left out, each with a sentence saying so."""
    if not write:
        return _plan(project, states, write=False)
    with project.transaction():
        return _plan(project, states, write=True)


def _plan(
    project: Project, states: dict[int, Local], *, write: bool
) -> tuple[set[tuple[int, str]], list[str]]:
    mirror = project.hydrus_clip_rows()
    queued = {(r["clip_id"], r["kind"]): r for r in project.hydrus_outbox()}
    held = project.hydrus_conflict_clips("note")
    first_of: dict[str, int] = {}
    keys: set[tuple[int, str]] = set()
    notes: list[str] = []
    for cid, local in states.items():
        m = mirror.get(cid)
        if m is not None:
            other = first_of.setdefault(m["sha256"], cid)
            if other != cid:
                notes.append(f"{local.path}: the same file as clip {other}; mirrored once.")
                if write:
                    project.unqueue_hydrus(cid, KINDS)
                continue
        wanted: dict[str, object | None] = {}
        if m is None or m["state"] != "mirrored":
            wanted["file"] = {"path": str(local.path)}
        base_tags = set() if m is None else set(json.loads(m["tags"]))
        wanted["tags"] = _tags_row(local.tags, base_tags, queued.get((cid, "tags")))
        if cid not in held:
            base_note = None if m is None else m["note"]
            wanted["note"] = _note_row(local.note, base_note, queued.get((cid, "note")))
        for kind, payload in wanted.items():
            if payload is not None:
                keys.add((cid, kind))
        if write:
            _write(project, cid, wanted, queued)
    if write:  # rows of clips rejected (or removed) since they were queued
        for cid in {c for c, _ in queued} - set(states):
            project.unqueue_hydrus(cid, KINDS)
    return keys, notes


def _write(
    project: Project,
    cid: int,
    wanted: dict[str, object | None],
    queued: dict[tuple[int, str], sqlite3.Row],
) -> None:
    for kind in KINDS:
        payload = wanted.get(kind)
        old = queued.get((cid, kind))
        if payload is None:
            if old is not None and kind in wanted:
                project.unqueue_hydrus(cid, [kind])
            continue
        text = json.dumps(payload, sort_keys=True)
        if old is None or old["payload"] != text:
            project.queue_hydrus(cid, kind, text, sent=bool(old and old["sent"]))
