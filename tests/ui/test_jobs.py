"""Jobs run stages in worker threads: progress reaches the panel, cancel cleans up, errors show."""

from __future__ import annotations

import threading

import pytest

from workstation.core.errors import MediaError
from workstation.core.progress import Progress
from workstation.core.store import Project
from workstation.ui.common.jobs import JobsController, JobState
from workstation.ui.common.jobs_panel import JobsPanel
from workstation.ui.session import ProjectSession


@pytest.fixture()
def session(tmp_path):
    s = ProjectSession.create(tmp_path / "proj")
    yield s
    s.close()


@pytest.fixture()
def controller(session):
    c = JobsController(session)
    yield c
    c.shutdown()


def counting_stage(n, threads=None):
    if threads is not None:
        threads.append(threading.get_ident())
    for i in range(n):
        yield Progress("count", i, n, f"item {i}")
    yield Progress("count", n, n, "", "done")
    return n * 2


def test_progress_reaches_panel_and_result_arrives(qtbot, controller, session):
    panel = JobsPanel(controller)
    qtbot.addWidget(panel)
    seen, threads = [], []
    with qtbot.waitSignal(controller.jobFinished, timeout=10000):
        job = controller.run(
            "Counting",
            lambda: counting_stage(500, threads),
            on_progress=seen.append,
            stage_name="count",
        )
    assert job.state == JobState.DONE
    assert job.result == 1000
    assert threads and threads[0] != threading.get_ident()  # the factory ran in the worker
    assert seen and seen[-1].done == 500  # the last record is always delivered
    assert len(seen) < 500  # throttled
    row = panel.row_for(job)
    assert row.bar.value() == row.bar.maximum()
    assert row.bar.format() == "500 / 500"  # the final count, never the last one drawn
    assert "done" in row.status.text()
    rows = session.project.jobs()
    assert rows[0]["stage"] == "count" and rows[0]["state"] == "done"


def test_cancel_closes_generator_and_removes_partial_file(qtbot, controller, session, tmp_path):
    started = threading.Event()
    release = threading.Event()
    target = tmp_path / "out.bin"

    def writer():
        tmp = target.with_suffix(".part")
        try:
            with tmp.open("wb") as f:
                for i in range(10_000):
                    f.write(b"x" * 100)
                    yield Progress("write", i, 10_000)
                    started.set()
                    release.wait(5)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)

    panel = JobsPanel(controller)
    qtbot.addWidget(panel)
    job = controller.run("Writing", writer, stage_name="write")
    assert started.wait(10)
    with qtbot.waitSignal(job.cancelled, timeout=10000):
        qtbot.mouseClick(panel.row_for(job).cancel_button, qtbot_button())
        release.set()
    assert job.state == JobState.CANCELLED
    assert not target.exists()
    assert not target.with_suffix(".part").exists()
    assert session.project.jobs()[0]["state"] == "cancelled"
    assert panel.row_for(job).status.text() == "cancelled"


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_failure_shows_error_in_panel(qtbot, controller, session, tmp_path):
    def broken():
        yield Progress("probe", 0, 1)
        raise MediaError(tmp_path / "bad.mp4", "not a video file FFmpeg can read (invalid data)")

    panel = JobsPanel(controller)
    qtbot.addWidget(panel)
    errors = []
    with qtbot.waitSignal(controller.jobFinished, timeout=10000):
        job = controller.run("Broken", broken, on_error=errors.append)
    assert job.state == JobState.FAILED
    assert errors and "bad.mp4" in errors[0] and "invalid data" in errors[0]
    row = panel.row_for(job)
    assert row.status.text() == "failed"
    assert not row.details.isHidden()
    assert "bad.mp4" in row.details.toPlainText()
    assert "bad.mp4" in session.project.jobs()[0]["error"]


def test_run_on_project_opens_a_worker_connection(qtbot, controller, session):
    used = []

    def stage(project: Project):
        used.append((threading.get_ident(), project.root))
        yield Progress("look", 1, 1)
        return len(project.videos())

    with qtbot.waitSignal(controller.jobFinished, timeout=10000):
        job = controller.run_on_project("Look", stage)
    assert job.result == 0
    assert used[0][0] != threading.get_ident() and used[0][1] == session.root


def test_unexpected_exception_is_reported_not_raised(qtbot, controller):
    def buggy():
        yield Progress("x", 0, 1)
        raise ZeroDivisionError("division by zero")

    with qtbot.waitSignal(controller.jobFinished, timeout=10000):
        job = controller.run("Buggy", buggy)
    assert job.state == JobState.FAILED
    assert job.error.startswith("ZeroDivisionError")
    assert "Traceback" in job.error_details


def test_emitting_signals_keeps_python_refcounts():
    """PySide6 6.12.0 dropped a reference to True on every emit (fatal on Python 3.11)."""
    import sys

    from workstation.ui.common.jobs import Job

    job = Job("refcount probe")
    before = sys.getrefcount(True)
    for _ in range(200):
        job.stateChanged.emit("running")
    assert sys.getrefcount(True) - before > -10, "this PySide6 build leaks; see pyproject.toml"
