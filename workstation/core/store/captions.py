"""Project methods for captions: one caption per clip, written by a person or a captioner.

Which caption may replace which is decided in :mod:`workstation.core.review`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from workstation.core.store.database import ProjectDatabase


@dataclass(frozen=True)
class Caption:
    text: str
    source: str
    model: str | None = None
    prompt: str | None = None
    origin: str | None = None  # 'hydrus' when a Hydrus pull wrote it


class CaptionTables(ProjectDatabase):
    """The captions table (mixed into :class:`Project`)."""

    def caption_row(self, clip_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM captions WHERE clip_id=?", (clip_id,)
        ).fetchone()
        return row

    def caption_source(self, clip_id: int) -> str | None:
        """'auto' or 'manual' for a clip's caption; None when it has none."""
        row = self.caption_row(clip_id)
        return None if row is None else str(row["source"])

    def captions_many(self, clip_ids: Iterable[int]) -> dict[int, Caption]:
        return {
            r["clip_id"]: Caption(r["text"], r["source"], r["model"], r["prompt"], r["origin"])
            for r in self.db.execute(
                "SELECT * FROM captions WHERE clip_id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(clip_ids)),),
            )
        }

    def caption_texts(self, clip_ids: Iterable[int] | None) -> dict[int, str]:
        """Clip id -> caption text, of these clips (all when None)."""
        ids_json = None if clip_ids is None else json.dumps(list(clip_ids))
        where = "" if ids_json is None else "WHERE clip_id IN (SELECT value FROM json_each(?))"
        params = () if ids_json is None else (ids_json,)
        return dict(self.db.execute(f"SELECT clip_id, text FROM captions {where}", params))

    def caption_spread(self, clip_ids: list[int]) -> tuple[int, int, str | None]:
        """Over these clips: how many have a caption, how many different texts, and one text."""
        n, distinct, text = self.db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT text), MIN(text) FROM captions "
            "WHERE clip_id IN (SELECT value FROM json_each(?))",
            (json.dumps(clip_ids),),
        ).fetchone()
        return n, distinct, text

    def add_manual_caption(self, clip_id: int, text: str, updated_at: float) -> None:
        """Give a clip without a caption this manual one (an imported caption)."""
        self.db.execute(
            "INSERT INTO captions(clip_id, text, source, updated_at) VALUES (?,?,'manual',?)",
            (clip_id, text, updated_at),
        )
