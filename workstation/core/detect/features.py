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

#: Lags of the colour + structure distance (flash filter, very short shots).
NEAR_LAGS: tuple[int, ...] = (1, 2, 3, 4)
_HIST_BINS = 64
#: Lags of the histogram change: a dissolve changes the histogram over its span, motion doesn't.
HIST_LAGS: tuple[int, ...] = (8, 16, 24)
MAX_LAG = max(HIST_LAGS)

CURVES: tuple[str, ...] = (
    "content",  # ContentDetector's score (mean HSV distance, 0..255), lag 1
    "hue",  # its hue component: unchanged by brightness changes, flashes and fades
    "rank",  # structure only: mean distance of luma ranks (0..1), lag 1
    "hist",  # 1 - correlation of HistogramDetector's luma histograms, lag 1
    *(f"d{k}" for k in NEAR_LAGS),  # colour + structure distance to frame i-k (~1 over a cut)
    *(f"h{k}" for k in HIST_LAGS),  # histogram change to frame i-k: blind to motion
    "p10",  # 10th percentile of luma: high only on (nearly) white frames
    "level",  # median luma
    "p90",  # 90th percentile of luma: low only on (nearly) black frames
)
_IX = {name: i for i, name in enumerate(CURVES)}
_CONTENT, _HUE, _RANK, _HIST = _IX["content"], _IX["hue"], _IX["rank"], _IX["hist"]
_H = slice(_IX[f"h{HIST_LAGS[0]}"], _IX[f"h{HIST_LAGS[0]}"] + len(HIST_LAGS))
_QUANTILE_LEVELS = np.array((0.1, 0.5, 0.9))
_QUANTILES = slice(_IX["p10"], _IX["p90"] + 1)
_D = slice(_IX["d1"], _IX["d1"] + len(NEAR_LAGS))


class FeatureExtractor:
    """Feeds on downscaled BGR frames in decode order; returns one row of :data:`CURVES` each.

    The colour score of lag 1 is PySceneDetect's ContentDetector formula (mean of the hue,
    saturation and value distances) and the histogram score is HistogramDetector's (luma
    histogram, correlation), computed here on the shared small frame with the same OpenCV
    calls; a test checks both equal PySceneDetect's own scores.  The structure distance
    compares luma ranks (histogram equalisation), so it is blind to monotone brightness
    changes (flashes, lights coming on, fades) and sees only what moved or changed.  Everything stays uint8 and goes through OpenCV: at these sizes
    per-call overhead, not pixels, is what costs.
    """

    def __init__(self) -> None:
        self._n = 0
        self._look: list[np.ndarray] = []  # ring of HSV + rank images, NEAR_LAGS slots
        self._hists: list[np.ndarray] = []  # MAX_LAG slots

    def push(self, bgr: np.ndarray) -> np.ndarray:
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        # Rank of each pixel's luma: unchanged by any monotone change of brightness.
        rank = cv2.equalizeHist(gray)
        hist = cv2.calcHist([gray], [0], None, [_HIST_BINS], [0, 256])
        hist = cv2.normalize(hist, hist).flatten()
        # Colour and structure side by side: one absdiff and one mean per earlier frame.
        look = cv2.merge((hsv, rank))
        n = self._n
        if not n:
            self._look = [look] * len(NEAR_LAGS)
            self._hists = [hist] * MAX_LAG
        row = np.zeros(len(CURVES), dtype=np.float32)
        if n:
            size = len(NEAR_LAGS)
            for j, k in enumerate(NEAR_LAGS):
                m = cv2.mean(cv2.absdiff(look, self._look[(n - min(k, n)) % size]))
                colour = (m[0] + m[1] + m[2]) / 3.0
                # ~1 across a typical cut: colour (0..255) / 30, rank distance (0..255) / 60.
                row[_D.start + j] = 0.5 * colour / 30.0 + 0.5 * m[3] / 60.0
                if k == 1:
                    row[_CONTENT] = colour
                    row[_HUE] = m[0]
                    row[_RANK] = m[3] / 255.0
            prev = self._hists[(n - 1) % MAX_LAG]
            row[_HIST] = 1.0 - cv2.compareHist(prev, hist, cv2.HISTCMP_CORREL)
            for j, k in enumerate(HIST_LAGS):
                old = self._hists[(n - min(k, n)) % MAX_LAG]
                row[_H.start + j] = 1.0 - cv2.compareHist(old, hist, cv2.HISTCMP_CORREL)
        # Luma percentiles from the histogram (L2-normalised: its cumsum is still monotone).
        cum = hist.cumsum()
        bins = np.searchsorted(cum, cum[-1] * _QUANTILE_LEVELS)
        row[_QUANTILES] = (bins + 0.5) * (256 / _HIST_BINS)
        self._look[n % len(NEAR_LAGS)] = look
        self._hists[n % MAX_LAG] = hist
        self._n = n + 1
        return row
