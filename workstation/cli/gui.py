"""``workstation gui`` (and ``workstation`` with no command): open the desktop app.

The one place the command line reaches into the window (the import-linter contract names this
module); the window's modules are imported only when it opens.
"""

from __future__ import annotations

from workstation.cli.common import Subcommands


def launch(argv: list[str]) -> int:
    """Run the desktop app with the arguments it takes (``DIR``, ``--smoke ...``)."""
    from workstation.ui.app import main as gui_main

    return gui_main(argv)


def register(sub: Subcommands) -> None:
    """Add ``gui`` to the ``workstation`` parser (its arguments are the app's own)."""
    sub.add_parser("gui", help="open the desktop app (default when no command is given)")
