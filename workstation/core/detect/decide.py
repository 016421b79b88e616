"""Turning the per-frame curves of one decode pass into cuts.

Runs after (or during, on what is there so far) the decode pass, on curves only, so a resumed
run that restored its saved curves decides exactly like an uninterrupted one.  The rules:

* hard and jump cuts: the frame's change must stand out from the *local* activity on both
  sides (fast motion raises the bar), in colour + structure, luma ranks and luma histogram;
* flash filter: a frame that differs from its neighbours while the frames around it match
  each other (up to 3 frames long) is a flash, not two cuts;
* fades: luma goes flat (black/white) and comes back, gradually; one cut in the middle;
* dissolves: the frames of a span lie "between" the frame before and the frame after it
  (luma distances add up), spread over the span rather than in one step; one cut in the middle;
  a clear hard cut (well over the line, three or four measures agreeing) beats a dissolve
  found around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from workstation.core.detect.features import HIST_LAGS


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
    # np.percentile's linear interpolation, from a partial sort (much cheaper than a sort).
    pos = q / 100 * (w - 1)
    k = min(int(pos), w - 2) if w > 1 else 0
    frac = pos - k

    def pick(values: np.ndarray) -> np.ndarray:
        if w == 1:
            return values[:, 0].astype(np.float64)
        part = np.partition(values, (k, k + 1), axis=1)
        return part[:, k] * (1 - frac) + part[:, k + 1] * frac

    return pick(win[0:n]), pick(win[w + 1 : w + 1 + n])


def _excess(x: np.ndarray, window: int, floor: float) -> dict[str, np.ndarray]:
    """How far x stands above its typical level around each frame, relative to that level.

    'both' compares with the busier side; 'left'/'right' with one side only (next to another
    cut, the far side of that cut is a different shot and says nothing about this one).
    """
    left, right = _side_quantile(x, window, 75)
    return {
        side: (x - base) / (base + floor)
        for side, base in (("both", np.maximum(left, right)), ("left", left), ("right", right))
    }


def hard_cut_scores(c: dict[str, np.ndarray], window: int = 12) -> dict[str, np.ndarray]:
    """Per-frame hard-cut evidence against both sides, the left or the right side only."""
    curves = {}
    for name in ("d1", "rank", "hist", "hue"):
        x = c[name].astype(np.float64).copy()
        if len(x) > 1:
            x[0] = x[1]
        curves[name] = x
    ed = _excess(curves["d1"], window, 0.3)
    er = _excess(curves["rank"], window, 0.05)
    eh = _excess(curves["hist"], window, 0.05)
    # Hue moves where content changes, far less where a drawing or the light changes.
    e_hue = _excess(curves["hue"], window, 5.0)
    # Exposure steps (lights on/off): every luma percentile moves the same way at once while
    # the luma ranks (the picture's structure) barely change.
    rank = curves["rank"]
    step = exposure_step(c)
    out = {}
    for side in ("both", "left", "right"):
        score = (
            (0.5 * ed[side] + 0.35 * er[side]) / 0.55
            + 0.35 * np.clip(eh[side], 0, 4) / 4
            + 0.4 * np.clip(e_hue[side], 0, 3) / 3
        )
        lights = step & ((rank < 0.15) | ((er[side] < 0.6) & (rank < 0.25)))
        score = np.where(lights, np.minimum(score, 0.5), score)
        score[0] = 0.0
        out[side] = score.astype(np.float32)
    # How many of the four detectors see a clear change: few = they disagree (flag for review).
    votes = (ed["both"] > 0.5).astype(np.int8) + (er["both"] > 0.5) + (eh["both"] > 0.5)
    out["votes"] = (votes + (e_hue["both"] > 0.5)).astype(np.float32)
    return out


def hard_cut_score(c: dict[str, np.ndarray], window: int = 12) -> np.ndarray:
    """Per-frame hard-cut evidence; 1.0 is the recommended threshold."""
    return hard_cut_scores(c, window)["both"]


def exposure_step(c: dict[str, np.ndarray], step: float = 15.0) -> np.ndarray:
    """Frames where the 10th, 50th and 90th luma percentiles all jump the same way."""
    q = np.stack([c["p10"], c["level"], c["p90"]]).astype(np.float64)
    d = np.zeros_like(q)
    d[:, 1:] = np.diff(q, axis=1)
    return np.asarray((d >= step).all(axis=0) | (d <= -step).all(axis=0))


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
        # Both edges of the flash are big changes: into it (frame j-L) and out of it (j).
        edges = np.zeros(n)
        edges[length:] = np.minimum(d1[length:], d1[:-length])
        hit = (peak > 0.5) & (back < np.maximum(ratio * peak, usual)) & (back < 0.65 * peak)
        hit &= edges > 0.25 * peak
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
        inner = x[1:-1]
        dips = ~extreme[1:-1] & (inner < x[:-2]) & (inner <= x[2:])  # local minima
        for m in (np.flatnonzero(dips) + 1).tolist():
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


def find_dissolves(
    c: dict[str, np.ndarray], flashed: np.ndarray, level: float = 0.15
) -> list[Found]:
    """Cross-dissolves: the luma histogram changes over a span (motion leaves it alone) while
    no single step holds most of that change (that would be a hard cut)."""
    h1 = c["hist"].astype(np.float64)
    n = len(h1)
    found: list[Found] = []
    taken = np.zeros(n, dtype=bool)
    for lag in HIST_LAGS:
        if n <= lag + 1:
            continue
        hl = c[f"h{lag}"].astype(np.float64)
        step = np.zeros(n)
        step[lag - 1 :] = sliding_window_view(h1, lag).max(axis=1)  # biggest step in (j-L, j]
        ok = (hl > level) & (step < 0.35 * hl)
        ok[:lag] = False
        ok &= ~flashed
        ok[lag:] &= ~flashed[:-lag]
        for a, b in _runs(ok):
            # The plateau of frames j whose window spans the whole dissolve: centre - L/2.
            mid = (a + b - 1) // 2 - lag // 2
            if mid <= 0 or taken[max(0, mid - lag // 2) : mid + lag // 2 + 1].any():
                continue
            taken[max(0, mid - lag // 2) : mid + lag // 2 + 1] = True
            score = float(hl[a:b].max()) / level
            found.append(
                Found(
                    int(mid),
                    "dissolve",
                    score,
                    int(max(1, a - lag)),
                    int(b - 1),
                    uncertain=score < 1.5,
                )
            )
    return sorted(found, key=lambda f: f.frame)


def decide(
    c: dict[str, np.ndarray],
    threshold: float = 1.0,
    min_shot_frames: int = 2,
    *,
    fades: bool = True,
    dissolves: bool = True,
    flash_filter: bool = True,
    sided: dict[str, np.ndarray] | None = None,
) -> list[Found]:
    """All cuts of a video from its curves (see the module docstring for the rules)."""
    n = len(c["d1"])
    if n < 3:
        return []
    sided = sided or hard_cut_scores(c)
    hard = sided["both"]
    flashed = flash_mask(c) if flash_filter else np.zeros(n, dtype=bool)
    faded = find_fades(c) if fades else []
    dissolved = find_dissolves(c, flashed) if dissolves else []
    # A clear hard cut beats a dissolve around it: fast motion after a cut drifts the histogram
    # as a dissolve does, but no frame of a dissolve stands out from both sides in three of the
    # four measures (a plain cut at frame 20 was reported as a "dissolve" at 25 otherwise).
    votes = sided["votes"]
    clear = [int(i) for i in np.flatnonzero((hard >= 1.3 * threshold) & (votes >= 3) & ~flashed)]
    dissolved = [d for d in dissolved if not any(_within(i, d, 1) for i in clear)]
    transitions: list[Found] = list(faded)
    for d in dissolved:
        if not any(_overlap(d, f, 2) for f in transitions):
            transitions.append(d)
    cand = np.flatnonzero(hard >= threshold)
    cuts: list[Found] = []
    for i in cand[np.argsort(-hard[cand])]:
        i = int(i)
        if flashed[i] or any(_within(i, f, 1) for f in transitions):
            continue
        if any(abs(i - k.frame) < min_shot_frames for k in cuts):
            continue
        # Near the line, or only half of the detectors agree: the editor jumps to these.
        uncertain = bool(hard[i] < 1.3 * threshold or sided["votes"][i] <= 2)
        cuts.append(Found(i, "cut", float(hard[i]), uncertain=uncertain))
    # Very short shots: a cut a few frames after another is judged against its own shot only.
    near = np.flatnonzero((hard >= 0.6 * threshold) & (hard < threshold))
    if len(near) and cuts:
        right_only, left_only = sided["right"], sided["left"]
        for i in near:
            i = int(i)
            before = [k.frame for k in cuts if 0 < i - k.frame <= 12]
            after = [k.frame for k in cuts if 0 < k.frame - i <= 12]
            if before and after or not (before or after):
                continue
            score = float(right_only[i] if before else left_only[i])
            if score < 1.2 * threshold or flashed[i]:
                continue
            if any(_within(i, f, 1) for f in transitions):
                continue
            if any(abs(i - k.frame) < min_shot_frames for k in cuts):
                continue
            cuts.append(Found(i, "cut", score, uncertain=True))
    every = cuts + transitions
    return sorted(every, key=lambda f: f.frame)


def _span(f: Found) -> tuple[int, int]:
    """A transition's first and last frame (fades and dissolves always have both)."""
    assert f.span_start is not None and f.span_end is not None, f
    return f.span_start, f.span_end


def _within(i: int, f: Found, margin: int) -> bool:
    """Whether frame ``i`` is inside transition ``f`` or up to ``margin`` frames off it."""
    start, end = _span(f)
    return start - margin <= i <= end + margin


def _overlap(a: Found, b: Found, margin: int) -> bool:
    (a0, a1), (b0, b1) = _span(a), _span(b)
    return a0 - margin <= b1 and b0 - margin <= a1
