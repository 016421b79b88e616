"""Cut detection benchmark on the project's own labelled set (the ensemble was tuned on it).

For sets nothing was tuned on (another generator, real footage) see bench/detect_sets.py.

    .venv/bin/python bench/detect_bench.py [--folder DIR] [--copies 3] [--write-docs]

Runs, file by file and interleaved (so a busy machine slows every method alike), in ONE run:
our detector (``workstation.core.detect.stage.detect_stage``, probe included), PySceneDetect's
``AdaptiveDetector()`` and ``ContentDetector()`` with default arguments through
``scenedetect.detect`` with its PyAV backend and its OpenCV backend, and a pure PyAV decode of
the same files.  Matching: a hard or jump cut counts only at its exact frame (within +-1 is
reported too); a fade or dissolve counts if the cut lands inside its span.  False cuts on
traps are cuts within a flash/motion (or brightness) trap's span that match no true cut.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpu import cpu_seconds  # noqa: E402 (this folder's helper)

from workstation.core import atomic  # noqa: E402
from workstation.core.detect.stage import detect_stage  # noqa: E402
from workstation.core.labelled import make_labelled_set  # noqa: E402
from workstation.core.progress import drive  # noqa: E402
from workstation.core.synth import Truth  # noqa: E402


@dataclass
class Score:
    tp: int = 0
    tp_exact: int = 0  # hard/jump cuts at the exact frame + transitions inside their span
    fp: int = 0
    fn: int = 0
    hard: int = 0
    hard_exact: int = 0
    hard_near: int = 0
    trap_flash_motion: int = 0
    trap_brightness: int = 0
    frames: int = 0
    seconds: float = 0.0
    cpu: float = 0.0  # CPU time (all threads, children too): steadier than wall time
    misses: list[str] = field(default_factory=list)

    def prf(self, exact: bool = True) -> tuple[float, float, float]:
        tp = self.tp_exact if exact else self.tp
        total_found = self.tp + self.fp  # a cut off by one frame is a miss *and* a false cut
        fp = total_found - tp
        fn = self.tp + self.fn - tp
        p = tp / max(1, tp + fp)
        r = tp / max(1, tp + fn)
        return p, r, 2 * p * r / max(1e-9, p + r)


def match(found: list[int], truth: Truth, score: Score, name: str) -> None:
    """Greedy one-to-one matching of found cuts to true cuts (within +-1 / inside the span)."""
    used: set[int] = set()
    exact_used: set[int] = set()
    for f in sorted(found):
        hit = None
        for j, t in enumerate(truth.cuts):
            if j in used:
                continue
            a, b = t.span
            if (t.kind in ("cut", "jump") and abs(f - t.frame) <= 1) or (
                t.kind not in ("cut", "jump") and a <= f <= b
            ):
                hit = j
                if t.kind not in ("cut", "jump") or f == t.frame:
                    break
        if hit is None:
            score.fp += 1
            kinds = {tr["kind"] for tr in truth.traps if tr["span"][0] <= f <= tr["span"][1] + 1}
            if kinds & {"flash", "motion"}:
                score.trap_flash_motion += 1
            elif "brightness" in kinds:
                score.trap_brightness += 1
            continue
        used.add(hit)
        score.tp += 1
        t = truth.cuts[hit]
        if t.kind in ("cut", "jump"):
            score.hard_near += 1
            if f == t.frame:
                score.hard_exact += 1
                exact_used.add(hit)
        else:
            exact_used.add(hit)
    score.tp_exact += len(exact_used)
    score.hard += sum(t.kind in ("cut", "jump") for t in truth.cuts)
    missed = [t for j, t in enumerate(truth.cuts) if j not in used]
    score.fn += len(missed)
    score.misses += [f"{name}:{t.frame}({t.kind})" for t in missed]


def ours(path: Path) -> list[int]:
    return [c.frame for c in drive(detect_stage(path)).cuts]


def ours_one_process(path: Path) -> list[int]:
    return [c.frame for c in drive(detect_stage(path, workers=1)).cuts]


def scenedetect_run(detector_name: str, backend: str) -> Callable[[Path], list[int]]:
    def run(path: Path) -> list[int]:
        import scenedetect

        detector = getattr(scenedetect, detector_name)()
        scenes = scenedetect.detect(str(path), detector, backend=backend)
        return [s[0].frame_num for s in scenes if s[0].frame_num > 0]

    return run


def decode_only(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return []


def transnet() -> Callable[[Path], list[int]]:
    """TransNetV2 alone, through the registry (the path ``--detector transnetv2`` takes)."""
    from workstation.core.detect import registry

    det = registry.require("transnetv2")

    def run(path: Path) -> list[int]:
        return [c.frame for c in drive(det.stage(path)).cuts]

    return run


METHODS: dict[str, Callable[[Path], list[int]]] = {
    "ours (ensemble, PyAV)": ours,
    "ours, one process (no split)": ours_one_process,
    "PySceneDetect detect-adaptive (PyAV backend)": scenedetect_run("AdaptiveDetector", "pyav"),
    "PySceneDetect detect-adaptive (OpenCV backend)": scenedetect_run("AdaptiveDetector", "opencv"),
    "PySceneDetect detect-content (PyAV backend)": scenedetect_run("ContentDetector", "pyav"),
    "PySceneDetect detect-content (OpenCV backend)": scenedetect_run("ContentDetector", "opencv"),
    "pure PyAV decode (no detection)": decode_only,
}


def table(scores: dict[str, Score], ref: str) -> str:
    lines = [
        "| method | P | R | F1 (exact) | F1 (±1) | hard cuts exact | within ±1 | false cuts on "
        "flash/motion traps | on brightness traps | frames/s (wall) | frames per CPU-s | "
        "× adaptive PyAV (wall / CPU) | × adaptive OpenCV (wall / CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def rates(s: Score) -> tuple[float, float]:
        return s.frames / max(1e-9, s.seconds), s.frames / max(1e-9, s.cpu)

    ref_w, ref_c = rates(scores[ref])
    cv_w, cv_c = rates(scores[ref.replace("PyAV", "OpenCV")])
    for name, s in scores.items():
        fps, cps = rates(s)
        speed = (
            f"{fps:.0f} | {cps:.0f} | {fps / ref_w:.2f}× / {cps / ref_c:.2f}× | "
            f"{fps / cv_w:.2f}× / {cps / cv_c:.2f}× |"
        )
        if name.startswith("pure"):
            lines.append(f"| {name} | | | | | | | | | {speed}")
            continue
        p, r, f1 = s.prf(exact=True)
        _, _, f1_near = s.prf(exact=False)
        lines.append(
            f"| {name} | {p:.3f} | {r:.3f} | {f1:.3f} | {f1_near:.3f} | "
            f"{s.hard_exact}/{s.hard} | {s.hard_near}/{s.hard} | {s.trap_flash_motion} | "
            f"{s.trap_brightness} | {speed}"
        )
    return "\n".join(lines)


def targets(scores: dict[str, Score], ref: str) -> str:
    """The brief's targets, checked on this run."""
    ours = scores["ours (ensemble, PyAV)"]
    _, _, f1 = ours.prf(exact=True)

    def ratio(other: str, cpu: bool) -> float:
        o = scores[other]
        if cpu:
            return (ours.frames / ours.cpu) / (o.frames / o.cpu)
        return (ours.frames / ours.seconds) / (o.frames / o.seconds)

    cv = ref.replace("PyAV", "OpenCV")
    ok = {True: "met", False: "NOT met"}
    return (
        f"Targets: F1 >= 0.95 (exact): {f1:.3f}, {ok[f1 >= 0.95]}. At most 1 false cut on "
        f"flash/motion traps: {ours.trap_flash_motion}, {ok[ours.trap_flash_motion <= 1]}. "
        f">= 1.5x detect-adaptive: PyAV backend {ratio(ref, False):.2f}x wall / "
        f"{ratio(ref, True):.2f}x CPU ({ok[ratio(ref, False) >= 1.5]}); OpenCV backend "
        f"{ratio(cv, False):.2f}x wall / {ratio(cv, True):.2f}x CPU "
        f"({ok[ratio(cv, False) >= 1.5]} on wall time)."
    )


HEADING = "## Cut detection on the generator set (tuned on)"
NOTE = (
    "The ensemble's decision rules were tuned on this set; for figures on sets nothing was "
    "tuned on see the section above (`bench/detect_sets.py`)."
)


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    section = HEADING + "\n\n" + NOTE + "\n\n" + text.strip() + "\n"
    pattern = re.compile(re.escape(HEADING) + r"\n.*?(?=\n## |\Z)", re.S)
    new = (
        pattern.sub(lambda _: section, old)
        if pattern.search(old)
        else old.rstrip() + "\n\n" + section
    )
    atomic.write_text(path, new)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--folder", type=Path, default=ROOT / "bench" / "out" / "labelled")
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument(
        "--write-docs", action="store_true", help="write the table into docs/benchmarks.md"
    )
    ap.add_argument("--neural", action="store_true", help="also TransNetV2 alone (slow on a CPU)")
    args = ap.parse_args()
    if args.neural:
        METHODS["TransNetV2 alone (optional, CPU)"] = transnet()

    t0 = time.perf_counter()
    videos = make_labelled_set(
        args.folder, copies=args.copies, on_video=lambda n: print("writing", n)
    )
    print(f"labelled set: {len(videos)} videos in {args.folder} ({time.perf_counter() - t0:.0f} s)")
    scores = {name: Score() for name in METHODS}
    total_frames = 0
    for path in videos:
        truth = Truth.load(str(path) + ".truth.json")
        total_frames += truth.frames
        for name, run in METHODS.items():
            start, cpu = time.perf_counter(), cpu_seconds()
            found = run(path)
            scores[name].seconds += time.perf_counter() - start
            scores[name].cpu += cpu_seconds() - cpu
            scores[name].frames += truth.frames
            if not name.startswith("pure"):
                match(found, truth, scores[name], path.stem)
        print(f"  {path.name}: {truth.frames} frames, {len(truth.cuts)} cuts")
    ref = "PySceneDetect detect-adaptive (PyAV backend)"
    n_cuts = sum(s for s in [scores[ref].hard])
    transitions = scores[ref].tp + scores[ref].fn - n_cuts
    text = "\n".join(
        [
            f"`.venv/bin/python bench/detect_bench.py --copies {args.copies}` on {dt.date.today()}, "
            f"{platform.machine()}, {os.cpu_count()}-core CPU (shared with other work), no GPU.",
            f"Labelled set (`workstation.core.labelled.make_labelled_set`): {len(videos)} videos, "
            f"{total_frames} frames, {n_cuts} hard/jump cuts and {transitions} fades/dissolves; "
            "23.976/25/30/60 fps, 256x144 to 480x270; flash, brightness and fast-motion traps; "
            "H.264 with one slice per frame (x264 frame threads, like most real footage).",
            "Hard and jump cuts count only at the exact frame for *F1 (exact)*; fades and "
            "dissolves count anywhere inside their span. PySceneDetect runs with default "
            "arguments through `scenedetect.detect(path, Detector(), backend=...)`. Methods "
            "run interleaved file by file in one process (so load from other work hits all alike); "
            "times include opening the file. CPU time counts every thread of the process and "
            "its children.",
            "",
            table(scores, ref),
            "",
            "Misses of ours: " + (", ".join(scores["ours (ensemble, PyAV)"].misses) or "none"),
            "",
            targets(scores, ref),
            "",
            "Caveats: the set is synthetic (the project's barcode generator) and the decision "
            "rules were tuned on it, so these figures are an upper bound for real footage; "
            "the brightness traps blow the picture out to white, the hardest form of the case. "
            "Wall-clock ratios move with the load of the shared machine; the CPU column is "
            "steadier. These files are short and small, too little work per file to split: "
            "ours runs each in one process, decoding on one thread while a second one scales "
            "and measures (both rows of ours are that pass); OpenCV decodes on FFmpeg's "
            "threads with no Python lock to share, so on two cores its wall ratio is the "
            "tighter one. Longer or larger videos are split over the cores "
            "(workstation.core.detect.segments; see the 720p/1080p and long-video sections). "
            "Decoding alone (last row) caps any detector that reads every frame.",
        ]
    )
    print()
    print(text)
    if args.write_docs:
        write_docs(text)
        print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()
