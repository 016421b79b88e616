"""Cut lists outside the pipeline: ``cuts export|import`` (sidecar, CSV, FFMETADATA, EDL) and
``scenes``, which detects the cuts of one video file without a project.

``scenes --json`` is the form other tools read: 0-based frame numbers, the exact frame rate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workstation.cli.common import (
    Subcommands,
    add_detector_option,
    chosen_detector,
    format_fps,
    open_project,
    parse_settings,
    run_stage,
)


def cmd_cuts(args: argparse.Namespace) -> int:
    from workstation.core import cutfiles

    with open_project(args.dir, writes=args.action != "export") as project:
        video = project.find_video(args.video)
        if args.action == "export":
            out = Path(args.output) if args.output else None
            result = cutfiles.export_cuts(project, video.id, args.format, out)
            if out is None and isinstance(result, str):
                sys.stdout.write(result)
            else:
                print(f"wrote {result}", file=sys.stderr)
            return 0
        before = {c.frame for c in project.cuts(video.id)}
        cutfiles.import_cuts(project, video.id, Path(args.file), replace=args.replace)
        after = {c.frame for c in project.cuts(video.id)}
        print(
            f"imported {len(after)} cuts into {video.name} "
            f"({len(after - before)} added, {len(before - after)} removed)",
            file=sys.stderr,
        )
        return 0


def cmd_scenes(args: argparse.Namespace) -> int:
    from workstation.core.detect import DetectSettings
    from workstation.core.detect.transitions import refine_result

    det = chosen_detector(args)
    settings = parse_settings(DetectSettings, args.set or [])
    from workstation.core.media import probe

    info = run_stage(probe(args.video), True)
    result = run_stage(det.stage(args.video, settings, info=info), args.quiet)
    result = run_stage(refine_result(result, args.video, info.fps, info.index), args.quiet)
    cuts = [c.frame for c in result.cuts]
    if args.json:
        print(
            json.dumps(
                {
                    "video": str(args.video),
                    "fps": format_fps(info.fps),
                    "fps_exact": f"{info.fps.numerator}/{info.fps.denominator}",
                    "frames": info.frame_count,
                    "cuts": cuts,
                    "transitions": [
                        {"frame": c.frame, "kind": c.kind, "span": [c.span_start, c.span_end]}
                        for c in result.cuts
                        if c.kind != "cut"
                    ],
                    "detector": det.kind.value,
                }
            )
        )
    else:
        for c in result.cuts:
            print(f"{c.frame}\t{float(info.time_of(c.frame)):.3f}s\t{c.kind}")
    return 0


def register(sub: Subcommands) -> None:
    """Add ``cuts`` and ``scenes`` to the ``workstation`` parser."""
    p = sub.add_parser("cuts", help="export or import a video's cut list")
    csub = p.add_subparsers(dest="action", required=True)
    e = csub.add_parser("export", help="write the cut list as sidecar, CSV, FFMETADATA or EDL")
    e.add_argument("dir")
    e.add_argument("video")
    e.add_argument("--format", choices=["sidecar", "csv", "ffmetadata", "edl"], default="sidecar")
    e.add_argument("-o", "--output", help="file to write (default: stdout)")
    e.set_defaults(func=cmd_cuts)
    i = csub.add_parser(
        "import",
        help="replace a video's cuts with a cut file's (sidecar, PySceneDetect CSV, FFMETADATA, "
        "EDL); a file that only adds cuts is merged, one that would remove any needs --replace",
    )
    i.add_argument("dir")
    i.add_argument("video")
    i.add_argument("file")
    i.add_argument(
        "--replace",
        action="store_true",
        help="allow the import to remove cuts (manual ones too) and reject marks the file lacks",
    )
    i.set_defaults(func=cmd_cuts)

    p = sub.add_parser("scenes", help="detect cuts in one video file, no project needed")
    p.add_argument("video")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="a detector setting")
    add_detector_option(p)
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"video","fps","frames","cuts"}; cuts are 0-based frame numbers',
    )
    p.set_defaults(func=cmd_scenes)
