"""Push: send the outbox in order, in batches, each made durable with ``force_commit`` before
its rows are dropped and the clips' state as last synced moves on.

Hydrus acknowledges a write long before it is on disk (it commits every 30 s), so a row is
only ``sent`` after its 200 and done after the batch's commit; a Hydrus killed in between
loses the batch, and the rows, still queued, go again (each write is idempotent).  Files go
before tags and notes.  A file Hydrus will not import (status 3 deleted, 4 failed, 7 vetoed)
is reported and its clip's other rows wait.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Generator

from workstation.core.hydrus.client import DELETED, FAILED, KNOWN, NEW, VETOED
from workstation.core.hydrus.errors import HydrusBadAnswer
from workstation.core.hydrus.session import STAGE, Session
from workstation.core.progress import Progress

_WHY = {
    DELETED: "is deleted or in the trash in Hydrus (re-adding does not restore it; "
    "undelete it there, then sync again)",
    FAILED: "could not be imported by Hydrus",
    VETOED: "was vetoed by Hydrus's import options",
}


def push(session: Session, batch_size: int) -> Generator[Progress, None, None]:
    project = session.project
    rows = sorted(project.hydrus_outbox(), key=lambda r: (r["kind"] != "file", r["id"]))
    mirror = project.hydrus_clip_rows()
    imported = {cid for cid, m in mirror.items() if m["state"] == "mirrored"}
    blocked: set[int] = set()
    done_count = 0
    for start in range(0, len(rows), batch_size):
        sent: list[sqlite3.Row] = []
        for row in rows[start : start + batch_size]:
            cid = row["clip_id"]
            if cid in blocked or cid not in mirror:
                continue
            if row["kind"] != "file" and cid not in imported:
                continue  # its file failed (or was never queued): the row waits
            if (yield from _send(session, row, mirror[cid]["sha256"])):
                sent.append(row)
                imported.add(cid)
            else:
                blocked.add(cid)
        if sent:
            yield from session.retrying(session.client.force_commit)
            _durable(session, sent)
        done_count += len(sent)
        yield Progress(STAGE, done_count, len(rows), message="Sending to Hydrus")


def _send(session: Session, row: sqlite3.Row, sha256: str) -> Generator[Progress, None, bool]:
    project, link, client = session.project, session.link, session.client
    payload = json.loads(row["payload"])
    kind = row["kind"]
    if kind == "file":
        answer = yield from session.retrying(
            lambda: client.add_file(payload["path"], link.file_service_key)
        )
        status = answer.get("status")
        if status in (NEW, KNOWN):
            if answer.get("hash") not in (None, sha256):
                raise HydrusBadAnswer(
                    f"{payload['path']}: Hydrus imported a different file (hash "
                    f"{answer.get('hash')}); is the clip folder the same on Hydrus's machine?"
                )
            session.count("files_added" if status == NEW else "files_known")
        else:
            note = str(answer.get("note") or "").strip().splitlines()[:1]
            why = _WHY.get(int(status or 0), f"got import status {status!r} from Hydrus")
            msg = f"{payload['path']} {why}" + (f": {note[0]}" if note else "") + "."
            session.failed.append(msg)
            with project.transaction():
                project.mark_hydrus_failed(row["id"], msg)
            return False
    elif kind == "tags":
        yield from session.retrying(
            lambda: client.add_tags(sha256, link.tag_service_key, payload["add"], payload["delete"])
        )
        session.count("tag_writes")
    else:
        yield from session.retrying(
            lambda: client.set_note(sha256, link.note_name, payload["text"] or "")
        )
        session.count("note_writes")
    with project.transaction():
        project.mark_hydrus_sent(row["id"])
    return True


def _durable(session: Session, rows: list[sqlite3.Row]) -> None:
    """The batch is committed in Hydrus: record it as last synced, drop its rows."""
    project = session.project
    with project.transaction():
        for row in rows:
            payload = json.loads(row["payload"])
            cid = row["clip_id"]
            if row["kind"] == "file":
                project.set_hydrus_state(cid, state="mirrored")
            elif row["kind"] == "tags":
                project.set_hydrus_state(cid, tags=payload["result"])
            else:
                project.set_hydrus_state(cid, note=payload["text"], set_note=True)
        project.drop_hydrus_rows((r["id"], r["payload"]) for r in rows)
        project.set_hydrus_contact("ok", None)
