"""Project methods reading clip rows in bulk (the clip grid, sidecars, review checks) and
writing the rows of an imported clip dataset.

:class:`~workstation.core.store.clips.ClipTables` handles one clip at a time as a
:class:`~workstation.core.store.records.Clip`; these methods answer for thousands of clips in
one query each, with plain values.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from workstation.core.store.database import ProjectDatabase, inserted_id

#: The key of a sliced clip's settings that records the segment ``[start, end)`` it was cut
#: from (written by the slicer, left out when it compares settings to reuse a clip).
CLIP_SEGMENT_KEY = "segment"

_SEG = f"json_extract(c.settings, '$.{CLIP_SEGMENT_KEY}[{{i}}]')"
_LIVE_CUT_AT = """EXISTS (SELECT 1 FROM cuts k2 WHERE k2.video_id = c.video_id AND k2.deleted = 0
      AND k2.frame = {seg})"""

# A clip is out of date when the cuts were edited after it was sliced so that slicing again
# would not give it:
# - a cut (not removed) now lies inside the source frame range it was cut from: it spans two
#   shots (the cuts(video_id, frame) index: one seek per clip);
# - a cut that bounded the segment it was cut from was removed (or moved): its segment grew,
#   so the clip no longer starts or ends where the shot does.  Either end is checked unless it
#   is the video's start or end.  Clips sliced before the segment was recorded are checked
#   by the first rule only.  (IFNULL: a clip with no segment recorded is never NULL here, so
#   NOT of the rule, "stale:no", holds for it.)
STALE_SQL = f"""(c.video_id IS NOT NULL AND (EXISTS (SELECT 1 FROM cuts k
    WHERE k.video_id = c.video_id AND k.deleted = 0
      AND k.frame > c.start_frame AND k.frame < c.end_frame)
  OR IFNULL(json_type(c.settings, '$.{CLIP_SEGMENT_KEY}') = 'array' AND (
    ({_SEG.format(i=0)} > 0 AND NOT {_LIVE_CUT_AT.format(seg=_SEG.format(i=0))})
    OR ({_SEG.format(i=1)} < (SELECT v.frame_count FROM videos v WHERE v.id = c.video_id)
        AND NOT {_LIVE_CUT_AT.format(seg=_SEG.format(i=1))})), 0)))"""

_GRID_COLUMNS = f"""c.id, c.path, c.frame_count, c.duration, c.fps_num, c.fps_den, c.width, c.height,
       c.reviewed, c.motion, c.rejected, {STALE_SQL}"""
# every clip, without its tag counts (those come a moment later: see grid_tag_counts)
_ALL_GRID_ROWS = f"SELECT {_GRID_COLUMNS}, 0, 0, 0 FROM clips c"
# the tag counts of every clip: one grouped pass over clip_tags (3/4 of the load time)
_ALL_GRID_COUNTS = """
SELECT c.id, COALESCE(t.n, 0), COALESCE(t.auto, 0), cap.clip_id IS NOT NULL
FROM clips c
LEFT JOIN (SELECT clip_id, COUNT(*) AS n,
                  SUM(source = 'auto' AND state = 'active') AS auto
           FROM clip_tags WHERE state != 'rejected' GROUP BY clip_id) t ON t.clip_id = c.id
LEFT JOIN captions cap ON cap.clip_id = c.id
"""
# a few clips (after an edit): per-clip lookups through the clip_tags primary key
_SOME_GRID_ROWS = f"""
SELECT {_GRID_COLUMNS},
       (SELECT COUNT(*) FROM clip_tags ct WHERE ct.clip_id = c.id AND ct.state != 'rejected'),
       (SELECT COUNT(*) FROM clip_tags ct
        WHERE ct.clip_id = c.id AND ct.source = 'auto' AND ct.state = 'active'),
       EXISTS (SELECT 1 FROM captions cap WHERE cap.clip_id = c.id)
FROM clips c WHERE c.id IN (SELECT value FROM json_each(?))
"""

# The stream columns an imported clip has (it has no source video).
StreamInfo = tuple[int, int, int, int, int, float]  # fps_num, fps_den, frames, w, h, duration


class ClipRowTables(ProjectDatabase):
    """Clip rows in bulk (mixed into :class:`Project`)."""

    # -- reading ---------------------------------------------------------------------------
    def clip_ids(self, *, path_order: bool = False, include_rejected: bool = True) -> list[int]:
        """Every clip's id (but the rejected ones when asked); in path order when asked
        (otherwise as SQLite finds them)."""
        where = "" if include_rejected else " WHERE rejected = 0"
        order = " ORDER BY path" if path_order else ""
        return [r[0] for r in self.db.execute(f"SELECT id FROM clips{where}{order}")]

    def existing_clip_ids(self, clip_ids: list[int]) -> set[int]:
        """Those of ``clip_ids`` that are clips of the project."""
        return {
            r[0]
            for r in self.db.execute(
                "SELECT id FROM clips WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(clip_ids),),
            )
        }

    def stored_clip_paths(self, clip_ids: Iterable[int] | None) -> dict[int, str]:
        """Clip id -> its path as stored (see ``clip_path``), of these clips (all when None)."""
        ids_json = None if clip_ids is None else json.dumps(list(clip_ids))
        where = "" if ids_json is None else "WHERE id IN (SELECT value FROM json_each(?))"
        params = () if ids_json is None else (ids_json,)
        return {r[0]: r[1] for r in self.db.execute(f"SELECT id, path FROM clips {where}", params)}

    def clip_path_and_reviewed(self, clip_id: int) -> tuple[str, bool] | None:
        """The clip's stored path and whether it was reviewed; None when there is no such clip."""
        row = self.db.execute("SELECT path, reviewed FROM clips WHERE id=?", (clip_id,)).fetchone()
        return None if row is None else (row[0], bool(row[1]))

    def grid_rows(self, clip_ids: Iterable[int] | None = None) -> list[sqlite3.Row]:
        """Rows for the clip grid, in one query: id, path, frame count, duration, fps (num,
        den), width, height, reviewed, motion, rejected, out of date (see ``STALE_SQL``), then
        tags shown, untouched auto tags, has a caption.  Every clip when None, with those three counts 0 (see :meth:`grid_tag_counts`)."""
        if clip_ids is None:
            return self.db.execute(_ALL_GRID_ROWS).fetchall()
        return self.db.execute(_SOME_GRID_ROWS, (json.dumps(list(clip_ids)),)).fetchall()

    def stale_clip_ids(self) -> set[int]:
        """The clips out of date (see ``STALE_SQL``), after cuts were edited."""
        return {r[0] for r in self.db.execute(f"SELECT c.id FROM clips c WHERE {STALE_SQL}")}

    def grid_tag_counts(self) -> list[tuple[int, int, int, bool]]:
        """Every clip's (id, tags shown, untouched auto tags, has a caption)."""
        return [(r[0], r[1], r[2], bool(r[3])) for r in self.db.execute(_ALL_GRID_COUNTS)]

    # -- an imported dataset ---------------------------------------------------------------
    def clip_id_at(self, stored_path: str) -> int | None:
        row = self.db.execute("SELECT id FROM clips WHERE path=?", (stored_path,)).fetchone()
        return None if row is None else int(row[0])

    def refresh_clip_stream(self, clip_id: int, info: StreamInfo) -> None:
        """Rewrite a clip's stream info (its tags, caption and review state stay)."""
        self.db.execute(
            "UPDATE clips SET fps_num=?, fps_den=?, frame_count=?, width=?, height=?, "
            "duration=? WHERE id=?",
            (*info, clip_id),
        )

    def add_imported_clip(
        self, stored_path: str, info: StreamInfo, settings: str, created_at: float
    ) -> int:
        """Add a clip with no source video; ``settings`` is its JSON settings text."""
        return inserted_id(
            self.db.execute(
                "INSERT INTO clips(path, fps_num, fps_den, frame_count, width, height, "
                "duration, settings, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (stored_path, *info, settings, created_at),
            )
        )
