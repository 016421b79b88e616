"""Clip rows for the Clips-view tests: copies of one tiny generated clip (shared helpers)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

from workstation.core import synth
from workstation.core.store import Project


def write_clip_source(folder: Path, seed: int) -> Path:
    """A 12-frame 96x54 clip, every frame stamped with its number."""
    p = folder / "src.mp4"
    synth.write_video(
        p, synth.Sequence([synth.Shot("shapes", 12, seed=seed)]), width=96, height=54, fps=24
    )
    return p


def make_clips(
    project: Project,
    src: Path,
    n: int,
    *,
    name: str = "clip_{:02d}.mp4",
    frame_count: Callable[[int], int] = lambda i: 12,
) -> list[int]:
    """``n`` clip rows in the project's clips folder, each a copy of ``src``."""
    folder = project.root / "clips"
    folder.mkdir(exist_ok=True)
    ids = []
    for i in range(n):
        dst = folder / name.format(i)
        shutil.copyfile(src, dst)
        ids.append(
            project.upsert_clip(
                dst,
                video_id=None,
                start_frame=None,
                end_frame=None,
                fps=Fraction(24),
                frame_count=frame_count(i),
                width=96,
                height=54,
            )
        )
    return ids


@contextlib.contextmanager
def opened_clips_view(qtbot, root: Path, size: tuple[int, int] = (900, 600)) -> Iterator:
    """A Clips view (no player) on the project at ``root``, shown until its grid has painted;
    its jobs, window and project session are closed on the way out."""
    from workstation.ui.clips.view import ClipsView
    from workstation.ui.common.jobs import JobsController
    from workstation.ui.session import ProjectSession

    session = ProjectSession(root)
    jobs = JobsController(session)
    v = ClipsView(session, jobs, with_player=False)
    qtbot.addWidget(v)
    v.resize(*size)
    try:
        with qtbot.waitSignal(v.gridShown, timeout=20000):
            v.show()
        yield v
    finally:
        jobs.shutdown()
        v.close()
        session.close()
