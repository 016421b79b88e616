"""The Cut view's "why" for stretches TransNetV2's gate never ran the network on: the review
strip and the timeline say "not scored: no change", not a probability of 0 (issue 13)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from workstation.core.detect import learned, transnet_onnx
from workstation.core.detect.project_runs import detect_video
from workstation.core.ingest import add_paths
from workstation.core.progress import drive
from workstation.core.store import Cut, Project
from workstation.ui.common.jobs import JobsController
from workstation.ui.common.shortcuts import ShortcutMap
from workstation.ui.cut.view import CutView
from workstation.ui.session import ProjectSession


def _still_then_still(path: Path) -> None:
    """400 frames: one still picture to frame 249, another from 250 (one hard cut)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        stream.options = {"crf": "10", "preset": "veryfast"}
        pictures = [np.full((64, 96, 3), v, np.uint8) for v in (60, 200)]
        for n in range(400):
            frame = av.VideoFrame.from_ndarray(pictures[n >= 250], format="rgb24")
            frame.pts = n
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _fake_predict(_session, windows):
    """Stands in for the network: "ends a shot" where a frame's brightness jumps."""
    means = windows.astype(np.float32).mean(axis=(2, 3, 4))
    single = np.zeros_like(means)
    single[:, :-1] = np.abs(np.diff(means, axis=1)) > 20
    return single * 0.9, single * 0.0


@pytest.fixture()
def view(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(transnet_onnx, "ensure_model", lambda: Path("model.onnx"))
    monkeypatch.setattr(learned, "_session", lambda: None)
    monkeypatch.setattr(transnet_onnx, "predict", _fake_predict)
    video = tmp_path / "videos" / "two_stills.mp4"
    video.parent.mkdir()
    _still_then_still(video)
    project = Project.create(tmp_path / "proj")
    drive(add_paths(project, [video]))
    vid = project.videos()[0].id
    drive(detect_video(project, vid))  # the real gate, a stand-in network
    project.add_cut(vid, Cut(100, "manual"))  # a person's cut inside the still picture
    project.close()
    session = ProjectSession(tmp_path / "proj")
    jobs = JobsController(session)
    cut_view = CutView(session, jobs, shortcuts=ShortcutMap())
    qtbot.addWidget(cut_view)
    cut_view.resize(1280, 800)
    cut_view.show()
    qtbot.waitExposed(cut_view)
    with qtbot.waitSignal(cut_view.player.firstFrameShown, timeout=20000):
        cut_view.show_video(vid)
    yield cut_view
    cut_view.close()
    jobs.shutdown()
    session.close()


def test_gated_stretches_say_not_scored_instead_of_a_probability_of_0(qtbot, view):
    tl = view.timeline
    assert [c.frame for c in tl.cuts] == [100, 250]
    # The gate kept only the windows around the change at 250 (kept frames 200-299).
    assert tl.is_scored(250) and tl.is_scored(200) and tl.is_scored(299)
    assert not tl.is_scored(100) and not tl.is_scored(199) and not tl.is_scored(300)

    with qtbot.waitSignal(tl.cutSelected):
        tl.select_cut(100)
    assert "not scored: no change" in view.strip.why.text()
    with qtbot.waitSignal(tl.cutSelected):
        tl.select_cut(250)
    assert "not scored" not in view.strip.why.text()
    assert "network probability 0.90" in view.strip.title.text()

    def tip(frame: int) -> str:
        return tl.tooltip_at(tl.x_of(frame) + tl.ppf / 2)

    assert "not scored: no change" in tip(150) and "score 0" not in tip(150)
    assert "score 0)" in tip(270) and "not scored" not in tip(270)  # scored: a real 0
