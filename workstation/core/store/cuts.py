"""Project methods for cuts and segment flags: the edits a person must never lose.

Auto cuts are replaced by re-detection only where the person left them alone; removing an
auto cut leaves a tombstone; every multi-row change is one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from typing import Any, TypedDict

from workstation.core.store.records import Cut, Segment
from workstation.core.store.videos import VideoTables


class CutRows(TypedDict):
    """The raw rows at some frames of one video, as :meth:`CutTables.cut_rows` saves them."""

    frames: list[int]
    cuts: list[dict[str, Any]]
    segments: list[dict[str, Any]]


class CutTables(VideoTables):
    """Cuts and segment keep/reject flags of a video (mixed into :class:`Project`)."""

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
            self.db.execute(
                "DELETE FROM cuts WHERE video_id=? AND source='auto' AND deleted=0", (video_id,)
            )
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

    def cut_rows(self, video_id: int, frames: Iterable[int]) -> CutRows:
        """The raw cut and segment-flag rows at ``frames`` (tombstones included), for undo.

        Undo restores these rows verbatim with :meth:`restore_cut_rows`, so an undone edit
        leaves the store exactly as it was (ids, sources, scores, tombstones, flags).
        """
        fs = sorted({int(f) for f in frames})
        marks = ",".join("?" * len(fs))
        if not fs:
            return CutRows(frames=[], cuts=[], segments=[])
        cuts = self.db.execute(
            f"SELECT * FROM cuts WHERE video_id=? AND frame IN ({marks})", (video_id, *fs)
        ).fetchall()
        segs = self.db.execute(
            f"SELECT * FROM segments WHERE video_id=? AND start_frame IN ({marks})",
            (video_id, *fs),
        ).fetchall()
        return CutRows(frames=fs, cuts=[dict(r) for r in cuts], segments=[dict(r) for r in segs])

    def cut_frames_by_id(self, ids: Iterable[int]) -> dict[int, tuple[int, int]]:
        """``{id: (video id, frame)}`` of the cut rows (tombstones too) with these ids: an undo
        history checks that the ids its saved rows would put back are not taken."""
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self.db.execute(
            f"SELECT id, video_id, frame FROM cuts WHERE id IN ({marks})", wanted
        ).fetchall()
        return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}

    def restore_cut_rows(self, video_id: int, rows: CutRows) -> None:
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
            for table, saved in (("cuts", rows["cuts"]), ("segments", rows["segments"])):
                for r in saved:
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

    def clear_segment_flags(self, video_id: int) -> None:
        """Forget every keep/reject flag of the video (every segment is kept again)."""
        self.db.execute("DELETE FROM segments WHERE video_id=?", (video_id,))

    def set_segment_keep(self, video_id: int, start_frame: int, keep: bool) -> None:
        self.db.execute(
            "INSERT INTO segments(video_id, start_frame, keep) VALUES (?,?,?) "
            "ON CONFLICT(video_id, start_frame) DO UPDATE SET keep=excluded.keep",
            (video_id, start_frame, int(keep)),
        )


def _cut(r: sqlite3.Row) -> Cut:
    return Cut(
        frame=r["frame"],
        source=r["source"],
        detector=r["detector"],
        score=r["score"],
        kind=r["kind"],
        span_start=r["span_start"],
        span_end=r["span_end"],
        uncertain=bool(r["uncertain"]),
        params=json.loads(r["params"] or "{}"),
    )


def _cut_row(video_id: int, cut: Cut) -> tuple[Any, ...]:
    return (
        video_id,
        cut.frame,
        cut.source,
        cut.detector,
        json.dumps(cut.params, sort_keys=True),
        cut.score,
        cut.kind,
        cut.span_start,
        cut.span_end,
        int(cut.uncertain),
        time.time(),
    )
