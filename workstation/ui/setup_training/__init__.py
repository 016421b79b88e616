"""Help > Install training components…: the window's ``workstation setup-training``."""

from workstation.ui.setup_training.dialog import SetupTrainingDialog

__all__ = ["SetupTrainingDialog"]
