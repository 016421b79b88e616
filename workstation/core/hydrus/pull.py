"""Pull: read back what Hydrus stores for every mirrored clip and apply edits made there.

Only ``storage_tags["0"]`` of the chosen tag service are read (display tags add siblings and
parents that nobody typed).  Each clip's tags and note are compared with its state as last
synced: an edit made only in Hydrus becomes a manual edit here (provenance ``hydrus``); what
matches the workstation's own writes still in flight (sent, not committed) is not an edit.
Tags merge per tag.  A note changed on both sides (beyond the whitespace Hydrus's note editor
strips) becomes a conflict and neither side changes.  A clip Hydrus no longer has goes back to
``new`` so the push imports it again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Generator
from functools import partial
from typing import Any

from workstation.core import review
from workstation.core.errors import WorkstationError
from workstation.core.hydrus import tagmap
from workstation.core.hydrus.client import METADATA_BATCH
from workstation.core.hydrus.errors import HydrusError
from workstation.core.hydrus.link import services_of
from workstation.core.hydrus.plan import Local
from workstation.core.hydrus.session import STAGE, Session
from workstation.core.progress import Progress


def normalized(text: str | None) -> str:
    """A note as Hydrus's editor would leave it (each line stripped), for comparing."""
    return "\n".join(line.strip() for line in (text or "").strip().splitlines())


def pull(session: Session, states: dict[int, Local]) -> Generator[Progress, None, None]:
    project, link = session.project, session.link
    mirror = [
        (cid, row)
        for cid, row in project.hydrus_clip_rows().items()
        if row["state"] == "mirrored" and cid in states
    ]
    if mirror:
        yield from _check_service(session)
    sent = {(r["clip_id"], r["kind"]): r for r in project.hydrus_outbox() if r["sent"]}
    spelled = tagmap.spelled(((t.name, t.category) for t in project.tag_counts()), link.namespaces)
    for start in range(0, len(mirror), METADATA_BATCH):
        batch = mirror[start : start + METADATA_BATCH]
        hashes = [row["sha256"] for _, row in batch]
        metas = yield from session.retrying(partial(session.client.file_metadata, hashes))
        by_hash = {m.get("hash"): m for m in metas if isinstance(m, dict)}
        for cid, row in batch:
            meta = by_hash.get(row["sha256"])
            if not _present(meta):
                with project.transaction():
                    project.set_hydrus_state(cid, state="new", tags=[], note=None, set_note=True)
                continue
            assert meta is not None
            _pull_tags(session, states[cid], row, meta, sent.get((cid, "tags")), spelled)
            _pull_note(session, states[cid], row, meta, sent.get((cid, "note")))
        yield Progress(STAGE, start + len(batch), len(mirror), message="Reading Hydrus")


def _check_service(session: Session) -> Generator[Progress, None, None]:
    """Stop before reading tags from a tag service Hydrus no longer has: every tag would look
    deleted there."""
    client, link = session.client, session.link
    answer = yield from session.retrying(client.get_services)
    if link.tag_service_key not in {s.key for s in services_of(answer, client.url)}:
        raise HydrusError(
            f"Hydrus at {client.url} has no tag service {link.tag_service_name!r} any more: "
            "run workstation hydrus connect again and choose one."
        )


def _present(meta: dict[str, Any] | None) -> bool:
    if meta is None or meta.get("file_id") is None:
        return False
    return not (meta.get("is_deleted") or meta.get("is_trashed"))


def _storage_tags(meta: dict[str, Any], service_key: str) -> set[str]:
    service = (meta.get("tags") or {}).get(service_key) or {}
    current = (service.get("storage_tags") or {}).get("0") or []
    return {str(t) for t in current}


def _pull_tags(
    session: Session,
    local: Local,
    row: sqlite3.Row,
    meta: dict[str, Any],
    sent: sqlite3.Row | None,
    spelled: dict[str, str],
) -> None:
    project, link = session.project, session.link
    theirs = {t for t in _storage_tags(meta, link.tag_service_key) if not tagmap.is_derived(t)}
    base = {t for t in json.loads(row["tags"]) if not tagmap.is_derived(t)}
    in_flight: set[str] = set()
    if sent is not None:
        payload = json.loads(sent["payload"])
        in_flight = set(payload.get("add", [])) | set(payload.get("delete", []))
    added = theirs - base - in_flight - local.tags
    removed = (base - theirs - in_flight) & local.tags
    cid = local.clip_id
    refused: set[str] = set()
    for tag in sorted(added):
        name, category = tagmap.from_hydrus(tag, link.namespaces)
        name = spelled.get(tag, name)
        try:
            review.add_tags(project, [cid], [name], category=category)
        except WorkstationError as exc:  # a comma, an unknown category: kept out of the base,
            refused.add(tag)  # so the push never deletes it from Hydrus
            session.failed.append(f"{local.path}: tag {tag!r} from Hydrus not taken: {exc}.")
            continue
        with project.transaction():
            project.mark_tags_origin(cid, [name], "hydrus")
        session.count("pulled_tags")
    gone = [n for n, c in local.names if tagmap.to_hydrus(n, c, link.namespaces) in removed]
    if gone:
        review.remove_tags(project, [cid], gone)
        session.count("pulled_tags", len(removed))
    derived = {t for t in json.loads(row["tags"]) if tagmap.is_derived(t)}
    new_base = (theirs - in_flight - refused) | (base & in_flight) | derived
    with project.transaction():
        project.set_hydrus_state(cid, tags=sorted(new_base))


def _pull_note(
    session: Session,
    local: Local,
    row: sqlite3.Row,
    meta: dict[str, Any],
    sent: sqlite3.Row | None,
) -> None:
    project, link = session.project, session.link
    notes = meta.get("notes") or {}
    theirs = notes.get(link.note_name) or None
    base, ours = row["note"], local.note
    if sent is not None:
        payload = json.loads(sent["payload"])
        if theirs in (payload.get("text"), *payload.get("also", [])):
            return  # our own write, still in flight
    if normalized(theirs) == normalized(base):
        return
    cid = local.clip_id
    if ours == base:  # changed in Hydrus only: a manual edit here, from Hydrus
        review.set_caption(project, [cid], theirs or "")
        with project.transaction():
            project.mark_caption_origin(cid, "hydrus")
            stored = project.caption_texts([cid]).get(cid) or None
            project.set_hydrus_state(cid, note=stored, set_note=True)
        session.count("pulled_captions")
    elif normalized(theirs) == normalized(ours):  # the same edit on both sides
        with project.transaction():
            project.set_hydrus_state(cid, note=ours, set_note=True)
    else:
        with project.transaction():
            if project.put_hydrus_conflict(cid, "note", base, ours, theirs):
                session.count("new_conflicts")
            project.unqueue_hydrus(cid, ["note"])
