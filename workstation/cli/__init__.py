"""The ``workstation`` command: the same core stages the GUI runs, with progress bars.

Progress goes to stderr (tqdm); with ``--json`` the result goes to stdout as JSON.  Without a
subcommand (or with ``gui``/``--smoke``) the desktop app starts.

Exit codes: 0 on success; 1 when any file or step failed (the others still ran) or the command
could not run (a message names the file and the problem: a read-only or damaged project, a
locked database, a full disk); 2 on bad usage; 130 when cancelled (Ctrl+C); 70 (``EX_SOFTWARE``
of sysexits.h) for an internal error, a bug: one line says so, and the traceback goes to
``$XDG_STATE_HOME/motion-dataset-workstation/internal-errors.log`` (``~/.local/state/…``), so a
script can tell a bug from a failed item.  No traceback ever reaches the terminal.

One module per command group, each with ``register(subcommands)`` and its ``cmd_*`` functions:

- :mod:`~workstation.cli.project`: ``new``, ``add``, ``detect``, ``split``, ``status``, ``demo``
- :mod:`~workstation.cli.recover`: ``recover`` (a damaged project database)
- :mod:`~workstation.cli.cuts`: ``cuts export|import``, ``scenes``
- :mod:`~workstation.cli.gui`: ``gui`` (the desktop app)
- :mod:`~workstation.cli.review`: ``tags``, ``clips``, ``set-caption``, ``review``,
  ``sidecars``, ``import-clips``
- :mod:`~workstation.cli.autotag`: ``tag``, ``caption``, ``motion``
- :mod:`~workstation.cli.export`: ``export``
- :mod:`~workstation.cli.train`: ``train``
- :mod:`~workstation.cli.hydrus`: ``hydrus connect|sync|status|conflicts|resolve``
- :mod:`~workstation.cli.setup_training`: ``setup-training`` (the managed training environment)

:mod:`~workstation.cli.common` holds what they share (running a stage, ``--set``, JSON output).
Heavy libraries are imported inside the commands: the desktop app starts through :func:`main`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path

from workstation.cli import (
    autotag,
    cuts,
    export,
    gui,
    hydrus,
    project,
    recover,
    review,
    setup_training,
    train,
)
from workstation.cli.common import DETECTOR_NAMES
from workstation.core.errors import WorkstationError
from workstation.core.progress import Cancelled
from workstation.core.settings import state_dir

__all__ = ["DETECTOR_NAMES", "build_parser", "main"]

# In the order `workstation --help` lists their commands.
COMMAND_GROUPS = (
    project,
    recover,
    cuts,
    gui,
    review,
    autotag,
    export,
    train,
    setup_training,
    hydrus,
)

#: The exit code of an internal error (a bug): sysexits.h's EX_SOFTWARE.
EXIT_INTERNAL = 70


def build_parser() -> argparse.ArgumentParser:
    """The ``workstation`` parser with every command group's subcommands."""
    parser = argparse.ArgumentParser(
        prog="workstation",
        description="Motion Dataset Workstation: cut long videos into frame-exact training clips. "
        "Run without a command to open the desktop app.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    # `-q` works after the command too (`workstation split DIR -q`, `workstation cuts export
    # DIR -q`), as people type it.
    _add_quiet(sub)
    return parser


def _add_quiet(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Give every (sub)command parser below ``sub`` a ``-q``/``--quiet`` of its own."""
    for command in set(sub.choices.values()):
        if not any("--quiet" in a.option_strings for a in command._actions):
            command.add_argument(
                "-q",
                "--quiet",
                action="store_true",
                default=argparse.SUPPRESS,
                help="no progress bars",
            )
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_quiet(action)


def main(argv: list[str] | None = None) -> int:
    """Run ``workstation ARGV``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    first = next((a for a in argv if not a.startswith("-")), None)
    if first not in commands or first == "gui":
        # The desktop app: `workstation`, `workstation DIR`, `workstation --smoke ...`.
        if first == "gui":
            argv.remove("gui")
        if "-h" in argv or "--help" in argv:
            build_parser().print_help()
            return 0
        return gui.launch(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (Cancelled, KeyboardInterrupt):
        print("cancelled", file=sys.stderr)
        return 130
    except WorkstationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `workstation status DIR | head`: the reader went away
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        return _report(exc, args, argv)


def _report(exc: Exception, args: argparse.Namespace, argv: list[str]) -> int:
    """One line for an error no command turned into a message; the exit code it gets."""
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        from workstation.core.store import DB_NAME, database_error

        db_file = Path(args.dir) / DB_NAME if getattr(args, "dir", None) else Path(DB_NAME)
        print(f"error: {database_error(db_file, exc)}", file=sys.stderr)
        return 1
    if isinstance(exc, OSError):
        from workstation.core.atomic import os_problem

        name = exc.filename or getattr(args, "dir", None) or "?"
        print(f"error: {name}: {os_problem(exc)}", file=sys.stderr)
        return 1
    log_file = _log_internal_error(exc, argv)
    details = f"details in {log_file}" if log_file else "no log could be written"
    print(f"internal error: {type(exc).__name__}: {exc} ({details})", file=sys.stderr)
    return EXIT_INTERNAL


def _without_secrets(argv: list[str]) -> list[str]:
    """``argv`` with the value of ``--key`` (a Hydrus access key) masked, for the log."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] == "--key":
            arg = "***"
        elif arg.startswith("--key="):
            arg = "--key=***"
        out.append(arg)
    return out


def _log_internal_error(exc: Exception, argv: list[str]) -> Path | None:
    """Append ``exc``'s traceback to the internal-error log; its path (None: not writable)."""
    import time

    path = state_dir() / "internal-errors.log"
    text = "".join(traceback.format_exception(exc))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as log:
            shown = " ".join(_without_secrets(argv))
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} workstation {shown}\n")
            log.write(text)
    except OSError:
        return None
    return path
