"""How long until the 10,000-clip grid shows its covers (issue 14 item 7), and where it goes.

    xvfb-run -a .venv/bin/python bench/grid_covers.py [--clips 10000] [--keep DIR] [--profile]

Builds the project of ``bench/clip_grid_bench.py`` (10,000 clip rows over hard links of eight
tiny clips), then opens a real ``ClipsView`` at 1400x900 with an empty thumbnail cache (cold)
and again with the disk cache filled (warm), each in this process, and prints per open: the
first paint of the grid, the first cover requested and delivered, ``gridShown`` (every cover
on screen drawn) and the GUI thread's CPU until then.  ``--profile`` writes the GUI thread's
cProfile of the cold open (top 25 by cumulative time) to stderr.  No timed test: the figure goes
to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clip_grid_bench import build


def open_once(app, root: Path) -> dict[str, float]:
    from PySide6.QtCore import QEvent, QObject

    from workstation.ui.clips.view import ClipsView
    from workstation.ui.common.jobs import JobsController
    from workstation.ui.session import ProjectSession

    t: dict[str, float] = {}

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and "first paint" not in t:
                t["first paint"] = time.perf_counter() - t0
            return False

    t0, c0 = time.perf_counter(), time.thread_time()
    session = ProjectSession(root)
    jobs = JobsController(session)
    view = ClipsView(session, jobs, with_player=False)
    t["constructed"] = time.perf_counter() - t0
    painter = FirstPaint()
    view.grid.viewport().installEventFilter(painter)
    view.loader.thumbReady.connect(
        lambda *_a: t.setdefault("first cover delivered", time.perf_counter() - t0)
    )
    real_request = view.loader.request

    def request(*args, **kwargs):
        t.setdefault("first cover requested", time.perf_counter() - t0)
        return real_request(*args, **kwargs)

    view.loader.request = request
    view.gridShown.connect(lambda: t.setdefault("gridShown", time.perf_counter() - t0))
    view.resize(1400, 900)
    view.show()
    deadline = time.perf_counter() + 120
    while "gridShown" not in t and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.0005)
    t["GUI-thread CPU until gridShown"] = time.thread_time() - c0
    view.grid.viewport().removeEventFilter(painter)
    view.loader.wait_idle(60000)
    view.close()
    jobs.shutdown()
    session.close()
    view.deleteLater()
    app.processEvents()
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=10_000)
    ap.add_argument("--keep", help="build in this folder and keep it (default: a temp folder)")
    ap.add_argument("--profile", action="store_true", help="cProfile the cold open")
    ap.add_argument("--repeat", type=int, default=2, help="warm opens after the cold one")
    args = ap.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="grid-covers-"))
    try:
        root = base / "project"
        if not root.exists():
            root = build(base, args.clips)
        shutil.rmtree(root / "cache", ignore_errors=True)  # cold thumbnail cache

        import locale

        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(sys.argv)
        locale.setlocale(locale.LC_NUMERIC, "C")
        import workstation.ui.clips.view  # noqa: F401 - imported at app start, not timed

        runs = []
        prof = cProfile.Profile() if args.profile else None
        if prof is not None:
            prof.enable()
        runs.append(("cold", open_once(app, root)))
        if prof is not None:
            prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        for _ in range(args.repeat):
            runs.append(("warm", open_once(app, root)))
        keys = list(runs[0][1])
        print("| open | " + " | ".join(keys) + " |")
        print("|---" * (len(keys) + 1) + "|")
        for name, t in runs:
            print(
                f"| {name} | " + " | ".join(f"{t.get(k, float('nan')):.3f} s" for k in keys) + " |"
            )
        print(json.dumps({"clips": args.clips, "runs": runs}))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
