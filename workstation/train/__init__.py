"""Motion-module training: a child process driven through JSON lines.

Only :mod:`~workstation.train.launch`, :mod:`~workstation.train.checks`,
:mod:`~workstation.train.folders`, :mod:`~workstation.train.memory` (and this file) may be
imported by the GUI and the CLI: they stay free of torch (tests/ui/test_startup_imports.py).
The other modules (run, models, data, samples, checkpointing, motion_norm, ...) import torch at
module level on purpose: they run only inside the training child process.
"""

from workstation.train.launch import (
    TrainEvent,
    TrainResult,
    TrainSettings,
    build_command,
    parse_event,
    train_stage,
)

__all__ = [
    "TrainEvent",
    "TrainResult",
    "TrainSettings",
    "build_command",
    "parse_event",
    "train_stage",
]
