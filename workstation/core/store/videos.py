"""Project methods for the videos table: probed source videos, their frame index, keyframes."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
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


#: What a probe tells of a video file, in the order :func:`_probe_values` gives them.
_PROBE_COLUMNS = (
    "content_id, size_bytes, fps_num, fps_den, frame_count, duration, width, height, "
    "rotation, vfr, codec, pix_fmt, tb_num, tb_den, has_audio, frame_pts, keyframes"
)
_PROBE_SETS = ", ".join(f"{c.strip()}=?" for c in _PROBE_COLUMNS.split(","))


def _probe_values(info: VideoInfo) -> tuple[object, ...]:
    pts = np.asarray(info.index.pts, dtype=np.int64).tobytes() if info.index else None
    keys = np.asarray(info.keyframes, dtype=np.int32).tobytes()
    return (
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


class VideoTables(ProjectDatabase):
    """The videos of a project (mixed into :class:`Project`)."""

    # -- videos ----------------------------------------------------------------------------
    def add_video(self, info: VideoInfo) -> int:
        """Record a probed video; re-adding the same path refreshes its probe info."""
        values = _probe_values(info)
        with self.transaction():
            row = self.db.execute("SELECT id FROM videos WHERE path=?", (info.path,)).fetchone()
            if row:
                self.db.execute(f"UPDATE videos SET {_PROBE_SETS} WHERE id=?", (*values, row[0]))
                return int(row[0])
            cur = self.db.execute(
                f"INSERT INTO videos(path, {_PROBE_COLUMNS}, added_at) "
                f"VALUES (?{', ?' * len(values)}, ?)",
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

    def relink_video(self, video_id: int, info: VideoInfo) -> Video:
        """Point a video at another file holding the same frames (a moved or renamed copy).

        Only a file with the same frame count and frame rate is accepted, so the video's cuts,
        keep flags and clips still mean the same frames; its probe facts (path, size, content
        id, timestamps, keyframes) are taken from ``info``.  Raises :class:`ProjectError` naming
        the difference, or the other video of the project that already has that path.
        """
        video = self.video(video_id)
        new = Path(info.path)
        if (info.frame_count, info.fps) != (video.frame_count, video.fps):
            raise ProjectError(
                f"{new.name} has {info.frame_count} frames at {_rate(info.fps)} fps; "
                f"{video.name} has {video.frame_count} frames at {_rate(video.fps)} fps: "
                "choose a file with the same frame count and frame rate"
            )
        other = self.db.execute(
            "SELECT id FROM videos WHERE path=? AND id<>?", (info.path, video_id)
        ).fetchone()
        if other is not None:
            raise ProjectError(f"{new}: is already another video of this project")
        with self.transaction():
            self.db.execute(
                f"UPDATE videos SET path=?, {_PROBE_SETS} WHERE id=?",
                (info.path, *_probe_values(info), video_id),
            )
        return self.video(video_id)

    def removal_of(self, video_ids: list[int]) -> VideoRemoval:
        """What removing these videos would take away (for the question asked first)."""
        marks = ",".join("?" * len(video_ids))
        ids = tuple(video_ids)
        if not ids:
            return VideoRemoval([], 0, 0, 0, [])

        def count(sql: str) -> int:
            return int(self.db.execute(sql.format(marks=marks), ids).fetchone()[0] or 0)

        names = [
            Path(r[0]).name
            for r in self.db.execute(f"SELECT path FROM videos WHERE id IN ({marks})", ids)
        ]
        clip_paths = [
            r[0]
            for r in self.db.execute(f"SELECT path FROM clips WHERE video_id IN ({marks})", ids)
        ]
        return VideoRemoval(
            names=names,
            cuts=count("SELECT COUNT(*) FROM cuts WHERE deleted=0 AND video_id IN ({marks})"),
            clips=len(clip_paths),
            edited_clips=count(
                "SELECT COUNT(DISTINCT k.id) FROM clips k WHERE k.video_id IN ({marks}) AND "
                "(k.reviewed=1 OR EXISTS (SELECT 1 FROM clip_tags t WHERE t.clip_id=k.id) "
                "OR EXISTS (SELECT 1 FROM captions c WHERE c.clip_id=k.id))"
            ),
            clip_paths=[
                p if p.is_absolute() else self.root / p for p in (Path(x) for x in clip_paths)
            ],
        )

    def remove_videos(self, video_ids: list[int]) -> VideoRemoval:
        """Forget videos: their detections, scores, cuts, keep flags and clip rows (with the
        clips' tags and captions) go in one transaction.  No file is touched: the returned
        :class:`VideoRemoval` names the clip files, for a caller asked to delete them too.

        The clips' rows go explicitly: their ``video_id`` is ``ON DELETE SET NULL`` (imported
        clips outlive a video), which would leave rows of clips nobody can re-slice."""
        removal = self.removal_of(video_ids)
        marks = ",".join("?" * len(video_ids))
        with self.transaction():
            self.db.execute(f"DELETE FROM clips WHERE video_id IN ({marks})", tuple(video_ids))
            self.db.execute(f"DELETE FROM videos WHERE id IN ({marks})", tuple(video_ids))
        return removal

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


@dataclass(frozen=True)
class VideoRemoval:
    """What removing videos takes away: their names, live cuts, clip rows (how many of them a
    person reviewed, tagged or captioned) and the clip files (which stay unless asked)."""

    names: list[str]
    cuts: int
    clips: int
    edited_clips: int
    clip_paths: list[Path]


def _rate(fps: Fraction) -> str:
    return f"{float(fps):.3f}".rstrip("0").rstrip(".")


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
