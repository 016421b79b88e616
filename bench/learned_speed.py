"""The default detector's speed (TransNetV2 through onnxruntime, gated) vs PySceneDetect.

    PYTHONPATH=. .venv/bin/python bench/learned_speed.py [--seconds 30] [--files F ...]
    PYTHONPATH=. .venv/bin/python bench/learned_speed.py --equal DIR [DIR ...]
    PYTHONPATH=. .venv/bin/python bench/learned_speed.py --floor

Speed (default): three files made with the project's generator (``workstation.core.synth``:
shots of every kind joined by cuts, fades and dissolves) at 640x360, 1280x720 and 1920x1080,
plus any ``--files``; each file runs through every method in turn (interleaved, so load from
other work hits all alike), each method in its own process (its peak RSS is its own; the
time covers the stage, model loading included, not Python's start-up).  Methods: the default
detector (``learned.learned_stage``: gated, the network on one thread less than the
cores, beside the decoding thread, which also scales to 48x27), the same ungated, the same
with the network on one thread per core, the same with the scaling in the network's thread
(as before), and PySceneDetect ``detect-adaptive`` with
defaults through ``scenedetect.detect(path, AdaptiveDetector(), backend="opencv")``.  Prints a
markdown table; the gated and ungated cuts are compared on every file.

``--equal``: every video under the folders, gated vs ungated: the cuts (frame, kind, span)
must be equal; prints the windows skipped per folder and the network's largest ungated
probability on the frames the gate skipped.

``--floor``: the smallest hard cut (a blend towards another shot's frame) and the shallowest
fade the network reacts to (a kept frame's probability above 0.3) on frames of the generated
files: the scale :data:`~workstation.core.detect.learned.GATE_MEAN` is set against.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from cpu import cpu_seconds  # noqa: E402 (this folder's helper)

from workstation.core import synth  # noqa: E402
from workstation.core.detect import learned, transnet_onnx  # noqa: E402
from workstation.core.progress import drive  # noqa: E402

OUT = ROOT / "bench" / "out" / "learned_speed"
SIZES = [(640, 360), (1280, 720), (1920, 1080)]
METHODS = {
    "ours": "TransNetV2 gated (default: network on cores - 1 threads)",
    "ungated": "TransNetV2 ungated (same threads)",
    "all-threads": "TransNetV2 gated, network on one thread per core",
    "consumer-scales": "TransNetV2 gated, 48x27 scaling in the network's thread (before)",
    "adaptive": "PySceneDetect detect-adaptive (OpenCV, defaults)",
}


def sequence(seconds: int, fps: int = 24) -> synth.Sequence:
    kinds = ["shapes", "texture", "gradient", "anime", "dark", "fast"]
    joins = [synth.Transition(), synth.Transition("fade_black", 12, hold=6)]
    joins += [synth.Transition(), synth.Transition("dissolve", 16), synth.Transition()]
    rng = np.random.default_rng(13)
    shots, transitions, total, k = [], [], 0, 0
    while total < seconds * fps:
        n = int(rng.integers(40, 160))
        shots.append(synth.Shot(kinds[k % len(kinds)], n, seed=k + 1))
        transitions.append(joins[k % len(joins)])
        total, k = total + n, k + 1
    return synth.Sequence(shots, transitions)


def make_files(seconds: int) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    files = []
    for w, h in SIZES:
        path = OUT / f"synth_{h}p_{seconds}s.mp4"
        if not path.exists():
            print("writing", path.name, file=sys.stderr)
            synth.write_video(path, sequence(seconds), width=w, height=h, fps=Fraction(24))
        files.append(path)
    return files


def _found(result: Any) -> list[list[Any]]:
    return [[c.frame, c.kind, c.span_start, c.span_end] for c in result.cuts]


def worker(method: str, path: Path) -> dict[str, Any]:
    """One method on one file, in this process: its time, CPU, peak RSS and cuts."""
    start, cpu = time.perf_counter(), cpu_seconds()
    if method == "adaptive":
        import scenedetect

        scenes = scenedetect.detect(str(path), scenedetect.AdaptiveDetector(), backend="opencv")
        found: list[Any] = [[s[0].frame_num] for s in scenes if s[0].frame_num > 0]
        skipped = frames = 0
    else:
        if method == "all-threads":  # (the default before: transnet_onnx.session's own)
            learned._session = transnet_onnx.session  # type: ignore[assignment]
        if method == "consumer-scales":
            _scale_in_consumer()
        result = drive(learned.learned_stage(path, gate=method != "ungated"))
        found, skipped, frames = _found(result), learned.skipped(result), result.frames
    return {
        "seconds": time.perf_counter() - start,
        "cpu": cpu_seconds() - cpu,
        "rss_mb": _own_peak_mb(),
        "cuts": found,
        "skipped": skipped,
        "frames": frames,
    }


def _scale_in_consumer() -> None:
    """The reader as it was: decoded frames handed over, scaled in the network's thread."""

    def prepare(self: learned.NetReader, frame: Any) -> Any:
        return frame

    def frames(self: learned.NetReader) -> Any:
        for batch in self._batches():
            for n, frame in batch:
                rgb = self._reformatter.reformat(
                    frame, width=48, height=27, format="rgb24", interpolation="AREA", threads=1
                ).to_ndarray()
                self.pts = frame.pts
                yield n, rgb

    learned.NetReader._prepare = prepare  # type: ignore[method-assign]
    learned.NetReader.__iter__ = frames  # type: ignore[method-assign]


def _own_peak_mb() -> float:
    """This process's peak RSS (VmHWM).  Not ``ru_maxrss``: Linux keeps that across exec, so a
    worker would report the parent's size at fork (which renders the files in memory)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(method: str, path: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", method, str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return row


def speed(files: list[Path], repeats: int) -> None:
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(repeats):
        for path in files:
            for method in METHODS:
                rows.setdefault((path.name, method), []).append(run_worker(method, path))
                print(path.name, method, rows[path.name, method][-1]["seconds"], file=sys.stderr)
    print(
        "| file | frames | method | wall s (best) | frames/s | CPU s | peak RSS MB | "
        "x adaptive (wall) | frames not scored | cuts = ungated |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in files:
        frames = rows[path.name, "ours"][0]["frames"]
        best = {m: min(r["seconds"] for r in rows[path.name, m]) for m in METHODS}
        for method, label in METHODS.items():
            r = rows[path.name, method]
            same = ""
            if method != "adaptive":
                same = "yes" if r[0]["cuts"] == rows[path.name, "ungated"][0]["cuts"] else "NO"
            print(
                f"| {path.name} | {frames} | {label} | {best[method]:.1f} | "
                f"{frames / best[method]:.0f} | {min(x['cpu'] for x in r):.1f} | "
                f"{max(x['rss_mb'] for x in r):.0f} | {best['adaptive'] / best[method]:.2f}x | "
                f"{r[0]['skipped'] if method != 'adaptive' else ''} | {same} |"
            )


def equal(folders: list[Path]) -> int:
    """Gated vs ungated on every video under ``folders``; 1 when any differs."""
    failed = 0
    worst = 0.0
    for folder in folders:
        videos = sorted(p for p in folder.rglob("*") if p.suffix in (".mp4", ".mkv", ".webm"))
        windows = skipped_windows = differ = 0
        for path in videos:
            gated = drive(learned.learned_stage(path))
            ungated = drive(learned.learned_stage(path, gate=False))
            skip = gated.scores["scored"] == 0
            if skip.any():
                worst = max(worst, float(ungated.scores["single"][skip].max()))
                worst = max(worst, float(ungated.scores["many"][skip].max()))
            firsts = range(0, gated.frames, learned.STEP)  # each window's first kept frame
            windows += len(firsts)
            skipped_windows += sum(bool(skip[k]) for k in firsts)
            if _found(gated) != _found(ungated):
                differ += 1
                print(f"DIFFER {path}: {_found(gated)} vs {_found(ungated)}")
        print(
            f"{folder}: {len(videos)} videos, {skipped_windows} of {windows} windows skipped, "
            f"cuts differ on {differ}"
        )
        failed += differ
    print(f"largest ungated probability on a skipped frame: {worst:.4f}")
    return 1 if failed else 0


def floor(files: list[Path]) -> None:
    """The smallest cut and fade the network reacts to, on frames of ``files``."""
    sess = transnet_onnx.session(threads=1)

    def reacts(window: np.ndarray) -> bool:
        w = np.clip(np.round(window), 0, 255).astype(np.uint8)[None]
        single, many = transnet_onnx.predict(sess, w)
        keep = slice(learned.PAD, learned.PAD + learned.STEP)
        return max(float(single[0, keep].max()), float(many[0, keep].max())) > 0.3

    for path in files:
        with learned.NetReader(path) as reader:
            frames = [f.astype(np.float32) for _, f in reader][:400]
        for a, b in ((20, 200), (100, 300), (150, 350)):
            one, other = frames[a], frames[b]
            cut = next(
                (
                    float(np.abs(np.round(x * (other - one))).mean())
                    for x in (0.02, 0.04, 0.06, 0.08, 0.12, 0.16, 0.25, 0.35, 0.5, 1.0)
                    if reacts(np.concatenate([[one] * 50, [one + x * (other - one)] * 50]))
                ),
                None,
            )
            t = np.clip((np.arange(100) - 25) / 50, 0, 1)[:, None, None, None]
            fade = next(
                (
                    float(depth * one.mean())
                    for depth in (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
                    if reacts(one[None] * (1 - depth * t))
                ),
                None,
            )
            print(
                f"{path.name} frames {a}->{b}: smallest cut it marks {cut} mean grey levels; "
                f"shallowest fade over 50 frames {fade} levels (of a mean {one.mean():.0f})"
            )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--worker", nargs=2, metavar=("METHOD", "FILE"), help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--files", type=Path, nargs="*", default=[])
    ap.add_argument("--equal", type=Path, nargs="+")
    ap.add_argument("--floor", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], Path(args.worker[1]))))
        return 0
    if args.equal:
        return equal(args.equal)
    files = make_files(args.seconds)
    if args.floor:
        floor(files[:1] + args.files)
        return 0
    speed(files + args.files, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
