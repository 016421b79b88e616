"""The per-frame measurements against a plain, one-frame-at-a-time reference."""

from __future__ import annotations

import cv2
import numpy as np

from workstation.core.detect.features import CURVES, HIST_LAGS, NEAR_LAGS, FeatureExtractor

IX = {name: i for i, name in enumerate(CURVES)}


def _look(bgr: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    rank = cv2.equalizeHist(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    return np.dstack((hsv, rank)).astype(np.float64)


def _hist(bgr: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    h = cv2.calcHist([gray], [0], None, [64], [0, 256])
    return cv2.normalize(h, h).ravel()


def test_every_lag_distance_equals_a_direct_computation():
    """The ring image gives, for every frame and lag, exactly the distance to frame n-k
    (frame 0 standing in for frames before the start), and the histogram lags likewise."""
    rng = np.random.default_rng(7)
    base = cv2.GaussianBlur(rng.integers(0, 256, (54, 96, 3), dtype=np.uint8), (15, 15), 0)
    base = cv2.normalize(base, None, 0, 255, cv2.NORM_MINMAX)  # smooth: a 1 px pan is small
    frames = []
    for i in range(40):  # drifting picture with a cut at 20 and noise everywhere
        img = base if i < 20 else 255 - base
        noise = rng.integers(0, 6, img.shape, dtype=np.uint8)
        frames.append(cv2.add(np.roll(img, i, axis=1), noise))
    ex = FeatureExtractor()
    rows = np.array([ex.push(f) for f in frames])
    assert rows.shape == (40, len(CURVES)) and np.isfinite(rows).all()
    assert not rows[0, : IX["p10"]].any()  # the first frame has nothing to differ from
    looks = [_look(f) for f in frames]
    hists = [_hist(f) for f in frames]
    for n in range(1, 40):
        for k in NEAR_LAGS:
            m = np.abs(looks[n] - looks[max(0, n - k)]).mean(axis=(0, 1))
            colour = m[:3].mean()
            want = 0.5 * colour / 30.0 + 0.5 * m[3] / 60.0
            assert abs(rows[n, IX[f"d{k}"]] - want) < 1e-4, (n, k)
            if k == 1:
                assert abs(rows[n, IX["content"]] - colour) < 1e-3
                assert abs(rows[n, IX["hue"]] - m[0]) < 1e-3
                assert abs(rows[n, IX["rank"]] - m[3] / 255.0) < 1e-5
        for k in HIST_LAGS:
            old = hists[max(0, n - k)]
            want = 1.0 - cv2.compareHist(old, hists[n], cv2.HISTCMP_CORREL)
            assert abs(rows[n, IX[f"h{k}"]] - want) < 1e-5, (n, k)
    assert rows[20, IX["d1"]] > 3 * rows[19, IX["d1"]]  # the cut stands out


def test_a_second_extractor_starts_afresh():
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (36, 64, 3), dtype=np.uint8) for _ in range(6)]
    a = np.array([FeatureExtractor().push(f) for f in frames[:1]])
    ex = FeatureExtractor()
    b = np.array([ex.push(f) for f in frames])
    assert np.array_equal(a[0], b[0])
    ex2 = FeatureExtractor()
    assert np.array_equal(np.array([ex2.push(f) for f in frames]), b)  # deterministic
