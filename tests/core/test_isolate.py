"""A stage run in a child process: progress, result, errors and cancel cross the boundary."""

from __future__ import annotations

import pytest

from workstation.core.errors import WorkstationError
from workstation.core.isolate import in_child_process, project_stage
from workstation.core.progress import Cancelled, CancelToken, Progress, drive


def counting(n: int, fail: str = ""):
    for i in range(n):
        yield Progress("count", i, n, data={"i": i})
    if fail == "user":
        raise WorkstationError("clip.mp4: disk full")
    if fail == "bug":
        raise ZeroDivisionError("oops")
    return {"total": n}


def endless(marker: str):
    from pathlib import Path

    try:
        i = 0
        while True:
            yield Progress("spin", i)
            i += 1
    finally:
        Path(marker).write_text("cleaned up")


def test_progress_and_result_cross_over():
    seen = []
    assert drive(in_child_process(counting, 5), seen.append) == {"total": 5}
    assert [p.data["i"] for p in seen] == [0, 1, 2, 3, 4]


def test_errors_keep_their_message():
    with pytest.raises(WorkstationError, match="clip.mp4: disk full"):
        drive(in_child_process(counting, 2, fail="user"))
    with pytest.raises(RuntimeError, match="ZeroDivisionError: oops"):
        drive(in_child_process(counting, 2, fail="bug"))


def test_cancel_runs_the_childs_cleanup(tmp_path):
    marker = tmp_path / "marker"
    token = CancelToken()
    seen = []

    def on_progress(p):
        seen.append(p)
        if len(seen) == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        drive(in_child_process(endless, str(marker)), on_progress, token)
    assert marker.read_text() == "cleaned up"


def test_project_stage_in_child(demo_project):
    vid = demo_project.videos()[0].id
    result = drive(
        in_child_process(
            project_stage, str(demo_project.root), "workstation.core.detect", "detect_video", vid
        )
    )
    assert [c.frame for c in demo_project.cuts(vid)] == [c.frame for c in result.cuts]
    assert result.cuts


def _no_shared_memory(monkeypatch):
    """As in a container or chroot without a writable /dev/shm: every lock creation fails."""
    import multiprocessing as mp
    import multiprocessing.synchronize as sync

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sync.SemLock, "__init__", refuse)
    return mp


def test_no_shared_memory_is_one_sentence_for_a_child_stage(monkeypatch):
    _no_shared_memory(monkeypatch)
    with pytest.raises(WorkstationError) as caught:
        drive(in_child_process(counting, 2))
    message = str(caught.value)
    assert "/dev/shm" in message and "--jobs 1" in message
    assert "permission" in message.lower() and "Errno" not in message


def test_no_shared_memory_is_one_sentence_for_the_slicers_pool(monkeypatch):
    from workstation.core.slicing import _start_pool

    _no_shared_memory(monkeypatch)
    with pytest.raises(WorkstationError, match=r"/dev/shm.*--jobs 1"):
        _start_pool(2)
    pool, _submit, _cancel, _counter = _start_pool(0)  # one thread in this process still works
    pool.shutdown()
