"""A longer kill -9 campaign than the test suite's: as many runs per operation as asked.

    .venv/bin/python bench/fault_campaign.py [--runs 50] [--seed 1234] [--op split ...]
                                             [--size 64x36] [--keep DIR] [--json] [--all]

The same campaigns as tests/core/test_fault_injection.py (tests/core/fault_campaigns.py):
each operation runs as ``python -m workstation.cli ...``, is SIGKILLed at a random moment
inside the measured duration of an uninterrupted run, checked, re-run and compared.  Prints
one summary line per operation and every problem found, by kind (crash, rerun, temps, stale,
bytes; see tests/core/fault_tools.py); exit code 1 when a ``crash`` or ``rerun`` problem was
found.  Different seeds and sizes (``--size 320x180``: longer writes, more kills land in one)
find different moments; the seed and the kill delay are in every problem's line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fault_campaigns import CAMPAIGNS, conduct, make_world
from fault_tools import KINDS, SEED


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=50, help="trials per operation")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--op", action="append", choices=list(CAMPAIGNS), help="repeatable")
    ap.add_argument("--size", default="64x36", help="WxH of the generated videos")
    ap.add_argument("--keep", type=Path, help="build the world here and keep it")
    ap.add_argument("--json", action="store_true", help="one JSON line per operation too")
    ap.add_argument("--all", action="store_true", help="every problem (default: 5 of each kind)")
    args = ap.parse_args()
    width, height = (int(x) for x in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="ws-faults-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        world = make_world(root, width=width, height=height)
        bad = False
        for op in args.op or list(CAMPAIGNS):
            c = conduct(op, world, args.runs, args.seed)
            print(c.summary(), flush=True)
            for kind in KINDS:
                lines = c.problems[kind]
                for line in lines if args.all else lines[:5]:
                    print(f"  [{kind}] {line}")
                if len(lines) > 5 and not args.all:
                    print(f"  [{kind}] ... {len(lines) - 5} more (--all shows them)")
            bad |= bool(c.problems["crash"] or c.problems["rerun"])
            if args.json:
                record = {
                    "op": op,
                    "runs": c.runs,
                    "seed": c.seed,
                    "killed": c.killed,
                    "finished_first": c.finished,
                    "left_temps": c.left_temps,
                    "seconds": round(c.seconds, 1),
                    "problems": {k: len(v) for k, v in c.problems.items()},
                }
                print(json.dumps(record), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
