"""GUI responsiveness: how long the event loop is blocked while jobs run.

    xvfb-run -a .venv/bin/python bench/gui_stall_bench.py [--size 640x360] [--write]

Opens the real main window, then runs the work a person starts from it, each as jobs in worker
threads: adding the three demo videos, detecting their cuts while the player plays, slicing one
video.  A 0 ms timer on the GUI thread records every gap between event-loop turns
(:class:`workstation.ui.smoke.StallMeter`); the longest gap is how long a click or a repaint
waited at worst.  ``--write`` replaces the "GUI responsiveness" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def wait_for(app, condition, timeout_s: float) -> bool:
    from PySide6.QtCore import QEventLoop

    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    return True


def measure(app, window, meter, name: str, start, timeout_s: float = 600) -> dict:
    """Start jobs with ``start()`` and measure until all of them finished."""
    meter.start()
    t = time.perf_counter()
    jobs = start()
    jobs = jobs if isinstance(jobs, list) else [jobs] if jobs is not None else []
    ok = wait_for(app, lambda: all(not j.is_running for j in jobs), timeout_s)
    seconds = time.perf_counter() - t
    meter.stop()
    states = sorted({j.state for j in jobs}) or ["-"]
    if not ok or any(j.state != "done" for j in jobs):
        errors = "; ".join(j.error or j.state for j in jobs if j.state != "done")
        print(f"{name}: not all jobs finished: {errors or 'timeout'}", file=sys.stderr)
    return row(meter, name, len(jobs), ",".join(states), seconds)


def row(meter, name: str, jobs: int = 0, state: str = "-", seconds: float = 2.0) -> dict:
    """One result line: the meter's gap statistics for one measured run."""
    return {
        "name": name,
        "jobs": jobs,
        "state": state,
        "seconds": seconds,
        "max": meter.max_gap_ms,
        "p99": meter.percentile_ms(99),
        "p50": meter.percentile_ms(50),
        "ticks": meter.ticks,
        "over50": sum(g > 0.05 for g in meter.gaps),
    }


def run(size: tuple[int, int]) -> list[dict]:
    from workstation.core import synth
    from workstation.core.settings import AppSettings
    from workstation.ui.app import make_app
    from workstation.ui.main_window import MainWindow
    from workstation.ui.smoke import StallMeter

    app = make_app()
    tmp = Path(tempfile.mkdtemp(prefix="gui-stall-"))
    videos = synth.make_demo_videos(tmp / "videos", width=size[0], height=size[1])
    window = MainWindow(AppSettings(), persist=False, interactive=False)
    window.resize(1280, 800)
    window.show()
    window.open_project(tmp / "proj", create=True)
    meter = StallMeter()
    results = []

    def idle():
        deadline = time.monotonic() + 2.0
        wait_for(app, lambda: time.monotonic() > deadline, 5)

    meter.start()
    idle()
    meter.stop()
    results.append(row(meter, "idle window (2 s)"))

    results.append(
        measure(
            app,
            window,
            meter,
            "add 3 videos (probe)",
            lambda: window.menus.add_videos([tmp / "videos"]),
        )
    )
    wait_for(app, lambda: window.player is not None and window.player.is_ready, 30)

    def detect_all(play: bool):
        from workstation.ui.cut.view import detection_stage

        def start():
            jobs = []
            for v in window.session.project.videos():
                jobs.append(
                    window.jobs.run_on_project(
                        f"Detect cuts: {v.name}",
                        lambda p, vid=v.id: detection_stage(p, vid, restart=True),
                        on_done=lambda _r, vid=v.id: window.session.cutsChanged.emit(vid),
                    )
                )
            if play and window.player is not None:
                window.player.play()
            return jobs

        return start

    results.append(measure(app, window, meter, "detect cuts, 3 videos at once", detect_all(False)))
    results.append(measure(app, window, meter, "same, while the player plays", detect_all(True)))
    if window.player is not None:
        window.player.pause()
    meter.start()
    window.player.play()
    idle()
    window.player.pause()
    meter.stop()
    results.append(row(meter, "player playing, no jobs (2 s)"))

    def slice_first():
        window.video_list.select_video(window.session.project.videos()[0].id)
        return window.menus.slice_selected()

    results.append(measure(app, window, meter, "slice 1 video (process pool)", slice_first))
    window.close()
    del videos
    return results


def table(results: list[dict]) -> list[str]:
    rows = [
        "| run | jobs | seconds | longest gap ms | p99 ms | median ms | gaps > 50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r['name']} | {r['jobs']} | {r['seconds']:.1f} | {r['max']:.0f} | "
            f"{r['p99']:.1f} | {r['p50']:.2f} | {r['over50']} of {r['ticks']} |"
        )
    return rows


def write_section(results: list[dict], size: tuple[int, int], load: float) -> None:
    body = "\n".join(
        [
            "## GUI responsiveness",
            "",
            f"`xvfb-run -a .venv/bin/python bench/gui_stall_bench.py --size {size[0]}x{size[1]}` "
            f"on {platform.machine()}, {os.cpu_count()} cores (shared with other work), "
            f"{time.strftime('%Y-%m-%d')}, load average {load:.1f} at the start, Xvfb with "
            "Mesa software GL.",
            "The real main window runs each task as jobs while a 0 ms timer "
            "on the GUI thread records every gap between event-loop turns. The longest gap is "
            "the longest a click or repaint waited.",
            "",
            *table(results),
            "",
            "What the numbers say (profiled with cProfile on the GUI thread):",
            "",
            "- The GUI thread runs no stage code. Detection runs in child processes at nice +10 "
            "(`workstation.core.isolate`); slicing in worker threads/processes. Before that, "
            "three detection threads on 2 cores gave a median gap of 65-100 ms: not the GIL "
            "(a 1 ms switch interval barely helped) but CPU starvation of the GUI thread, which "
            "the lower priority of the children removes.",
            "- The remaining gaps come from repainting. The player is a QOpenGLWidget, so Qt "
            "composes the whole window through OpenGL on every repaint; with Mesa's software "
            "renderer under Xvfb that is tens of ms per repaint on a loaded machine. With a GPU "
            "driver this composition should be far cheaper (not measured here: no GPU display).",
            "- Two fixes came from this bench: the jobs panel no longer uses "
            "`QProgressBar.setValue` (it repaints synchronously, ~50 ms each here) but a "
            "style-drawn bar refreshed at most 5 times a second, and the player renders with "
            "`block_for_target_time=False` (mpv otherwise sleeps in the GUI thread until the "
            "frame is due).",
            "- The longest gaps (200-700 ms, also with an idle window) track the machine's load "
            "average: 2 cores shared by several test and benchmark processes.",
            "",
        ]
    )
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n"
    pattern = re.compile(r"^## GUI responsiveness\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(body, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + body
    DOC.write_text(text)
    print(f"wrote {DOC}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x360", help="demo video size, WxH")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    size = tuple(int(x) for x in args.size.lower().split("x"))
    load = os.getloadavg()[0]
    results = run(size)  # type: ignore[arg-type]
    print("\n".join(table(results)))
    if args.write:
        write_section(results, size, load)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
