"""The gate: the network skips only windows that clearly hold no cut or transition, and a
gated run decides exactly like an ungated one (issue 13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workstation.core.detect import learned, transnet_onnx
from workstation.core.progress import drive


def _window(values: np.ndarray) -> np.ndarray:
    """A window whose frame ``i`` is a fixed picture plus ``values[i]`` grey levels."""
    base = np.random.default_rng(3).integers(40, 200, (27, 48, 3))
    return np.clip(base[None] + values[:, None, None, None], 0, 255).astype(np.uint8)


def test_still_window_is_skipped_and_noise_does_not_keep_it():
    assert learned.still(_window(np.zeros(100)))
    noisy = _window(np.zeros(100)).astype(np.int16)
    noisy += np.random.default_rng(1).integers(-1, 2, noisy.shape).astype(np.int16)
    assert learned.still(np.clip(noisy, 0, 255).astype(np.uint8))


@pytest.mark.parametrize(
    "what",
    ["hard cut", "slow fade", "dissolve", "inset", "cut in the context frames"],
)
def test_any_cut_or_transition_keeps_the_window(what):
    """Each of these is far smaller than a real one and still keeps the window scored."""
    rng = np.random.default_rng(5)
    w = _window(np.zeros(100)).astype(np.float32)
    other = rng.integers(0, 256, w.shape[1:]).astype(np.float32)
    if what == "hard cut":  # a low-contrast cut: 5 % of the way to another picture
        w[50:] += 0.05 * (other - w[50:])
    elif what == "slow fade":  # 0.03 levels a frame, 3 levels over the window
        w -= np.linspace(0, 3, 100)[:, None, None, None]
    elif what == "dissolve":  # 3 % of the way to another picture, gradually
        w += np.linspace(0, 0.03, 100)[:, None, None, None] * (other - w)
    elif what == "inset":  # 3 % of the picture cut to something else
        w[60:, :5, :8] = 255 - w[60:, :5, :8]
    else:  # only in the last context frames (the kept ones are 25..74)
        w[90:] = other
    assert not learned.still(np.clip(np.round(w), 0, 255).astype(np.uint8))


def _fake_predict(_session, windows):
    """A stand-in network: "ends a shot" where a frame's brightness jumps."""
    means = windows.astype(np.float32).mean(axis=(2, 3, 4))
    single = np.zeros_like(means)
    single[:, :-1] = np.abs(np.diff(means, axis=1)) > 5
    return single * 0.9, single * 0.9


@pytest.fixture()
def fake_net(monkeypatch):
    calls = []

    def predict(session, windows):
        calls.append(len(windows))
        return _fake_predict(session, windows)

    monkeypatch.setattr(transnet_onnx, "ensure_model", lambda: Path("model.onnx"))
    monkeypatch.setattr(learned, "_session", lambda: None)
    monkeypatch.setattr(transnet_onnx, "predict", predict)
    return calls


def _write(path: Path, frames: list[np.ndarray]) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "12"})
        stream.width, stream.height, stream.pix_fmt = 96, 54, "yuv420p"
        for rgb in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))


def test_gated_run_skips_the_still_stretch_and_decides_like_an_ungated_one(tmp_path, fake_net):
    """A still picture (a title card, a paused screen) for 260 frames, then a cut to a moving
    shot: the windows wholly inside the still stretch are skipped, the cut is the same."""
    path = tmp_path / "still.mp4"
    rng = np.random.default_rng(2)
    still = np.repeat(np.repeat(rng.integers(30, 220, (27, 48, 3)), 2, 0), 2, 1)
    moving = [np.roll(255 - still, 3 * i, axis=1) for i in range(60)]
    _write(path, [still.astype(np.uint8)] * 260 + [m.astype(np.uint8) for m in moving])
    records = []
    gated = drive(learned.learned_stage(path), records.append)
    windows_gated = sum(fake_net)
    fake_net.clear()
    ungated = drive(learned.learned_stage(path, gate=False))
    assert [c.frame for c in gated.cuts] == [c.frame for c in ungated.cuts] == [260]
    scored = gated.scores["scored"]
    # The still shot's windows (kept frames 0..199: all 100 frames still) are skipped; the
    # window holding the cut and its neighbours are scored.
    assert scored[:200].tolist() == [0.0] * 200 and scored[200:].min() == 1.0
    assert ungated.scores["scored"].min() == 1.0
    assert windows_gated == sum(fake_net) - 4
    assert records[-1].data["skipped"] == learned.skipped(gated) == 200
    assert gated.cuts[0].params["gate"] == {"mean": 1.0, "pixel": 24, "share": 0.01}
    assert ungated.cuts[0].params["gate"] is None


@pytest.mark.skipif(
    transnet_onnx.why_unavailable() is not None, reason="TransNetV2's model is not set up"
)
def test_the_network_gated_and_ungated_gives_the_same_cuts(tmp_path):
    path = tmp_path / "still.mp4"
    rng = np.random.default_rng(4)
    still = np.repeat(np.repeat(rng.integers(30, 220, (27, 48, 3)), 2, 0), 2, 1).astype(np.uint8)
    moving = [np.roll(255 - still, 3 * i, axis=1) for i in range(60)]
    _write(path, [still] * 160 + moving + [still] * 40)
    gated = drive(learned.learned_stage(path))
    ungated = drive(learned.learned_stage(path, gate=False))
    found = [(c.frame, c.kind, c.span_start, c.span_end) for c in gated.cuts]
    assert found == [(c.frame, c.kind, c.span_start, c.span_end) for c in ungated.cuts]
    assert found[0][0] == 160  # (the network's own call on the cut back: either way)
    # Skipped: the windows kept at 0..99 (frames 0..174 still) and the last one (kept 250..259,
    # frames 225..259 and their padding still).
    assert learned.skipped(gated) == 110
    skipped = gated.scores["scored"] == 0
    assert ungated.scores["single"][skipped].max() < learned.MARKED_LOW
