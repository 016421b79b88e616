"""A project video that needs no file: for tests of queries, rejects and models that only read
the database (24 fps, 1000 frames)."""

from __future__ import annotations

from fractions import Fraction

from workstation.core.media import VideoInfo
from workstation.core.store import Project


def add_fake_video(
    project: Project,
    path: str,
    *,
    content_id: str | None = None,
    width: int = 320,
    height: int = 180,
) -> int:
    return project.add_video(
        VideoInfo(
            path=path,
            size_bytes=1,
            content_id=content_id or path,
            fps=Fraction(24),
            frame_count=1000,
            duration=41.7,
            width=width,
            height=height,
            rotation=0,
            vfr=False,
            codec="h264",
            pix_fmt="yuv420p",
            time_base=Fraction(1, 12288),
            has_audio=False,
        )
    )
