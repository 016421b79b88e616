"""The Clips view at dataset scale: grid-shown time, scroll stalls and memory with 10,000 clips.

    xvfb-run -a .venv/bin/python bench/clip_grid_bench.py [--clips 10000] [--player] [--keep DIR]

Builds a project whose clip rows (``Project.upsert_clip``) point at hard links of a few tiny
generated clips (every path is its own clip, so every thumbnail is decoded once), with tags on
most clips and auto tags on some, then measures in a real ``ClipsView``:

* grid shown: from creating the view to the first paint of the grid (placeholders), and to
  ``gridShown`` (the covers on screen decoded; cold = empty thumbnail cache, warm = second open
  reading the disk cache);
* scrolling: the grid is scrolled top to bottom a third of a page every 16 ms while thumbnails
  load in the background; a 5 ms heartbeat timer records the longest gap in the event loop (a
  stall a person would see) and the 99th percentile;
* filter and edit latency in the view (query, panel edit with undo push, bulk edit of all clips);
* peak RSS of the process.

Prints a Markdown table (for docs/benchmarks.md) and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

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


def build(base: Path, n: int, sources: int = 8) -> Path:
    """A project with ``n`` clip rows (hard links of ``sources`` tiny clips), tagged."""
    from workstation.core import cliptext, review
    from workstation.core.store import Project
    from workstation.core.synth import Sequence, Shot, write_video

    root = base / "project"
    project = Project.create(root)
    cliptext.update_settings(project, enabled=False)  # the bench measures the view, not files
    clips = root / "clips"
    clips.mkdir(exist_ok=True)
    srcs = []
    for s in range(sources):
        src = base / f"src{s}.mp4"
        write_video(src, Sequence([Shot("shapes", 16, seed=s + 1)]), width=128, height=72, fps=24)
        srcs.append(src)
    rows = []
    with project.transaction():  # one transaction: upsert_clip nests into it
        for i in range(n):
            dst = clips / f"clip_{i:05d}.mp4"
            os.link(srcs[i % sources], dst)
            rows.append(
                project.upsert_clip(
                    dst,
                    video_id=None,
                    start_frame=None,
                    end_frame=None,
                    fps=Fraction(24),
                    frame_count=16,
                    width=128,
                    height=72,
                )
            )
    for k, word in enumerate(WORDS):
        review.add_tags(project, rows[k::3], word)
    review.set_auto_tags_many(
        project,
        [(cid, {"outdoors": 0.8, "blurry": 0.3}) for cid in rows[::5]],
        model="wd14",
        threshold=0.25,
    )
    review.mark_reviewed(project, rows[::4])
    project.close()
    return root


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_view(app, root: Path, player: bool) -> tuple[object, dict]:
    """Create and show a ClipsView; returns it with first-paint and gridShown times (s)."""
    from PySide6.QtCore import QEvent, QObject

    from workstation.ui.clips.view import ClipsView
    from workstation.ui.common.jobs import JobsController
    from workstation.ui.session import ProjectSession

    t: dict[str, float] = {}

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and "paint" not in t:
                t["paint"] = time.perf_counter() - t0
                t["paint_cpu"] = time.thread_time() - c0
            return False

    t0, c0 = time.perf_counter(), time.thread_time()
    session = ProjectSession(root)
    jobs = JobsController(session)
    view = ClipsView(session, jobs, with_player=player)
    t["construct"] = time.perf_counter() - t0
    painter = FirstPaint()
    view.grid.viewport().installEventFilter(painter)
    view.gridShown.connect(lambda: t.setdefault("shown", time.perf_counter() - t0))
    view.resize(1400, 900)
    view.show()
    deadline = time.perf_counter() + 120
    while "shown" not in t and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    view.grid.viewport().removeEventFilter(painter)
    view._bench_keep = (session, jobs, painter)
    return view, t


def scroll(app, view) -> dict[str, float]:
    """Scroll top to bottom a third of a page per 16 ms tick; heartbeat gaps = stalls."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    bar = view.grid.verticalScrollBar()
    bar.setValue(0)
    step = max(1, bar.pageStep() // 3)
    gaps: list[float] = []
    cpu_gaps: list[float] = []  # main-thread CPU inside each gap: our own work, not waiting
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed(), time.thread_time()]

    def beat():
        now, cpu = clock.nsecsElapsed(), time.thread_time()
        gaps.append((now - last[0]) / 1e6)
        cpu_gaps.append((cpu - last[1]) * 1000)
        last[0], last[1] = now, cpu

    def advance():
        bar.setValue(bar.value() + step)

    hb = QTimer(interval=5)
    hb.timeout.connect(beat)
    sc = QTimer(interval=16)
    sc.timeout.connect(advance)
    hb.start()
    sc.start()
    t0 = time.perf_counter()
    while bar.value() < bar.maximum() and time.perf_counter() - t0 < 300:
        app.processEvents()
        time.sleep(0.0005)
    sc.stop()
    hb.stop()
    gaps, cpu_gaps = gaps[1:], cpu_gaps[1:]
    return {
        "scroll duration (s)": time.perf_counter() - t0,
        "scroll ticks": bar.maximum() // step,
        "stall max (ms)": max(gaps),
        "stall p99 (ms)": statistics.quantiles(gaps, n=100)[98],
        "heartbeat median (ms)": statistics.median(gaps),
        "stall max, main-thread CPU in it (ms)": max(cpu_gaps),
        "stall p99, main-thread CPU (ms)": statistics.quantiles(cpu_gaps, n=100)[98],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=10_000)
    ap.add_argument("--player", action="store_true", help="include the mpv preview (needs X)")
    ap.add_argument("--keep", help="build in this folder and keep it (default: a temp folder)")
    args = ap.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="grid-bench-"))
    results: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        root = base / "project"
        if not root.exists():
            root = build(base, args.clips)
        print(
            f"project of {args.clips} clips built in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
        shutil.rmtree(root / "cache", ignore_errors=True)  # cold thumbnail cache

        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(sys.argv)
        import locale

        locale.setlocale(locale.LC_NUMERIC, "C")
        import workstation.ui.clips.view  # noqa: F401 - imported at app start, not timed

        results["RSS before the view (MB)"] = rss_mb()
        view, t = open_view(app, root, args.player)
        results["view constructed (s)"] = t["construct"]
        results["grid first paint, cold (s)"] = t.get("paint", float("nan"))
        results["  main-thread CPU until then (s)"] = t.get("paint_cpu", float("nan"))
        results["gridShown, cold thumbnail cache (s)"] = t.get("shown", float("nan"))
        results.update(scroll(app, view))
        view.loader.wait_idle(60000)
        app.processEvents()

        from workstation.core import review

        def timed(fn):
            t1 = time.perf_counter()
            out = fn()
            app.processEvents()
            return time.perf_counter() - t1, out

        s, _ = timed(lambda: view.set_filter("tag:dog -tag:cat reviewed:no"))
        results[f"filter `tag:dog -tag:cat reviewed:no` → {view.model.rowCount()} (ms)"] = 1000 * s
        s, _ = timed(lambda: view.set_filter(""))
        results["clear the filter (ms)"] = 1000 * s
        view.select_clips([view.model.clip_ids()[0]])
        view._apply_selection()
        s, _ = timed(lambda: view.tag_panel.add_tag("bench_tag"))
        results["add a tag to the current clip, panel + grid refreshed (ms)"] = 1000 * s
        ids = view.model.clip_ids()
        s, _ = timed(
            lambda: view.apply_edit(lambda p: review.add_tags(p, ids, "everywhere"), refilter=True)
        )
        results[f"bulk add a tag to {len(ids)} clips, view refreshed (s)"] = s
        s, _ = timed(view.undo)
        results["  undo it (s)"] = s
        results["RSS peak (MB)"] = rss_mb()
        view.close()

        view2, t2 = open_view(app, root, args.player)
        results["grid first paint, warm (s)"] = t2.get("paint", float("nan"))
        results["  main-thread CPU until then (s) "] = t2.get("paint_cpu", float("nan"))
        results["gridShown, warm thumbnail cache (s)"] = t2.get("shown", float("nan"))
        view2.close()
        results["RSS peak after reopening (MB)"] = rss_mb()
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    load = os.getloadavg()[0]
    print(f"\n| {args.clips} clips, {os.cpu_count()} cores, load {load:.1f} | value |")
    print("|---|---|")
    for k, v in results.items():
        print(f"| {k} | {v:.3g} |" if isinstance(v, float) else f"| {k} | {v} |")
    print(json.dumps({"clips": args.clips, "player": args.player, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
