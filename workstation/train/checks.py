"""Checks of a training run's settings and the messages for what goes wrong.

The checks run first in the child process, before torch and diffusers are imported, so a
mistyped path, a folder that is not a model or a value out of range fails in a second; the
Train tab runs the same checks field by field as a person types (:func:`check_form`).
:func:`error_event` turns whatever stopped a run into the "error" event a person can act on.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.core.errors import WorkstationError
from workstation.train.folders import inspect_base_model, inspect_export, inspect_motion_module
from workstation.train.launch import TrainSettings

log = logging.getLogger("workstation.train")


def oom_message(s: TrainSettings) -> str:
    return (
        f"the GPU ran out of memory at {s.resolution} px, {s.frames} frames, batch "
        f"{s.batch_size}. Lower --resolution (256 needs far less than 512), --frames or "
        "--batch-size (raise --grad-accum to keep the effective batch), keep "
        "--gradient-checkpointing on, try --adam-8bit, or --cache-latents to free the VAE."
    )


@dataclass(frozen=True)
class FieldCheck:
    """One field of the form, checked: ``problem`` says what is wrong ("" = nothing), ``info``
    what was found there ("pairs export (metadata.jsonl): 16 clips")."""

    problem: str = ""
    info: str = ""


# Settings given as paths, in the order a person fills them in (and the child checks them).
PATH_FIELDS = ("dataset", "base_model", "motion_module", "base_config", "output")


def _folder_stamp(root: Path) -> tuple[int, ...]:
    """Changes when an export is rewritten or its clips come and go (atomic writes rename
    into the folder, which changes its mtime): the key of the cached dataset check."""
    stamp: list[int] = []
    for p in (root, root / "metadata.jsonl", root / "videos"):
        try:
            st = p.stat()
        except OSError:
            stamp += [0, 0]
            continue
        stamp += [st.st_mtime_ns, st.st_size]
    return tuple(stamp)


@functools.lru_cache(maxsize=8)
def _describe_export(path: str, _stamp: tuple[int, ...]) -> str:
    """The export's info line, read once per version of the folder: the window checks the
    form on every edit, and 10,000 clips take ~0.1 s to read and stat."""
    return inspect_export(path).describe()


_REQUIRED = {
    "dataset": "choose the export folder (metadata.jsonl or WebVid CSV + clips)",
    "base_model": "choose an SD1.5 model: a diffusers folder or a .safetensors file",
    "output": "choose a folder for checkpoints and samples",
}
_AT_LEAST_ONE = (
    "frames",
    "stride",
    "cache_windows",
    "batch_size",
    "grad_accum",
    "max_steps",
    "keep_checkpoints",
    "sample_steps",
)
_AT_LEAST_ZERO = (
    "lr_warmup_steps",
    "checkpoint_every",
    "sample_every",
    "num_workers",
    "learning_rate",
    "max_grad_norm",
)


def flag(name: str) -> str:
    """The command-line flag of a setting: ``max_steps`` -> ``--max-steps``."""
    return "--" + name.replace("_", "-")


def number_problems(s: TrainSettings) -> dict[str, str]:
    """The numeric settings out of range, by field name, each with its rule."""
    problems: dict[str, str] = {}
    if s.resolution % 8 or s.resolution < 32:
        problems["resolution"] = "must be a multiple of 8, >= 32"
    for name in _AT_LEAST_ONE:
        if getattr(s, name) < 1:
            problems[name] = "must be >= 1"
    for name in _AT_LEAST_ZERO:
        if getattr(s, name) < 0:
            problems[name] = "must be >= 0"
    if s.bucket_step % 8 or s.bucket_step < 8:
        problems["bucket_step"] = "must be a multiple of 8 (the VAE's factor), >= 8"
    elif s.aspect_buckets and s.resolution % s.bucket_step and "resolution" not in problems:
        problems["resolution"] = (
            f"must be a multiple of --bucket-step ({s.bucket_step}) with aspect buckets "
            "(or --no-aspect-buckets)"
        )
    if not 0 <= s.caption_dropout <= 1:
        problems["caption_dropout"] = "must be within 0..1"
    if s.mode == "lora" and s.lora_rank < 1:
        problems["lora_rank"] = "must be >= 1 to train a LoRA"
    if s.mode == "lora" and s.lora_alpha <= 0:
        problems["lora_alpha"] = "must be > 0 to train a LoRA"
    return problems


_ATTENTION_PACKAGES = {
    "xformers": ("xformers", "pip install xformers; NVIDIA GPUs"),
    "flash": ("flash_attn", "pip install flash-attn; NVIDIA Ampere or newer"),
}


def attention_problem(choice: str) -> str:
    """What ``--attention CHOICE`` needs and is not installed ("" when it can run); checked
    by the package's presence only (no import: the form checks it as a person types)."""
    import importlib.util

    if choice not in _ATTENTION_PACKAGES:
        return ""
    module, how = _ATTENTION_PACKAGES[choice]
    if importlib.util.find_spec(module) is not None:
        return ""
    return f"needs the {module} package, which is not installed ({how})"


def _check(s: TrainSettings) -> None:
    for name, problem in number_problems(s).items():
        raise WorkstationError(f"{flag(name)} {getattr(s, name):g}: {problem}")
    problem = attention_problem(s.attention)
    if problem:
        raise WorkstationError(f"--attention {s.attention}: {problem}")


def check_output(output: str, dataset: str = "") -> str:
    """What the output folder will be ("a new folder"...); WorkstationError naming it when
    nothing can be written there or it lies inside the dataset."""
    out = Path(output).expanduser().absolute()
    if dataset and out.is_relative_to(Path(dataset).expanduser().absolute()):
        raise WorkstationError(
            f"{output}: inside the dataset folder; checkpoints and samples would sit among "
            "the clips: choose a folder outside it"
        )
    if out.exists() and not out.is_dir():
        raise WorkstationError(f"{output}: a file, not a folder")
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        raise WorkstationError(f"{output}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise WorkstationError(f"{output}: cannot write in {existing} (no permission)")
    if out.is_dir() and any(out.glob("checkpoint-*")):
        return "holds checkpoints: Resume continues this run, Start begins a new one"
    if any((out / name).exists() for name in ("train_settings.json", "train.log")):
        return "holds an earlier run: Start begins a new folder beside it"
    return "an existing folder" if out.is_dir() else "a new folder"


def _check_path(name: str, s: TrainSettings) -> str:
    """``name``'s path checked by its kind: the info line, or WorkstationError naming it."""
    value = getattr(s, name)
    if name == "dataset":
        return _describe_export(value, _folder_stamp(Path(value)))
    if name == "base_model":
        return inspect_base_model(value)
    if name == "motion_module":
        return inspect_motion_module(value)
    if name == "output":
        return check_output(value, s.dataset)
    if value and not (Path(value) / "model_index.json").is_file():  # base_config
        raise WorkstationError(
            f"{flag(name)} {value}: must be a diffusers SD1.5 folder (with model_index.json)"
        )
    return "configs for a single-file checkpoint" if value else ""


def check_form(s: TrainSettings) -> dict[str, FieldCheck]:
    """Every field of ``s`` that has something to say, by name: a problem or what was found.

    Quick (file names, JSON configs, safetensors headers; no torch), so the window runs it as
    a person types; the child runs the same checks before its imports (:func:`_preflight`).
    """
    checks: dict[str, FieldCheck] = {}
    for name in PATH_FIELDS:
        value = str(getattr(s, name)).strip()
        if not value and name in _REQUIRED:
            checks[name] = FieldCheck(_REQUIRED[name])
            continue
        try:
            info = _check_path(name, s)
        except WorkstationError as exc:
            checks[name] = FieldCheck(without_path(str(exc), value))
            continue
        if info:
            checks[name] = FieldCheck(info=info)
    for name, problem in number_problems(s).items():
        checks[name] = FieldCheck(problem)
    if attention_problem(s.attention):
        checks["attention"] = FieldCheck(attention_problem(s.attention))
    return checks


def without_path(message: str, path: str) -> str:
    """``message`` without its leading "PATH: " (or "--flag PATH: "), for a note beside the
    field that holds PATH."""
    heads = (f"{path}: ", *(f"{flag(n)} {path}: " for n in PATH_FIELDS))
    for head in heads:
        if path and message.startswith(head):
            return message[len(head) :]
    return message


def field_of_error(message: str, s: TrainSettings) -> str | None:
    """The setting a run's error message is about ("--frames 40: ..." or "DATASET: ..."), so
    the window can show it beside that field; None when it names none."""
    if message.startswith("--"):
        name = message[2:].split(" ", 1)[0].replace("-", "_")
        if hasattr(s, name):
            return name
    for name in PATH_FIELDS:
        value = str(getattr(s, name))
        if value and message.startswith((f"{value}:", f"{value},")):
            return name
    return None


def _preflight(s: TrainSettings) -> None:
    """Fail on a mistyped path or a folder that is not a model in a second, before torch and
    diffusers take ~10 s to import and the models ~10 s more to load."""
    for name in PATH_FIELDS:
        if getattr(s, name):
            _check_path(name, s)
        elif name in _REQUIRED:
            raise WorkstationError(f"{flag(name)} is missing: {_REQUIRED[name]}")
    if s.adam_8bit:
        import importlib.util

        if importlib.util.find_spec("bitsandbytes") is None:
            raise WorkstationError(
                "--adam-8bit needs the bitsandbytes package (pip install "
                "bitsandbytes; it runs on NVIDIA GPUs only)"
            )
    for name in ("accelerate_config", "resume"):
        value = getattr(s, name)
        if value and value != "latest" and not Path(value).exists():
            raise WorkstationError(f"{flag(name)} {value}: not found")


def _mixed_precision(asked: str) -> str:
    import torch

    if not torch.cuda.is_available():
        if asked in ("fp16", "bf16"):
            log.warning("no GPU: --mixed-precision %s ignored, training in fp32", asked)
        return "no"
    if asked == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return asked


def error_event(exc: BaseException, settings: TrainSettings) -> dict[str, Any]:
    """The "error" event for an exception: input problems and out-of-memory get a message a
    person can act on; anything else names the exception and points at the log."""
    if isinstance(exc, WorkstationError):
        return {"event": "error", "kind": "input", "message": str(exc)}
    if isinstance(exc, KeyboardInterrupt):
        return {"event": "error", "kind": "cancelled", "message": "training was interrupted"}
    oom = type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()
    if oom:
        return {"event": "error", "kind": "oom", "message": oom_message(settings)}
    return {
        "event": "error",
        "kind": "internal",
        "message": f"{type(exc).__name__}: {exc} (details in the log)",
    }
