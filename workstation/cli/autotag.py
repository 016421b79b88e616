"""CLI commands of auto-tagging: ``workstation tag``, ``workstation caption``, ``workstation motion``.

Registered by workstation/cli/__init__.py through :func:`register`.  Each command runs the same core
stage the GUI runs, with a progress bar; ``--json`` prints the summary as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from workstation.cli.common import Subcommands, jsonable, open_project, run_stage
from workstation.cli.review import bad_filter
from workstation.core.errors import WorkstationError

if TYPE_CHECKING:
    from workstation.core.store import Project


def _clip_ids(project: Project, args: argparse.Namespace) -> list[int] | None:
    """``--clip`` ids plus the clips ``--filter`` matches (the command checked the filter
    with :func:`bad_filter` first); None: every clip."""
    ids = list(args.clip or [])
    if getattr(args, "filter", None):
        from workstation.core.review import QueryError, filter_clip_ids

        found = filter_clip_ids(project, args.filter)
        if isinstance(found, QueryError):  # pragma: no cover - checked by the command
            raise WorkstationError(f"--filter {args.filter!r}: {found}")
        ids += [i for i in found if i not in ids]
        if not ids:
            return []
    return ids or None


def _report(
    args: argparse.Namespace, payload: dict[str, Any], text: str, failed: dict[int, str]
) -> int:
    for clip_id, error in failed.items():
        print(f"error: clip {clip_id}: {error}", file=sys.stderr)
    if args.json:
        print(json.dumps(jsonable(payload)))
    else:
        print(text)
    return 1 if failed else 0


def cmd_tag(args: argparse.Namespace) -> int:
    from workstation.core.autotag import TagSettings, tag_clips

    if bad_filter(args.filter):
        return 2

    exclude = tuple(
        t.strip() for item in (args.exclude or []) for t in item.split(",") if t.strip()
    )
    settings = TagSettings(
        model=args.model,
        frames=args.frames,
        general_threshold=args.general_threshold,
        character_threshold=args.character_threshold,
        aggregation=args.aggregation,
        general_mcut="general" in (args.mcut or ()),
        character_mcut="character" in (args.mcut or ()),
        exclude=exclude,
        underscores=args.underscores,
        include_rating=not args.no_rating,
        batch_size=args.batch_size,
        redo=args.redo,
        providers=tuple(args.provider) if args.provider else None,
    )
    with open_project(args.dir) as project:
        ids = _clip_ids(project, args)
        summary = run_stage(tag_clips(project, ids, settings), args.quiet)
    payload = {**jsonable(summary), "frames_per_second": round(summary.frames_per_second, 2)}
    text = (
        f"tagged {len(summary.tagged)} clips ({summary.frames} frames, "
        f"{summary.frames_per_second:.1f} frames/s on {summary.provider}), "
        f"skipped {len(summary.skipped)} already tagged, failed {len(summary.failed)}"
    )
    return _report(args, payload, text, summary.failed)


def cmd_caption(args: argparse.Namespace) -> int:
    from workstation.core.autotag import CaptionSettings, caption_clips

    if bad_filter(args.filter):
        return 2

    values: dict[str, Any] = {
        "server": args.server,
        "model": args.model or "",
        "sample_fps": args.fps,
        "max_frames": args.max_frames,
        "timeout": args.timeout,
        "redo": args.redo,
        "api_key": args.api_key or "",
        "batch_size": args.batch_size,
    }
    if args.prompt is not None:
        values["prompt"] = args.prompt
    if args.server is None:  # a local transformers model instead of a server
        from workstation.core.autotag.hf_captioner import (
            DEFAULT_HF_CAPTION_MODEL,
            caption_and_free,
            load_device,
        )

        values.update(
            server="", backend="transformers", model=args.model or DEFAULT_HF_CAPTION_MODEL
        )
    settings = CaptionSettings(**values)
    with open_project(args.dir) as project:
        ids = _clip_ids(project, args)
        if args.server is None:
            device = args.device or load_device(project)
            stage = caption_and_free(project, ids, settings, device=device)
        else:
            stage = caption_clips(project, ids, settings)
        summary = run_stage(stage, args.quiet)
    text = (
        f"captioned {len(summary.captioned)} clips with {summary.model}, skipped "
        f"{len(summary.skipped)} with a caption, kept {len(summary.kept_manual)} manual, "
        f"failed {len(summary.failed)}"
    )
    return _report(args, jsonable(summary), text, summary.failed)


def cmd_motion(args: argparse.Namespace) -> int:
    from workstation.core.autotag import score_motion

    if bad_filter(args.filter):
        return 2

    with open_project(args.dir) as project:
        ids = _clip_ids(project, args)
        summary = run_stage(score_motion(project, ids, redo=args.redo), args.quiet)
        paths = {c.id: c.path.name for c in project.clips()}
    lines = [f"{paths.get(cid, cid)}\t{score:.5f}" for cid, score in summary.scored.items()]
    lines.append(
        f"scored {len(summary.scored)} clips, skipped {len(summary.skipped)} already "
        f"scored, failed {len(summary.failed)}"
    )
    return _report(args, jsonable(summary), "\n".join(lines), summary.failed)


def _selection(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--clip", action="append", type=int, metavar="ID", help="only this clip id; repeatable"
    )
    p.add_argument("--filter", metavar="QUERY", help='only clips matching a query, e.g. "tags=0"')
    p.add_argument("--redo", action="store_true", help="redo clips that already have a result")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def register(sub: Subcommands) -> None:
    _register_tag(sub)
    _register_caption(sub)
    p = sub.add_parser("motion", help="score each clip's motion (mean optical flow)")
    p.add_argument("dir")
    _selection(p)
    p.set_defaults(func=cmd_motion)


def _register_tag(sub: Subcommands) -> None:
    from workstation.core.autotag.base import (
        DEFAULT_WD14_MODEL,
        WD14_MODELS,
        Aggregation,
        TagSettings,
    )

    d = TagSettings()
    p = sub.add_parser(
        "tag",
        help="tag clips with a WD14 Danbooru tagger (onnxruntime)",
        description="Tag each clip's peak frames and store the tags with their "
        "confidence. Hub models: " + ", ".join(WD14_MODELS),
    )
    p.add_argument("dir")
    p.add_argument(
        "--model",
        default=DEFAULT_WD14_MODEL,
        metavar="PATH_OR_ID",
        help="a folder with model.onnx + selected_tags.csv, or a Hugging Face id "
        f"(default {DEFAULT_WD14_MODEL})",
    )
    p.add_argument("--frames", type=int, default=d.frames, metavar="N", help="frames per clip")
    p.add_argument("--general-threshold", type=float, default=d.general_threshold, metavar="T")
    p.add_argument("--character-threshold", type=float, default=d.character_threshold, metavar="T")
    p.add_argument(
        "--aggregation", choices=[a.value for a in Aggregation], default=d.aggregation.value
    )
    p.add_argument(
        "--mcut",
        action="append",
        choices=("general", "character"),
        help="cut that category at the largest gap between confidences (MCut) "
        "instead of its threshold; repeatable",
    )
    p.add_argument(
        "--exclude",
        action="append",
        metavar="TAGS",
        help="tags to leave out (comma list; repeatable)",
    )
    p.add_argument(
        "--underscores", action="store_true", help="keep Danbooru underscores (long_hair)"
    )
    p.add_argument("--no-rating", action="store_true", help="don't add the rating as a tag")
    p.add_argument("--batch-size", type=int, default=d.batch_size, metavar="N")
    p.add_argument(
        "--provider",
        action="append",
        metavar="NAME",
        help="onnxruntime provider to use, e.g. CUDAExecutionProvider; repeatable, in "
        "order of preference (default: the best available)",
    )
    _selection(p)
    p.set_defaults(func=cmd_tag)


def _register_caption(sub: Subcommands) -> None:
    from workstation.core.autotag.base import CaptionSettings

    c = CaptionSettings()
    p = sub.add_parser(
        "caption",
        help="caption clips with an OpenAI-compatible server "
        "(LM Studio, Ollama, vLLM) or a local transformers video model",
    )
    p.add_argument("dir")
    p.add_argument(
        "--server",
        metavar="URL",
        help="e.g. http://127.0.0.1:1234; without it a "
        "local transformers model captions (needs torch)",
    )
    p.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        help="with --server: the model name "
        "(default: the server's first); without: a model folder or Hugging Face id "
        "(default Qwen/Qwen2.5-VL-3B-Instruct)",
    )
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        help="local model only (default: the project's setting, else auto)",
    )
    p.add_argument("--prompt", help="prompt template; {tags} becomes the clip's tags")
    p.add_argument("--fps", type=float, default=c.sample_fps, help="frames sampled per second")
    p.add_argument("--max-frames", type=int, default=c.max_frames)
    p.add_argument("--timeout", type=float, default=c.timeout, help="seconds per request")
    p.add_argument("--api-key", help="sent as a Bearer token (most local servers need none)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=c.batch_size,
        metavar="N",
        help="local model only: clips per generate call (faster on a GPU; an out-of-memory "
        f"batch is retried one clip at a time; default {c.batch_size})",
    )
    _selection(p)
    p.set_defaults(func=cmd_caption)
