"""Progress records and the driver every long stage shares.

A long stage is a generator: it yields :class:`Progress` records at least once per item or
frame batch and *returns* its result (``StopIteration.value``).  The CLI draws the records as a
progress bar, the GUI's workers forward them to the jobs panel.  Cancelling means the driver
stops iterating and closes the generator, so the stage's ``finally`` blocks run at the yield
where it was suspended: that is where temp files are removed and partial state is committed or
rolled back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress report of a stage.

    ``done``/``total`` count the stage's own unit (frames, clips, files); ``total`` is None
    while unknown.  ``item`` names what is being worked on (a file name), ``message`` is a
    short human sentence, ``data`` carries stage-specific extras (e.g. cuts found so far) that
    a UI may show live.
    """

    stage: str
    done: int
    total: int | None = None
    item: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


Stage = Generator[Progress, None, R]


class Cancelled(Exception):
    """Raised by :func:`drive` when the cancel flag stopped a stage."""


class CancelFlag(Protocol):
    """What :func:`drive` checks between yields: a :class:`CancelToken` or any flag like it
    (the child process's event-backed one in :mod:`workstation.core.isolate`)."""

    @property
    def cancelled(self) -> bool: ...


class CancelToken:
    """A thread-safe cancel flag handed to a driver (GUI cancel button, Ctrl+C)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def drive(
    stage: Stage[R],
    on_progress: Callable[[Progress], None] | None = None,
    cancel: CancelFlag | None = None,
) -> R:
    """Run a stage to completion and return its result.

    Checks ``cancel`` between yields; on cancel the generator is closed (its cleanup runs) and
    :class:`Cancelled` is raised.
    """
    try:
        while True:
            if cancel is not None and cancel.cancelled:
                stage.close()
                raise Cancelled()
            record = next(stage)
            if on_progress is not None:
                on_progress(record)
    except StopIteration as stop:
        result: R = stop.value  # a generator's return value; typed by Stage[R]
        return result


class Throttle:
    """Lets a stage yield often without flooding: ``ready()`` is True every ``interval`` s."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._last = 0.0

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            return True
        return False
