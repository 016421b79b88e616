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
    changes (flashes, lights coming on, fades) and sees only what moved or changed.

    At analysis size per-call overhead, not pixels, is what costs: the last ``NEAR_LAGS``
    frames sit in one ring image, so the distances to all of them are one ``absdiff`` and one
    ``reduce`` (exact integer sums per frame and channel) instead of two calls per lag.
    Batching several new frames into one call was measured too: it costs more, not less.
    """

    def __init__(self) -> None:
        self._n = 0
        self._ring: np.ndarray | None = None  # (NEAR_LAGS, h*w, 4): slot n % NEAR_LAGS = frame n
        self._now: np.ndarray | None = None  # the current frame, once per slot
        self._hists: list[np.ndarray] = []  # MAX_LAG slots

    def push(self, bgr: np.ndarray) -> np.ndarray:
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        # Rank of each pixel's luma: unchanged by any monotone change of brightness.
        rank = cv2.equalizeHist(gray)
        hist = cv2.calcHist([gray], [0], None, [_HIST_BINS], [0, 256])
        hist = cv2.normalize(hist, hist).ravel()
        # Colour and structure side by side, as one row of h*w four-channel pixels.
        look = cv2.merge((hsv, rank)).reshape(1, -1, 4)
        n = self._n
        slots = len(NEAR_LAGS)
        if not n:
            self._ring = np.repeat(look, slots, axis=0)  # earlier than frame 0 means frame 0
            self._now = np.empty_like(self._ring)
            self._hists = [hist] * MAX_LAG
        ring, now = self._ring, self._now
        assert ring is not None and now is not None
        row = np.zeros(len(CURVES), dtype=np.float32)
        if n:
            now[:] = look
            # Per slot and channel: sum of |this frame - that frame|; the mean is sum / pixels
            # times the reciprocal, as cv2.mean computes it.
            sums = cv2.reduce(cv2.absdiff(now, ring), 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
            means = sums.reshape(slots, 4) * (1.0 / look.shape[1])
            for j, k in enumerate(NEAR_LAGS):
                m = means[(n - k) % slots]
                colour = (m[0] + m[1] + m[2]) / 3.0
                # ~1 across a typical cut: colour (0..255) / 30, rank distance (0..255) / 60.
                row[_D.start + j] = 0.5 * colour / 30.0 + 0.5 * m[3] / 60.0
                if k == 1:
                    row[_CONTENT] = colour
                    row[_HUE] = m[0]
                    row[_RANK] = m[3] / 255.0
            hists = self._hists
            prev = hists[(n - 1) % MAX_LAG]
            row[_HIST] = 1.0 - cv2.compareHist(prev, hist, cv2.HISTCMP_CORREL)
            for j, k in enumerate(HIST_LAGS):
                old = hists[(n - min(k, n)) % MAX_LAG]
                row[_H.start + j] = 1.0 - cv2.compareHist(old, hist, cv2.HISTCMP_CORREL)
        # Luma percentiles from the histogram (L2-normalised: its cumsum is still monotone).
        cum = hist.cumsum()
        row[_QUANTILES] = (cum.searchsorted(cum[-1] * _QUANTILE_LEVELS) + 0.5) * (256 / _HIST_BINS)
        ring[n % slots] = look[0]
        self._hists[n % MAX_LAG] = hist
        self._n = n + 1
        return row
