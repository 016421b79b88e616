"""Project methods for the clips table: clips the slicer wrote or the person imported.

Also the per-clip provenance the automatic taggers and captioners check (which model tagged a
clip, whose caption it has).
"""

from __future__ import annotations

import json
import sqlite3
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from workstation.core.store.database import ProjectDatabase, inserted_id
from workstation.core.store.records import Clip


class ClipTables(ProjectDatabase):
    """Clip rows: stored relative to the project folder when inside it."""

    # -- clips -----------------------------------------------------------------------------
    def clip_path(self, stored: str) -> Path:
        p = Path(stored)
        return p if p.is_absolute() else self.root / p

    def stored_path_of(self, path: Path) -> str:
        """How a clip file's path is stored (relative to the project folder when inside it)."""
        return self._stored_path(path)

    def _stored_path(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path.resolve())

    def upsert_clip(
        self,
        path: Path,
        *,
        video_id: int | None,
        start_frame: int | None,
        end_frame: int | None,
        fps: Fraction,
        frame_count: int,
        width: int,
        height: int,
        settings: dict[str, Any] | None = None,
        verified: bool | None = None,
        verify_error: str | None = None,
    ) -> int:
        """Insert or refresh a clip row; tags, captions and review state survive a re-slice."""
        stored = self._stored_path(path)
        duration = float(frame_count / fps) if fps else 0.0
        values = (
            video_id,
            start_frame,
            end_frame,
            fps.numerator,
            fps.denominator,
            frame_count,
            width,
            height,
            duration,
            json.dumps(settings or {}, sort_keys=True),
            None if verified is None else int(verified),
            verify_error,
        )
        with self.transaction():
            row = self.db.execute("SELECT id FROM clips WHERE path=?", (stored,)).fetchone()
            if row:
                self.db.execute(
                    "UPDATE clips SET video_id=?, start_frame=?, end_frame=?, fps_num=?, fps_den=?, "
                    "frame_count=?, width=?, height=?, duration=?, settings=?, verified=?, "
                    "verify_error=? WHERE id=?",
                    (*values, row[0]),
                )
                return int(row[0])
            cur = self.db.execute(
                "INSERT INTO clips(video_id, start_frame, end_frame, fps_num, fps_den, frame_count, "
                "width, height, duration, settings, verified, verify_error, path, created_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*values, stored, time.time()),
            )
            return inserted_id(cur)

    def clips(self, video_id: int | None = None) -> list[Clip]:
        if video_id is None:
            rows = self.db.execute("SELECT * FROM clips ORDER BY path")
        else:
            rows = self.db.execute(
                "SELECT * FROM clips WHERE video_id=? ORDER BY start_frame", (video_id,)
            )
        return [self._clip(r) for r in rows]

    def remove_clip(self, clip_id: int) -> None:
        self.db.execute("DELETE FROM clips WHERE id=?", (clip_id,))

    def has_clips(self, video_id: int) -> bool:
        """Whether the video has been sliced (a clip of it is recorded)."""
        row = self.db.execute("SELECT 1 FROM clips WHERE video_id=? LIMIT 1", (video_id,))
        return row.fetchone() is not None

    def clip_counts(self) -> tuple[int, int, int]:
        """(clips, verified, failed verification) of the whole project."""
        row = self.db.execute(
            "SELECT COUNT(*), SUM(verified=1), SUM(verified=0) FROM clips"
        ).fetchone()
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)

    def clip_recipe(self, path: Path) -> tuple[dict[str, Any], bool, int] | None:
        """(the settings it was made with, verified, frame count) of the clip at ``path``."""
        row = self.db.execute(
            "SELECT settings, verified, frame_count FROM clips WHERE path=?",
            (self._stored_path(path),),
        ).fetchone()
        if row is None:
            return None
        settings: dict[str, Any] = json.loads(row["settings"])
        return settings, bool(row["verified"]), int(row["frame_count"])

    def set_clip_motion(self, clip_id: int, motion: float) -> None:
        self.db.execute("UPDATE clips SET motion=? WHERE id=?", (float(motion), clip_id))

    def _clip(self, r: sqlite3.Row) -> Clip:
        return Clip(
            id=r["id"],
            path=self.clip_path(r["path"]),
            video_id=r["video_id"],
            start_frame=r["start_frame"],
            end_frame=r["end_frame"],
            fps=Fraction(r["fps_num"], r["fps_den"]),
            frame_count=r["frame_count"],
            width=r["width"],
            height=r["height"],
            duration=r["duration"],
            verified=None if r["verified"] is None else bool(r["verified"]),
            verify_error=r["verify_error"],
            reviewed=bool(r["reviewed"]),
            motion=r["motion"],
            rejected=bool(r["rejected"]),
        )
