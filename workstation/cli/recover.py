"""``workstation recover PROJECT``: rebuild a damaged project database from what can be read.

The damaged file is copied aside first (``project.wsdb.damaged-YYYYmmdd-HHMMSS``, and its
``-wal``); see :mod:`workstation.core.store.recovery`.
"""

from __future__ import annotations

import argparse
import sys

from workstation.cli.common import Subcommands, emit, run_stage


def cmd_recover(args: argparse.Namespace) -> int:
    from workstation.core.store import recover_project

    report = run_stage(recover_project(args.dir, use_cli=not args.no_cli), args.quiet)
    emit(
        args,
        {
            "db": report.db_path,
            "backup": report.backup,
            "wal_backup": report.wal_backup,
            "method": report.method,
            "rows": report.rows,
            "unreadable": report.unreadable,
        },
        "",
    )
    if not args.json:
        print(report.summary(), file=sys.stderr)
    return 0


def register(sub: Subcommands) -> None:
    """Add ``recover`` to the ``workstation`` parser."""
    p = sub.add_parser(
        "recover",
        help="back up a damaged project database and rebuild it from what can still be read",
    )
    p.add_argument("dir")
    p.add_argument(
        "--no-cli",
        action="store_true",
        help="don't try the sqlite3 program's .recover; copy the readable rows with Python",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_recover)
