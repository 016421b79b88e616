"""Training speed and memory: seconds per step and peak GPU memory at 256 and 512 px.

    .venv/bin/python bench/train_bench.py [--size sd15|tiny] [--resolutions 256 512]
        [--frames 16] [--steps 12] [--mode full|lora] [--keep DIR] [--set KEY=VALUE ...]

Writes a random-weight SD1.5 model folder (real shapes: UNet 320-1280, VAE 128-512, CLIP-L
text encoder) and a fresh v3-layout motion module, generates a small dataset export (64-frame
clips at the largest resolution), then runs the real training child (``python -m
workstation.train.run``) once per resolution and reads its JSON lines: sec/step is the median
over the steps after the first two (start-up and cuDNN autotuning), peak memory comes from the
child's ``gpu_peak_gib``.  Random weights train at the same speed as real ones.

On a CPU, ``--size tiny --resolutions 32 --frames 8`` proves the bench works in a minute.
Prints a Markdown table (for docs/benchmarks.md) and one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workstation.core.synth import Sequence, Shot, write_video
from workstation.train.launch import TrainSettings, build_command, child_env, parse_event


def make_models(root: Path, size: str) -> Path:
    import torch

    from workstation.train.random_models import build_sd_folder

    sd = root / "sd"
    if not (sd / "model_index.json").exists():
        t = time.monotonic()
        build_sd_folder(root, size, dtype=torch.float16 if size == "sd15" else torch.float32)
        print(f"random {size} model written in {time.monotonic() - t:.0f} s", file=sys.stderr)
    return sd


def make_export(root: Path, side: int, clips: int = 6, frames: int = 64) -> Path:
    export = root / f"export-{side}"
    meta = export / "metadata.jsonl"
    if meta.exists():
        return export
    lines = []
    kinds = ["shapes", "texture", "fast", "anime", "dark", "gradient"]
    for i in range(clips):
        name = f"clips/clip{i}.mp4"
        write_video(
            export / name,
            Sequence([Shot(kinds[i % len(kinds)], frames, seed=i)]),
            width=side,
            height=side,
            gop=16,
        )
        lines.append(json.dumps({"video_path": name, "caption": f"a {kinds[i % 6]} shot"}))
    meta.write_text("\n".join(lines) + "\n")
    return export


def run_once(settings: TrainSettings) -> dict:
    cmd = build_command(settings)
    started = time.monotonic()
    log_path = Path(settings.output).with_suffix(".log")
    log = log_path.open("w")  # a file, not a pipe: a chatty child cannot block on it
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=child_env())
    stamps: list[float] = []
    done: dict = {}
    error = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        event = parse_event(line)
        if event is None:
            continue
        if event.kind == "step":
            stamps.append(time.monotonic())
        elif event.kind == "done":
            done = event.data
        elif event.kind == "error":
            error = event.message
    code = proc.wait()
    log.close()
    stderr = log_path.read_text()
    if code != 0 or error:
        return {"error": error or stderr[-2000:], "resolution": settings.resolution}
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)][2:] or [
        b - a for a, b in zip(stamps, stamps[1:], strict=False)
    ]
    return {
        "resolution": settings.resolution,
        "frames": settings.frames,
        "batch": settings.batch_size,
        "mode": settings.mode,
        "gradient_checkpointing": settings.gradient_checkpointing,
        "sec_per_step": round(statistics.median(gaps), 3) if gaps else None,
        "steps_timed": len(gaps),
        "peak_gib": done.get("gpu_peak_gib"),
        "total_s": round(time.monotonic() - started, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=["sd15", "tiny"], default="sd15")
    ap.add_argument("--resolutions", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--mode", choices=["full", "lora"], default="full")
    ap.add_argument("--keep", help="folder for the models/data (reused between runs)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another TrainSettings field, e.g. adam_8bit=true",
    )
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="train-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    sd = make_models(root, args.size)
    export = make_export(root, max(args.resolutions))
    extra = {}
    for pair in args.set:
        key, _, raw = pair.partition("=")
        default = getattr(TrainSettings(), key)
        extra[key] = (
            raw.lower() in ("1", "true", "yes") if isinstance(default, bool) else type(default)(raw)
        )
    rows = []
    for res in args.resolutions:
        settings = TrainSettings(
            dataset=str(export),
            base_model=str(sd),
            output=str(root / f"out-{res}"),
            mode=args.mode,
            resolution=res,
            frames=args.frames,
            stride=4,
            max_steps=args.steps,
            checkpoint_every=0,
            sample_every=0,
            sample_steps=1,
            sample_prompts=["bench"],
            lr_warmup_steps=0,
            **extra,
        )
        row = run_once(settings)
        rows.append(row)
        print(json.dumps(row), flush=True)
    import torch

    device = (
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else (f"CPU {platform.machine()}, {os.cpu_count()} cores")
    )
    print(
        f"\n{args.size} random weights, {args.mode}, {args.frames} frames, batch 1, "
        f"{device}, torch {torch.__version__}\n"
    )
    print("| resolution | sec/step | peak GPU memory | steps timed |")
    print("|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['resolution']} | error: {r['error'][:80]} | | |")
            continue
        peak = f"{r['peak_gib']} GiB" if r["peak_gib"] is not None else "(CPU)"
        print(f"| {r['resolution']} | {r['sec_per_step']} | {peak} | {r['steps_timed']} |")
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
