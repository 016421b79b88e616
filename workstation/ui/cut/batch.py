"""Jobs over several videos, one video at a time: detect or slice the selected (or all) videos.

Each video is its own job in the jobs panel, titled with its place in the batch ("Slice 2 of 5:
name.mp4"), so the panel shows each video's progress and which failed.  The :class:`VideoLane`
runs one video's job at a time, whatever the kind: a detection child process and a slicing
encoder each use every core, and "Detect all" then "Slice all" must slice the new cuts, so the
slices queue behind the detections.  A video already waiting for the same kind of job is not
queued twice.  Cancelling one video's job stops the rest of its batch; a failed video does not
(the next one starts, and the batch's summary names the failure).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from workstation.ui.common.jobs import Job, JobState

# Starts one video's job (the lane connects to it); None when it could not start.
JobStarter = Callable[[str], Job | None]


@dataclass
class _Task:
    kind: str  # "detect" or "slice"
    video_id: int
    name: str
    start: JobStarter  # called with the job's title
    batch: Batch


class Batch(QObject):
    """One request ("Slice 3 videos"): its videos' jobs as they start, and how each ended."""

    jobStarted = Signal(object)  # Job
    finished = Signal(object)  # this Batch, once every video ended or the batch was stopped

    def __init__(self, kind: str, video_ids: list[int], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.video_ids = list(video_ids)
        self.jobs: dict[int, Job] = {}
        self.done: list[int] = []
        self.failed: dict[int, str] = {}  # video id → message
        self.results: dict[int, object] = {}  # video id → the stage's result
        self.not_started: list[int] = []  # left out when the batch was cancelled
        self.cancelled = False
        self.is_finished = False

    @property
    def first_job(self) -> Job | None:
        return next(iter(self.jobs.values()), None)


@dataclass
class VideoLane:
    """The queue: one job at a time, started when the one before it ended."""

    tasks: list[_Task] = field(default_factory=list)
    running: _Task | None = None

    def queued(self, kind: str) -> set[int]:
        """Videos waiting for or running a job of ``kind``."""
        out = {t.video_id for t in self.tasks if t.kind == kind}
        if self.running is not None and self.running.kind == kind:
            out.add(self.running.video_id)
        return out

    def busy(self) -> set[int]:
        """Videos with a job waiting or running (of any kind)."""
        return self.queued("detect") | self.queued("slice")

    def add(
        self,
        batch: Batch,
        items: list[tuple[int, str, JobStarter]],
        verb: str,
    ) -> None:
        """Queue one task per (video id, name, starter) of ``batch``; starts the first."""
        waiting = self.queued(batch.kind)
        fresh = [(vid, name, start) for vid, name, start in items if vid not in waiting]
        batch.video_ids = [vid for vid, _name, _start in fresh]
        n = len(fresh)
        for i, (vid, name, start) in enumerate(fresh, 1):
            place = f" {i} of {n}" if n > 1 else ""
            self.tasks.append(
                _Task(batch.kind, vid, name, _titled(start, f"{verb}{place}: {name}"), batch)
            )
        if not fresh:
            self._end(batch)
        self._next()

    def _next(self) -> None:
        while self.running is None and self.tasks:
            task = self.tasks.pop(0)
            job = task.start("")
            if job is None:  # could not start (a message was shown): go on with the next
                task.batch.failed.setdefault(task.video_id, "not started")
                self._maybe_end(task.batch)
                continue
            self.running = task
            task.batch.jobs[task.video_id] = job
            task.batch.jobStarted.emit(job)
            # The job's own callbacks (connected when it started) run first, then these.
            job.finished.connect(lambda _r, t=task, j=job: self._on_state(t, j, j.state))
            job.failed.connect(lambda _m, t=task, j=job: self._on_state(t, j, j.state))
            job.cancelled.connect(lambda t=task, j=job: self._on_state(t, j, j.state))
            if job.state in JobState.FINAL:  # ended before we listened
                self._on_state(task, job, job.state)

    def _on_state(self, task: _Task, job: Job, state: str) -> None:
        if state not in JobState.FINAL or self.running is not task:
            return
        self.running = None
        batch = task.batch
        if state == JobState.DONE:
            batch.done.append(task.video_id)
            batch.results[task.video_id] = job.result
        elif state == JobState.FAILED:
            batch.failed[task.video_id] = job.error or "failed"
        else:
            batch.cancelled = True
            batch.not_started = [t.video_id for t in self.tasks if t.batch is batch]
            self.tasks = [t for t in self.tasks if t.batch is not batch]
        self._maybe_end(batch)
        self._next()

    def _maybe_end(self, batch: Batch) -> None:
        pending = any(t.batch is batch for t in self.tasks)
        if not pending and not (self.running is not None and self.running.batch is batch):
            self._end(batch)

    @staticmethod
    def _end(batch: Batch) -> None:
        if not batch.is_finished:
            batch.is_finished = True
            batch.finished.emit(batch)

    def stop(self) -> None:
        """Forget the waiting tasks (the project closes; running jobs are cancelled there)."""
        self.tasks.clear()
        self.running = None


def _titled(start: JobStarter, title: str) -> JobStarter:
    return lambda _title: start(title)
