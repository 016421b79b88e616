"""Checks of a training run's settings and the messages for what goes wrong.

The checks run first in the child process, most of them before torch and diffusers are
imported, so a mistyped path or value fails in a second; :func:`error_event` turns whatever
stopped a run into the "error" event a person can act on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from workstation.core.errors import WorkstationError
from workstation.train.launch import TrainSettings

log = logging.getLogger("workstation.train")


def oom_message(s: TrainSettings) -> str:
    return (
        f"the GPU ran out of memory at {s.resolution} px, {s.frames} frames, batch "
        f"{s.batch_size}. Lower --resolution (256 needs far less than 512), --frames or "
        "--batch-size (raise --grad-accum to keep the effective batch), keep "
        "--gradient-checkpointing on, try --adam-8bit, or --cache-latents to free the VAE."
    )


def _check(s: TrainSettings) -> None:
    if s.resolution % 8 or s.resolution < 32:
        raise WorkstationError(f"--resolution {s.resolution}: must be a multiple of 8, >= 32")
    for name in ("frames", "stride", "batch_size", "grad_accum", "max_steps"):
        if getattr(s, name) < 1:
            raise WorkstationError(f"--{name.replace('_', '-')} {getattr(s, name)}: must be >= 1")
    if not 0 <= s.caption_dropout <= 1:
        raise WorkstationError(f"--caption-dropout {s.caption_dropout}: must be within 0..1")
    if s.keep_checkpoints < 1:
        raise WorkstationError(f"--keep-checkpoints {s.keep_checkpoints}: must be >= 1")


def _preflight(s: TrainSettings) -> None:
    """Fail on a mistyped path in a second, before torch and diffusers take ~10 s to import."""
    if not Path(s.dataset).is_dir():
        raise WorkstationError(f"{s.dataset}: dataset folder not found")
    if not Path(s.base_model).exists():
        raise WorkstationError(f"{s.base_model}: base model not found")
    if s.adam_8bit:
        import importlib.util

        if importlib.util.find_spec("bitsandbytes") is None:
            raise WorkstationError(
                "--adam-8bit needs the bitsandbytes package (pip install "
                "bitsandbytes; it runs on NVIDIA GPUs only)"
            )
    for name in ("motion_module", "base_config", "resume"):
        value = getattr(s, name)
        if value and value != "latest" and not Path(value).exists():
            raise WorkstationError(f"--{name.replace('_', '-')} {value}: not found")


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
