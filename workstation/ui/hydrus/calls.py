"""Plain calls of :mod:`workstation.core.hydrus` wrapped as stages, so the job machinery runs
them in a worker thread (a network call never blocks the window)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from workstation.core.progress import Stage

R = TypeVar("R")


def as_stage(fn: Callable[[], R]) -> Stage[R]:
    """A stage that yields nothing and returns ``fn()`` (called in the worker thread)."""
    return fn()
    yield  # unreachable: makes this function a generator
