"""The project's pipeline on the command line: ``new``, ``add``, ``detect``, ``split``,
``status``, ``demo``.

Each runs the same core stage the GUI runs on a project folder, with a progress bar; ``--json``
prints the result as JSON on stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.cli.common import (
    Subcommands,
    add_detector_option,
    chosen_detector,
    emit,
    format_fps,
    jsonable,
    open_project,
    parse_settings,
    run_stage,
)

if TYPE_CHECKING:
    from workstation.core.store import Project


def cmd_new(args: argparse.Namespace) -> int:
    from workstation.core.store import DB_NAME, Project

    root = Path(args.dir)
    if (root / DB_NAME).exists():
        print(f"error: {root}: already a project (it has a {DB_NAME})", file=sys.stderr)
        return 1
    Project.create(root).close()  # an unwritable parent: a ProjectError naming the folder
    print(f"created project {root.resolve()}", file=sys.stderr)
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from workstation.core.ingest import add_paths

    with open_project(args.dir) as project:
        result = run_stage(add_paths(project, args.paths), args.quiet)
        for err in result.errors:
            print(f"error: {err}", file=sys.stderr)
        videos = [project.video(v) for v in result.added]
        lines = [
            f"added {v.name}: {v.frame_count} frames at {format_fps(v.fps)} fps"
            f"{' (VFR)' if v.vfr else ''}, {v.width}x{v.height}"
            for v in videos
        ]
        payload = {
            "added": [str(v.path) for v in videos],
            "relinked": result.relinked,
            "errors": [{"file": str(e.path), "problem": e.problem} for e in result.errors],
        }
        emit(args, payload, "\n".join(lines))
        return 1 if result.errors else 0


def _video_ids(project: Project, refs: list[str] | None) -> list[int] | None:
    """The ids of the videos named by ``--video`` (id, name or path); None: every video."""
    if not refs:
        return None
    return [project.find_video(r).id for r in refs]


def cmd_detect(args: argparse.Namespace) -> int:
    from workstation.core.detect import DetectSettings, detect_project

    det = chosen_detector(args)
    settings = parse_settings(DetectSettings, args.set or [])
    with open_project(args.dir) as project:
        results = run_stage(
            detect_project(
                project,
                _video_ids(project, args.video),
                settings,
                restart=args.restart,
                kind=det.kind,
                jobs=args.jobs,
            ),
            args.quiet,
        )
        failed = 0
        payload: dict[str, Any] = {}
        lines = []
        for vid, res in results.items():
            name = project.video(vid).name
            if res.error:
                failed += 1
                print(f"error: {res.error}", file=sys.stderr)
                payload[name] = {"error": res.error}
                continue
            payload[name] = {
                "cuts": [c.frame for c in res.cuts],
                "frames": res.frames,
                "detector": det.kind.value,
            }
            lines.append(f"{name}: {len(res.cuts)} cuts in {res.frames} frames")
        emit(args, payload, "\n".join(lines))
        return 1 if failed else 0


def cmd_split(args: argparse.Namespace) -> int:
    from workstation.core.slicing import SliceSettings, split_project

    settings = parse_settings(SliceSettings, args.set or [])
    with open_project(args.dir) as project:
        result = run_stage(
            split_project(project, _video_ids(project, args.video), settings), args.quiet
        )
        errors = list(getattr(result, "errors", []) or [])
        for err in errors:
            print(f"error: {err}", file=sys.stderr)
        # Each skipped segment with its reason (--json has them as "skipped" records).
        names = {v.id: v.name for v in project.videos()}
        lines = [
            f"skipped {names.get(s.video_id, s.video_id)} [{s.start}, {s.end}): {s.reason}"
            for s in result.skipped
        ]
        emit(args, result, "\n".join([*lines, _summary(result)]))
        return 1 if errors else 0


def _summary(result: Any) -> str:
    """A dataclass result in one line, ``field: value`` (a list counts its items)."""
    if dataclasses.is_dataclass(result):
        parts = []
        for f in dataclasses.fields(result):
            v = getattr(result, f.name)
            parts.append(f"{f.name}: {len(v) if isinstance(v, (list, tuple, dict)) else v}")
        return ", ".join(parts)
    return str(result)


def cmd_status(args: argparse.Namespace) -> int:
    from workstation.core.status import project_status

    with open_project(args.dir, writes=False) as project:
        status = project_status(project)
    if args.json:
        print(json.dumps(jsonable(status)))
        return 0
    print(f"project {status['root']}")
    for v in status["videos"]:
        state = ", ".join(v["state"]) or "probed"
        print(
            f"  {v['name']}: {v['frames']} frames, {v['fps']} fps, {v['cuts']} cuts, "
            f"{v['kept_segments']}/{v['segments']} segments kept, {v['clips']} clips [{state}]"
        )
    c = status["clips"]
    print(f"clips: {c['total']} ({c['verified']} verified, {c['failed']} failed)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from workstation.core.demo import make_demo_project

    root = run_stage(make_demo_project(Path(args.dir), detect=not args.no_detect), args.quiet)
    print(f"demo project ready: {root}", file=sys.stderr)
    return 0


def _parse_jobs(text: str) -> int:
    """``--jobs``: a whole number 1..64 (argparse reports anything else as bad usage)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--jobs must be a whole number, got {text!r}") from None
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(f"--jobs must be 1..64, got {n}")
    return n


def register(sub: Subcommands) -> None:
    """Add the pipeline commands to the ``workstation`` parser."""
    p = sub.add_parser("new", help="create an empty project folder")
    p.add_argument("dir")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("add", help="add video files or folders to a project")
    p.add_argument("dir")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser(
        "detect", help="detect cuts in the project's videos (resumes unfinished runs)"
    )
    p.add_argument("dir")
    p.add_argument(
        "--video", action="append", help="only this video (id, name or path); repeatable"
    )
    p.add_argument("--restart", action="store_true", help="start over instead of resuming")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="a detector setting")
    add_detector_option(p)
    p.add_argument(
        "--jobs",
        type=_parse_jobs,
        default=1,
        metavar="N",
        help="videos detected at once, each in its own process (default 1: a long video's "
        "pass already uses every core; more suits a folder of short videos)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("split", help="slice kept segments into frame-exact, verified clips")
    p.add_argument("dir")
    p.add_argument(
        "--video", action="append", help="only this video (id, name or path); repeatable"
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a slicing setting, e.g. fps=24, max_side=512, min_frames=16, trim=1",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("status", help="what the project holds and how far each video is")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("demo", help="create the demo project (generated videos with known cuts)")
    p.add_argument("dir")
    p.add_argument("--no-detect", action="store_true", help="don't run detection on it")
    p.set_defaults(func=cmd_demo)
