"""Why the default detector made each false cut and missed each event, per event.

    PYTHONPATH=. .venv/bin/python bench/detect_events.py [--set other-360p] [--names a.mp4 ...]

For every video of a labelled set (``bench/detect_sets.py``'s sets and cache), runs the default
detector the way ``workstation scenes`` does (TransNetV2 through onnxruntime, then the
transitions post-pass), matches its cuts to the labels (``sets/scoring.py``, frame-exact) and
prints, for each false cut and each miss: the frame, the trap or event it falls in, the
network's two probabilities (``single``: ends a shot, ``many``: in a transition) on the frames
around it, and the cheap measures (mean luma of each frame, mean absolute grey difference to
the previous frame at 48x27).  It writes a contact sheet per video (``sets/contact_sheet.py``:
the frames around every false cut and miss, the event's frame in red) under
``bench/out/events/SET``, to look at.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from detect_sets import load_set  # noqa: E402 (this folder's)
from sets import contact_sheet, scoring  # noqa: E402

from workstation.core.detect import learned  # noqa: E402
from workstation.core.detect.transitions import refine_result  # noqa: E402
from workstation.core.media import probe  # noqa: E402
from workstation.core.progress import drive  # noqa: E402

OUT = ROOT / "bench" / "out" / "events"


def _where(frame: int, labels: dict[str, Any]) -> str:
    """The trap or event ``frame`` falls in (or one frame after), in words."""
    for t in labels.get("traps", []):
        a, b = t["span"]
        if a <= frame <= b + 1:
            return f"in {t['kind']} trap {a}-{b}"
    for e in labels["events"]:
        a, b = e["span"]
        if a - 3 <= frame <= b + 3:
            return f"near {e['kind']} {e['frame']} (span {a}-{b})"
    return "in no trap or event"


def _row(scores: dict[str, np.ndarray], diff: np.ndarray, frame: int, reach: int = 3) -> str:
    lo, hi = max(0, frame - reach - 1), min(len(diff), frame + reach)
    cells = []
    for f in range(lo, hi):
        cells.append(
            f"{f}: s{scores['single'][f]:.2f} m{scores['many'][f]:.2f} "
            f"y{scores['luma_mean'][f]:.0f} d{diff[f]:.0f}"
        )
    return "   " + " | ".join(cells)


def analyse(path: Path, labels: dict[str, Any], out: Path) -> dict[str, list[int]]:
    info = drive(probe(path))
    raw = drive(learned.learned_stage(path, index=info.index))
    result = drive(refine_result(raw, path, info.fps, info.index))
    found = [c.frame for c in result.cuts]
    used, false = scoring.match(found, labels["events"], 0)
    misses = [e for i, e in enumerate(labels["events"]) if i not in used]
    with learned.NetReader(path, index=info.index) as reader:
        small = np.stack([f for _, f in reader]).astype(np.float32) @ np.array(
            [0.299, 0.587, 0.114], np.float32
        )
    diff = np.concatenate([[0.0], np.abs(np.diff(small, axis=0)).mean(axis=(1, 2))])
    s = raw.scores
    print(f"{path.name}: {len(found)} cuts, {len(false)} false, {len(misses)} missed")
    for f in false:
        print(f"  FALSE cut at {f} ({_where(f, labels)})")
        print(_row(s, diff, f))
    for e in misses:
        print(f"  MISSED {e['kind']} at {e['frame']} (span {e['span'][0]}-{e['span'][1]})")
        print(_row(s, diff, e["frame"]))
    centers = sorted({*false, *(e["frame"] for e in misses)})
    if centers:
        out.mkdir(parents=True, exist_ok=True)
        contact_sheet.sheet(path, centers, out / f"{path.stem}.png", before=4, after=4, width=120)
    return {"false": false, "missed": [e["frame"] for e in misses]}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--set", default="other-360p")
    ap.add_argument("--names", nargs="*")
    ap.add_argument("--cache", type=Path, default=ROOT / "bench" / "out" / "sets")
    args = ap.parse_args()
    summary = {}
    for path, labels in load_set(args.set, args.cache):
        if args.names and path.name not in args.names:
            continue
        summary[path.name] = analyse(path, labels, OUT / args.set)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
