"""What every command module shares: driving a stage with a progress bar, opening a project,
``--set KEY=VALUE`` settings, JSON output and the ``--detector`` option.

Only light imports at module level: ``import workstation.cli`` runs before the desktop app
opens, so anything heavy (the store, the detectors, tqdm) is imported where it is used.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias, TypeVar

from workstation.core.errors import WorkstationError
from workstation.core.progress import CancelToken, Progress, Stage, drive
from workstation.core.values import convert_value

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from tqdm import tqdm

    from workstation.core.detect.registry import SceneDetector
    from workstation.core.store import Project

R = TypeVar("R")
S = TypeVar("S", bound="DataclassInstance")

#: What ``ArgumentParser.add_subparsers`` returns: each module's ``register`` adds to it.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


# -- running a stage -------------------------------------------------------------------------
class ProgressBar:
    """Draws Progress records as a tqdm bar on stderr; when stderr is not a terminal (a CI
    log) it prints one line per item instead."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar: tqdm[NoReturn] | None = None
        self._key: tuple[str, int | None] | None = None
        self._tty = sys.stderr.isatty()
        self._last_item = ""

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        if not self._tty:
            if p.item and p.item != self._last_item:
                self._last_item = p.item
                print(f"{p.stage}: {p.item}", file=sys.stderr, flush=True)
            return
        from tqdm import tqdm

        key = (p.stage + p.item, p.total)
        if key != self._key:
            self.close()
            self._key = key
            self._bar = tqdm(
                total=p.total,
                desc=f"{p.stage} {p.item}".strip(),
                unit="",
                leave=False,
                dynamic_ncols=True,
                file=sys.stderr,
            )
        assert self._bar is not None
        self._bar.n = p.done
        if p.message:
            self._bar.set_postfix_str(p.message, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run_stage(stage: Stage[R], quiet: bool = False) -> R:
    """Drive a stage with a progress bar; Ctrl+C cancels cleanly at the next yield."""
    bar = ProgressBar(enabled=not quiet)
    token = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        # The first Ctrl+C cancels cleanly, the second one kills.
        token.cancel()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, on_sigint)
    try:
        return drive(stage, bar, token)
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)


def open_project(path: str, *, writes: bool = True) -> Project:
    """The project in folder ``path`` (a context manager that closes it).

    A read-only project (permissions, a read-only mount) opens read-only; a command that
    ``writes`` then stops before it starts, with one message saying why
    (:class:`~workstation.core.store.ReadOnlyProjectError`).  Commands that only read the
    project (``status``, ``clips``, ``export``…) pass ``writes=False``.
    """
    from workstation.core.store import Project

    project = Project.open(path)
    if writes and project.read_only:
        project.close()
        project.require_writable()  # raises; reads the reason from the closed project
    return project


# -- --set KEY=VALUE -------------------------------------------------------------------------
def parse_settings(cls: type[S], pairs: list[str]) -> S:
    """Build a settings dataclass from ``key=value`` strings, converting to the field types."""
    values: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            names = ", ".join(sorted(fields))
            raise WorkstationError(f"--set {pair!r}: expected key=value with key one of: {names}")
        values[key] = convert_value(raw, fields[key].default, key)
    return cls(**values)


# -- output ----------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """``value`` with dataclasses, tuples, Fractions (``"24000/1001"``) and Paths made JSON's."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, Path):
        return str(value)
    return value


def emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    """Print ``payload`` as one JSON line with ``--json``, else ``text`` (if any)."""
    if getattr(args, "json", False):
        print(json.dumps(jsonable(payload)))
    elif text:
        print(text)


def format_fps(fps: Fraction) -> str:
    """A frame rate as people read it: ``23.976``, ``25``."""
    return f"{float(fps):.3f}".rstrip("0").rstrip(".")


# -- --detector ------------------------------------------------------------------------------
#: DetectorKind's values for --help (a test keeps them equal); the choices are checked against
#: DetectorKind itself, imported only when the option is used: the detectors cost ~0.4 s of
#: imports that the GUI's start must not pay.
DETECTOR_NAMES = ("transnetv2", "ensemble", "content", "adaptive")


class _DetectorNames:
    """``--detector``'s choices, read from DetectorKind when a value is checked."""

    def _names(self) -> list[str]:
        from workstation.core.detect.registry import DetectorKind

        return [k.value for k in DetectorKind]

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())


def add_detector_option(p: argparse.ArgumentParser) -> None:
    """Add ``--detector`` (default transnetv2, DetectorKind's DEFAULT) to a command's parser."""
    p.add_argument(
        "--detector",
        choices=_DetectorNames(),
        default=DETECTOR_NAMES[0],
        metavar="{" + ",".join(DETECTOR_NAMES) + "}",
        help="which detector finds the cuts (default: transnetv2, the TransNetV2 network "
        "installed by scripts/setup.sh; ensemble is the hand-tuned one; content/adaptive are "
        "PySceneDetect's with their defaults)",
    )


def chosen_detector(args: argparse.Namespace) -> SceneDetector:
    """The chosen detector, or one message naming it and why it cannot run here."""
    from workstation.core.detect.registry import DetectorKind, require

    det = require(args.detector)
    if det.kind != DetectorKind.ENSEMBLE and args.set:
        raise WorkstationError(
            f"--set configures the ensemble detector; {det.kind.value!r} runs with its own defaults"
        )
    return det
