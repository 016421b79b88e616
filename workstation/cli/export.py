"""`workstation export`: write the dataset layouts trainers read (see workstation.core.export)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workstation.cli.common import (
    Subcommands,
    jsonable,
    open_project,
    parse_settings,
    run_stage,
)


def register(sub: Subcommands) -> None:
    """Add ``export`` to the ``workstation`` parser."""
    p = sub.add_parser(
        "export",
        help="export clips as a training dataset (pairs, webvid or webdataset), decoding each back",
    )
    p.add_argument("dir", help="the project folder")
    p.add_argument("--format", choices=["pairs", "webvid", "webdataset"], default="pairs")
    p.add_argument(
        "--out", required=True, help="the export folder (created; re-runs are incremental)"
    )
    p.add_argument(
        "--filter", default=None, help='a clip filter query, e.g. "reviewed:yes frames>=61"'
    )
    p.add_argument("--reviewed", action="store_true", help="only clips marked reviewed")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="an export setting, e.g. size=256, crop=1:1, fps=8, val_fraction=0.1, "
        "trigger=mystyle, text_format=caption",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from workstation.core.export import ExportSettings, export_dataset

    pairs = list(args.set or [])
    pairs.append(f"format={args.format}")
    if args.filter and args.reviewed:
        pairs.append(f"selection=reviewed:yes ({args.filter})")
    elif args.filter:
        pairs.append(f"selection={args.filter}")
    elif args.reviewed:
        pairs.append("selection=reviewed")
    settings = parse_settings(ExportSettings, pairs)
    with open_project(args.dir, writes=False) as project:
        result = run_stage(export_dataset(project, Path(args.out), settings), args.quiet)
    for line in result.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    for line in result.errors:
        print(f"error: {line}", file=sys.stderr)
    short = sum(not n.ok for c in result.clips for n in c.notes if n.trainer == "animatediff")
    if args.json:
        print(
            json.dumps(
                jsonable(
                    {
                        "out": result.out,
                        "format": result.format,
                        "train": result.train,
                        "val": result.val,
                        "encoded": result.encoded,
                        "reused": result.reused,
                        "removed": result.removed,
                        "skipped": result.skipped,
                        "errors": result.errors,
                    }
                )
            )
        )
    else:
        print(
            f"exported {len(result.clips)} clips to {result.out} ({result.format}): "
            f"{result.train} train, {result.val} validation; {result.encoded} written, "
            f"{result.reused} unchanged, {result.removed} removed"
        )
        if short:
            print(
                f"{short} clips are shorter than AnimateDiff's 61-frame span "
                f"(see {result.out / 'report.json'})"
            )
    return 1 if result.errors else 0
