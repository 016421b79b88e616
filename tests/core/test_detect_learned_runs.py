"""The default detector's project runs: outputs saved as they go, a cancelled run resumes on
the same windows and decides like an uninterrupted one, the run is recorded with its params."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workstation.core import media, synth
from workstation.core.detect import learned, transnet_onnx
from workstation.core.detect.project_runs import detect_video
from workstation.core.progress import drive


def _fake_predict(_session, windows):
    """Stands in for the network: "ends a shot" (and "in a transition") where a frame's
    brightness jumps, so a window out of place after a resume shows as a cut on the wrong frame
    (and as ``luma_mean`` on the wrong frames)."""
    means = windows.astype(np.float32).mean(axis=(2, 3, 4)) / 255.0
    single = np.zeros_like(means)
    single[:, :-1] = np.abs(np.diff(means, axis=1)) > 0.05
    return single * 0.9, single * 0.9


@pytest.fixture()
def fake_net(monkeypatch):
    monkeypatch.setattr(transnet_onnx, "ensure_model", lambda: Path("model.onnx"))
    monkeypatch.setattr(learned, "_session", lambda: None)
    monkeypatch.setattr(transnet_onnx, "predict", _fake_predict)


def test_cancelled_run_resumes_and_decides_like_an_uninterrupted_one(project, tmp_path, fake_net):
    path = tmp_path / "long.mp4"
    shots = [synth.Shot("gradient", 130, seed=1), synth.Shot("shapes", 150, seed=2)]
    synth.write_video(
        path, synth.Sequence([*shots, synth.Shot("gradient", 240, seed=3)]), width=96, height=54
    )
    video = project.video(project.add_video(drive(media.probe(path))))
    stage = detect_video(project, video.id)
    reports = [next(stage) for _ in range(1 + 300 // (learned.BATCH * learned.STEP))]
    stage.close()  # cancelled at frame 300
    done = reports[-1].done
    assert done == 300
    row = project.db.execute("SELECT state, frames_done FROM detections").fetchone()
    assert row["state"] == "cancelled" and row["frames_done"] == done

    records = []
    resumed = drive(detect_video(project, video.id), records.append)
    assert "resuming at frame 300" in [r.message for r in records]
    fresh = drive(detect_video(project, video.id, restart=True))
    for name in learned.OUTPUTS:
        np.testing.assert_array_equal(resumed.scores[name], fresh.scores[name])
    assert [c.frame for c in resumed.cuts] == [c.frame for c in fresh.cuts] == [130, 280]
    assert [c.frame for c in project.cuts(video.id)] == [130, 280]
    states = [r["state"] for r in project.db.execute("SELECT state FROM detections ORDER BY id")]
    assert states == ["done", "done"]  # the resumed run finished; the restart is its own
