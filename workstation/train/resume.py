"""Where a run stands on disk: its ``checkpoint-N`` folders, and where a resumed run continues
in the data order."""

from __future__ import annotations

import math
from pathlib import Path


def checkpoints(output: Path) -> list[Path]:
    """``checkpoint-N`` folders, oldest first (half-written ``.tmp`` folders are ignored)."""
    found = []
    for p in output.glob("checkpoint-*"):
        tail = p.name.removeprefix("checkpoint-")
        if p.is_dir() and tail.isdigit():
            found.append((int(tail), p))
    return [p for _, p in sorted(found)]


def resume_position(step: int, batches_per_epoch: int, grad_accum: int) -> tuple[int, int]:
    """(epoch, batches of that epoch already trained on) after ``step`` optimizer steps.

    accelerate syncs every ``grad_accum`` batches and at the end of each epoch, so an epoch
    is ``ceil(batches / grad_accum)`` steps and a checkpoint always falls on a whole group.
    """
    steps_per_epoch = math.ceil(batches_per_epoch / grad_accum)
    epoch, done = divmod(step, steps_per_epoch)
    return epoch, done * grad_accum
