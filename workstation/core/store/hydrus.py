"""Project methods for the Hydrus mirror (schema migration 5): the link, each clip's state as
last synced, the outbox and the open conflicts.

The rules (what to queue, when a batch counts as durable, what a pull applies) live in
:mod:`workstation.core.hydrus`; these methods only read and write the rows it asks for.  JSON
columns (``namespaces``, ``tags``, ``payload``) are encoded and decoded by the caller.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from typing import Any

from workstation.core.store.database import ProjectDatabase

_LINK_COLUMNS = (
    "url",
    "tag_service_key",
    "tag_service_name",
    "file_service_key",
    "file_service_name",
    "note_name",
    "namespaces",
    "source_tags",
)


class HydrusTables(ProjectDatabase):
    """The ``hydrus_*`` tables (mixed into :class:`Project`)."""

    # -- the link ----------------------------------------------------------------------------
    def hydrus_link_row(self) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute("SELECT * FROM hydrus_link").fetchone()
        return row

    def put_hydrus_link(self, values: Mapping[str, Any]) -> None:
        """Store the link (one row), keeping the last contact's state when there is one."""
        cols = [c for c in _LINK_COLUMNS if c in values]
        marks = ", ".join("?" for _ in cols)
        updates = ", ".join(f"{c}=excluded.{c}" for c in cols)
        self.db.execute(
            f"INSERT INTO hydrus_link(id, {', '.join(cols)}) VALUES (1, {marks}) "
            f"ON CONFLICT(id) DO UPDATE SET {updates}",
            [values[c] for c in cols],
        )

    def delete_hydrus_link(self) -> None:
        self.db.execute("DELETE FROM hydrus_link")

    def set_hydrus_contact(self, state: str, error: str | None, *, synced: bool = False) -> None:
        """How the last contact went (``ok``, ``down``…); ``synced`` also stamps last_sync."""
        stamp = ", last_sync=?" if synced else ""
        args: list[object] = [state, error] + ([time.time()] if synced else [])
        self.db.execute(f"UPDATE hydrus_link SET state=?, last_error=?{stamp}", args)

    # -- clips and their state as last synced ------------------------------------------------
    def hydrus_sources(self) -> list[sqlite3.Row]:
        """Every clip that is not rejected: ``id``, stored ``path``, ``video`` (its path or
        None), ``start_frame``, ``end_frame``, in id order."""
        return self.db.execute(
            "SELECT c.id, c.path, v.path AS video, c.start_frame, c.end_frame FROM clips c "
            "LEFT JOIN videos v ON v.id = c.video_id WHERE c.rejected = 0 ORDER BY c.id"
        ).fetchall()

    def hydrus_clip_rows(self) -> dict[int, sqlite3.Row]:
        """Each clip's mirror state, by clip id."""
        return {r["clip_id"]: r for r in self.db.execute("SELECT * FROM hydrus_clips")}

    def put_hydrus_clip(self, clip_id: int, sha256: str, size: int, mtime_ns: int) -> None:
        """Record a clip file's hash; a new hash (the file changed) starts over as ``new``."""
        self.db.execute(
            "INSERT INTO hydrus_clips(clip_id, sha256, size, mtime_ns) VALUES (?,?,?,?) "
            "ON CONFLICT(clip_id) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, "
            "state=CASE WHEN sha256=excluded.sha256 THEN state ELSE 'new' END, "
            "tags=CASE WHEN sha256=excluded.sha256 THEN tags ELSE '[]' END, "
            "note=CASE WHEN sha256=excluded.sha256 THEN note ELSE NULL END, "
            "sha256=excluded.sha256",
            (clip_id, sha256, size, mtime_ns),
        )

    def set_hydrus_state(
        self,
        clip_id: int,
        *,
        state: str | None = None,
        tags: list[str] | None = None,
        note: str | None = None,
        set_note: bool = False,
    ) -> None:
        """Update a clip's state as last synced (only what is given; ``set_note`` writes
        ``note`` even when it is None)."""
        sets: list[str] = ["synced_at=?"]
        args: list[object] = [time.time()]
        if state is not None:
            sets.append("state=?")
            args.append(state)
        if tags is not None:
            sets.append("tags=?")
            args.append(json.dumps(sorted(tags)))
        if set_note:
            sets.append("note=?")
            args.append(note)
        self.db.execute(
            f"UPDATE hydrus_clips SET {', '.join(sets)} WHERE clip_id=?", [*args, clip_id]
        )

    def reset_hydrus_state(self, *, files: bool, tags: bool, notes: bool) -> None:
        """Forget what was last synced (another client, tag service or note name): the next
        push sends it all again.  Outbox rows and conflicts go too; they are re-planned."""
        sets = [
            s for s, on in (("state='new'", files), ("tags='[]'", tags), ("note=NULL", notes)) if on
        ]
        if sets:
            self.db.execute(f"UPDATE hydrus_clips SET {', '.join(sets)}")
            self.db.execute("DELETE FROM hydrus_outbox")
            self.db.execute("DELETE FROM hydrus_conflicts")

    def hydrus_mirrored_count(self) -> int:
        return int(
            self.db.execute("SELECT COUNT(*) FROM hydrus_clips WHERE state='mirrored'").fetchone()[
                0
            ]
        )

    # -- the outbox --------------------------------------------------------------------------
    def hydrus_outbox(self) -> list[sqlite3.Row]:
        """Every queued change, in the order it is sent (files first within a clip's queue)."""
        return self.db.execute("SELECT * FROM hydrus_outbox ORDER BY id").fetchall()

    def hydrus_outbox_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM hydrus_outbox").fetchone()[0])

    def queue_hydrus(self, clip_id: int, kind: str, payload: str, *, sent: bool) -> None:
        """Queue (or re-plan) a clip's change of ``kind``; a re-planned row keeps its place."""
        self.db.execute(
            "INSERT INTO hydrus_outbox(clip_id, kind, payload, sent, queued_at) "
            "VALUES (?,?,?,?,?) ON CONFLICT(clip_id, kind) DO UPDATE SET "
            "payload=excluded.payload, sent=excluded.sent",
            (clip_id, kind, payload, int(sent), time.time()),
        )

    def unqueue_hydrus(self, clip_id: int, kinds: Iterable[str]) -> None:
        self.db.execute(
            "DELETE FROM hydrus_outbox WHERE clip_id=? AND kind IN (SELECT value FROM json_each(?))",
            (clip_id, json.dumps(list(kinds))),
        )

    def mark_hydrus_sent(self, row_id: int) -> None:
        """Hydrus answered 200 for this row (not durable until the next force commit)."""
        self.db.execute(
            "UPDATE hydrus_outbox SET sent=1, attempts=attempts+1, last_error=NULL WHERE id=?",
            (row_id,),
        )

    def mark_hydrus_failed(self, row_id: int, error: str) -> None:
        self.db.execute(
            "UPDATE hydrus_outbox SET attempts=attempts+1, last_error=? WHERE id=?",
            (error, row_id),
        )

    def drop_hydrus_rows(self, rows: Iterable[tuple[int, str]]) -> None:
        """Drop sent rows by (id, payload): a row re-planned meanwhile stays queued."""
        self.db.executemany("DELETE FROM hydrus_outbox WHERE id=? AND payload=?", list(rows))

    # -- conflicts ---------------------------------------------------------------------------
    def hydrus_conflict_rows(self) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT h.*, c.path FROM hydrus_conflicts h JOIN clips c ON c.id = h.clip_id "
            "ORDER BY h.found_at, h.id"
        ).fetchall()

    def hydrus_conflict_row(self, conflict_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM hydrus_conflicts WHERE id=?", (conflict_id,)
        ).fetchone()
        return row

    def put_hydrus_conflict(
        self, clip_id: int, kind: str, base: str | None, ours: str | None, theirs: str | None
    ) -> bool:
        """Record (or refresh) a conflict; True when it is new."""
        new = (
            self.db.execute(
                "SELECT 1 FROM hydrus_conflicts WHERE clip_id=? AND kind=?", (clip_id, kind)
            ).fetchone()
            is None
        )
        self.db.execute(
            "INSERT INTO hydrus_conflicts(clip_id, kind, base, ours, theirs, found_at) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT(clip_id, kind) DO UPDATE SET "
            "base=excluded.base, ours=excluded.ours, theirs=excluded.theirs",
            (clip_id, kind, base, ours, theirs, time.time()),
        )
        return new

    def delete_hydrus_conflict(self, conflict_id: int) -> None:
        self.db.execute("DELETE FROM hydrus_conflicts WHERE id=?", (conflict_id,))

    def hydrus_conflict_clips(self, kind: str) -> set[int]:
        return {
            r[0]
            for r in self.db.execute("SELECT clip_id FROM hydrus_conflicts WHERE kind=?", (kind,))
        }

    # -- provenance --------------------------------------------------------------------------
    def mark_tags_origin(self, clip_id: int, tag_names: Iterable[str], origin: str) -> None:
        """Mark these tags of a clip as written by ``origin`` (a pull: ``hydrus``)."""
        self.db.execute(
            "UPDATE clip_tags SET origin=? WHERE clip_id=? AND tag_id IN "
            "(SELECT id FROM tags WHERE name IN (SELECT value FROM json_each(?)))",
            (origin, clip_id, json.dumps(list(tag_names))),
        )

    def mark_caption_origin(self, clip_id: int, origin: str | None) -> None:
        self.db.execute("UPDATE captions SET origin=? WHERE clip_id=?", (origin, clip_id))
