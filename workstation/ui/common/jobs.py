"""Running core stages off the GUI thread, and the panel that shows them.

A job runs one stage generator in its own ``QThread``.  The stage factory is called *in that
thread* so it can open its own :class:`Project` (SQLite connections belong to one thread).
Progress reaches the main thread through queued signals, throttled to ~20 per second so a stage
that yields per frame never floods the event loop.  Cancel sets a :class:`CancelToken`; the
worker stops iterating and closes the generator, so the stage's ``finally`` blocks clean up.
Each job records itself in the project's ``jobs`` table from the worker thread, so the main
thread never waits on a database lock held by a worker.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSize, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStyle,
    QStyleOptionProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.errors import WorkstationError
from workstation.core.progress import CancelToken, Progress, Stage

if TYPE_CHECKING:  # the store pulls in numpy and PyAV: not needed to show the window
    from workstation.core.store import Project

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.05  # seconds between progress signals (~20/s)
PANEL_REFRESH_MS = 200  # the panel repaints a job's row at most this often
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


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s left"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s left"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min left"


class ProgressLine(QWidget):
    """A progress bar drawn by the style, repainted through ``update()`` only.

    ``QProgressBar.setValue`` repaints synchronously, and its busy mode animates forever; next
    to a QOpenGLWidget each repaint recomposes the whole window (tens of ms with software GL).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._min, self._max, self._value, self._format = 0, 0, 0, ""

    def setRange(self, minimum: int, maximum: int) -> None:
        self._min, self._max = minimum, maximum
        self.update()

    def setValue(self, value: int) -> None:
        if value != self._value:
            self._value = value
            self.update()

    def setFormat(self, text: str) -> None:
        if text != self._format:
            self._format = text
            self.update()

    def value(self) -> int:
        return self._value

    def maximum(self) -> int:
        return self._max

    def minimum(self) -> int:
        return self._min

    def text(self) -> str:
        return self._format

    def sizeHint(self) -> QSize:
        return QSize(160, self.fontMetrics().height() + 8)

    def paintEvent(self, _event) -> None:
        opt = QStyleOptionProgressBar()
        opt.initFrom(self)
        opt.minimum, opt.maximum = self._min, self._max
        opt.progress = self._value if self._max else 0
        opt.text = self._format or ("working…" if not self._max else "")
        opt.textVisible = True
        opt.textAlignment = Qt.AlignmentFlag.AlignCenter
        opt.state |= QStyle.StateFlag.State_Horizontal
        painter = QPainter(self)
        self.style().drawControl(QStyle.ControlElement.CE_ProgressBar, opt, painter, self)
        painter.end()


class JobRow(QFrame):
    """Title, progress bar, ETA, cancel button; expandable error details when it failed."""

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(job.title)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = ProgressLine()
        self.bar.setRange(0, 0)  # "working…" until the first progress record with a total
        self._pending: Progress | None = None
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(PANEL_REFRESH_MS)
        self._refresh.timeout.connect(self._show_pending)
        self.status = QLabel("starting…")
        self.status.setMinimumWidth(80)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this job; finished work is kept, temp files removed")
        self.cancel_button.clicked.connect(job.cancel)
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.hide()
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(140)
        self.details.hide()
        self.details_button.toggled.connect(self.details.setVisible)

        self.title.setMinimumWidth(120)
        self.bar.setMinimumWidth(120)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.title, 3)
        line.addWidget(self.bar, 4)
        line.addWidget(self.status, 3)
        line.addWidget(self.details_button)
        line.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(2)
        layout.addLayout(line)
        layout.addWidget(self.details)

        job.progress.connect(self._on_progress)
        job.stateChanged.connect(self._on_state)
        self._on_state(job.state)

    def _on_progress(self, p: Progress) -> None:
        self._pending = p
        if not self._refresh.isActive():
            self._refresh.start()

    def _show_pending(self) -> None:
        p, self._pending = self._pending, None
        if p is None or self.job.state != JobState.RUNNING:
            return
        if p.total:
            if self.bar.maximum() != 1000:
                self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * (p.fraction or 0.0)))
        words = [w for w in (p.item, p.message) if w]
        if p.total:
            words.append(format_eta(self.job.eta_seconds()))
        self.status.setText(" · ".join(w for w in words if w) or f"{p.done}")
        self.bar.setFormat(f"{p.done} / {p.total}" if p.total else f"{p.done}")

    def _on_state(self, state: str) -> None:
        self.cancel_button.setEnabled(state == JobState.RUNNING)
        if state in JobState.FINAL:
            self._refresh.stop()
            self._pending = None
        if state == JobState.DONE:
            self.bar.setRange(0, 1000)
            self.bar.setValue(1000)
            took = (self.job.finished_at or 0) - self.job.started_at
            self.status.setText(f"done in {took:.1f} s")
        elif state == JobState.CANCELLED:
            if self.bar.maximum() == 0:
                self.bar.setRange(0, 1000)
            self.status.setText("cancelled")
        elif state == JobState.FAILED:
            if self.bar.maximum() == 0:
                self.bar.setRange(0, 1000)
            self.status.setText("failed")
            self.status.setStyleSheet("color: #c0392b; font-weight: bold")
            self.title.setToolTip(self.job.error or "")
            details = self.job.error_details
            self.details.setPlainText(
                f"{self.job.error}\n\n{details}".strip() if details else (self.job.error or "")
            )
            self.details_button.show()
            self.details_button.setChecked(True)


class JobsPanel(QWidget):
    """One row per job, newest on top."""

    def __init__(self, controller: JobsController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.rows: dict[int, JobRow] = {}
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.setSpacing(2)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list)
        self.empty = QLabel("No jobs yet. Detect cuts, slice or add videos to start one.")
        self.empty.setEnabled(False)
        clear = QPushButton("Clear finished")
        clear.clicked.connect(self.clear_finished)
        bar = QHBoxLayout()
        bar.addWidget(self.empty)
        bar.addStretch(1)
        bar.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)
        controller.jobAdded.connect(self.add_job)
        for job in controller.jobs:
            self.add_job(job)

    def add_job(self, job: Job) -> None:
        row = JobRow(job)
        self.rows[id(job)] = row
        self._list_layout.insertWidget(0, row)
        self.empty.hide()

    def row_for(self, job: Job) -> JobRow:
        return self.rows[id(job)]

    def clear_finished(self) -> None:
        for job in list(self.controller.jobs):
            if not job.is_running:
                row = self.rows.pop(id(job), None)
                if row is not None:
                    row.deleteLater()
        self.controller.clear_finished()
        if not self.rows:
            self.empty.show()
