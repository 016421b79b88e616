"""Running core stages off the GUI thread.

A job runs one stage generator in its own ``QThread``.  The stage factory is called *in that
thread* so it can open its own :class:`Project` (SQLite connections belong to one thread).
Progress reaches the main thread through queued signals, throttled to ~20 per second so a stage
that yields per frame never floods the event loop.  Cancel sets a :class:`CancelToken`; the
worker stops iterating and closes the generator, so the stage's ``finally`` blocks clean up.
Each job records itself in the project's ``jobs`` table from the worker thread, so the main
thread never waits on a database lock held by a worker.  The panel that shows the jobs is in
:mod:`workstation.ui.common.jobs_panel`.

:class:`LatestRead` is the quiet kind: a function on the worker's own connection that no
person started and that is not listed as a job (the Slice dialog's preview as you type, the
first sidecar check when the Clips view opens); only the newest request's answer is delivered.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal

from workstation.core.errors import WorkstationError
from workstation.core.progress import CancelToken, Progress, Stage

if TYPE_CHECKING:  # the store pulls in numpy and PyAV: not needed to show the window
    from workstation.core.store import Project

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.05  # seconds between progress signals (~20/s)
RECORD_INTERVAL = 1.0  # seconds between updates of the jobs table row

StageFactory = Callable[[], Stage]


class JobState:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    FINAL = frozenset({DONE, FAILED, CANCELLED})


class _JobThread(QThread):
    """Drives the stage; talks to the main thread only through its (queued) signals."""

    progressed = Signal(object)
    succeeded = Signal(object)
    errored = Signal(str, str)  # message, details (traceback)
    stopped = Signal()

    def __init__(
        self,
        factory: Callable[[Project | None], Stage],
        cancel: CancelToken,
        root: Path | None,
        stage_name: str,
        target: str,
    ) -> None:
        super().__init__()
        self._factory = factory
        self._cancel = cancel
        self._root = root
        self._stage_name = stage_name
        self._target = target

    def run(self) -> None:
        project: Project | None = None
        job_id: int | None = None
        state, error, details, result = JobState.FAILED, None, "", None
        try:
            if self._root is not None:
                from workstation.core.store import Project

                project = Project(self._root)
                job_id = self._record(
                    lambda p: p.start_job(self._stage_name, self._target), project
                )
            state, result = self._drive(self._factory(project), project, job_id)
        except WorkstationError as exc:  # a problem with the input: the message says it all
            error = str(exc)
            log.debug("job %s stopped: %s", self._stage_name, error, exc_info=True)
        except Exception as exc:  # a bug or an unexpected library error: show it, keep the app
            error, details = f"{type(exc).__name__}: {exc}", traceback.format_exc()
            log.exception("job %s failed", self._stage_name)
        finally:
            # Record first, then tell the GUI: whoever reacts to the signal sees the final row.
            if job_id is not None:
                self._record(lambda p: p.finish_job(job_id, state, error), project)
            if project is not None:
                project.close()
        if state == JobState.DONE:
            self.succeeded.emit(result)
        elif state == JobState.CANCELLED:
            self.stopped.emit()
        else:
            self.errored.emit(error or "failed", details)

    def _drive(self, stage: Stage, project: Project | None, job_id: int | None):
        sent = recorded = 0.0
        pending: Progress | None = None
        while True:
            if self._cancel.cancelled:
                stage.close()
                return JobState.CANCELLED, None
            try:
                record = next(stage)
            except StopIteration as stop:
                if pending is not None:
                    self.progressed.emit(pending)
                return JobState.DONE, stop.value
            now = time.monotonic()
            if now - sent >= PROGRESS_INTERVAL:
                sent = now
                self.progressed.emit(record)
                pending = None
            else:
                pending = record
            if job_id is not None and now - recorded >= RECORD_INTERVAL:
                recorded = now
                # _record calls the action at once, so the loop's current record is the one.
                self._record(
                    lambda p: p.update_job(job_id, record.done, record.total),  # noqa: B023
                    project,
                )

    @staticmethod
    def _record(action: Callable[[Project], object], project: Project | None):
        """Book-keeping must never break the job itself."""
        if project is None:
            return None
        try:
            return action(project)
        except Exception:
            log.warning("could not record the job in the project", exc_info=True)
            return None


class Job(QObject):
    """One running (or finished) stage.  Signals arrive on the main thread."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # the stage's result
    failed = Signal(str)  # a message a person can act on
    cancelled = Signal()
    stateChanged = Signal(str)

    def __init__(self, title: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.state = JobState.QUEUED
        self.result: object = None
        self.error: str | None = None
        self.error_details: str = ""
        self.last_progress: Progress | None = None
        self.started_at = time.monotonic()
        self.finished_at: float | None = None
        self._cancel = CancelToken()
        self._thread: _JobThread | None = None

    # -- public --------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the worker to stop at the stage's next yield (cleanup runs in the stage)."""
        if self.state not in JobState.FINAL:
            self._cancel.cancel()

    @property
    def is_running(self) -> bool:
        return self.state not in JobState.FINAL

    @property
    def fraction(self) -> float | None:
        if self.state == JobState.DONE:
            return 1.0
        return self.last_progress.fraction if self.last_progress else None

    def eta_seconds(self) -> float | None:
        """Remaining time from the average speed so far; None until it can be estimated."""
        frac = self.fraction
        if self.state != JobState.RUNNING or not frac or frac <= 0.01:
            return None
        elapsed = time.monotonic() - self.started_at
        return max(0.0, elapsed * (1 - frac) / frac)

    def wait(self, msecs: int = -1) -> bool:
        """Block until the worker thread ended (for shutdown and tests)."""
        if self._thread is None:
            return True
        return self._thread.wait() if msecs < 0 else self._thread.wait(msecs)

    # -- driven by the controller --------------------------------------------------------
    def _start(self, thread: _JobThread) -> None:
        self._thread = thread
        thread.progressed.connect(self._on_progress)
        thread.succeeded.connect(self._on_done)
        thread.errored.connect(self._on_error)
        thread.stopped.connect(self._on_cancelled)
        self.started_at = time.monotonic()
        self._set_state(JobState.RUNNING)
        thread.start()

    def _set_state(self, state: str) -> None:
        self.state = state
        if state in JobState.FINAL:
            self.finished_at = time.monotonic()
        self.stateChanged.emit(state)

    def _on_progress(self, record: Progress) -> None:
        if self.state != JobState.RUNNING:
            return
        self.last_progress = record
        self.progress.emit(record)

    def _on_done(self, result: object) -> None:
        self.result = result
        self._set_state(JobState.DONE)
        self.finished.emit(result)

    def _on_error(self, message: str, details: str) -> None:
        self.error = message
        self.error_details = details
        self._set_state(JobState.FAILED)
        log.error("%s failed: %s", self.title, message)
        self.failed.emit(message)

    def _on_cancelled(self) -> None:
        self._set_state(JobState.CANCELLED)
        log.info("%s cancelled", self.title)
        self.cancelled.emit()


# Reads still running after their LatestRead went (a dialog closed): kept until they end, as a
# QThread must not be destroyed while it runs.
_LIVE_READS: set[_ReadThread] = set()


class _ReadThread(QThread):
    answered = Signal(int, object, str)  # request number, result, error ("" when none)

    def __init__(self, root: Path, fn: Callable[[Project], object], number: int) -> None:
        super().__init__()
        self._root, self._fn, self._number = root, fn, number

    def run(self) -> None:
        from workstation.core.store import Project

        result: object = None
        error = ""
        try:
            project = Project(self._root)
            try:
                result = self._fn(project)
            finally:
                project.close()
        except Exception as exc:  # a help the dialog shows, never a crash
            log.warning("background read failed", exc_info=True)
            error = str(exc) or type(exc).__name__
        self.answered.emit(self._number, result, error)


class LatestRead(QObject):
    """Runs ``fn(project)`` on a worker thread's own connection to the project at ``root``,
    one at a time; a request made while one runs replaces any waiting one, and only the
    newest request's answer is emitted (``ready(result)`` or ``failed(message)``)."""

    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, root: str | Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root)
        self._number = 0
        self._thread: _ReadThread | None = None
        self._waiting: Callable[[Project], object] | None = None

    def request(self, fn: Callable[[Project], object]) -> None:
        self._number += 1
        if self._thread is not None:
            self._waiting = fn  # runs when the current one ends
            return
        self._start(fn)

    def busy(self) -> bool:
        return self._thread is not None

    def wait(self, msecs: int = 10000) -> bool:
        """Wait for the running read (closing a dialog, tests)."""
        thread = self._thread
        return thread is None or thread.wait(msecs)

    def _start(self, fn: Callable[[Project], object]) -> None:
        thread = self._thread = _ReadThread(self.root, fn, self._number)
        thread.answered.connect(self._answered)
        _LIVE_READS.add(thread)
        thread.finished.connect(lambda: _LIVE_READS.discard(thread))
        thread.start()

    def _answered(self, number: int, result: object, error: str) -> None:
        self._thread = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self._start(waiting)
            return  # a newer request is on its way: this answer is out of date
        if number != self._number:
            return
        if error:
            self.failed.emit(error)
        else:
            self.ready.emit(result)


class JobsController(QObject):
    """Starts jobs, keeps them (for the panel) and stops them all on shutdown."""

    jobAdded = Signal(object)  # Job
    jobFinished = Signal(object)  # Job (done, failed or cancelled)

    def __init__(self, session=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session  # a ProjectSession or None; its root is where jobs are recorded
        self.jobs: list[Job] = []

    @property
    def root(self) -> Path | None:
        s = self.session
        if s is None or getattr(s, "is_closed", False):
            return None
        return Path(s.root)

    def run(
        self,
        title: str,
        stage_factory: StageFactory,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        on_done: Callable[[object], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        stage_name: str = "",
        target: str = "",
    ) -> Job:
        """Run ``stage_factory()`` (called in the worker thread) as a job.

        Callbacks run on the main thread.  ``stage_name``/``target`` label the jobs-table row.
        """
        return self._start(
            title,
            lambda _project: stage_factory(),
            on_progress,
            on_done,
            on_error,
            stage_name or title,
            target,
        )

    def run_on_project(
        self,
        title: str,
        stage_fn: Callable[[Project], Stage],
        *,
        on_progress: Callable[[Progress], None] | None = None,
        on_done: Callable[[object], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        stage_name: str = "",
        target: str = "",
    ) -> Job:
        """Like :meth:`run`, but the worker opens ``Project(session.root)`` and passes it in.

        The connection is opened and closed in the worker thread, so callers need not.
        """
        if self.root is None:
            raise RuntimeError("no project is open")
        return self._start(
            title, stage_fn, on_progress, on_done, on_error, stage_name or title, target
        )

    def _start(self, title, factory, on_progress, on_done, on_error, stage_name, target) -> Job:
        job = Job(title, self)
        if on_progress is not None:
            job.progress.connect(on_progress)
        if on_done is not None:
            job.finished.connect(on_done)
        if on_error is not None:
            job.failed.connect(on_error)
        job.stateChanged.connect(lambda state, j=job: self._on_state(j, state))
        self.jobs.append(job)
        self.jobAdded.emit(job)
        thread = _JobThread(factory, job._cancel, self.root, stage_name, target)
        thread.setObjectName(f"job:{title}")
        log.info("started: %s", title)
        job._start(thread)
        return job

    def _on_state(self, job: Job, state: str) -> None:
        if state in JobState.FINAL:
            if state == JobState.DONE:
                log.info("finished: %s", job.title)
            self.jobFinished.emit(job)

    def running(self) -> list[Job]:
        return [j for j in self.jobs if j.is_running]

    def cancel_all(self) -> None:
        for job in self.running():
            job.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel every job and wait for the workers (call before the project closes)."""
        self.cancel_all()
        ok = True
        for job in self.jobs:
            ok = job.wait(timeout_ms) and ok
        return ok

    def clear_finished(self) -> None:
        for job in self.jobs:
            if not job.is_running:
                job.wait()  # the thread object must outlive its (ending) thread
        self.jobs = [j for j in self.jobs if j.is_running]
