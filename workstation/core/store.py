"""The project store: one SQLite database per project folder, the single source of truth.

Layout of a project folder::

    project.wsdb      the database (WAL mode, foreign keys on)
    clips/            clips written by the slicer
    cache/            thumbnails, score arrays and other things that can be rebuilt

Each thread uses its own :class:`Project` (SQLite connections are not shared across threads);
WAL lets readers run while the single writer commits.  Every multi-row change happens inside
:meth:`Project.transaction`, so a crash never leaves half an edit.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from workstation.core.errors import ProjectError
from workstation.core.media import FrameIndex, VideoInfo

DB_NAME = "project.wsdb"

# Each entry migrates the schema from version i to i+1.  Never edit a shipped entry: append.
MIGRATIONS: list[str] = [
    # 0 -> 1: the initial schema, designed for the later stages (tags, captions, jobs) too.
    """
    CREATE TABLE videos (
        id            INTEGER PRIMARY KEY,
        path          TEXT NOT NULL UNIQUE,
        content_id    TEXT NOT NULL,
        size_bytes    INTEGER NOT NULL,
        fps_num       INTEGER NOT NULL,
        fps_den       INTEGER NOT NULL,
        frame_count   INTEGER NOT NULL,
        duration      REAL NOT NULL,
        width         INTEGER NOT NULL,
        height        INTEGER NOT NULL,
        rotation      INTEGER NOT NULL DEFAULT 0,
        vfr           INTEGER NOT NULL DEFAULT 0,
        codec         TEXT NOT NULL DEFAULT '',
        pix_fmt       TEXT NOT NULL DEFAULT '',
        tb_num        INTEGER NOT NULL DEFAULT 1,
        tb_den        INTEGER NOT NULL DEFAULT 1,
        has_audio     INTEGER NOT NULL DEFAULT 0,
        frame_pts     BLOB,            -- int64 presentation timestamps of every frame
        keyframes     BLOB,            -- int32 frame numbers of keyframes
        cuts_reviewed INTEGER NOT NULL DEFAULT 0,
        added_at      REAL NOT NULL
    );
    CREATE INDEX videos_content ON videos(content_id);

    -- One row per detection run; the latest finished one per video is current.
    CREATE TABLE detections (
        id            INTEGER PRIMARY KEY,
        video_id      INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        detector      TEXT NOT NULL,
        params        TEXT NOT NULL DEFAULT '{}',
        threshold     REAL,
        frames_done   INTEGER NOT NULL DEFAULT 0,
        state         TEXT NOT NULL DEFAULT 'running',   -- running|done|cancelled|failed
        started_at    REAL NOT NULL,
        finished_at   REAL
    );
    -- Per-frame scores of a detection run, kept in chunks so a run can resume.
    CREATE TABLE frame_scores (
        detection_id  INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
        name          TEXT NOT NULL,          -- which curve (e.g. 'score', 'luma')
        chunk         INTEGER NOT NULL,       -- first frame of the chunk
        data          BLOB NOT NULL,          -- float32 values
        PRIMARY KEY (detection_id, name, chunk)
    );

    -- A cut is the frame number of the first frame of a new shot.
    CREATE TABLE cuts (
        id            INTEGER PRIMARY KEY,
        video_id      INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        frame         INTEGER NOT NULL CHECK (frame > 0),
        source        TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
        detector      TEXT,
        params        TEXT NOT NULL DEFAULT '{}',
        score         REAL,
        kind          TEXT NOT NULL DEFAULT 'cut',   -- cut|fade|dissolve
        span_start    INTEGER,                       -- transition extent, if any
        span_end      INTEGER,
        uncertain     INTEGER NOT NULL DEFAULT 0,
        deleted       INTEGER NOT NULL DEFAULT 0,    -- a tombstone: the user removed an auto cut
        created_at    REAL NOT NULL,
        UNIQUE (video_id, frame)
    );

    -- Keep/reject flags of segments, keyed by the segment's first frame.
    CREATE TABLE segments (
        video_id      INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        start_frame   INTEGER NOT NULL,
        keep          INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (video_id, start_frame)
    );

    CREATE TABLE clips (
        id            INTEGER PRIMARY KEY,
        path          TEXT NOT NULL UNIQUE,   -- relative to the project folder when inside it
        video_id      INTEGER REFERENCES videos(id) ON DELETE SET NULL,
        start_frame   INTEGER,                -- source frame range [start, end)
        end_frame     INTEGER,
        fps_num       INTEGER NOT NULL,
        fps_den       INTEGER NOT NULL,
        frame_count   INTEGER NOT NULL,
        width         INTEGER NOT NULL,
        height        INTEGER NOT NULL,
        duration      REAL NOT NULL,
        settings      TEXT NOT NULL DEFAULT '{}',
        verified      INTEGER,                -- NULL = not checked, 1 = ok, 0 = failed
        verify_error  TEXT,
        reviewed      INTEGER NOT NULL DEFAULT 0,
        motion        REAL,
        created_at    REAL NOT NULL
    );
    CREATE INDEX clips_video ON clips(video_id, start_frame);

    CREATE TABLE tags (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        category      TEXT NOT NULL DEFAULT 'general'  -- rating|character|general|meta
    );
    CREATE TABLE clip_tags (
        clip_id       INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        tag_id        INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        source        TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
        confidence    REAL,
        model         TEXT,
        threshold     REAL,
        aggregation   TEXT,
        state         TEXT NOT NULL DEFAULT 'active',  -- active|accepted|rejected
        position      INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (clip_id, tag_id)
    );
    CREATE INDEX clip_tags_tag ON clip_tags(tag_id);

    CREATE TABLE captions (
        clip_id       INTEGER PRIMARY KEY REFERENCES clips(id) ON DELETE CASCADE,
        text          TEXT NOT NULL,
        source        TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
        model         TEXT,
        prompt        TEXT,
        updated_at    REAL NOT NULL
    );

    CREATE TABLE jobs (
        id            INTEGER PRIMARY KEY,
        stage         TEXT NOT NULL,
        target        TEXT NOT NULL DEFAULT '',
        params        TEXT NOT NULL DEFAULT '{}',
        state         TEXT NOT NULL DEFAULT 'running',   -- running|done|cancelled|failed
        done          INTEGER NOT NULL DEFAULT 0,
        total         INTEGER,
        error         TEXT,
        started_at    REAL NOT NULL,
        finished_at   REAL
    );

    CREATE TABLE settings (
        key           TEXT PRIMARY KEY,
        value         TEXT NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class Video:
    id: int
    path: Path
    content_id: str
    size_bytes: int
    fps: Fraction
    frame_count: int
    duration: float
    width: int
    height: int
    rotation: int
    vfr: bool
    codec: str
    cuts_reviewed: bool
    time_base: Fraction = Fraction(1, 1)

    @property
    def name(self) -> str:
        return self.path.name

    def time_of(self, frame: int) -> float:
        return float(frame / self.fps)


@dataclass(frozen=True)
class Cut:
    frame: int
    source: str = "manual"  # 'auto' | 'manual'
    detector: str | None = None
    score: float | None = None
    kind: str = "cut"
    span_start: int | None = None
    span_end: int | None = None
    uncertain: bool = False
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, end)`` of a video between two cuts."""

    video_id: int
    start: int
    end: int
    keep: bool = True

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Clip:
    id: int
    path: Path
    video_id: int | None
    start_frame: int | None
    end_frame: int | None
    fps: Fraction
    frame_count: int
    width: int
    height: int
    duration: float
    verified: bool | None
    verify_error: str | None
    reviewed: bool
    motion: float | None


class Project:
    """An open project folder.  Not thread-safe: open one per thread."""

    def __init__(self, root: str | Path, *, create: bool = False) -> None:
        self.root = Path(root).resolve()
        db_path = self.root / DB_NAME
        if not db_path.exists():
            if not create:
                raise ProjectError(f"{self.root}: not a workstation project (no {DB_NAME})")
            self.root.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(db_path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._depth = 0
        self._migrate()
        for sub in ("clips", "cache"):
            (self.root / sub).mkdir(exist_ok=True)

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path) -> Project:
        return cls(root, create=True)

    @classmethod
    def open(cls, root: str | Path) -> Project:
        return cls(root)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def clips_dir(self) -> Path:
        return self.root / "clips"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"{self.root}: project was written by a newer workstation "
                f"(schema {version}, this one knows {SCHEMA_VERSION})"
            )
        for target in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _split_sql(MIGRATIONS[target]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={target + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception; nests (outermost wins)."""
        if self._depth == 0:
            self.db.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield self.db
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self.db.execute("ROLLBACK")
            raise
        else:
            self._depth -= 1
            if self._depth == 0:
                self.db.execute("COMMIT")

    # -- settings --------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, json.dumps(value)),
        )

    # -- videos ----------------------------------------------------------------------------
    def add_video(self, info: VideoInfo) -> int:
        """Record a probed video; re-adding the same path refreshes its probe info."""
        pts = np.asarray(info.index.pts, dtype=np.int64).tobytes() if info.index else None
        keys = np.asarray(info.keyframes, dtype=np.int32).tobytes()
        with self.transaction():
            row = self.db.execute("SELECT id FROM videos WHERE path=?", (info.path,)).fetchone()
            values = (
                info.content_id, info.size_bytes, info.fps.numerator, info.fps.denominator,
                info.frame_count, info.duration, info.width, info.height, info.rotation,
                int(info.vfr), info.codec, info.pix_fmt, info.time_base.numerator,
                info.time_base.denominator, int(info.has_audio), pts, keys,
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
            return int(cur.lastrowid)

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
        rows = [r for r in self.db.execute("SELECT * FROM videos") if Path(r["path"]).name == p.name]
        if len(rows) == 1:
            return _video(rows[0])
        if len(rows) > 1:
            raise ProjectError(f"{text}: several videos in the project have this name; give the path")
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
        return [_video(r) for r in self.db.execute("SELECT * FROM videos WHERE content_id=?", (cid,))]

    def set_cuts_reviewed(self, video_id: int, reviewed: bool) -> None:
        self.db.execute("UPDATE videos SET cuts_reviewed=? WHERE id=?", (int(reviewed), video_id))

    # -- cuts ------------------------------------------------------------------------------
    def cuts(self, video_id: int, *, include_deleted: bool = False) -> list[Cut]:
        sql = "SELECT * FROM cuts WHERE video_id=?"
        if not include_deleted:
            sql += " AND deleted=0"
        return [_cut(r) for r in self.db.execute(sql + " ORDER BY frame", (video_id,))]

    def add_cut(self, video_id: int, cut: Cut) -> None:
        """Add (or revive) a cut; a manual cut replaces an auto one at the same frame."""
        frame_count = self.video(video_id).frame_count
        if not 0 < cut.frame < frame_count:
            raise ValueError(f"cut at frame {cut.frame} is outside 1..{frame_count - 1}")
        with self.transaction():
            self.db.execute(
                "INSERT INTO cuts(video_id, frame, source, detector, params, score, kind, "
                "span_start, span_end, uncertain, deleted, created_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,0,?) ON CONFLICT(video_id, frame) DO UPDATE SET "
                "source=excluded.source, detector=excluded.detector, params=excluded.params, "
                "score=excluded.score, kind=excluded.kind, span_start=excluded.span_start, "
                "span_end=excluded.span_end, uncertain=excluded.uncertain, deleted=0",
                _cut_row(video_id, cut),
            )

    def remove_cut(self, video_id: int, frame: int) -> None:
        """Remove a cut.  An auto cut leaves a tombstone so re-detection won't bring it back."""
        with self.transaction():
            row = self.db.execute(
                "SELECT source FROM cuts WHERE video_id=? AND frame=? AND deleted=0",
                (video_id, frame),
            ).fetchone()
            if row is None:
                raise ValueError(f"no cut at frame {frame}")
            if row["source"] == "auto":
                self.db.execute(
                    "UPDATE cuts SET deleted=1 WHERE video_id=? AND frame=?", (video_id, frame)
                )
            else:
                self.db.execute("DELETE FROM cuts WHERE video_id=? AND frame=?", (video_id, frame))
            # The merged segment takes the earlier segment's flag.
            self.db.execute(
                "DELETE FROM segments WHERE video_id=? AND start_frame=?", (video_id, frame)
            )

    def move_cut(self, video_id: int, old: int, new: int) -> None:
        """Move a cut to another frame; it becomes a manual cut (a person decided)."""
        if old == new:
            return
        with self.transaction():
            row = self.db.execute(
                "SELECT * FROM cuts WHERE video_id=? AND frame=? AND deleted=0", (video_id, old)
            ).fetchone()
            if row is None:
                raise ValueError(f"no cut at frame {old}")
            cut = _cut(row)
            clash = self.db.execute(
                "SELECT 1 FROM cuts WHERE video_id=? AND frame=? AND deleted=0", (video_id, new)
            ).fetchone()
            if clash:
                raise ValueError(f"there is already a cut at frame {new}")
            keep = self.segment_keep(video_id, old)
            self.remove_cut(video_id, old)
            params = dict(cut.params)
            if cut.source == "auto":
                params.setdefault("moved_from", old)
            self.add_cut(
                video_id,
                Cut(new, "manual", cut.detector, cut.score, cut.kind, None, None, False, params),
            )
            self.set_segment_keep(video_id, new, keep)

    def replace_auto_cuts(self, video_id: int, cuts: Iterable[Cut], *, guard: int = 2) -> int:
        """Store a detector's cuts, never touching what a person did.

        Auto cuts the person left alone are replaced; manual cuts and tombstones stay, and a new
        auto cut within ``guard`` frames of one of them is dropped.  Returns how many were added.
        """
        with self.transaction():
            self.db.execute("DELETE FROM cuts WHERE video_id=? AND source='auto' AND deleted=0", (video_id,))
            protected = [
                r[0]
                for r in self.db.execute(
                    "SELECT frame FROM cuts WHERE video_id=? AND (source='manual' OR deleted=1)",
                    (video_id,),
                )
            ]
            added = 0
            frame_count = self.video(video_id).frame_count
            for cut in cuts:
                if not 0 < cut.frame < frame_count:
                    continue
                if any(abs(cut.frame - p) <= guard for p in protected):
                    continue
                self.db.execute(
                    "INSERT INTO cuts(video_id, frame, source, detector, params, score, kind, "
                    "span_start, span_end, uncertain, deleted, created_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,0,?)",
                    _cut_row(video_id, Cut(**{**cut.__dict__, "source": "auto"})),
                )
                added += 1
            return added

    def replace_all_cuts(self, video_id: int, cuts: Iterable[Cut]) -> None:
        """Replace every cut of a video (importing a cut file the person chose)."""
        with self.transaction():
            self.db.execute("DELETE FROM cuts WHERE video_id=?", (video_id,))
            for cut in cuts:
                self.add_cut(video_id, cut)

    def cuts_at(self, video_id: int, frames: Iterable[int]) -> list[Cut]:
        """The live cuts at these frames (an editor refreshing a few rows, not thousands)."""
        fs = sorted({int(f) for f in frames})
        if not fs:
            return []
        marks = ",".join("?" * len(fs))
        rows = self.db.execute(
            f"SELECT * FROM cuts WHERE video_id=? AND deleted=0 AND frame IN ({marks}) "
            "ORDER BY frame",
            (video_id, *fs),
        )
        return [_cut(r) for r in rows]

    def segment_at(self, video_id: int, frame: int) -> Segment:
        """The segment holding ``frame``, found through the cut index (no full cut list)."""
        start = self.db.execute(
            "SELECT MAX(frame) FROM cuts WHERE video_id=? AND deleted=0 AND frame<=?",
            (video_id, frame),
        ).fetchone()[0]
        end = self.db.execute(
            "SELECT MIN(frame) FROM cuts WHERE video_id=? AND deleted=0 AND frame>?",
            (video_id, frame),
        ).fetchone()[0]
        start = 0 if start is None else int(start)
        end = self.video(video_id).frame_count if end is None else int(end)
        return Segment(video_id, start, end, self.segment_keep(video_id, start))

    def cut_rows(self, video_id: int, frames: Iterable[int]) -> dict[str, list[dict]]:
        """The raw cut and segment-flag rows at ``frames`` (tombstones included), for undo.

        Undo restores these rows verbatim with :meth:`restore_cut_rows`, so an undone edit
        leaves the store exactly as it was (ids, sources, scores, tombstones, flags).
        """
        fs = sorted({int(f) for f in frames})
        marks = ",".join("?" * len(fs))
        if not fs:
            return {"frames": [], "cuts": [], "segments": []}
        cuts = self.db.execute(
            f"SELECT * FROM cuts WHERE video_id=? AND frame IN ({marks})", (video_id, *fs)
        ).fetchall()
        segs = self.db.execute(
            f"SELECT * FROM segments WHERE video_id=? AND start_frame IN ({marks})",
            (video_id, *fs),
        ).fetchall()
        return {"frames": fs, "cuts": [dict(r) for r in cuts], "segments": [dict(r) for r in segs]}

    def restore_cut_rows(self, video_id: int, rows: dict[str, list[dict]]) -> None:
        """Put back rows saved by :meth:`cut_rows` (replacing whatever is at those frames)."""
        fs = rows["frames"]
        if not fs:
            return
        marks = ",".join("?" * len(fs))
        with self.transaction():
            self.db.execute(
                f"DELETE FROM cuts WHERE video_id=? AND frame IN ({marks})", (video_id, *fs)
            )
            self.db.execute(
                f"DELETE FROM segments WHERE video_id=? AND start_frame IN ({marks})",
                (video_id, *fs),
            )
            for table in ("cuts", "segments"):
                for r in rows[table]:
                    cols = ", ".join(r)
                    self.db.execute(
                        f"INSERT INTO {table}({cols}) VALUES ({','.join('?' * len(r))})",
                        tuple(r.values()),
                    )

    # -- segments --------------------------------------------------------------------------
    def segments(self, video_id: int) -> list[Segment]:
        video = self.video(video_id)
        flags = {
            r[0]: bool(r[1])
            for r in self.db.execute(
                "SELECT start_frame, keep FROM segments WHERE video_id=?", (video_id,)
            )
        }
        bounds = [0, *(c.frame for c in self.cuts(video_id)), video.frame_count]
        return [
            Segment(video_id, a, b, flags.get(a, True))
            for a, b in zip(bounds, bounds[1:], strict=False)
            if b > a
        ]

    def segment_keep(self, video_id: int, start_frame: int) -> bool:
        row = self.db.execute(
            "SELECT keep FROM segments WHERE video_id=? AND start_frame=?", (video_id, start_frame)
        ).fetchone()
        return True if row is None else bool(row[0])

    def set_segment_keep(self, video_id: int, start_frame: int, keep: bool) -> None:
        self.db.execute(
            "INSERT INTO segments(video_id, start_frame, keep) VALUES (?,?,?) "
            "ON CONFLICT(video_id, start_frame) DO UPDATE SET keep=excluded.keep",
            (video_id, start_frame, int(keep)),
        )

    # -- detections and scores -------------------------------------------------------------
    def start_detection(self, video_id: int, detector: str, params: dict, threshold: float | None) -> int:
        cur = self.db.execute(
            "INSERT INTO detections(video_id, detector, params, threshold, started_at) VALUES (?,?,?,?,?)",
            (video_id, detector, json.dumps(params, sort_keys=True), threshold, time.time()),
        )
        return int(cur.lastrowid)

    def resumable_detection(self, video_id: int, detector: str, params: dict) -> tuple[int, int] | None:
        """(detection id, frames done) of an unfinished run with the same settings, if any."""
        row = self.db.execute(
            "SELECT id, frames_done FROM detections WHERE video_id=? AND detector=? AND params=? "
            "AND state IN ('running', 'cancelled') ORDER BY id DESC LIMIT 1",
            (video_id, detector, json.dumps(params, sort_keys=True)),
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def save_score_chunk(self, detection_id: int, name: str, chunk: int, values: np.ndarray, frames_done: int) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO frame_scores(detection_id, name, chunk, data) VALUES (?,?,?,?)",
                (detection_id, name, chunk, np.asarray(values, dtype=np.float32).tobytes()),
            )
            self.db.execute(
                "UPDATE detections SET frames_done=MAX(frames_done, ?) WHERE id=?",
                (frames_done, detection_id),
            )

    def finish_detection(self, detection_id: int, state: str) -> None:
        self.db.execute(
            "UPDATE detections SET state=?, finished_at=? WHERE id=?", (state, time.time(), detection_id)
        )

    def latest_detection(self, video_id: int) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM detections WHERE video_id=? AND state='done' ORDER BY id DESC LIMIT 1",
            (video_id,),
        ).fetchone()

    def scores(self, detection_id: int, name: str = "score") -> np.ndarray:
        rows = self.db.execute(
            "SELECT chunk, data FROM frame_scores WHERE detection_id=? AND name=? ORDER BY chunk",
            (detection_id, name),
        ).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.float32)
        parts = [np.frombuffer(r["data"], dtype=np.float32) for r in rows]
        return np.concatenate(parts)

    # -- clips -----------------------------------------------------------------------------
    def clip_path(self, stored: str) -> Path:
        p = Path(stored)
        return p if p.is_absolute() else self.root / p

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
        settings: dict | None = None,
        verified: bool | None = None,
        verify_error: str | None = None,
    ) -> int:
        """Insert or refresh a clip row; tags, captions and review state survive a re-slice."""
        stored = self._stored_path(path)
        duration = float(frame_count / fps) if fps else 0.0
        values = (
            video_id, start_frame, end_frame, fps.numerator, fps.denominator, frame_count, width,
            height, duration, json.dumps(settings or {}, sort_keys=True),
            None if verified is None else int(verified), verify_error,
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
            return int(cur.lastrowid)

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

    def _clip(self, r: sqlite3.Row) -> Clip:
        return Clip(
            id=r["id"], path=self.clip_path(r["path"]), video_id=r["video_id"],
            start_frame=r["start_frame"], end_frame=r["end_frame"],
            fps=Fraction(r["fps_num"], r["fps_den"]), frame_count=r["frame_count"],
            width=r["width"], height=r["height"], duration=r["duration"],
            verified=None if r["verified"] is None else bool(r["verified"]),
            verify_error=r["verify_error"], reviewed=bool(r["reviewed"]), motion=r["motion"],
        )

    # -- jobs ------------------------------------------------------------------------------
    def start_job(self, stage: str, target: str = "", params: dict | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO jobs(stage, target, params, started_at) VALUES (?,?,?,?)",
            (stage, target, json.dumps(params or {}, sort_keys=True), time.time()),
        )
        return int(cur.lastrowid)

    def update_job(self, job_id: int, done: int, total: int | None) -> None:
        self.db.execute("UPDATE jobs SET done=?, total=? WHERE id=?", (done, total, job_id))

    def finish_job(self, job_id: int, state: str, error: str | None = None) -> None:
        self.db.execute(
            "UPDATE jobs SET state=?, error=?, finished_at=? WHERE id=?",
            (state, error, time.time(), job_id),
        )

    def jobs(self, limit: int = 50) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our literals)."""
    lines = [ln.split("--", 1)[0] for ln in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _video(r: sqlite3.Row) -> Video:
    return Video(
        id=r["id"], path=Path(r["path"]), content_id=r["content_id"], size_bytes=r["size_bytes"],
        fps=Fraction(r["fps_num"], r["fps_den"]), frame_count=r["frame_count"],
        duration=r["duration"], width=r["width"], height=r["height"], rotation=r["rotation"],
        vfr=bool(r["vfr"]), codec=r["codec"], cuts_reviewed=bool(r["cuts_reviewed"]),
        time_base=Fraction(r["tb_num"], r["tb_den"]),
    )


def _cut(r: sqlite3.Row) -> Cut:
    return Cut(
        frame=r["frame"], source=r["source"], detector=r["detector"], score=r["score"],
        kind=r["kind"], span_start=r["span_start"], span_end=r["span_end"],
        uncertain=bool(r["uncertain"]), params=json.loads(r["params"] or "{}"),
    )


def _cut_row(video_id: int, cut: Cut) -> tuple:
    return (
        video_id, cut.frame, cut.source, cut.detector, json.dumps(cut.params, sort_keys=True),
        cut.score, cut.kind, cut.span_start, cut.span_end, int(cut.uncertain), time.time(),
    )
