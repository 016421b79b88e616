"""Project methods for the records of long stages: detection runs with their scores, and jobs.

Detection scores are saved in chunks so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import numpy as np

from workstation.core.store.database import ProjectDatabase, inserted_id


class RunTables(ProjectDatabase):
    """Detection runs, per-frame score curves and jobs (mixed into :class:`Project`)."""

    # -- detections and scores -------------------------------------------------------------
    def start_detection(
        self, video_id: int, detector: str, params: dict[str, Any], threshold: float | None
    ) -> int:
        cur = self.db.execute(
            "INSERT INTO detections(video_id, detector, params, threshold, started_at) VALUES (?,?,?,?,?)",
            (video_id, detector, json.dumps(params, sort_keys=True), threshold, time.time()),
        )
        return inserted_id(cur)

    def resumable_detection(
        self, video_id: int, detector: str, params: dict[str, Any]
    ) -> tuple[int, int] | None:
        """(detection id, frames done) of an unfinished run with the same settings, if any."""
        row = self.db.execute(
            "SELECT id, frames_done FROM detections WHERE video_id=? AND detector=? AND params=? "
            "AND state IN ('running', 'cancelled') ORDER BY id DESC LIMIT 1",
            (video_id, detector, json.dumps(params, sort_keys=True)),
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def save_score_chunk(
        self, detection_id: int, name: str, chunk: int, values: np.ndarray, frames_done: int
    ) -> None:
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
            "UPDATE detections SET state=?, finished_at=? WHERE id=?",
            (state, time.time(), detection_id),
        )

    def latest_detection(self, video_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM detections WHERE video_id=? AND state='done' ORDER BY id DESC LIMIT 1",
            (video_id,),
        ).fetchone()
        return row

    def scores(self, detection_id: int, name: str = "score") -> np.ndarray:
        rows = self.db.execute(
            "SELECT chunk, data FROM frame_scores WHERE detection_id=? AND name=? ORDER BY chunk",
            (detection_id, name),
        ).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.float32)
        parts = [np.frombuffer(r["data"], dtype=np.float32) for r in rows]
        return np.concatenate(parts)

    # -- jobs ------------------------------------------------------------------------------
    def start_job(self, stage: str, target: str = "", params: dict[str, Any] | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO jobs(stage, target, params, started_at) VALUES (?,?,?,?)",
            (stage, target, json.dumps(params or {}, sort_keys=True), time.time()),
        )
        return inserted_id(cur)

    def update_job(self, job_id: int, done: int, total: int | None) -> None:
        self.db.execute("UPDATE jobs SET done=?, total=? WHERE id=?", (done, total, job_id))

    def finish_job(self, job_id: int, state: str, error: str | None = None) -> None:
        self.db.execute(
            "UPDATE jobs SET state=?, error=?, finished_at=? WHERE id=?",
            (state, error, time.time(), job_id),
        )

    def jobs(self, limit: int = 50) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
