"""The ``workstation`` command: the same core stages the GUI runs, with progress bars.

Progress goes to stderr (tqdm); with ``--json`` the result goes to stdout as JSON.  The exit
code is 0 on success, 1 when any file or step failed (the others still ran), 2 on bad usage.
Without a subcommand (or with ``gui``/``--smoke``) the desktop app starts.

One module per command group, each with ``register(subcommands)`` and its ``cmd_*`` functions:

- :mod:`~workstation.cli.project`: ``new``, ``add``, ``detect``, ``split``, ``status``, ``demo``
- :mod:`~workstation.cli.cuts`: ``cuts export|import``, ``scenes``
- :mod:`~workstation.cli.gui`: ``gui`` (the desktop app)
- :mod:`~workstation.cli.review`: ``tags``, ``clips``, ``set-caption``, ``review``,
  ``sidecars``, ``import-clips``
- :mod:`~workstation.cli.autotag`: ``tag``, ``caption``, ``motion``
- :mod:`~workstation.cli.export`: ``export``
- :mod:`~workstation.cli.train`: ``train``

:mod:`~workstation.cli.common` holds what they share (running a stage, ``--set``, JSON output).
Heavy libraries are imported inside the commands: the desktop app starts through :func:`main`.
"""

from __future__ import annotations

import argparse
import logging
import sys

from workstation.cli import autotag, cuts, export, gui, project, review, train
from workstation.cli.common import DETECTOR_NAMES
from workstation.core.errors import WorkstationError
from workstation.core.progress import Cancelled

__all__ = ["DETECTOR_NAMES", "build_parser", "main"]

# In the order `workstation --help` lists their commands.
COMMAND_GROUPS = (project, cuts, gui, review, autotag, export, train)


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
    # `-q` works after the command too (`workstation split DIR -q`), as people type it.
    for command in sub.choices.values():
        if not any("--quiet" in a.option_strings for a in command._actions):
            command.add_argument(
                "-q",
                "--quiet",
                action="store_true",
                default=argparse.SUPPRESS,
                help="no progress bars",
            )
    return parser


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
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except WorkstationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `workstation status DIR | head`: the reader went away
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
