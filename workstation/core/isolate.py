"""Running a stage in a child process, seen by the caller as an ordinary stage.

Detection is Python-heavy per frame; run in a GUI worker *thread* it competes with the GUI
thread for the GIL, and the window stutters while three videos are analysed.  In a child
process it runs on its own interpreter: the caller's thread only waits on a pipe.

The child is started with the ``spawn`` method (no forked copy of Qt or of open SQLite
connections), runs ``func(*args, **kwargs)`` — a module-level function returning a stage —
and sends each :class:`Progress` back.  Closing the stage here sets a cancel event; the child
stops at its next yield, runs the stage's own cleanup and exits.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import Any

from workstation.core.errors import WorkstationError
from workstation.core.progress import Cancelled, Stage, drive

JOIN_TIMEOUT_S = 30.0
NICENESS = 10


def cannot_start_workers(exc: OSError) -> WorkstationError:
    """The one sentence for a system that refuses the shared memory worker processes need
    (a container or chroot without a writable ``/dev/shm``), instead of a bare errno."""
    from workstation.core.atomic import os_problem

    where = exc.filename or "/dev/shm"
    return WorkstationError(
        f"cannot start worker processes: {where} (shared memory for their locks) refused: "
        f"{os_problem(exc)}; make /dev/shm writable or run with --jobs 1"
    )


def spawn_event(ctx: Any) -> Event:
    """``ctx.Event()``, with :func:`cannot_start_workers`'s message when the system refuses."""
    try:
        event: Event = ctx.Event()
    except OSError as exc:
        raise cannot_start_workers(exc) from None
    return event


class _EventToken:
    """A CancelToken backed by a multiprocessing event (what drive() checks)."""

    def __init__(self, event: Event) -> None:
        self._event = event

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def _child(
    conn: Connection,
    cancel: Event,
    func: Callable[..., Stage[Any]],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    niceness: int,
) -> None:
    if niceness and hasattr(os, "nice"):
        # Background work yields the CPU to the window: on a 2-core machine three analyses
        # would otherwise starve the GUI thread of time slices.
        os.nice(niceness)
    try:
        result = drive(
            func(*args, **kwargs), lambda p: conn.send(("progress", p)), _EventToken(cancel)
        )
        conn.send(("done", result))
    except Cancelled:
        conn.send(("cancelled", None))
    except WorkstationError as exc:
        conn.send(("user-error", str(exc)))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def in_child_process(func: Callable[..., Stage[Any]], *args: Any, **kwargs: Any) -> Stage[Any]:
    """The stage ``func(*args, **kwargs)``, run in a spawned child process at a lower priority
    (``nice`` +10, so the window keeps its time slices).

    ``func``, the arguments, the progress records and the result must be picklable.  A
    :class:`WorkstationError` in the child is raised here with the same message.
    """
    ctx = mp.get_context("spawn")
    cancel = spawn_event(ctx)
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child, args=(sender, cancel, func, args, kwargs, NICENESS), daemon=True
    )
    proc.start()
    sender.close()
    try:
        while True:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                proc.join(5)
                raise WorkstationError(
                    f"the worker process stopped unexpectedly (exit code {proc.exitcode})"
                ) from None
            if kind == "progress":
                yield payload
            elif kind == "done":
                return payload
            elif kind == "cancelled":
                raise Cancelled()
            elif kind == "user-error":
                raise WorkstationError(payload)
            else:
                raise RuntimeError(f"in the worker process: {payload}")
    finally:
        if proc.is_alive():
            cancel.set()  # the child stops at its next yield and cleans up
            proc.join(JOIN_TIMEOUT_S)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        receiver.close()


def project_stage(root: str, module: str, name: str, *args: Any, **kwargs: Any) -> Stage[Any]:
    """Open the project at ``root`` and run ``module.name(project, *args, **kwargs)``.

    The child-process entry point for project stages: a Project (an SQLite connection) cannot
    cross a process boundary, its folder can.
    """
    from workstation.core.store import Project

    stage_fn = getattr(importlib.import_module(module), name)
    with Project(root) as project:
        return (yield from stage_fn(project, *args, **kwargs))
