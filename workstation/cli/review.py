"""CLI commands of clip review: ``tags``, ``clips``, ``set-caption``, ``review``, ``sidecars``,
``import-clips``.

The same core functions the review panel calls.  ``--filter`` takes the clip query language of
:mod:`workstation.core.store.clip_query` (``tag:dog -tag:cat frames>=61``); a bad query exits with code 2
(bad usage, as argparse's own errors do) after one line ``error: --filter 'QUERY': problem (at
character N)`` and the query with a caret under the bad spot.  :func:`bad_filter` says it for
every command that takes ``--filter`` (the auto-tag commands too).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from workstation.cli.common import Subcommands, convert_value, jsonable, open_project, run_stage

if TYPE_CHECKING:
    from workstation.core.store import Project


def bad_filter(query: str | None) -> bool:
    """Whether ``--filter QUERY`` can't be read; if so, why is printed (the caller exits 2)."""
    from workstation.core.review import QueryError, parse

    parsed = parse(query or "")
    if not isinstance(parsed, QueryError):
        return False
    shown = query if len(query or "") <= 60 else f"{(query or '')[:57]}…"
    print(f"error: --filter {shown!r}: {parsed}", file=sys.stderr)
    print("  " + parsed.pointer(with_message=False).replace("\n", "\n  "), file=sys.stderr)
    return True


def _select(project: Project, query: str | None) -> list[int] | None:
    """Clip ids matching ``query`` (all clips when None); None after printing a query error."""
    from workstation.core.review import filter_clip_ids

    if bad_filter(query):
        return None
    result = filter_clip_ids(project, query or "")
    assert isinstance(result, list)  # read above
    return result


def _say(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


def cmd_tags(args: argparse.Namespace) -> int:
    from workstation.core import review
    from workstation.core.errors import WorkstationError

    with open_project(args.dir, writes=args.action != "list") as project:
        if args.action == "list":
            ids = _select(project, args.filter) if args.filter else None
            if args.filter and ids is None:
                return 2
            counts = review.tag_counts(project, ids)
            if args.json:
                print(json.dumps([jsonable(c) for c in counts]))
            else:
                for c in counts:
                    src = f"{c.manual} manual, {c.auto} auto"
                    print(f"{c.count:7d}  {c.name}  [{c.category}; {src}]")
            return 0
        if args.action == "rename":
            edit = review.rename_tag(project, args.old, args.new)
            _say(args, f"renamed {args.old!r} to {args.new!r} on {len(edit.clip_ids)} clips")
            return 0
        if args.action == "delete":
            edit = review.delete_tag(project, args.tag)
            _say(args, f"deleted {args.tag!r} from {len(edit.clip_ids)} clips")
            return 0
        ids = _select(project, args.filter)
        if ids is None:
            return 2
        if args.action == "add":
            edit = review.add_tags(project, ids, args.tag, category=args.category)
            verb = "added"
        elif args.action == "remove":
            edit = review.remove_tags(project, ids, args.tag)
            verb = "removed"
        elif args.action == "accept":
            if args.above is not None:
                edit = review.accept_above(project, args.above, ids)
            else:
                edit = review.accept_tags(project, ids, args.tag or None)
            verb = "accepted auto tags on"
        else:  # reject
            if args.below is None and not args.tag:
                raise WorkstationError("tags reject: name the tags to reject or give --below")
            if args.below is not None:
                edit = review.reject_below(project, args.below, ids)
            else:
                edit = review.reject_tags(project, ids, args.tag or None)
            verb = "rejected auto tags on"
        what = f" {', '.join(args.tag)}" if verb in ("added", "removed") else ""
        _say(args, f"{verb}{what} {len(edit.clip_ids)} of {len(ids)} clips")
        return 0


def clip_records(project: Project, ids: list[int]) -> list[dict[str, Any]]:
    """One JSON-ready record per clip (what ``clips --json`` prints)."""
    from workstation.core import review

    wanted = set(ids)
    clips = [c for c in project.clips() if c.id in wanted]
    tags = review.clip_tags_many(project, ids)
    captions = review.captions_many(project, ids)
    videos = {v.id: v for v in project.videos()}
    out = []
    for c in clips:
        video = videos.get(c.video_id) if c.video_id is not None else None
        cap = captions.get(c.id)
        out.append(
            {
                "id": c.id,
                "path": str(c.path),
                "video": None
                if video is None
                else {
                    "path": str(video.path),
                    "name": video.name,
                    "start_frame": c.start_frame,
                    "end_frame": c.end_frame,
                },
                "frames": c.frame_count,
                "fps": f"{c.fps.numerator}/{c.fps.denominator}",
                "duration": round(c.duration, 4),
                "size": [c.width, c.height],
                "caption": None
                if cap is None
                else {"text": cap.text, "source": cap.origin or cap.source, "model": cap.model},
                "tags": [
                    {
                        "name": t.name,
                        "category": t.category,
                        "confidence": t.confidence,
                        "source": t.origin or t.source,
                        "state": t.state,
                    }
                    for t in tags.get(c.id, [])
                ],
                "reviewed": c.reviewed,
                "motion": c.motion,
            }
        )
    return out


def cmd_clips(args: argparse.Namespace) -> int:
    with open_project(args.dir, writes=False) as project:
        ids = _select(project, args.filter)
        if ids is None:
            return 2
        records = clip_records(project, ids)
    for r in records:
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
            continue
        src = ""
        if r["video"]:
            v = r["video"]
            src = f"  {v['name']} [{v['start_frame']}, {v['end_frame']})"
        tags = ", ".join(t["name"] for t in r["tags"])
        cap = r["caption"]["text"] if r["caption"] else ""
        mark = "✓" if r["reviewed"] else " "
        print(
            f"{mark} {r['path']}{src}  {r['frames']} frames @ {r['fps']}"
            f"{'  tags: ' + tags if tags else ''}{'  caption: ' + cap if cap else ''}"
        )
    if not args.json:
        _say(args, f"{len(records)} clips")
    return 0


def cmd_caption(args: argparse.Namespace) -> int:
    from workstation.core import review

    with open_project(args.dir) as project:
        ids = _select(project, args.filter)
        if ids is None:
            return 2
        if args.clear:
            edit = review.clear_caption(project, ids)
        else:
            edit = review.set_caption(project, ids, args.text or "")
        _say(args, f"caption changed on {len(edit.clip_ids)} of {len(ids)} clips")
        return 0


def cmd_review(args: argparse.Namespace) -> int:
    from workstation.core import review

    with open_project(args.dir) as project:
        ids = _select(project, args.filter)
        if ids is None:
            return 2
        edit = review.mark_reviewed(project, ids, not args.unmark)
        _say(args, f"marked {len(edit.clip_ids)} clips {'not ' if args.unmark else ''}reviewed")
        return 0


def cmd_sidecars(args: argparse.Namespace) -> int:
    from workstation.core import cliptext
    from workstation.core.errors import WorkstationError

    with open_project(args.dir) as project:
        settings = cliptext.load_settings(project)
        changes: dict[str, Any] = {}
        names = {f.name: f for f in fields(settings)}
        for pair in args.set or []:
            key, sep, raw = pair.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in names:
                raise WorkstationError(
                    f"--set {pair!r}: expected key=value with key one of: {', '.join(names)}"
                )
            current = getattr(settings, key)
            changes[key] = raw if isinstance(current, str) else convert_value(raw, current, key)
        if changes:
            settings = cliptext.update_settings(project, **changes)
        if args.json:
            print(json.dumps(jsonable({**settings.__dict__, "format": settings.format.value})))
        else:
            for f in fields(settings):
                value = getattr(settings, f.name)
                print(f"{f.name} = {value.value if hasattr(value, 'value') else value!r}")
        if args.write or changes:
            written = run_stage(cliptext.rewrite_all(project, settings), args.quiet)
            _say(args, f"{written} clip .txt files written")
        return 0


def cmd_import_clips(args: argparse.Namespace) -> int:
    from workstation.core.import_clips import import_clip_folder

    with open_project(args.dir) as project:
        result = run_stage(
            import_clip_folder(project, args.folder, workers=args.workers), args.quiet
        )
    for err in result.errors:
        print(f"error: {err}", file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "added": len(result.added),
                    "updated": len(result.updated),
                    "tag_lists": result.tag_lists,
                    "captions": result.captions,
                    "errors": [str(e) for e in result.errors],
                }
            )
        )
    else:
        print(
            f"imported {len(result.added)} clips ({len(result.updated)} already known): "
            f"{result.tag_lists} tag lists, {result.captions} captions, "
            f"{len(result.errors)} errors"
        )
    return 1 if result.errors else 0


def _add_filter(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--filter", metavar="QUERY", help="only clips matching this query, e.g. 'tag:dog -tag:cat'"
    )


def register(sub: Subcommands) -> None:
    """Add the review commands to the ``workstation`` parser."""
    proj = "the project folder"

    p = sub.add_parser("tags", help="add, remove, rename, accept or list clip tags")
    tsub = p.add_subparsers(dest="action", required=True)
    for action, text in (
        ("add", "add tags (manual) to clips"),
        ("remove", "remove tags from clips (auto tags are rejected)"),
    ):
        t = tsub.add_parser(action, help=text)
        t.add_argument("dir", help=proj)
        t.add_argument("tag", nargs="+", help="one or more tag names")
        _add_filter(t)
        if action == "add":
            t.add_argument(
                "--category", default="general", choices=["general", "character", "rating", "meta"]
            )
        t.set_defaults(func=cmd_tags)
    t = tsub.add_parser("rename", help="rename a tag everywhere (merges into an existing tag)")
    t.add_argument("dir", help=proj)
    t.add_argument("old")
    t.add_argument("new")
    t.set_defaults(func=cmd_tags)
    t = tsub.add_parser("delete", help="remove a tag from every clip and the project")
    t.add_argument("dir", help=proj)
    t.add_argument("tag")
    t.set_defaults(func=cmd_tags)
    t = tsub.add_parser("accept", help="accept auto tags (all, named, or --above a confidence)")
    t.add_argument("dir", help=proj)
    t.add_argument("tag", nargs="*", help="only these tags (default: every auto tag)")
    t.add_argument("--above", type=float, metavar="CONFIDENCE")
    _add_filter(t)
    t.set_defaults(func=cmd_tags)
    t = tsub.add_parser("reject", help="reject auto tags (named, or --below a confidence)")
    t.add_argument("dir", help=proj)
    t.add_argument("tag", nargs="*", help="the tags to reject")
    t.add_argument("--below", type=float, metavar="CONFIDENCE")
    _add_filter(t)
    t.set_defaults(func=cmd_tags)
    t = tsub.add_parser("list", help="every tag with how many clips show it")
    t.add_argument("dir", help=proj)
    _add_filter(t)
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_tags)

    p = sub.add_parser("clips", help="list clips (with --json: one object per clip per line)")
    p.add_argument("dir", help=proj)
    _add_filter(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_clips)

    p = sub.add_parser("set-caption", help="set (or --clear) the manual caption of clips")
    p.add_argument("dir", help=proj)
    p.add_argument("text", nargs="?")
    _add_filter(p)
    p.add_argument("--clear", action="store_true", help="remove captions (auto may fill them)")
    p.set_defaults(func=cmd_caption)

    p = sub.add_parser("review", help="mark clips reviewed (or --unmark: not reviewed)")
    p.add_argument("dir", help=proj)
    _add_filter(p)
    p.add_argument("--unmark", action="store_true", help="mark them not reviewed")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("sidecars", help="show or change how clip .txt files are written")
    p.add_argument("dir", help=proj)
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="e.g. format=tags_caption, separator=', ', trigger=sks, keep_first_tags=20",
    )
    p.add_argument("--write", action="store_true", help="rewrite every clip's .txt now")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sidecars)

    p = sub.add_parser("import-clips", help="import a folder of clips with .txt captions/tags")
    p.add_argument("dir", help=proj)
    p.add_argument("folder", help="the dataset folder (clips with same-name .txt files)")
    p.add_argument("--workers", type=int, default=2, help="probe threads (default 2)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import_clips)
