"""Motion-module training: a child process driven through JSON lines.

Only :mod:`workstation.train.launch` (and this file) may be imported by the GUI and the CLI:
they stay free of torch.  The other modules run inside the training child process.
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
