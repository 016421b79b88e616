"""One video's decode pass split over processes (workstation.core.detect.segments).

The split must never change a value: every test compares with the one-process pass, value for
value.  Real forked children run here (Linux); ``available`` is forced on so a machine with one
core still splits.
"""

from __future__ import annotations

import logging
import os
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from workstation.core import synth
from workstation.core.detect import segments, stage
from workstation.core.detect.segments import MIN_RANGE, PRIME, plan
from workstation.core.detect.stage import detect_stage
from workstation.core.progress import drive

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the split forks")

SHOTS = synth.Sequence(
    [
        synth.Shot("shapes", 90, seed=1),
        synth.Shot("anime", 70, seed=2),
        synth.Shot("texture", 110, seed=3, flashes=[40]),
        synth.Shot("gradient", 60, seed=4),
        synth.Shot("fast", 100, seed=5),
    ]
)
FRAMES = 430


@pytest.fixture(autouse=True)
def _forking(monkeypatch):
    """Split even these small, short test videos."""
    monkeypatch.setattr(segments, "available", lambda: True)
    monkeypatch.setattr(segments, "MIN_RANGE_PIXELS", 0)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("seg") / "v.mp4"
    truth = synth.write_video(path, SHOTS, width=160, height=90, gop=48)
    assert truth.frames == FRAMES
    return path


def _same(a, b) -> None:
    assert a.frames == b.frames
    assert [(c.frame, c.kind) for c in a.cuts] == [(c.frame, c.kind) for c in b.cuts]
    for name, values in a.scores.items():
        assert np.array_equal(values, b.scores[name]), name


def _forks(monkeypatch) -> list[int]:
    """Count the children forked (their pids)."""
    pids: list[int] = []
    real = segments._fork

    def spy(path, width, r, index):
        real(path, width, r, index)
        pids.append(r.pid)

    monkeypatch.setattr(segments, "_fork", spy)
    return pids


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------
def test_plan_starts_ranges_prime_frames_after_keyframes():
    keys = tuple(range(0, 1000, 48))
    ranges = plan(0, 1000, keys, 4)
    assert len(ranges) == 4
    assert ranges[0][0] == 0 and ranges[-1][1] == 1000
    for (a, b), (c, _) in zip(ranges, ranges[1:], strict=False):
        assert b == c and b - PRIME in keys and b - a >= MIN_RANGE
    sizes = [b - a for a, b in ranges]
    assert max(sizes) - min(sizes) <= 2 * 48  # about equal shares


def test_small_frames_need_longer_ranges(monkeypatch):
    """A range must hold enough work (frames x pixels) to win back its child's start."""
    monkeypatch.setattr(segments, "MIN_RANGE_PIXELS", 50_000_000)
    keys = tuple(range(0, 100_000, 48))
    assert segments.min_range(1280 * 720) == MIN_RANGE
    assert segments.min_range(320 * 240) == 652
    assert segments.min_range(0) == MIN_RANGE  # size unknown
    assert plan(0, 1000, keys, 2, 320 * 240) == [(0, 1000)]
    assert len(plan(0, 1000, keys, 2, 1280 * 720)) == 2
    assert all(b - a >= 652 for a, b in plan(0, 100_000, keys, 8, 320 * 240))


def test_plan_keeps_short_videos_and_single_workers_whole():
    keys = tuple(range(0, 5000, 48))
    assert plan(0, 2 * MIN_RANGE - 1, keys, 8) == [(0, 2 * MIN_RANGE - 1)]
    assert plan(0, 5000, keys, 1) == [(0, 5000)]
    assert len(plan(0, 3 * MIN_RANGE, keys, 8)) <= 3  # never a range under MIN_RANGE
    # A resumed pass splits what is left.
    assert plan(4000, 5000, keys, 2)[0][0] == 4000
    # No keyframe where a range could start: whole.
    assert plan(0, 1000, (0,), 2) == [(0, 1000)]
    # Keyframes unknown: any frame may start a range (its child decodes from the keyframe
    # before and throws those frames away).
    assert plan(0, 1000, (), 2) == [(0, 500), (500, 1000)]


# ---------------------------------------------------------------------------------------------
# The pass
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [2, 3])
def test_split_pass_equals_the_one_process_pass(video, monkeypatch, workers):
    pids = _forks(monkeypatch)
    split = drive(detect_stage(video, workers=workers))
    assert len(pids) == workers - 1  # it did split
    _same(drive(detect_stage(video, workers=1)), split)
    assert len(split.cuts) >= 3  # (the lists compared are not trivial)


def test_progress_is_frequent_and_ends_at_the_frame_count(video, monkeypatch):
    records = []
    drive(detect_stage(video, workers=2), records.append)
    done = [p.done for p in records]
    assert done[0] == 0 and done[-1] == FRAMES
    assert max(np.diff(done)) <= 256 and done == sorted(done)


def test_a_container_without_a_full_index_is_split_by_its_packets(tmp_path, monkeypatch):
    path = tmp_path / "v.mkv"
    synth.write_video(path, SHOTS, width=160, height=90)
    pids = _forks(monkeypatch)
    split = drive(detect_stage(path, workers=2))
    assert pids
    _same(drive(detect_stage(path, workers=1)), split)


def test_open_gop_stream_splits_exactly(tmp_path, monkeypatch):
    """Open GOPs: the frames decoded right after a seek that need the GOP before are numbered
    before the range's first frame and only prime nothing; the checked frames match."""
    path = tmp_path / "open.mp4"
    frames = synth.render_sequence(SHOTS, 160, 90)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(24))
        stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
        stream.options = {"x264-params": "open-gop=1:keyint=48:min-keyint=48:bframes=3:scenecut=0"}
        n = 0
        try:
            while True:
                img = np.clip(next(frames), 0, 255).astype(np.uint8)
                synth.stamp(img, n)
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(packet)
                n += 1
        except StopIteration:
            pass
        for packet in stream.encode():
            out.mux(packet)
    _same(drive(detect_stage(path, workers=1)), drive(detect_stage(path, workers=2)))


def _drift(blocks):
    """Frames that differ from the pass before (a stream that cannot be entered at a keyframe)."""
    for lo, rows, pts in blocks:
        yield lo, rows + 0.5, pts


def _crash(blocks):
    raise RuntimeError("simulated decoder crash")
    yield from blocks


def _die(blocks):
    os._exit(3)  # as if the OOM killer took it: no message, a closed pipe
    yield from blocks


def _hang(blocks):
    time.sleep(60)  # a child that hangs (it is killed long before this ends)
    yield from blocks


@pytest.mark.parametrize(
    ("fault", "workers", "message"),
    [
        (_drift, 2, "not exact"),
        (_crash, 3, "simulated decoder crash"),
        (_die, 2, "ended unexpectedly"),
        (_hang, 2, "no frame measured in"),
    ],
    ids=["differs", "raises", "killed", "stalls"],
)
def test_a_range_that_goes_wrong_is_measured_again_in_one_process(
    video, monkeypatch, caplog, fault, workers, message
):
    """A child that differs from the pass before it, raises, is killed from outside or stalls
    is not trusted: it is stopped and reaped, and the pass goes on sequentially, same values."""
    if fault is _hang:
        monkeypatch.setattr(segments, "STALL_S", 0.5)
    real = segments.measure

    def faulty(path, width, first, end, index):
        blocks = real(path, width, first, end, index)
        return fault(blocks) if first > 0 else blocks

    pids = _forks(monkeypatch)
    monkeypatch.setattr(segments, "measure", faulty)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING):
        split = drive(detect_stage(video, workers=workers))
    assert time.monotonic() - start < 30
    assert message in caplog.text and "in one process" in caplog.text
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped
    monkeypatch.setattr(segments, "measure", real)
    _same(drive(detect_stage(video, workers=1)), split)


def test_cancel_stops_and_reaps_every_child(video, monkeypatch):
    pids = _forks(monkeypatch)
    stage = detect_stage(video, workers=3)
    next(stage)  # before the pass
    next(stage)  # first report of the pass: the children run
    assert len(pids) == 2
    stage.close()
    for pid in pids:
        with pytest.raises(ChildProcessError):  # already reaped: no zombie left behind
            os.waitpid(pid, os.WNOHANG)


def test_a_truncated_file_is_named_as_in_one_process(video, tmp_path):
    from workstation.core.errors import MediaError

    cut = tmp_path / "cut.mp4"
    data = video.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(MediaError) as one:
        drive(detect_stage(cut, workers=1))
    with pytest.raises(MediaError) as split:
        drive(detect_stage(cut, workers=2))
    assert str(split.value) == str(one.value) and "cut.mp4" in str(split.value)


def test_never_forks_a_process_that_runs_a_qt_application(monkeypatch):
    """Forking copies a Qt application's threads and GL state half-way: such a process (which
    the app never detects in: it uses a child process) runs the one-process pass."""
    import sys
    import types

    monkeypatch.undo()  # the real available()
    if not segments.available():
        pytest.skip("this platform cannot fork")

    class App:
        @staticmethod
        def instance():
            return object()

    monkeypatch.setitem(sys.modules, "PySide6.QtCore", types.SimpleNamespace(QCoreApplication=App))
    assert not segments.available()
    App.instance = staticmethod(lambda: None)  # Qt imported, no application: forking is safe
    assert segments.available()


def test_provisional_cuts_come_from_every_range_while_the_pass_goes(video, monkeypatch):
    """The timeline's live cut list is not limited to the first range's stretch."""
    monkeypatch.setattr(stage, "CHUNK", 64)
    monkeypatch.setattr(stage, "LIVE_CUTS_EVERY_S", 0.0)
    ranges = []
    real_split = segments.scan_split

    def spy(path, width, ranges_plan, *args, **kwargs):
        ranges.extend(ranges_plan)
        return real_split(path, width, ranges_plan, *args, **kwargs)

    monkeypatch.setattr(segments, "scan_split", spy)
    records = []
    result = drive(detect_stage(video, workers=2), records.append)
    second = ranges[1][0]
    live = {f for p in records[:-1] for f in p.data["cuts"]}
    assert any(f >= second for f in live)
    assert records[-1].data["cuts"] == [c.frame for c in result.cuts]


def test_the_environment_sets_the_ranges_per_pass(video, monkeypatch, caplog):
    """WORKSTATION_DETECT_WORKERS=1 keeps every pass in one process (a spinning disk)."""
    monkeypatch.setenv(segments.WORKERS_ENV, "1")
    assert segments.auto_workers() == 1
    pids = _forks(monkeypatch)
    drive(detect_stage(video))
    assert pids == []
    monkeypatch.setenv(segments.WORKERS_ENV, "3")
    assert segments.auto_workers() == 3
    drive(detect_stage(video))
    assert len(pids) == 2
    monkeypatch.setenv(segments.WORKERS_ENV, "lots")
    with caplog.at_level(logging.WARNING):
        assert segments.auto_workers() >= 1
    assert "WORKSTATION_DETECT_WORKERS" in caplog.text and "lots" in caplog.text
