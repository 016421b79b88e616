"""Cut detection throughput on a 720p video: ours vs PySceneDetect detect-adaptive defaults.

    .venv/bin/python bench/detect_hd_bench.py [--size 1280x720] [--repeats 2] [--loops 1]

The labelled set (bench/detect_bench.py) uses small frames, where per-frame Python work
dominates; real footage is 720p or larger, where decoding dominates.  This runs the methods
interleaved on the demo_live sequence rendered at 720p (``--loops N``: N times over, a longer
video), the best of N runs each, wall and CPU.  "ours" splits its pass over the cores
(workstation.core.detect.segments) when the video is long enough; "one process" does not.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import scenedetect
from cpu import cpu_seconds  # this folder's helper
from scenedetect.detectors import AdaptiveDetector

from workstation.core import synth
from workstation.core.detect.stage import detect_stage
from workstation.core.progress import drive


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--loops", type=int, default=1, help="the sequence this many times")
    args = parser.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    path = Path(tempfile.mkdtemp()) / "live_hd.mp4"
    seq = synth.demo_sequences()["demo_live.mp4"]
    joins = [seq.transition(i) for i in range(len(seq.shots))]
    seq = synth.Sequence(seq.shots * args.loops, joins * args.loops)
    truth = synth.write_video(path, seq, width=w, height=h, fps=24)
    methods = {
        "ours (ensemble, PyAV)": lambda: drive(detect_stage(path)),
        "ours, one process": lambda: drive(detect_stage(path, workers=1)),
        "detect-adaptive (OpenCV backend)": lambda: scenedetect.detect(
            str(path), AdaptiveDetector(), backend="opencv"
        ),
        "detect-adaptive (PyAV backend)": lambda: scenedetect.detect(
            str(path), AdaptiveDetector(), backend="pyav"
        ),
    }
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeats):
        for name, run in methods.items():
            t, c = time.perf_counter(), cpu_seconds()
            run()
            wall, cpu = time.perf_counter() - t, cpu_seconds() - c
            old = best.get(name, (1e9, 1e9))
            best[name] = (min(old[0], wall), min(old[1], cpu))
    base = best["detect-adaptive (OpenCV backend)"]
    print(f"{truth.frames} frames at {w}x{h}")
    print("| method | frames/s (wall) | frames per CPU-s | × adaptive OpenCV (wall / CPU) |")
    print("|---|---|---|---|")
    for name, (wall, cpu) in best.items():
        print(
            f"| {name} | {truth.frames / wall:.0f} | {truth.frames / cpu:.0f} | "
            f"{base[0] / wall:.2f}× / {base[1] / cpu:.2f}× |"
        )


if __name__ == "__main__":
    main()
