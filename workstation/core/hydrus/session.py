"""One sync's context (project, link, client, options) and the retry-with-backoff every Hydrus
call of a sync goes through."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TypeVar

from workstation.core.hydrus.client import HydrusClient
from workstation.core.hydrus.errors import HydrusBusy, HydrusDown, HydrusRefused
from workstation.core.hydrus.link import HydrusLink
from workstation.core.progress import Progress
from workstation.core.store import Project

T = TypeVar("T")

STAGE = "hydrus"
MAX_WAIT_S = 60.0
#: Failures the outbox waits out: Hydrus down or slow, busy (503), refusing the key.
TRANSIENT = (HydrusDown, HydrusBusy, HydrusRefused)


@dataclass
class Session:
    """What a sync works with; ``counts`` gathers its :class:`SyncResult` fields."""

    project: Project
    link: HydrusLink
    client: HydrusClient
    retries: int
    backoff_s: float
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def retrying(self, call: Callable[[], T]) -> Generator[Progress, None, T]:
        """``call()``, retried after a transient failure with doubling waits; each wait is
        yielded (once per half second, so a cancel lands soon).  The last failure is raised
        after it was recorded as the link's state."""
        attempt = 0
        while True:
            try:
                return call()
            except TRANSIENT as exc:
                with self.project.transaction():
                    self.project.set_hydrus_contact(exc.state, str(exc))
                if attempt >= self.retries:
                    raise
                wait = min(MAX_WAIT_S, self.backoff_s * 2**attempt)
                attempt += 1
                yield from _wait(wait, exc.state, str(exc))


def _wait(seconds: float, state: str, why: str) -> Generator[Progress, None, None]:
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        yield Progress(
            STAGE,
            0,
            None,
            message=f"{why} Retrying in {left:.0f} s.",
            data={"waiting": round(left, 1), "state": state},
        )
        time.sleep(min(0.5, left))
