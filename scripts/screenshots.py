"""Screenshots of the app on the demo project, for the docs (run under Xvfb).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py [--out DIR]

Builds the demo project (generated videos, cuts detected) in a temp folder, opens the real main
window and saves PNGs: the welcome page, the Cut view on a video with a cut selected, and the
jobs and log panels after a job that failed (so its error details show).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wait_for(app, condition, timeout_s: float = 30.0) -> bool:
    from PySide6.QtCore import QEventLoop

    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
    return True


def settle(app, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    wait_for(app, lambda: time.monotonic() > end, seconds + 1)


def save(window, path: Path) -> None:
    if not window.grab().save(str(path)):
        raise OSError(f"{path}: could not write the screenshot")
    print(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--size", default="640x360", help="demo video size")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    width, height = (int(x) for x in args.size.split("x"))

    from workstation.core.demo import make_demo_project
    from workstation.core.progress import drive

    tmp = Path(tempfile.mkdtemp(prefix="screens-"))
    root = drive(make_demo_project(tmp / "demo", detect=True, width=width, height=height))

    from PySide6.QtCore import Qt

    from workstation.core.settings import AppSettings
    from workstation.ui.app import make_app
    from workstation.ui.main_window import MainWindow

    app = make_app()
    window = MainWindow(AppSettings(recent_projects=[str(root)]), persist=False, interactive=False)
    window.resize(1440, 900)
    window.show()
    settle(app, 1.0)
    save(window, out / "welcome.png")

    window.open_project(root)
    project = window.session.project
    live = next(v for v in project.videos() if v.name == "demo_live.mp4")
    window.video_list.select_video(live.id)
    if not wait_for(app, lambda: window.player is not None and window.player.is_ready):
        print("the player showed no frame", file=sys.stderr)
        return 1
    view = window.cut_view
    cuts = [c.frame for c in project.cuts(live.id)]
    if cuts and hasattr(view, "timeline"):
        pick = cuts[min(2, len(cuts) - 1)]
        view.timeline.select_cut(pick)
        window.player.seek_frame(pick)
        wait_for(app, lambda: window.player.current_frame == pick, 10)
    settle(app, 1.0)
    save(window, out / "cut-view.png")

    # A failing job: the video file is gone, so detection names it and stops.
    broken = next(v for v in project.videos() if v.name == "demo_anime.mp4")
    hidden = broken.path.with_suffix(".moved")
    broken.path.rename(hidden)
    try:
        window.video_list.table.clearSelection()
        window.video_list.select_video(broken.id)
        jobs = window.detect_selected()
        wait_for(app, lambda: all(not j.is_running for j in jobs), 60)
    finally:
        hidden.rename(broken.path)
    window.add_videos([tmp / "demo" / "videos" / "demo_live.mp4"])
    wait_for(app, lambda: not window.jobs.running(), 60)
    settle(app, 0.8)
    window.resizeDocks([window.jobs_dock], [260], Qt.Orientation.Vertical)
    window.jobs_dock.raise_()
    settle(app, 0.5)
    save(window, out / "jobs-panel.png")
    window.log_dock.raise_()
    settle(app, 0.5)
    save(window, out / "log-panel.png")

    # The Clips view: slice the demo, give a few clips tags and a caption, show the grid.
    from workstation.core import review
    from workstation.core.slicing import SliceSettings, split_project
    from workstation.core.store import Project

    with Project(root) as p:
        drive(split_project(p, None, SliceSettings(min_frames=8)))
        clips = p.clips()
        review.add_tags(p, [c.id for c in clips[:6]], ["outdoors", "ball"])
        review.set_auto_tags(
            p,
            clips[0].id,
            [("1girl", 0.91, "general"), ("sky", 0.42, "general"), ("general", 0.88, "rating")],
            model="wd-eva02-large-tagger-v3",
            threshold=0.35,
            aggregation="mean",
        )
        review.set_caption(
            p, [clips[0].id], "Round shapes drift slowly across a pastel background."
        )
        review.mark_reviewed(p, [c.id for c in clips[:3]])
    window.session.clipsChanged.emit()
    window.jobs_dock.hide()
    window.log_dock.hide()
    window.tabs.setCurrentIndex(window.clips_tab)
    clips_view = window.ensure_clips_view()
    shown = []
    clips_view.gridShown.connect(lambda: shown.append(True))
    wait_for(app, lambda: bool(shown), 30)
    settle(app, 1.5)
    save(window, out / "clips-view.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
