"""Clip review at dataset scale: import a 10,000-clip folder, filter, bulk-edit, undo, sidecars.

    .venv/bin/python bench/clips_bench.py [--clips 10000] [--workers 2] [--keep DIR]

Builds a dataset folder the way people keep one (clip files with same-name .txt: half tag lists,
half captions; one tiny generated H.264 clip copied N times, so the numbers measure the
workstation, not the encoder), imports it into a fresh project, then times the operations
the review panel runs.  Prints a Markdown table (for docs/benchmarks.md) and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from workstation.core import cliptext, review
from workstation.core.import_clips import import_clip_folder
from workstation.core.progress import drive
from workstation.core.review import filter_clip_ids
from workstation.core.store import Project
from workstation.core.synth import Sequence, Shot, write_video

WORDS = [
    "dog",
    "cat",
    "beach",
    "street",
    "night",
    "rain",
    "car",
    "dance",
    "run",
    "walk",
    "jump",
    "smile",
    "forest",
    "city",
    "snow",
]
QUERIES = [
    "tag:dog",
    "tag:dog -tag:cat frames>=16",
    "tag:blue_* OR caption:beach",
    '(tag:night OR tag:rain) AND reviewed:no AND -caption:"a person"',
    "tags=0",
    "dance",  # a bare word: tag or caption
]


def make_dataset(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    src = folder.parent / "src.mp4"
    write_video(src, Sequence([Shot("shapes", 16, seed=1)]), width=64, height=36, fps=24)
    for i in range(n):
        shutil.copyfile(src, folder / f"clip_{i:05d}.mp4")
        w = [WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7)]
        if i % 2:
            text = f"{w[0]}, {w[1]}, blue_{w[2]}, 1girl"
        else:
            text = f"A {w[0]} and a {w[1]} near the {w[2]}, filmed at dusk."
        (folder / f"clip_{i:05d}.txt").write_text(text, encoding="utf-8")


CPU: dict[str, float] = {}  # CPU seconds of the last timed() call, by result key


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    """Median wall seconds over ``repeat`` runs and the last result; the median CPU seconds
    (this process, all threads) go to ``CPU["last"]``.  On a shared machine the wall time
    swings with the load; the CPU time shows the work itself."""
    times, cpus, result = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    CPU["last"] = statistics.median(cpus)
    return statistics.median(times), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", help="build in this folder and keep it (default: a temp folder)")
    args = ap.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="clips-bench-"))
    results: dict[str, float] = {}
    cpu: dict[str, float] = {}

    class Results(dict):
        """Remembers the CPU time of the timing just taken with each value."""

        def __setitem__(self, key, value):
            seconds = CPU.get("last", float("nan"))
            cpu[key] = 1000 * seconds if "(ms)" in key else seconds  # same unit as the key
            super().__setitem__(key, value)

    results = Results()
    try:
        t, _ = timed(lambda: make_dataset(base / "dataset", args.clips))
        print(f"dataset of {args.clips} clips + .txt built in {t:.1f} s", file=sys.stderr)
        project = Project.create(base / "project")
        cliptext.update_settings(project, enabled=False)  # time the DB work first

        t, res = timed(
            lambda: drive(import_clip_folder(project, base / "dataset", workers=args.workers))
        )
        assert len(res.added) == args.clips and not res.errors, res.errors[:3]
        results["import (s)"] = t
        results["import per clip (ms)"] = 1000 * t / args.clips
        cpu["import per clip (ms)"] = 1000 * CPU["last"] / args.clips

        for q in QUERIES:
            filter_clip_ids(project, q)  # warm
            t, ids = timed(lambda q=q: filter_clip_ids(project, q), repeat=5)
            results[f"query `{q}` (ms)"] = 1000 * t
            print(f"{q!r}: {len(ids)} clips", file=sys.stderr)

        ids = [c.id for c in project.clips()]
        t, edit = timed(lambda: review.add_tags(project, ids, "bench_tag"))
        results[f"add a tag to {len(ids)} clips (s)"] = t
        results["  diff size (rows)"] = len(edit)
        cpu.pop("  diff size (rows)")
        t, _ = timed(lambda: edit.undo(project))
        results["  undo it (s)"] = t
        t, _ = timed(lambda: edit.redo(project))
        results["  redo it (s)"] = t
        t, _ = timed(lambda: review.rename_tag(project, "dog", "doggo"))
        results["rename a tag project-wide (s)"] = t
        t, _ = timed(lambda: review.tag_counts(project), repeat=5)
        results["tag counts, all-tags panel (ms)"] = 1000 * t
        t, _ = timed(lambda: review.complete_tags(project, "b"), repeat=5)
        results["autocomplete 'b' (ms)"] = 1000 * t
        sample = ids[: min(50, len(ids))]
        t, _ = timed(lambda: review.add_tags(project, sample[:1], f"one_{time.time()}"), repeat=9)
        results["add a tag to 1 clip (ms)"] = 1000 * t
        t, _ = timed(lambda: review.set_caption(project, sample[:1], f"{time.time()}"), repeat=9)
        results["set 1 caption (ms)"] = 1000 * t

        cliptext.update_settings(project, enabled=True, trigger="sks")
        t, n = timed(lambda: drive(cliptext.rewrite_all(project)))
        results[f"rewrite all .txt ({n} changed) (s)"] = t
        t, n = timed(lambda: drive(cliptext.rewrite_all(project)))
        results["rewrite all .txt again, unchanged (s)"] = t
        t, _ = timed(lambda: review.add_tags(project, ids, "with_sidecars"))
        results[f"add a tag to {len(ids)} clips + .txt rewrite (s)"] = t
        project.close()
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    load = os.getloadavg()[0]
    print(f"\n| {args.clips} clips, {os.cpu_count()} cores, load {load:.1f} | wall | CPU |")
    print("|---|---|---|")
    for k, v in results.items():
        if isinstance(v, float):
            print(f"| {k} | {v:.3g} | {cpu.get(k, float('nan')):.3g} |")
        else:
            print(f"| {k} | {v} | |")
    print(json.dumps({"clips": args.clips, "wall": dict(results), "cpu": cpu}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
