"""Start a training run as a child process and read its JSON lines.

This module is imported by the GUI and the CLI, so it stays light: no torch, no diffusers.
:class:`TrainSettings` declares every option once (type, default, help); the same declaration
builds the ``workstation train`` flags, the child's command line and the child's parser.  The
child (:mod:`workstation.train.run`) prints one JSON object per line on stdout; everything
else it says goes to stderr.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.core import training_env
from workstation.core.errors import WorkstationError
from workstation.core.progress import Progress, Stage

EVENTS = ("start", "step", "sample", "checkpoint", "done", "error")


def _opt(default: Any, help: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TrainSettings:
    """Everything a training run needs; the defaults are the recipe that works for most data."""

    dataset: str = _opt(
        "", "export folder: metadata.jsonl + clips, or WebVid videos/ + CSV", required=True
    )
    base_model: str = _opt(
        "", "SD1.5 diffusers folder or single-file .safetensors checkpoint", required=True
    )
    output: str = _opt(
        "", "output folder (checkpoints, samples, final motion module)", required=True
    )
    motion_module: str = _opt(
        "",
        "AnimateDiff motion module (.safetensors/.ckpt, v1/v2/v3) or a "
        "diffusers MotionAdapter folder; empty = a fresh module",
    )
    base_config: str = _opt(
        "",
        "local diffusers SD1.5 folder whose configs a single-file "
        "checkpoint is loaded with (needed offline)",
    )
    fresh_version: str = _opt("v3", "layout of a fresh motion module", choices=("v1", "v2", "v3"))
    mode: str = _opt(
        "full",
        "full: finetune the motion module; lora: train a motion LoRA",
        choices=("full", "lora"),
    )
    max_steps: int = _opt(2000, "optimizer steps to train")
    resolution: int = _opt(
        256, "training size in pixels: R x R, or about R x R pixels by aspect bucket (256-512)"
    )
    aspect_buckets: bool = _opt(
        True, "train each clip at the bucket size nearest its aspect ratio (off: square crops)"
    )
    bucket_step: int = _opt(64, "bucket sides are multiples of this (64 for SD1.5)")
    frames: int = _opt(16, "frames per training clip")
    short_clips: str = _opt(
        "shorter",
        "a clip too short for --frames at the target fps: shorter = train it with 3/4 or 1/2 "
        "of the frames; skip = leave it out; faster = take its frames closer together",
        choices=("shorter", "skip", "faster"),
    )
    stride: int = _opt(
        4, "with --target-fps 0: take every S-th source frame (lowered for short clips)"
    )
    # AnimateDiff's WebVid loader takes every 4th frame of ~25-30 fps sources (6-7.5 fps) and
    # writes its samples at 8 fps; 8 fps is that motion speed, the same for every source.
    target_fps: float = _opt(
        8.0,
        "take frames 1/FPS seconds apart by each clip's own frame rate (raised for short "
        "clips); samples play at it; 0 = count --stride in source frames",
    )
    batch_size: int = _opt(1, "clips per step on each GPU")
    grad_accum: int = _opt(1, "gradient accumulation steps (effective batch = batch x this)")
    learning_rate: float = _opt(
        0.0,
        "AdamW learning rate; 0 = 1e-4 for a fresh module or a "
        "LoRA, 2e-5 to finetune an existing module",
    )
    lr_warmup_steps: int = _opt(50, "linear warm-up steps")
    lora_rank: int = _opt(16, "LoRA rank (lora mode)")
    lora_alpha: float = _opt(16.0, "LoRA alpha; folded into the up weights on export")
    mixed_precision: str = _opt(
        "auto",
        "auto = bf16 where supported, else fp16 on GPU, fp32 on "
        "CPU (this flag wins over an accelerate config file)",
        choices=("auto", "no", "fp16", "bf16"),
    )
    attention: str = _opt(
        "auto",
        "attention kernel: auto/sdpa = PyTorch's scaled_dot_product_attention (diffusers' "
        "default); xformers and flash need those packages; math = plain matmul + softmax",
        choices=("auto", "sdpa", "xformers", "flash", "math"),
    )
    gradient_checkpointing: bool = _opt(True, "recompute activations (less memory, ~30%% slower)")
    adam_8bit: bool = _opt(False, "8-bit AdamW from bitsandbytes (less optimizer memory)")
    cache_latents: bool = _opt(
        False, "encode windows of each clip once (no flip), kept on disk and reused across runs"
    )
    cache_windows: int = _opt(4, "windows per clip that --cache-latents encodes (at most)")
    cache_extraction: str = _opt(
        "uniform",
        "where those windows sit (musubi-tuner's frame_extraction): uniform = spread evenly "
        "over the clip; slide = back to back from the start; head = the first only; random = "
        "the first, then random starts and crops",
        choices=("uniform", "slide", "head", "random"),
    )
    # Off by default: a flip turns a pan right into a pan left, so it teaches the wrong motion
    # (musubi-tuner and diffusion-pipe have no flip at all). --hflip turns it on.
    hflip: bool = _opt(False, "random horizontal flips (mirrors the motion too)")
    caption_dropout: float = _opt(0.1, "probability of training on an empty caption")
    seed: int = _opt(42, "random seed")
    checkpoint_every: int = _opt(500, "save checkpoint-N every N steps (0 = never)")
    keep_checkpoints: int = _opt(3, "keep the last K checkpoints")
    resume: str = _opt("", "'latest' or a checkpoint-N folder to continue from")
    sample_every: int = _opt(500, "write validation videos every N steps (0 = only at the end)")
    sample_prompts: list[str] = _opt(
        (), "a validation prompt (repeatable; default: the first two captions)", multiple=True
    )
    sample_steps: int = _opt(25, "denoising steps per validation video")
    sample_seed: int = _opt(1234, "seed of the validation videos")
    num_workers: int = _opt(2, "data loader worker processes")
    max_grad_norm: float = _opt(1.0, "gradient clipping norm")
    accelerate_config: str = _opt("", "accelerate config file (multi-GPU); implies the launcher")
    launcher: str = _opt(
        "auto", "auto = accelerate when a config is given", choices=("auto", "python", "accelerate")
    )

    def __post_init__(self) -> None:
        self.sample_prompts = list(self.sample_prompts)


SETTINGS_VERSION = 1


def save_settings(settings: TrainSettings, path: str | Path) -> Path:
    """Write the settings as versioned JSON, atomically (the run folder keeps what made it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    payload = {"version": SETTINGS_VERSION, "settings": dataclasses.asdict(settings)}
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_settings(path: str | Path) -> TrainSettings:
    """Read :func:`save_settings` output; an unknown field or a wrong type names itself."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WorkstationError(f"{path}: cannot read training settings ({exc})") from None
    version = payload.get("version") if isinstance(payload, dict) else None
    if not isinstance(version, int) or version > SETTINGS_VERSION:
        raise WorkstationError(
            f"{path}: training settings version {version!r} is not one this "
            f"version reads (up to {SETTINGS_VERSION})"
        )
    return settings_from_json(payload.get("settings") or {}, str(path))


def settings_from_json(settings: object, where: str, *, unknown_ok: bool = False) -> TrainSettings:
    """TrainSettings from their JSON object; a wrong type names itself and ``where``, an
    unknown field too unless ``unknown_ok`` (a remembered form from another version)."""
    if not isinstance(settings, dict):
        raise WorkstationError(f"{where}: training settings must be a JSON object")
    fields = {f.name: f for f in dataclasses.fields(TrainSettings)}
    values: dict[str, Any] = {}  # JSON values, each checked against its field's type below
    for key, value in settings.items():
        if key not in fields:
            if unknown_ok:
                continue
            raise WorkstationError(f"{where}: unknown training setting {key!r}")
        default = fields[key].default
        expected = list if fields[key].metadata.get("multiple") else type(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise WorkstationError(
                f"{where}: setting {key!r} must be {expected.__name__}, not {value!r}"
            )
        values[key] = value
    return TrainSettings(**values)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, *, for_child: bool = False) -> None:
    """Declare every TrainSettings field as a flag (``--max-steps``, ``--hflip``...)."""
    for f in dataclasses.fields(TrainSettings):
        if for_child and f.name in ("accelerate_config", "launcher"):
            continue
        meta = dict(f.metadata)
        kwargs: dict[str, Any] = {"dest": f.name, "help": meta.get("help", "")}
        if meta.get("required"):
            kwargs["required"] = True
        if isinstance(f.default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
            kwargs["default"] = f.default
        elif meta.get("multiple"):
            kwargs["action"] = "append"
            kwargs["default"] = []
            kwargs["metavar"] = "TEXT"
            parser.add_argument(_flag(f.name).rstrip("s"), **kwargs)
            continue
        else:
            kwargs["type"] = type(f.default)
            kwargs["default"] = f.default
            if f.default not in ("", None) and not meta.get("required"):
                kwargs["help"] += " (default: %(default)s)"
            if "choices" in meta:
                kwargs["choices"] = meta["choices"]
        parser.add_argument(_flag(f.name), **kwargs)


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    names = {f.name for f in dataclasses.fields(TrainSettings)}
    return TrainSettings(**{k: v for k, v in vars(args).items() if k in names})


def child_argv(settings: TrainSettings) -> list[str]:
    """The child's flags for ``settings`` (only values that differ from the defaults)."""
    argv: list[str] = []
    defaults = TrainSettings()
    for f in dataclasses.fields(TrainSettings):
        if f.name in ("accelerate_config", "launcher"):
            continue
        value = getattr(settings, f.name)
        if value == getattr(defaults, f.name) and not f.metadata.get("required"):
            continue
        if isinstance(value, bool):
            argv.append(_flag(f.name) if value else "--no-" + f.name.replace("_", "-"))
        elif isinstance(value, list):
            for item in value:
                argv += [_flag(f.name).rstrip("s"), str(item)]
        else:
            argv += [_flag(f.name), str(value)]
    return argv


def uses_accelerate(settings: TrainSettings) -> bool:
    if settings.launcher == "auto":
        return bool(settings.accelerate_config)
    return settings.launcher == "accelerate"


def build_command(settings: TrainSettings, python: str | None = None) -> list[str]:
    """The child process's command line: ``accelerate launch`` (multi-GPU) or plain Python.

    ``accelerate launch`` costs ~10 s of start-up, so a single-device run skips it; the child
    builds its ``Accelerator`` either way.  The Python is the managed training environment's
    when it is installed (:func:`workstation.core.training_env.training_python`; never the
    packaged app itself).
    """
    python = python or training_env.training_python()
    module = ["-m", "workstation.train.run", *child_argv(settings)]
    if not uses_accelerate(settings):
        return [python, *module]
    launch = [python, "-m", "accelerate.commands.launch"]
    if settings.accelerate_config:
        launch += ["--config_file", str(settings.accelerate_config)]
    else:  # explicit single-process defaults, so accelerate does not warn about each one
        launch += [
            "--num_processes",
            "1",
            "--num_machines",
            "1",
            "--dynamo_backend",
            "no",
            "--mixed_precision",
            "no",
        ]
    return [*launch, *module]


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for the child: unbuffered, offline-friendly, quiet progress bars."""
    env = dict(os.environ if base is None else base)
    env["PYTHONUNBUFFERED"] = "1"
    source = training_env.child_pythonpath()  # this tree's code, also in the managed env
    if source:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


@dataclass(frozen=True)
class TrainEvent:
    """One JSON line of the child: ``kind`` is one of :data:`EVENTS`."""

    kind: str
    step: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(self.data.get("message", ""))


def parse_event(line: str | bytes) -> TrainEvent | None:
    """Parse one stdout line; None for anything that is not an event (stray output)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or obj.get("event") not in EVENTS:
        return None
    return TrainEvent(obj["event"], int(obj.get("step") or 0), obj)


@dataclass
class TrainResult:
    """What a finished run left: the output folder and the files that load elsewhere."""

    output: Path
    step: int
    motion_module: Path | None = None
    motion_adapter: Path | None = None
    motion_lora: Path | None = None
    motion_lora_diffusers: Path | None = None
    samples: list[Path] = field(default_factory=list)


def train_stage(
    settings: TrainSettings, *, stderr_path: str | Path | None = None, python: str | None = None
) -> Stage[TrainResult]:
    """Run training in a child process; yields one Progress per event.

    Closing the generator (cancel) terminates the child; a later run with ``resume="latest"``
    continues from the last checkpoint.  The child's stderr goes to ``stderr_path`` (default:
    ``OUTPUT/train.log``) and its tail is quoted when the child dies without an error event.
    """
    output = Path(settings.output)
    output.mkdir(parents=True, exist_ok=True)
    log_path = Path(stderr_path) if stderr_path else output / "train.log"
    cmd = build_command(settings, python)
    log = open(log_path, "ab")  # noqa: SIM115 - closed in finally, after the child
    tail: collections.deque[str] = collections.deque(maxlen=30)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(), start_new_session=True
    )

    def pump_stderr() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            log.write(raw)
            log.flush()
            tail.append(raw.decode("utf-8", "replace").rstrip())

    pump = threading.Thread(target=pump_stderr, daemon=True)
    pump.start()
    result = TrainResult(output, 0)
    total = settings.max_steps
    yield Progress("train", 0, total, output.name, "starting")
    try:
        assert proc.stdout is not None
        error = yield from _follow_events(proc.stdout, result, total, output.name)
        code = proc.wait()
        pump.join(timeout=5)
        if error:
            raise WorkstationError(f"training ({output}): {error}")
        if code != 0:
            last = "\n".join(tail) or "(no output)"
            raise WorkstationError(
                f"training ({output}): the training process exited with code "
                f"{code}; last lines of {log_path}:\n{last}"
            )
        return result
    finally:
        if proc.poll() is None:
            stop_process(proc)
        pump.join(timeout=5)  # the child is gone, so its stderr ends: no write after close
        log.close()


def _follow_events(
    stdout: Iterable[bytes], result: TrainResult, total: int, name: str
) -> Stage[str | None]:
    """One Progress per event line of the child until its stdout ends; fills in ``result``.
    Returns the message of the child's error event, if it sent one."""
    error: str | None = None
    for raw in stdout:
        event = parse_event(raw)
        if event is None:
            continue
        if event.kind == "start":
            total = int(event.data.get("max_steps") or total)
            yield Progress("train", event.step, total, name, "started", event.data)
        elif event.kind == "step":
            loss = event.data.get("loss")
            eta = event.data.get("eta_s")
            msg = f"loss {loss:.4f}" if isinstance(loss, float) else ""
            if isinstance(eta, (int, float)):
                msg += f", {int(eta) // 60} min left"
            result.step = event.step
            yield Progress("train", event.step, total, name, msg, event.data)
        elif event.kind == "sample":
            result.samples.append(Path(event.data["path"]))
            yield Progress("train", event.step, total, name, "sample written", event.data)
        elif event.kind == "checkpoint":
            yield Progress("train", event.step, total, name, f"checkpoint {event.step}", event.data)
        elif event.kind == "done":
            result.step = event.step
            for key in ("motion_module", "motion_adapter", "motion_lora", "motion_lora_diffusers"):
                if event.data.get(key):
                    setattr(result, key, Path(event.data[key]))
            yield Progress("train", event.step, total, name, "done", event.data)
        elif event.kind == "error":
            error = event.message or "training failed"
    return error


def stop_process(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Terminate the child (and its accelerate workers), killing it after ``grace_s``."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        proc.terminate()
    deadline = time.monotonic() + grace_s
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()
