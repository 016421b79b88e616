"""Turning the per-frame curves of one decode pass into cuts.

Runs after (or during, on what is there so far) the decode pass, on curves only, so a resumed
run that restored its saved curves decides exactly like an uninterrupted one.  The rules:

* hard and jump cuts: the frame's change must stand out from the *local* activity on both
  sides (fast motion raises the bar), in colour + structure, luma ranks and luma histogram;
* flash filter: a frame that differs from its neighbours while the frames around it match
  each other (up to 3 frames long) is a flash, not two cuts;
* fades: luma goes flat (black/white) and comes back, gradually; one cut in the middle;
* dissolves: the frames of a span lie "between" the frame before and the frame after it
  (luma distances add up), spread over the span rather than in one step; one cut in the middle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from workstation.core.detect.features import LAGS


@dataclass(frozen=True)
class Found:
    frame: int
    kind: str  # cut | fade | dissolve
    score: float  # how far past the threshold (1.0 = on it)
    span_start: int | None = None
    span_end: int | None = None
    uncertain: bool = False
    detector: str = "ensemble"


def _side_quantile(x: np.ndarray, window: int, q: float) -> tuple[np.ndarray, np.ndarray]:
    """q-th percentile of the ``window`` values left and right of each frame (itself excluded)."""
    n = len(x)
    if n == 0:
        return x.copy(), x.copy()
    w = min(window, max(1, n - 1))
    padded = np.pad(x, w, mode="reflect" if n > w else "edge")
    win = sliding_window_view(padded, w)
    left = np.percentile(win[0:n], q, axis=1)
    right = np.percentile(win[w + 1 : w + 1 + n], q, axis=1)
    return left, right


def _excess(x: np.ndarray, window: int, floor: float) -> np.ndarray:
    """How far x stands above the busier side's typical level, relative to that level."""
    left, right = _side_quantile(x, window, 75)
    base = np.maximum(left, right)
    return (x - base) / (base + floor)


def hard_cut_score(c: dict[str, np.ndarray], window: int = 12) -> np.ndarray:
    """Per-frame hard-cut evidence; 1.0 is the recommended threshold."""
    d1 = c["d1"].astype(np.float64).copy()
    rank = c["rank"].astype(np.float64).copy()
    hist = c["hist"].astype(np.float64).copy()
    if len(d1) > 1:
        d1[0], rank[0], hist[0] = d1[1], rank[1], hist[1]
    ed = _excess(d1, window, 0.3)
    er = _excess(rank, window, 0.05)
    eh = np.clip(_excess(hist, window, 0.05), 0, 4) / 4
    score = (0.6 * ed + 0.4 * er) / 0.55 + 0.35 * eh
    score[0] = 0.0
    return score.astype(np.float32)


def flash_mask(c: dict[str, np.ndarray], ratio: float = 0.45) -> np.ndarray:
    """Frames that belong to a flash: frames j-L..j (L = 1..3) when frame j matches frame
    j-L-1 again although the frames between differ from both (its neighbours match each
    other: a flash, not two cuts)."""
    d1 = c["d1"].astype(np.float64)
    n = len(d1)
    mask = np.zeros(n, dtype=bool)
    for length in (1, 2, 3):
        back = c[f"d{length + 1}"].astype(np.float64)  # frame j vs frame j-L-1
        # What that distance usually is here (motion over L+1 frames).
        left, right = _side_quantile(back, 12, 50)
        usual = 1.3 * np.maximum(left, right)
        if n <= length + 1:
            continue
        # peak[j] = largest step among frames j-L..j
        peak = np.zeros(n)
        peak[length:] = sliding_window_view(d1, length + 1).max(axis=1)
        hit = (peak > 0.5) & (back < np.maximum(ratio * peak, usual)) & (back < 0.65 * peak)
        hit[: length + 1] = False
        for j in np.flatnonzero(hit):
            mask[j - length : j + 1] = True
    return mask


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    if not len(mask):
        return []
    m = np.concatenate(([False], mask, [False])).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def _ramp(x: np.ndarray, start: int, step: int, limit: int) -> int:
    """Walk from ``start`` while ``x`` keeps rising; returns where it stops."""
    n = len(x)
    i = start
    while 0 <= i + step < n and abs(i + step - start) <= limit and x[i + step] > x[i] + 2:
        i += step
    return i


def _gradual(x: np.ndarray, a: int, b: int) -> bool:
    """x[a..b] rises over at least 2 steps, none holding more than 60% of the rise."""
    lo, hi = min(a, b), max(a, b)
    if hi - lo < 2:
        return False
    steps = np.abs(np.diff(x[lo : hi + 1]))
    return bool(steps.max() <= 0.6 * steps.sum())


def find_fades(c: dict[str, np.ndarray], max_ramp: int = 40) -> list[Found]:
    """Fades through black or white: the frame goes (nearly) uniformly dark or bright *gradually*
    over at least 2 frames on one side, and comes back.  A flash or a light switched on is a
    step, a dark shot is dark throughout: neither ramps.  One cut in the middle of the dip."""
    found = []
    n = len(c["p90"])
    # Distance from black: the 90th percentile of luma; distance from white: 255 - 10th pct.
    for x in (c["p90"].astype(np.float64), 255.0 - c["p10"].astype(np.float64)):
        extreme = x <= 40
        for a, b in _runs(extreme):
            if a == 0 or b >= n:
                continue  # fade in at the start or out at the end: no cut
            lo = float(x[a:b].min())
            s = _ramp(x, a, -1, max_ramp)
            e = _ramp(x, b - 1, 1, max_ramp)
            rise_in, rise_out = x[s] - lo, x[e] - lo
            gradual = (rise_in >= 40 and _gradual(x, s, a)) or (
                rise_out >= 40 and _gradual(x, b - 1, e)
            )
            if not gradual or min(rise_in, rise_out) < 25:
                continue
            found.append(Found(int((a + b) // 2), "fade", 2.0, int(s), int(e)))
        # Short fades never reach black: a deep, ramped dip of the same curve.
        for m in range(1, n - 1):
            if extreme[m] or not (x[m] < x[m - 1] and x[m] <= x[m + 1]):
                continue
            s = _ramp(x, m, -1, max_ramp)
            e = _ramp(x, m, 1, max_ramp)
            deep = x[m] <= 0.3 * min(x[s], x[e]) and min(x[s], x[e]) > 80
            if deep and m - s >= 3 and e - m >= 3 and _gradual(x, s, m) and _gradual(x, m, e):
                found.append(Found(int(m), "fade", 1.5, int(s), int(e)))
    found.sort(key=lambda f: f.frame)
    merged: list[Found] = []
    for f in found:
        if merged and f.frame <= (merged[-1].span_end or merged[-1].frame):
            continue
        merged.append(f)
    return merged


def find_dissolves(c: dict[str, np.ndarray], hard: np.ndarray) -> list[Found]:
    """Cross-dissolves: frames between A and B in luma distance, spread over the span."""
    n = len(c["g1"])
    g = {k: c[f"g{k}"].astype(np.float64) for k in LAGS}
    d1 = g[1]
    base_l, base_r = _side_quantile(d1, 16, 50)
    best = np.zeros(n)
    half = np.zeros(n, dtype=int)
    for h in (2, 3, 4, 6, 8, 12):
        if 2 * h not in g:
            continue
        far = np.zeros(n)
        a = np.zeros(n)
        b = np.zeros(n)
        idx = np.arange(n)
        ok = (idx - h >= 1) & (idx + h < n)
        ci = idx[ok]
        far[ok] = g[2 * h][ci + h]  # frame c-h vs c+h
        a[ok] = g[h][ci]  # c-h vs c
        b[ok] = g[h][ci + h]  # c vs c+h
        with np.errstate(divide="ignore", invalid="ignore"):
            collinear = (a + b) / np.maximum(far, 1e-6)
        # Largest single step inside the span (a hard cut holds most of `far` in one step).
        steps = sliding_window_view(np.pad(d1, (0, 2 * h)), 2 * h)[:n]
        step_max = np.zeros(n)
        step_max[ok] = steps[ci - h + 1].max(axis=1)
        calm = np.maximum(base_l, base_r)
        # Inside the span every step is bigger than the calm shots' steps around it.
        score = np.where(
            ok & (collinear < 1.12) & (step_max < 0.45 * far) & (far > 15),
            far / (calm * 2 * h + 8.0),
            0.0,
        )
        better = score > best
        best = np.where(better, score, best)
        half = np.where(better, h, half)
    found = []
    cand = np.flatnonzero(best > 1.0)
    taken = np.zeros(n, dtype=bool)
    for i in cand[np.argsort(-best[cand])]:
        h = half[i]
        if taken[max(0, i - h) : i + h + 1].any():
            continue
        taken[max(0, i - h) : i + h + 1] = True
        found.append(Found(int(i), "dissolve", float(best[i]), int(i - h + 1), int(i + h - 1)))
    return sorted(found, key=lambda f: f.frame)


def decide(
    c: dict[str, np.ndarray],
    threshold: float = 1.0,
    min_shot_frames: int = 2,
    *,
    fades: bool = True,
    dissolves: bool = True,
    flash_filter: bool = True,
) -> list[Found]:
    """All cuts of a video from its curves (see the module docstring for the rules)."""
    n = len(c["d1"])
    if n < 3:
        return []
    hard = hard_cut_score(c)
    fades = find_fades(c) if fades else []
    dissolves = find_dissolves(c, hard) if dissolves else []
    transitions: list[Found] = list(fades)
    for d in dissolves:
        if not any(_overlap(d, f, 2) for f in transitions):
            transitions.append(d)
    cand = np.flatnonzero(hard >= threshold)
    flashed = flash_mask(c) if flash_filter else np.zeros(n, dtype=bool)
    cuts: list[Found] = []
    for i in cand[np.argsort(-hard[cand])]:
        i = int(i)
        if flashed[i] or any(f.span_start - 1 <= i <= f.span_end + 1 for f in transitions):
            continue
        if any(abs(i - k.frame) < min_shot_frames for k in cuts):
            continue
        uncertain = bool(hard[i] < 1.3 * threshold)
        cuts.append(Found(i, "cut", float(hard[i]), uncertain=uncertain))
    every = cuts + transitions
    return sorted(every, key=lambda f: f.frame)


def _overlap(a: Found, b: Found, margin: int) -> bool:
    return a.span_start - margin <= b.span_end and b.span_start - margin <= a.span_end
