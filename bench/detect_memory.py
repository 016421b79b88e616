"""Peak memory of ``workstation detect`` (the default detector) against video length, at 1080p.

    PYTHONPATH=. .venv/bin/python bench/detect_memory.py [--minutes 5 10 20] [--detector D]

Issue 13's target: under 1.5 GB peak on a 2-hour 1080p file.  A 2-hour file (180,000 frames)
takes too long to make and detect on a 2-core machine, so this measures several lengths and
reports the slope: memory that does not grow with length stays under the target at any length.

Each file is 1920x1080, 25 fps, H.264 (libx264 ultrafast, a keyframe every 250 frames): one
still picture per minute, each a different pattern, joined by hard cuts, with two seconds of
moving picture after each cut (so the network runs on moving frames and cuts, and the gate
skips the still rest: encoding and detecting stay cheap).  Files go to ``bench/out/memory``.

Each length runs the real command in a fresh project (``workstation new``, ``add``,
``detect --json``) as a child process; the peak is the largest sum of resident memory (RSS)
of that process and all its descendants, sampled every 0.1 s by psutil (well-kept, and already
installed with the app's dependencies), plus the child's own ``ru_maxrss`` as a check (the
kernel's exact peak of the largest single process).  Prints a markdown table and the slope.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "memory"
W, H, FPS = 1920, 1080, 25
SHOT_S, MOVING_S = 60, 2


def _picture(k: int) -> np.ndarray:
    """Shot ``k``'s still picture: a coloured gradient with bars (cheap, distinct per shot)."""
    rng = np.random.default_rng(k)
    base = rng.integers(30, 220, 3)
    x = np.linspace(0, 1, W, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    img = base * (0.6 + 0.4 * x) * (0.7 + 0.3 * y)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, W - 300)), int(rng.integers(0, H - 200))
        img[y0 : y0 + 200, x0 : x0 + 300] = rng.integers(0, 255, 3)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_file(minutes: int) -> Path:
    """The test file of ``minutes`` length (made once; reused)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"still_cuts_1080p_{minutes}min.mp4"
    if path.exists():
        return path
    tmp = path.with_suffix(".part.mp4")
    print("writing", path.name, file=sys.stderr)
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30", "g": "250", "sc_threshold": "0"}
        n = 0
        for k in range(minutes * 60 // SHOT_S):
            still = av.VideoFrame.from_ndarray(_picture(k), format="rgb24").reformat(
                format="yuv420p"
            )
            picture = still.to_ndarray()
            for i in range(SHOT_S * FPS):
                if i < MOVING_S * FPS:  # the picture slides: moving frames the gate keeps
                    frame = av.VideoFrame.from_ndarray(
                        np.roll(picture, 8 * i, axis=1), format="yuv420p"
                    )
                else:
                    frame = still
                frame.pts = n
                n += 1
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    os.replace(tmp, path)
    return path


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # (a child that just ended)
            total += p.memory_info().rss
    return total


def measure(path: Path, detector: str) -> dict[str, float]:
    """Peak RSS (whole process tree) and wall time of ``workstation detect`` on ``path``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    cli = [sys.executable, "-m", "workstation", "-q"]
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "p"
        subprocess.run([*cli, "new", str(project)], env=env, check=True, capture_output=True)
        subprocess.run(
            [*cli, "add", str(project), str(path)], env=env, check=True, capture_output=True
        )
        cmd = [*cli, "detect", str(project), "--detector", detector, "--json"]
        start = time.perf_counter()
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc = psutil.Process(child.pid)
        peak = 0
        while child.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, _tree_rss(proc))
            time.sleep(0.1)
        out, err = child.communicate()
        wall = time.perf_counter() - start
        if child.returncode != 0:
            raise SystemExit(f"detect failed on {path}: {err.decode()[-2000:]}")
    lines = [json.loads(x) for x in out.decode().splitlines() if x.startswith("{")]
    return {"peak_mb": peak / 2**20, "wall": wall, "reports": len(lines)}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--minutes", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument("--detector", default="transnetv2")
    args = ap.parse_args()
    rows = []
    for minutes in args.minutes:
        path = make_file(minutes)
        r = measure(path, args.detector)
        rows.append((minutes, r))
        print(minutes, r, file=sys.stderr)
    print(f"`workstation detect --detector {args.detector}`, 1920x1080 25 fps H.264:\n")
    print("| length | frames | peak RSS, process tree (MB) | wall s |")
    print("|---|---|---|---|")
    for minutes, r in rows:
        print(f"| {minutes} min | {minutes * 60 * FPS} | {r['peak_mb']:.0f} | {r['wall']:.0f} |")
    if len(rows) > 1:
        xs = np.array([m for m, _ in rows], np.float64)
        ys = np.array([r["peak_mb"] for _, r in rows], np.float64)
        slope = float(np.polyfit(xs, ys, 1)[0])
        at_2h = float(np.polyval(np.polyfit(xs, ys, 1), 120))
        print(
            f"\nslope {slope:.2f} MB per minute of video; straight line at 2 hours: {at_2h:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
