"""The ``workstation`` command: the same core stages the GUI runs, with progress bars.

Progress goes to stderr (tqdm); with ``--json`` the result goes to stdout as JSON.  The exit
code is 0 on success, 1 when any file or step failed (the others still ran), 2 on bad usage.
Without a subcommand (or with ``gui``/``--smoke``) the desktop app starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

from workstation.core.errors import WorkstationError
from workstation.core.progress import Cancelled, CancelToken, Progress, Stage, drive

log = logging.getLogger("workstation")

# Command groups that live in their own modules; each has ``register(subparsers)``.
EXTENSIONS = (
    "workstation.cli_review",
    "workstation.cli_autotag",
    "workstation.cli_export",
    "workstation.cli_train",
)


class ProgressBar:
    """Draws Progress records as a tqdm bar on stderr; silent when stderr is not a terminal
    unless ``force`` (CI logs get one line per item instead)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar = None
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


def _run(stage: Stage, quiet: bool = False) -> Any:
    """Drive a stage with a progress bar; Ctrl+C cancels cleanly at the next yield."""
    bar = ProgressBar(enabled=not quiet)
    token = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum, frame):  # first Ctrl+C cancels cleanly, the second one kills
        token.cancel()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, on_sigint)
    try:
        return drive(stage, bar, token)
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)


def _open(path: str):
    from workstation.core.store import Project

    return Project.open(path)


def _settings(cls, pairs: list[str]):
    """Build a settings dataclass from ``key=value`` strings, converting to the field types."""
    values: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            names = ", ".join(sorted(fields))
            raise WorkstationError(f"--set {pair!r}: expected key=value with key one of: {names}")
        values[key] = _convert(raw, fields[key].default, key)
    return cls(**values)


def _convert(raw: str, default: Any, key: str) -> Any:
    try:
        if raw.lower() in ("none", "") and not isinstance(default, str):
            return None
        if isinstance(default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Fraction) or default is None and "/" in raw:
            return Fraction(raw)
        if default is None:
            for kind in (int, float):
                try:
                    return kind(raw)
                except ValueError:
                    pass
            return raw
    except (ValueError, ZeroDivisionError):
        raise WorkstationError(f"--set {key}={raw}: not a valid value") from None
    return raw


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, Path):
        return str(value)
    return value


def _emit(args, payload: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(_jsonable(payload)))
    elif text:
        print(text)


def _videos(project, refs: list[str] | None) -> list[int] | None:
    if not refs:
        return None
    return [project.find_video(r).id for r in refs]


# -- commands ------------------------------------------------------------------------------
def cmd_new(args) -> int:
    from workstation.core.store import DB_NAME, Project

    root = Path(args.dir)
    if (root / DB_NAME).exists():
        print(f"{root}: already a project", file=sys.stderr)
        return 1
    Project.create(root).close()
    print(f"created project {root.resolve()}", file=sys.stderr)
    return 0


def cmd_add(args) -> int:
    from workstation.core.ingest import add_paths

    with _open(args.dir) as project:
        result = _run(add_paths(project, args.paths), args.quiet)
        for err in result.errors:
            print(f"error: {err}", file=sys.stderr)
        videos = [project.video(v) for v in result.added]
        lines = [
            f"added {v.name}: {v.frame_count} frames at {_fps(v.fps)} fps"
            f"{' (VFR)' if v.vfr else ''}, {v.width}x{v.height}"
            for v in videos
        ]
        payload = {
            "added": [str(v.path) for v in videos],
            "relinked": result.relinked,
            "errors": [{"file": str(e.path), "problem": e.problem} for e in result.errors],
        }
        _emit(args, payload, "\n".join(lines))
        return 1 if result.errors else 0


def _fps(fps: Fraction) -> str:
    return f"{float(fps):.3f}".rstrip("0").rstrip(".")


#: DetectorKind's values for --help (a test keeps them equal); the choices are checked against
#: DetectorKind itself, imported only when the option is used: the detectors cost ~0.4 s of
#: imports that the GUI's start must not pay.
DETECTOR_NAMES = ("ensemble", "transnetv2", "content", "adaptive")


class _DetectorNames:
    """``--detector``'s choices, read from DetectorKind when a value is checked."""

    def _names(self) -> list[str]:
        from workstation.core.detect.registry import DetectorKind

        return [k.value for k in DetectorKind]

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self):
        return iter(self._names())


def _detector(args):
    """The chosen detector, or one message naming it and why it cannot run here."""
    from workstation.core.detect.registry import DetectorKind, require

    det = require(args.detector)
    if det.kind != DetectorKind.ENSEMBLE and args.set:
        raise WorkstationError(
            f"--set configures the ensemble detector; {det.kind.value!r} runs with its own defaults"
        )
    return det


def cmd_detect(args) -> int:
    from workstation.core.detect import DetectSettings, detect_project

    det = _detector(args)
    settings = _settings(DetectSettings, args.set or [])
    with _open(args.dir) as project:
        results = _run(
            detect_project(
                project,
                _videos(project, args.video),
                settings,
                restart=args.restart,
                kind=det.kind,
                jobs=args.jobs,
            ),
            args.quiet,
        )
        failed = 0
        payload = {}
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
        _emit(args, payload, "\n".join(lines))
        return 1 if failed else 0


def cmd_split(args) -> int:
    from workstation.core.slicing import SliceSettings, split_project

    settings = _settings(SliceSettings, args.set or [])
    with _open(args.dir) as project:
        result = _run(split_project(project, _videos(project, args.video), settings), args.quiet)
        errors = list(getattr(result, "errors", []) or [])
        for err in errors:
            print(f"error: {err}", file=sys.stderr)
        _emit(args, result, _summary(result))
        return 1 if errors else 0


def _summary(result: Any) -> str:
    if dataclasses.is_dataclass(result):
        parts = []
        for f in dataclasses.fields(result):
            v = getattr(result, f.name)
            parts.append(f"{f.name}: {len(v) if isinstance(v, (list, tuple, dict)) else v}")
        return ", ".join(parts)
    return str(result)


def cmd_status(args) -> int:
    from workstation.core.status import project_status

    with _open(args.dir) as project:
        status = project_status(project)
    if args.json:
        print(json.dumps(_jsonable(status)))
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


def cmd_demo(args) -> int:
    from workstation.core.demo import make_demo_project

    root = _run(make_demo_project(Path(args.dir), detect=not args.no_detect), args.quiet)
    print(f"demo project ready: {root}", file=sys.stderr)
    return 0


def cmd_cuts(args) -> int:
    from workstation.core import cutfiles

    with _open(args.dir) as project:
        video = project.find_video(args.video)
        if args.action == "export":
            out = Path(args.output) if args.output else None
            result = cutfiles.export_cuts(project, video.id, args.format, out)
            if out is None and isinstance(result, str):
                sys.stdout.write(result)
            else:
                print(f"wrote {result}", file=sys.stderr)
            return 0
        cutfiles.import_cuts(project, video.id, Path(args.file))
        n = len(project.cuts(video.id))
        print(f"imported {n} cuts into {video.name}", file=sys.stderr)
        return 0


def cmd_scenes(args) -> int:
    from workstation.core.detect import DetectSettings

    det = _detector(args)
    settings = _settings(DetectSettings, args.set or [])
    from workstation.core.media import probe

    info = _run(probe(args.video), True)
    result = _run(det.stage(args.video, settings, info=info), args.quiet)
    cuts = [c.frame for c in result.cuts]
    if args.json:
        print(
            json.dumps(
                {
                    "video": str(args.video),
                    "fps": _fps(info.fps),
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


def cmd_gui(argv: list[str]) -> int:
    from workstation.ui.app import main as gui_main

    return gui_main(argv)


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--jobs must be a whole number, got {text!r}") from None
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(f"--jobs must be 1..64, got {n}")
    return n


def _add_detector_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--detector",
        choices=_DetectorNames(),
        default="ensemble",
        metavar="{" + ",".join(DETECTOR_NAMES) + "}",
        help="which detector finds the cuts (default: ensemble; transnetv2 needs "
        "scripts/setup.sh; content/adaptive are PySceneDetect's with their defaults)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workstation",
        description="Motion Dataset Workstation: cut long videos into frame-exact training clips. "
        "Run without a command to open the desktop app.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    _add_detector_option(p)
    p.add_argument(
        "--jobs",
        type=_jobs,
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

    p = sub.add_parser("cuts", help="export or import a video's cut list")
    csub = p.add_subparsers(dest="action", required=True)
    e = csub.add_parser("export", help="write the cut list as sidecar, CSV, FFMETADATA or EDL")
    e.add_argument("dir")
    e.add_argument("video")
    e.add_argument("--format", choices=["sidecar", "csv", "ffmetadata", "edl"], default="sidecar")
    e.add_argument("-o", "--output", help="file to write (default: stdout)")
    e.set_defaults(func=cmd_cuts)
    i = csub.add_parser("import", help="replace a video's cuts with a sidecar or PySceneDetect CSV")
    i.add_argument("dir")
    i.add_argument("video")
    i.add_argument("file")
    i.set_defaults(func=cmd_cuts)

    p = sub.add_parser("scenes", help="detect cuts in one video file, no project needed")
    p.add_argument("video")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="a detector setting")
    _add_detector_option(p)
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"video","fps","frames","cuts"}; cuts are 0-based frame numbers',
    )
    p.set_defaults(func=cmd_scenes)

    sub.add_parser("gui", help="open the desktop app (default when no command is given)")
    import importlib
    import importlib.util

    for name in EXTENSIONS:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(sub)
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
        return cmd_gui(argv)
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


if __name__ == "__main__":
    sys.exit(main())
