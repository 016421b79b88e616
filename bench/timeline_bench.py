"""Cut editor benchmark: timeline paint cost and edit latency on a two-hour film.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/timeline_bench.py [--cuts 3000] [--width 1400]

A fake 2-hour video (172,800 frames at 24 fps, no file needed) with ``--cuts`` detected cuts,
a third of the segments rejected, every seventh cut uncertain and a per-frame score curve.
Reports medians of: a full timeline paint zoomed out and zoomed in, a playhead-step repaint,
and each undoable edit (add, move, nudge, undo, redo) including the timeline refresh, plus a
full reload and a sidecar render for comparison.  Times are wall clock on whatever the machine
is doing; run it twice and look at the load average it prints.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def median_ms(fn, n: int = 15) -> float:
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cuts", type=int, default=3000)
    ap.add_argument("--width", type=int, default=1400)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtGui import QImage, QPainter, QRegion, QUndoStack
    from PySide6.QtWidgets import QApplication

    from workstation.core.cutfiles import render_sidecar
    from workstation.core.media import FrameIndex, VideoInfo
    from workstation.core.store import Cut, Project
    from workstation.ui.cut.commands import AddCut, MoveCut, NudgeCut
    from workstation.ui.cut.timeline.widget import Timeline

    app = QApplication.instance() or QApplication([])
    frames = 2 * 3600 * 24
    tmp = Path(tempfile.mkdtemp(prefix="timeline-bench-"))
    try:
        project = Project.create(tmp / "proj")
        fake = tmp / "film.mp4"
        fake.write_bytes(b"\0")
        tb = Fraction(1, 12288)
        info = VideoInfo(
            str(fake),
            1,
            "bench-film",
            Fraction(24),
            frames,
            frames / 24,
            1920,
            1080,
            0,
            False,
            "h264",
            "yuv420p",
            tb,
            False,
            tuple(range(0, frames, 250)),
            FrameIndex(tuple(range(0, frames * 512, 512)), tb),
        )
        vid = project.add_video(info)
        rng = np.random.default_rng(0)
        cut_frames = np.unique(rng.integers(1, frames, args.cuts))
        project.replace_auto_cuts(
            vid,
            [
                Cut(int(f), "auto", "bench", 0.5, uncertain=i % 7 == 0)
                for i, f in enumerate(cut_frames)
            ],
        )
        for i, f in enumerate(cut_frames):
            if i % 3 == 0:
                project.set_segment_keep(vid, int(f), False)
        scores = rng.uniform(0, 0.1, frames).astype(np.float32)
        scores[cut_frames] = 0.8

        tl = Timeline()
        tl.resize(args.width, tl.minimumHeight())
        tl.set_video(frames, Fraction(24))
        tl.set_cuts(project.cuts(vid), project.segments(vid))
        tl.set_scores(scores, 0.3)
        img = QImage(tl.size(), QImage.Format.Format_ARGB32_Premultiplied)

        def render(region: QRegion) -> None:
            painter = QPainter(img)
            tl.render(painter, region.boundingRect().topLeft(), region)
            painter.end()

        results: dict[str, float] = {}
        full = QRegion(tl.rect())
        tl.set_playhead(frames // 2, follow=False)
        results["paint, whole film in view"] = median_ms(lambda i: render(full))
        results["paint, playhead step (2 strips)"] = median_ms(
            lambda i: render(QRegion(tl._playhead_rect(tl.playhead)))
        )
        tl.zoom_by(args.width / 24 / tl.ppf, args.width / 2)  # one second across
        results["paint, zoomed in (1 s across)"] = median_ms(lambda i: render(full))

        class Target:  # what the Cut view does after each command, minus the player
            def __init__(self) -> None:
                self.project = project

            def cuts_edited(self, video_id, select, frames_):
                flags = {f: project.segment_keep(video_id, f) for f in frames_}
                tl.patch_cuts(frames_, project.cuts_at(video_id, frames_), flags)

            def edit_failed(self, message):
                raise RuntimeError(message)

        target, stack = Target(), QUndoStack()
        taken = set(int(f) for f in cut_frames)
        free = [f for f in range(11, frames, 2011) if not {f - 3, f, f + 3} & taken]
        free = [f for f in free if all(g not in taken for g in range(f - 3, f + 4))][:15]
        results["edit: add cut"] = median_ms(lambda i: stack.push(AddCut(target, vid, free[i])))
        results["edit: move cut"] = median_ms(
            lambda i: stack.push(MoveCut(target, vid, free[i], free[i] + 2))
        )
        results["edit: nudge cut"] = median_ms(
            lambda i: stack.push(NudgeCut(target, vid, free[i] + 2, free[i] + 3))
        )
        results["undo"] = median_ms(lambda i: stack.undo())
        results["redo"] = median_ms(lambda i: stack.redo())
        results["full reload (for comparison)"] = median_ms(
            lambda i: tl.set_cuts(project.cuts(vid), project.segments(vid)), 5
        )
        video = project.video(vid)
        rejected = {s.start for s in project.segments(vid) if not s.keep}
        index = project.frame_index(vid)
        results["sidecar render (writer thread)"] = median_ms(
            lambda i: render_sidecar(video, project.cuts(vid), rejected, index), 5
        )
        project.close()
        del app
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"2-hour film, {len(cut_frames)} cuts, timeline {args.width} px, "
        f"{os.cpu_count()} CPUs, load average {load:.1f}"
    )
    for name, ms in results.items():
        print(f"  {name:<36} {ms:8.1f} ms")


if __name__ == "__main__":
    main()
