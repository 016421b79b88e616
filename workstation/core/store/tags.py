"""Project methods for tags and clip tags: the names, which clip shows which, and from where.

The rules (manual work wins over automatic results, removing an auto tag leaves a tombstone)
live in :mod:`workstation.core.review`; these methods only read and write the rows it asks for.
A clip tag's ``state`` is ``active``, ``accepted`` or ``rejected`` (a tombstone nobody sees).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from workstation.core.store.database import ProjectDatabase, inserted_id


@dataclass(frozen=True)
class ClipTag:
    name: str
    category: str
    source: str
    state: str
    confidence: float | None
    model: str | None
    position: int
    origin: str | None = None  # 'hydrus' when a Hydrus pull wrote it


@dataclass(frozen=True)
class TagCount:
    name: str
    category: str
    count: int  # clips that show the tag (not rejected)
    manual: int = 0
    auto: int = 0  # of which come from an auto tagger


_COUNTS = (
    "SELECT t.name, t.category, COUNT(ct.clip_id) AS n, "
    "SUM(ct.source = 'manual') AS manual, SUM(ct.source = 'auto') AS auto "
    "FROM tags t LEFT JOIN clip_tags ct ON ct.tag_id = t.id AND ct.state != 'rejected' "
)


class TagTables(ProjectDatabase):
    """Tags and clip tags (mixed into :class:`Project`)."""

    # -- tag names -------------------------------------------------------------------------
    def tag_id(self, name: str) -> int | None:
        row = self.db.execute("SELECT id FROM tags WHERE name=?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def tag_ids(self) -> dict[str, int]:
        """Every tag's id by name."""
        return {name: tid for tid, name in self.db.execute("SELECT id, name FROM tags")}

    def new_tag(self, name: str) -> int:
        """Add a tag name (category general); returns its id."""
        return inserted_id(self.db.execute("INSERT INTO tags(name) VALUES (?)", (name,)))

    # -- one clip's tags -------------------------------------------------------------------
    def clip_tag_row(self, clip_id: int, tag_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM clip_tags WHERE clip_id=? AND tag_id=?", (clip_id, tag_id)
        ).fetchone()
        return row

    def clip_tag_rows_with_names(self, clip_id: int) -> list[sqlite3.Row]:
        """Every tag row of a clip (rejected ones too) with the tag's ``name``."""
        return self.db.execute(
            "SELECT ct.*, t.name FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id "
            "WHERE ct.clip_id=?",
            (clip_id,),
        ).fetchall()

    def next_tag_position(self, clip_id: int) -> int:
        """The position after a clip's last tag."""
        row = self.db.execute(
            "SELECT MAX(position) FROM clip_tags WHERE clip_id=?", (clip_id,)
        ).fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def shown_tag_ids(self, clip_id: int) -> list[int]:
        """The clip's tags that are not rejected."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT tag_id FROM clip_tags WHERE clip_id=? AND state != 'rejected'", (clip_id,)
            ).fetchall()
        ]

    def tag_ids_in_order(self, clip_id: int) -> list[int]:
        """Every tag of the clip (rejected too) in its tag order."""
        rows = self.db.execute(
            "SELECT tag_id FROM clip_tags WHERE clip_id=? ORDER BY position, tag_id", (clip_id,)
        ).fetchall()
        return [r[0] for r in rows]

    def auto_tag_runs(self, clip_id: int) -> dict[str, tuple[float | None, str | None]]:
        """Auto tag name -> (threshold, aggregation) of the run that proposed it."""
        return {
            r[0]: (r[1], r[2])
            for r in self.db.execute(
                "SELECT t.name, ct.threshold, ct.aggregation FROM clip_tags ct "
                "JOIN tags t ON t.id = ct.tag_id WHERE ct.clip_id = ? AND ct.source = 'auto'",
                (clip_id,),
            )
        }

    def has_auto_tags(self, clip_id: int, model: str) -> bool:
        """Whether any auto tag of the clip came from ``model``."""
        row = self.db.execute(
            "SELECT 1 FROM clip_tags WHERE clip_id=? AND source='auto' AND model=? LIMIT 1",
            (clip_id, model),
        ).fetchone()
        return row is not None

    def set_auto_tag_threshold(
        self, clip_id: int, tag: str, model: str, threshold: float | None
    ) -> None:
        """The threshold an active auto tag of ``model`` passed (per category, not per run)."""
        self.db.execute(
            "UPDATE clip_tags SET threshold=? WHERE clip_id=? AND source='auto' "
            "AND state='active' AND model=? AND tag_id=(SELECT id FROM tags "
            "WHERE name=?)",
            (threshold, clip_id, model, tag),
        )

    def add_manual_tags(self, clip_id: int, tag_ids: Iterable[int]) -> None:
        """Give a new clip these manual tags in this order (an imported tag list)."""
        for pos, tid in enumerate(tag_ids):
            self.db.execute(
                "INSERT OR IGNORE INTO clip_tags(clip_id, tag_id, source, state, "
                "position) VALUES (?,?,'manual','active',?)",
                (clip_id, tid, pos),
            )

    # -- many clips ------------------------------------------------------------------------
    def clip_tag_rows_of(self, tag_id: int, clip_ids: list[int]) -> dict[int, sqlite3.Row]:
        """The rows of one tag on these clips, by clip id (clips without it are left out)."""
        return {
            r["clip_id"]: r
            for r in self.db.execute(
                "SELECT * FROM clip_tags WHERE tag_id=? AND clip_id IN "
                "(SELECT value FROM json_each(?))",
                (tag_id, json.dumps(clip_ids)),
            )
        }

    def next_tag_positions(self, clip_ids: list[int]) -> dict[int, int]:
        """:meth:`next_tag_position` of many clips in one query."""
        rows = self.db.execute(
            "SELECT clip_id, MAX(position) FROM clip_tags "
            "WHERE clip_id IN (SELECT value FROM json_each(?)) GROUP BY clip_id",
            (json.dumps(clip_ids),),
        )
        nxt = {cid: int(m) + 1 for cid, m in rows}
        return {cid: nxt.get(cid, 0) for cid in clip_ids}

    def clips_with_tag(self, tag_id: int) -> list[int]:
        """Every clip that has a row of this tag (rejected ones too)."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT clip_id FROM clip_tags WHERE tag_id=?", (tag_id,)
            ).fetchall()
        ]

    def auto_tags_to_decide(
        self,
        not_state: str,
        clip_ids: list[int] | None = None,
        names: list[str] | None = None,
        *,
        active_only: bool = False,
        at_least: float | None = None,
        below: float | None = None,
    ) -> list[tuple[int, int]]:
        """(clip id, tag id) of the auto tags not in ``not_state`` yet, narrowed to these clips,
        these tag names, untouched (``active``) ones, or a confidence range (None = any)."""
        sql = (
            "SELECT ct.clip_id, ct.tag_id FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id "
            "WHERE ct.source = 'auto' AND ct.state != ?"
        )
        args: list[object] = [not_state]
        if clip_ids is not None:
            sql += " AND ct.clip_id IN (SELECT value FROM json_each(?))"
            args.append(json.dumps(clip_ids))
        if names is not None:
            sql += " AND t.name IN (SELECT value FROM json_each(?))"
            args.append(json.dumps(names))
        if active_only:
            sql += " AND ct.state='active'"
        if at_least is not None:
            sql += " AND ct.confidence >= ?"
            args.append(at_least)
        if below is not None:
            sql += " AND ct.confidence < ?"
            args.append(below)
        return [(r[0], r[1]) for r in self.db.execute(sql, args).fetchall()]

    def clip_tags_many(
        self, clip_ids: Iterable[int], *, include_rejected: bool = False
    ) -> dict[int, list[ClipTag]]:
        """The tags of many clips in one query, each clip's in its tag order."""
        rejected = "" if include_rejected else "AND ct.state != 'rejected'"
        out: dict[int, list[ClipTag]] = {}
        for r in self.db.execute(
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
                    r["origin"],
                )
            )
        return out

    def tags_across(self, clip_ids: list[int]) -> list[tuple[str, str, int, int]]:
        """(name, category, clips with it, of which untouched auto) over many clips, most
        common first: 10,000 selected clips are 50,000 tag rows, too many to fetch one by one."""
        rows = self.db.execute(
            "SELECT t.name, t.category, COUNT(*), SUM(ct.source = 'auto' AND ct.state = 'active') "
            "FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id "
            "WHERE ct.clip_id IN (SELECT value FROM json_each(?)) AND ct.state != 'rejected' "
            "GROUP BY t.id ORDER BY COUNT(*) DESC, t.name",
            (json.dumps(clip_ids),),
        ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def shown_tag_names(
        self, clip_ids: Iterable[int] | None, *, include_auto: bool = True
    ) -> dict[int, list[str]]:
        """Clip id -> names of its tags that are not rejected, in tag order (all clips when
        None); ``include_auto=False`` leaves out auto tags nobody accepted."""
        ids_json = None if clip_ids is None else json.dumps(list(clip_ids))
        where_ct = "" if ids_json is None else "AND ct.clip_id IN (SELECT value FROM json_each(?))"
        params = () if ids_json is None else (ids_json,)
        auto = "" if include_auto else "AND (ct.source = 'manual' OR ct.state = 'accepted')"
        tags: dict[int, list[str]] = {}
        for clip_id, name in self.db.execute(
            "SELECT ct.clip_id, t.name FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id "
            f"WHERE ct.state != 'rejected' {auto} {where_ct} "
            "ORDER BY ct.clip_id, ct.position, t.name",
            params,
        ):
            tags.setdefault(clip_id, []).append(name)
        return tags

    # -- tag counts ------------------------------------------------------------------------
    def tag_counts(self, clip_ids: Iterable[int] | None = None) -> list[TagCount]:
        """Every tag (unused ones too) with how many of these clips (all when None) show it,
        most used first."""
        within = "" if clip_ids is None else "AND ct.clip_id IN (SELECT value FROM json_each(?))"
        params = () if clip_ids is None else (json.dumps(list(clip_ids)),)
        rows = self.db.execute(f"{_COUNTS}{within} GROUP BY t.id ORDER BY n DESC, t.name", params)
        return [TagCount(r[0], r[1], r[2], r[3] or 0, r[4] or 0) for r in rows]

    def tags_containing(self, text: str, limit: int = 20) -> list[TagCount]:
        """Tags whose name contains ``text`` (case-insensitive), those starting with it first,
        then by use count."""
        esc = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.execute(
            f"{_COUNTS}WHERE t.name LIKE ? ESCAPE '\\' GROUP BY t.id "
            "ORDER BY t.name LIKE ? ESCAPE '\\' DESC, n DESC, t.name LIMIT ?",
            (f"%{esc}%", f"{esc}%", limit),
        )
        return [TagCount(r[0], r[1], r[2], r[3] or 0, r[4] or 0) for r in rows]
