"""Per-frame measurements of one decode pass, the raw material of every detector.

Each frame is decoded once, scaled down by FFmpeg's swscale (a reused reformatter: far cheaper
than a full-size decode plus a resize) and compared with the frames up to ``MAX_LAG`` before
it.  Every value depends only on the frame and the ``MAX_LAG`` frames before it, so a resumed
run that re-reads ``MAX_LAG`` frames before its resume point produces exactly the values an
uninterrupted run would.
"""

from __future__ import annotations

import cv2
import numpy as np
from scenedetect.detectors import HistogramDetector

#: Frame distances kept for gradual transitions (dissolve halves and wholes) and flash checks.
LAGS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24)
MAX_LAG = max(LAGS)
#: Lags of the colour + structure distance (flash filter, very short shots).
NEAR_LAGS: tuple[int, ...] = (1, 2, 3, 4)
_HIST_BINS = 64
#: Lags of the histogram change: a dissolve changes the histogram over its span, motion doesn't.
HIST_LAGS: tuple[int, ...] = (8, 16, 24)

CURVES: tuple[str, ...] = (
    "content",  # ContentDetector's score (mean HSV distance, 0..255), lag 1
    "hue",  # its hue component: unchanged by brightness changes, flashes and fades
    "rank",  # structure only: mean distance of luma ranks (0..1), lag 1
    "hist",  # 1 - correlation of HistogramDetector's luma histograms, lag 1
    *(f"d{k}" for k in NEAR_LAGS),  # colour + structure distance to frame i-k (~1 over a cut)
    *(f"g{k}" for k in LAGS),  # mean absolute luma distance to frame i-k (linear in blends)
    *(f"h{k}" for k in HIST_LAGS),  # histogram change to frame i-k: blind to motion
    "p10",  # 10th percentile of luma: high only on (nearly) white frames
    "level",  # median luma
    "p90",  # 90th percentile of luma: low only on (nearly) black frames
)
_IX = {name: i for i, name in enumerate(CURVES)}
_CONTENT, _HUE, _RANK, _HIST = _IX["content"], _IX["hue"], _IX["rank"], _IX["hist"]
_H = slice(_IX[f"h{HIST_LAGS[0]}"], _IX[f"h{HIST_LAGS[0]}"] + len(HIST_LAGS))
_QUANTILES = slice(_IX["p10"], _IX["p90"] + 1)
_D = slice(_IX["d1"], _IX["d1"] + len(NEAR_LAGS))
_G = slice(_IX["g1"], _IX["g1"] + len(LAGS))


class FeatureExtractor:
    """Feeds on downscaled BGR frames in decode order; returns one row of :data:`CURVES` each.

    The colour score of lag 1 is PySceneDetect's ContentDetector formula (mean of the hue,
    saturation and value distances) and the histogram score is HistogramDetector's luma
    histogram compared by correlation; both are computed here on the shared small frame so the
    ensemble needs one decode.  The structure distance compares luma ranks, so it is blind to
    monotone brightness changes (flashes, lights coming on, fades) and sees only what moved or changed.  Distances to
    several earlier frames are taken in one numpy operation over a ring of flat descriptors:
    per-frame Python overhead, not pixels, is what costs at these sizes.
    """

    def __init__(self) -> None:
        self._n = 0
        self._prev_hsv: np.ndarray | None = None
        self._prev_hist: np.ndarray | None = None
        self._gray: np.ndarray | None = None  # ring of flat luma (float32), MAX_LAG slots
        self._desc: np.ndarray | None = None  # ring of weighted colour + structure descriptors
        self._hists: list[np.ndarray] = []  # ring of luma histograms, MAX_LAG slots
        self._prev_rank: np.ndarray | None = None

    def push(self, bgr: np.ndarray) -> np.ndarray:
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        pixels = gray.size
        g = gray.reshape(-1).astype(np.float32)
        # Rank of each pixel's luma (histogram equalisation): unchanged by any monotone change
        # of brightness, so flashes, lights and fades move it little while new content does.
        rank = cv2.equalizeHist(gray).reshape(-1).astype(np.float32)
        # sum |desc_a - desc_b| == 0.5 * colour / 30 + 0.5 * structure / 60 (both means).
        desc = np.concatenate(
            (
                hsv.reshape(-1).astype(np.float32) * (0.5 / (3 * pixels * 30.0)),
                rank * (0.5 / (pixels * 60.0)),
            )
        )
        hist = HistogramDetector.calculate_histogram(bgr, bins=_HIST_BINS)
        if self._gray is None:
            self._gray = np.repeat(g[None], MAX_LAG, axis=0)
            self._desc = np.repeat(desc[None], len(NEAR_LAGS), axis=0)
        row = np.zeros(len(CURVES), dtype=np.float32)
        n = self._n
        if n:
            m = cv2.mean(cv2.absdiff(hsv, self._prev_hsv))
            row[_CONTENT] = (m[0] + m[1] + m[2]) / 3.0
            row[_HUE] = m[0]
            row[_RANK] = float(np.abs(rank - self._prev_rank).mean()) / 255.0
            row[_HIST] = 1.0 - cv2.compareHist(self._prev_hist, hist, cv2.HISTCMP_CORREL)
            # Rings hold frame j at slot j % size; lag k is frame n-k (clamped to frame 0).
            near = [(n - min(k, n)) % len(NEAR_LAGS) for k in NEAR_LAGS]
            row[_D] = np.abs(self._desc[near] - desc).sum(axis=1)
            far = [(n - min(k, n)) % MAX_LAG for k in LAGS]
            row[_G] = np.abs(self._gray[far] - g).mean(axis=1)
            row[_H] = [
                1.0
                - cv2.compareHist(self._hists[(n - min(k, n)) % MAX_LAG], hist, cv2.HISTCMP_CORREL)
                for k in HIST_LAGS
            ]
        # Luma percentiles from the histogram (L2-normalised: its cumsum is still monotone).
        cum = hist.cumsum()
        bins = np.searchsorted(cum, cum[-1] * np.array((0.1, 0.5, 0.9)))
        row[_QUANTILES] = (bins + 0.5) * (256 / _HIST_BINS)
        self._gray[n % MAX_LAG] = g
        if len(self._hists) < MAX_LAG:
            self._hists.extend([hist] * (MAX_LAG - len(self._hists)))
        self._hists[n % MAX_LAG] = hist
        self._desc[n % len(NEAR_LAGS)] = desc
        self._prev_hsv, self._prev_hist, self._prev_rank = hsv, hist, rank
        self._n = n + 1
        return row
