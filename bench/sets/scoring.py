"""Scoring a detector's output against a labelled set (bench/detect_sets.py).

Labels of every set share one form: ``frames``, ``events`` (``kind`` cut | fade | dissolve,
``frame``, ``span`` ``[a, b]``, optionally ``optional``: an opening fade-in, which a cut may
take without counting either way) and ``traps`` (``kind``, ``span``).  A found cut matches a hard
cut at its frame (``tol`` 0: frame-exact; 1: within +-1) and a fade or dissolve anywhere in its
span; each event takes one cut, greedily, in frame order (a cut off by two frames is a miss and
a false cut).  A false cut inside a trap's span (or one frame after it) counts against that
trap.  A transition counts as *found as a span* when a transition the detector reported
(``span`` not a single frame) overlaps the event's span.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TRANSITIONS = ("fade", "dissolve")


@dataclass
class Tally:
    """One method on one set (sums over its files)."""

    tp: Counter[int] = field(default_factory=Counter)  # per tolerance 0 / 1
    fp: Counter[int] = field(default_factory=Counter)
    fn: Counter[int] = field(default_factory=Counter)
    found_kind: Counter[tuple[int, str]] = field(default_factory=Counter)  # (tol, kind)
    total_kind: Counter[str] = field(default_factory=Counter)
    trap_false: Counter[str] = field(default_factory=Counter)  # at tol 1
    trap_total: Counter[str] = field(default_factory=Counter)
    spans_found: int = 0
    frames: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    rss_kb: int = 0
    misses: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)

    def prf(self, tol: int) -> tuple[float, float, float]:
        tp, fp, fn = self.tp[tol], self.fp[tol], self.fn[tol]
        p = tp / max(1, tp + fp)
        r = tp / max(1, tp + fn)
        return p, r, 2 * p * r / max(1e-9, p + r)


def _hits(f: int, ev: dict[str, Any], tol: int) -> bool:
    if ev["kind"] == "cut":
        return abs(f - ev["frame"]) <= tol
    a, b = ev["span"]
    return bool(a <= f <= b)


def match(
    found: list[int], events: list[dict[str, Any]], tol: int
) -> tuple[dict[int, int], list[int]]:
    """Greedy one-to-one: {event index: found cut}, and the unmatched cuts."""
    used: dict[int, int] = {}
    false = []
    for f in sorted(set(found)):
        best = None
        for j, ev in enumerate(events):
            if j in used or not _hits(f, ev, tol):
                continue
            if best is None or abs(f - ev["frame"]) < abs(f - events[best]["frame"]):
                best = j
        if best is None:
            false.append(f)
        else:
            used[best] = f
    return used, false


def score(tally: Tally, name: str, labels: dict[str, Any], result: dict[str, Any]) -> None:
    """Add one file's result (``cuts``, ``spans``, ``wall``, ``cpu``, ``rss_kb``) to a tally."""
    events, traps = labels["events"], labels["traps"]
    found: list[int] = result["cuts"]
    for tol in (0, 1):
        used, false = match(found, events, tol)
        tally.tp[tol] += len(used)
        tally.fp[tol] += len(false)
        tally.fn[tol] += len(events) - len(used)
        for j in used:
            tally.found_kind[tol, events[j]["kind"]] += 1
        if tol == 1:
            tally.misses += [
                f"{name}:{ev['frame']}({ev['kind']})"
                for j, ev in enumerate(events)
                if j not in used
            ]
            tally.false += [f"{name}:{f}" for f in false]
            for tr in traps:
                a, b = tr["span"]
                tally.trap_false[tr["kind"]] += sum(a <= f <= b + 1 for f in false)
    for ev in events:
        tally.total_kind[ev["kind"]] += 1
    for tr in traps:
        tally.trap_total[tr["kind"]] += 1
    spans: list[list[int]] = result.get("spans", [])
    for ev in events:
        if ev["kind"] in TRANSITIONS:
            a, b = ev["span"]
            tally.spans_found += any(s0 <= b and a <= s1 for s0, s1 in spans)
    tally.frames += labels["frames"]
    tally.wall += result["wall"]
    tally.cpu += result["cpu"]
    tally.rss_kb = max(tally.rss_kb, result["rss_kb"])


def accuracy_table(tallies: dict[str, Tally], trap_kinds: list[str]) -> str:
    any_t = next(iter(tallies.values()))
    kinds = [k for k in ("cut", "fade", "dissolve") if any_t.total_kind[k]]
    n_tr = sum(any_t.total_kind[k] for k in TRANSITIONS)
    head = ["method", "P (exact)", "R (exact)", "F1 (exact)", "F1 (±1)"]
    head += [
        f"{k}s {'exact / ±1' if k == 'cut' else 'in span'} (of {any_t.total_kind[k]})"
        for k in kinds
    ]
    if n_tr:
        head.append(f"transitions found as spans (of {n_tr})")
    head += [f"false cuts on {k} traps (of {any_t.trap_total[k]})" for k in trap_kinds]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, t in tallies.items():
        p, r, f1 = t.prf(0)
        _, _, f1n = t.prf(1)
        row = [name, f"{p:.3f}", f"{r:.3f}", f"**{f1:.3f}**", f"{f1n:.3f}"]
        for k in kinds:
            if k == "cut":
                row.append(f"{t.found_kind[0, k]} / {t.found_kind[1, k]}")
            else:
                row.append(str(t.found_kind[1, k]))
        if n_tr:
            row.append(str(t.spans_found))
        row += [str(t.trap_false[k]) for k in trap_kinds]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def speed_table(tallies: dict[str, Tally], ref: str) -> str:
    lines = [
        "| method | frames/s (wall) | wall × detect-adaptive (>1: faster) | CPU-s per 1000 frames | peak RSS (MB) |",
        "|---|---|---|---|---|",
    ]
    base = tallies[ref].wall
    for name, t in tallies.items():
        lines.append(
            f"| {name} | {t.frames / max(1e-9, t.wall):.0f} | {base / max(1e-9, t.wall):.2f}× | "
            f"{1000 * t.cpu / max(1, t.frames):.1f} | {t.rss_kb / 1024:.0f} |"
        )
    return "\n".join(lines)
