"""The demo project: generated videos with known cuts, added and (optionally) detected."""

from __future__ import annotations

from pathlib import Path

from workstation.core import synth
from workstation.core.ingest import add_paths
from workstation.core.progress import Progress, Stage
from workstation.core.store import DB_NAME, Project


def make_demo_project(
    root: Path, *, detect: bool = True, width: int = 640, height: int = 360
) -> Stage[Path]:
    """Create (or complete) the demo project in ``root``; quick when it already exists.

    The videos go to ``root/videos``; each has a ``.truth.json`` with the true cuts beside it.
    """
    root = Path(root)
    videos = root / "videos"
    names = list(synth.demo_sequences())
    missing = [n for n in names if not (videos / n).exists()]
    if missing:
        yield Progress("demo", 0, len(names), "", "generating demo videos")
        tmp = videos.with_name("videos.tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        synth.make_demo_videos(tmp, width=width, height=height)
        videos.mkdir(parents=True, exist_ok=True)
        for f in tmp.iterdir():
            f.replace(videos / f.name)
        tmp.rmdir()
    fresh = not (root / DB_NAME).exists()
    with Project(root, create=True) as project:
        if fresh or not project.videos():
            yield from add_paths(project, [videos])
        if detect:
            from workstation.core.detect.project_runs import detect_project

            todo = [v.id for v in project.videos() if project.latest_detection(v.id) is None]
            if todo:
                yield from detect_project(project, todo)
    yield Progress("demo", len(names), len(names), "", "done")
    return root
