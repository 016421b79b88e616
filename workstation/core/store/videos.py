"""Project methods for the videos table: probed source videos, their frame index, keyframes."""

from __future__ import annotations

import sqlite3
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from workstation.core.errors import ProjectError
from workstation.core.media import FrameIndex, VideoInfo
from workstation.core.store.database import ProjectDatabase, inserted_id
from workstation.core.store.records import Video

_OVERVIEW_SQL = """
SELECT v.id, v.path, v.frame_count, v.fps_num, v.fps_den, v.width, v.height, v.duration,
       v.vfr, v.cuts_reviewed,
       (SELECT COUNT(*) FROM cuts c WHERE c.video_id = v.id AND c.deleted = 0) AS cuts,
       EXISTS (SELECT 1 FROM detections d WHERE d.video_id = v.id AND d.state = 'done')
           AS detected,
       (SELECT COUNT(*) FROM clips k WHERE k.video_id = v.id) AS clips
FROM videos v
"""


class VideoTables(ProjectDatabase):
    """The videos of a project (mixed into :class:`Project`)."""

    # -- videos ----------------------------------------------------------------------------
    def add_video(self, info: VideoInfo) -> int:
        """Record a probed video; re-adding the same path refreshes its probe info."""
        pts = np.asarray(info.index.pts, dtype=np.int64).tobytes() if info.index else None
        keys = np.asarray(info.keyframes, dtype=np.int32).tobytes()
        with self.transaction():
            row = self.db.execute("SELECT id FROM videos WHERE path=?", (info.path,)).fetchone()
            values = (
                info.content_id,
                info.size_bytes,
                info.fps.numerator,
                info.fps.denominator,
                info.frame_count,
                info.duration,
                info.width,
                info.height,
                info.rotation,
                int(info.vfr),
                info.codec,
                info.pix_fmt,
                info.time_base.numerator,
                info.time_base.denominator,
                int(info.has_audio),
                pts,
                keys,
            )
            cols = (
                "content_id, size_bytes, fps_num, fps_den, frame_count, duration, width, height, "
                "rotation, vfr, codec, pix_fmt, tb_num, tb_den, has_audio, frame_pts, keyframes"
            )
            if row:
                sets = ", ".join(f"{c.strip()}=?" for c in cols.split(","))
                self.db.execute(f"UPDATE videos SET {sets} WHERE id=?", (*values, row[0]))
                return int(row[0])
            cur = self.db.execute(
                f"INSERT INTO videos(path, {cols}, added_at) VALUES (?{', ?' * len(values)}, ?)",
                (info.path, *values, time.time()),
            )
            return inserted_id(cur)

    def videos(self) -> list[Video]:
        return [_video(r) for r in self.db.execute("SELECT * FROM videos ORDER BY path")]

    def video(self, video_id: int) -> Video:
        row = self.db.execute("SELECT * FROM videos WHERE id=?", (video_id,)).fetchone()
        if row is None:
            raise ProjectError(f"no video with id {video_id} in {self.root}")
        return _video(row)

    def find_video(self, ref: str | Path) -> Video:
        """A video by id, path, or unique file name (what a person types on the CLI)."""
        text = str(ref)
        if text.isdigit():
            row = self.db.execute("SELECT * FROM videos WHERE id=?", (int(text),)).fetchone()
            if row:
                return _video(row)
        p = Path(text)
        row = self.db.execute(
            "SELECT * FROM videos WHERE path=?", (str(p.resolve()) if p.exists() else text,)
        ).fetchone()
        if row:
            return _video(row)
        rows = [
            r for r in self.db.execute("SELECT * FROM videos") if Path(r["path"]).name == p.name
        ]
        if len(rows) == 1:
            return _video(rows[0])
        if len(rows) > 1:
            raise ProjectError(
                f"{text}: several videos in the project have this name; give the path"
            )
        raise ProjectError(f"{text}: no such video in the project {self.root}")

    def frame_index(self, video_id: int) -> FrameIndex | None:
        row = self.db.execute(
            "SELECT frame_pts, tb_num, tb_den FROM videos WHERE id=?", (video_id,)
        ).fetchone()
        if row is None or row["frame_pts"] is None:
            return None
        pts = tuple(int(x) for x in np.frombuffer(row["frame_pts"], dtype=np.int64))
        return FrameIndex(pts, Fraction(row["tb_num"], row["tb_den"]))

    def keyframes(self, video_id: int) -> list[int]:
        row = self.db.execute("SELECT keyframes FROM videos WHERE id=?", (video_id,)).fetchone()
        if row is None or row[0] is None:
            return []
        return [int(x) for x in np.frombuffer(row[0], dtype=np.int32)]

    def relink(self, video_id: int, new_path: str | Path) -> None:
        self.db.execute(
            "UPDATE videos SET path=? WHERE id=?", (str(Path(new_path).resolve()), video_id)
        )

    def videos_by_content(self, cid: str) -> list[Video]:
        return [
            _video(r) for r in self.db.execute("SELECT * FROM videos WHERE content_id=?", (cid,))
        ]

    def set_cuts_reviewed(self, video_id: int, reviewed: bool) -> None:
        self.db.execute("UPDATE videos SET cuts_reviewed=? WHERE id=?", (int(reviewed), video_id))

    def video_overview(self, video_id: int | None = None) -> list[sqlite3.Row]:
        """The videos' rows (all by path, or the one) with how far each got: ``cuts`` (not
        deleted), ``detected`` (a finished detection) and ``clips`` counted in one query."""
        where = " WHERE v.id = ?" if video_id is not None else " ORDER BY v.path"
        args = (video_id,) if video_id is not None else ()
        return self.db.execute(_OVERVIEW_SQL + where, args).fetchall()


def _video(r: sqlite3.Row) -> Video:
    return Video(
        id=r["id"],
        path=Path(r["path"]),
        content_id=r["content_id"],
        size_bytes=r["size_bytes"],
        fps=Fraction(r["fps_num"], r["fps_den"]),
        frame_count=r["frame_count"],
        duration=r["duration"],
        width=r["width"],
        height=r["height"],
        rotation=r["rotation"],
        vfr=bool(r["vfr"]),
        codec=r["codec"],
        cuts_reviewed=bool(r["cuts_reviewed"]),
        time_base=Fraction(r["tb_num"], r["tb_den"]),
    )
