"""``workstation hydrus connect|sync|status|conflicts|resolve``: the Hydrus mirror (issue 16).

The access key comes from ``--key``, ``--key -`` (read from stdin, so it stays out of the
process list and the shell history) or ``$HYDRUS_API_KEY``; it is stored in the project's
``hydrus.key`` (0600) and never printed.  ``status`` answers without contacting Hydrus.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from workstation.cli.common import Subcommands, emit, open_project, run_stage
from workstation.core.errors import WorkstationError


def _key(args: argparse.Namespace) -> str:
    key = args.key if args.key is not None else os.environ.get("HYDRUS_API_KEY", "")
    if key == "-":
        key = sys.stdin.readline()
    key = key.strip()
    if not key:
        raise WorkstationError(
            "--key: no access key given (pass --key KEY, --key - to read it from stdin, set "
            "HYDRUS_API_KEY, or use --request-access)."
        )
    return key


def _namespaces(pairs: list[str] | None) -> dict[str, str] | None:
    """``--namespace CATEGORY=NAMESPACE`` (empty = bare) over the default mapping."""
    from workstation.core import hydrus
    from workstation.core.review import CATEGORIES

    if not pairs:
        return None
    out = dict(hydrus.DEFAULT_NAMESPACES)
    for pair in pairs:
        category, sep, space = pair.partition("=")
        if not sep or category not in CATEGORIES or ":" in space:
            raise WorkstationError(
                f"--namespace {pair!r}: expected CATEGORY=NAMESPACE with CATEGORY one of "
                f"{', '.join(CATEGORIES)} and no colon in NAMESPACE."
            )
        out[category] = space.strip()
    return out


def cmd_connect(args: argparse.Namespace) -> int:
    from workstation.core import hydrus

    with open_project(args.dir) as project:
        if args.request_access:
            key = hydrus.request_access(args.url)
            print("Hydrus granted a new access key.", file=sys.stderr)
        else:
            key = _key(args)
        link, report = hydrus.connect(
            project,
            args.url,
            key,
            tag_service=args.tag_service,
            file_service=args.file_service,
            note_name=args.note_name,
            namespaces=_namespaces(args.namespace),
            source_tags=args.source_tags,
        )
    optional = [f"{p.name} (to {p.needed_for})" for p in report.missing]
    text = (
        f"Connected {args.dir} to Hydrus at {link.url} (Client API {report.api_version}): tags "
        f"go to {link.tag_service_name!r}, captions to notes named {link.note_name!r}."
    )
    if optional:
        text += f" The key may not: {', '.join(optional)}."
    payload = {
        "url": link.url,
        "api_version": report.api_version,
        "tag_service_key": link.tag_service_key,
        "tag_service_name": link.tag_service_name,
        "file_service_key": link.file_service_key,
        "note_name": link.note_name,
        "granted": [p.name for p in report.granted],
        "missing": [p.name for p in report.missing],
    }
    emit(args, payload, text)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from workstation.core import hydrus

    options = hydrus.SyncOptions(
        push=not args.pull,
        pull=not args.push,
        retries=args.retries,
        backoff_s=args.backoff,
        timeout_s=args.timeout,
    )
    with open_project(args.dir) as project:
        result = run_stage(hydrus.sync(project, options), args.quiet)
    lines = [
        f"Hydrus: {result.files_added} clips added, {result.files_known} already there, "
        f"{result.tag_writes} tag and {result.note_writes} caption writes; pulled "
        f"{result.pulled_tags} tag edits and {result.pulled_captions} captions; "
        f"{result.new_conflicts} new conflicts; {result.pending} changes waiting."
    ]
    lines += [f"  {msg}" for msg in result.failed]
    if result.stopped:
        lines.append(f"Stopped: {result.stopped} The changes stay queued; sync again later.")
    emit(args, result, "\n".join(lines))
    return 1 if result.failed or result.stopped else 0


def cmd_status(args: argparse.Namespace) -> int:
    from workstation.core import hydrus

    with open_project(args.dir, writes=False) as project:
        st = hydrus.status(project)
    if not st["connected"]:
        text = f"{args.dir} is not connected to Hydrus (workstation hydrus connect)."
    else:
        when = st["last_sync"]
        synced = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(float(when)))  # type: ignore[arg-type]
            if when
            else "never"
        )
        text = (
            f"Hydrus at {st['url']}: {st['mirrored']} of {st['clips']} clips mirrored, "
            f"{st['pending']} changes waiting, {st['conflicts']} conflicts, last sync {synced}, "
            f"last contact {st['state']}."
        )
        if st["last_error"]:
            text += f"\n  {st['last_error']}"
    emit(args, st, text)
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    from workstation.core import hydrus

    with open_project(args.dir, writes=False) as project:
        found = hydrus.conflicts(project)
    text = "\n".join(
        f"{c.id}: {c.clip_path}\n  ours:   {c.ours!r}\n  hydrus: {c.theirs!r}" for c in found
    )
    emit(args, found, text or "No conflicts.")
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    from workstation.core import hydrus

    if (args.choice == "merged") != (args.text is not None):
        print("error: --text: give it with 'merged', and only then.", file=sys.stderr)
        return 2
    with open_project(args.dir) as project:
        hydrus.resolve_conflict(project, args.id, args.choice, args.text)
    emit(args, {"resolved": args.id}, f"Conflict {args.id} resolved; sync to send it.")
    return 0


def register(sub: Subcommands) -> None:
    """Add ``hydrus`` and its subcommands to the ``workstation`` parser."""
    top = sub.add_parser("hydrus", help="mirror clips, tags and captions into Hydrus Network")
    cmds = top.add_subparsers(dest="hydrus_command", metavar="COMMAND", required=True)

    p = cmds.add_parser("connect", help="check an access key, choose services, store the link")
    p.add_argument("dir")
    p.add_argument("--url", default="http://127.0.0.1:45869")
    p.add_argument("--key", help="the access key ('-' reads it from stdin; or $HYDRUS_API_KEY)")
    p.add_argument(
        "--request-access",
        action="store_true",
        help="ask Hydrus for a new key (open its 'add from api request' dialog first)",
    )
    p.add_argument("--tag-service", metavar="NAME_OR_KEY", help="default: my tags")
    p.add_argument("--file-service", metavar="NAME_OR_KEY", help="default: Hydrus's own")
    p.add_argument("--note-name", default="caption")
    p.add_argument(
        "--namespace",
        action="append",
        metavar="CATEGORY=NS",
        help="the Hydrus namespace of a tag category (default: character, rating, meta; "
        "general bare); repeatable",
    )
    p.add_argument(
        "--source-tags", action="store_true", help="also tag source:VIDEO and frames:START-END"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_connect)

    p = cmds.add_parser("sync", help="pull edits made in Hydrus, then push the outbox")
    p.add_argument("dir")
    only = p.add_mutually_exclusive_group()
    only.add_argument("--push", action="store_true", help="only push")
    only.add_argument("--pull", action="store_true", help="only pull")
    p.add_argument("--retries", type=int, default=3, help="per request while Hydrus is down")
    p.add_argument("--backoff", type=float, default=1.0, help="first wait in seconds (doubles)")
    p.add_argument("--timeout", type=float, default=30.0, help="per request, in seconds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sync)

    p = cmds.add_parser("status", help="the mirror's state (without contacting Hydrus)")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = cmds.add_parser("conflicts", help="captions changed here and in Hydrus")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_conflicts)

    p = cmds.add_parser("resolve", help="resolve one conflict")
    p.add_argument("dir")
    p.add_argument("id", type=int)
    p.add_argument("choice", choices=("hydrus", "ours", "merged"))
    p.add_argument("--text", help="the merged caption (with 'merged')")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_resolve)
