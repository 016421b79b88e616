"""How much a clip moves: mean optical-flow magnitude (OpenCV Farneback), stored in clips.motion.

Frames are scaled to 160 pixels wide (flow on small frames is fast and measures the motion a
person sees, not sensor noise) and every consecutive pair is compared.  The magnitude is
divided by the small frame's diagonal, so the score does not depend on resolution: 0.01 means
things move on average 1 % of the frame diagonal per frame.  A still shot scores ~0; a 16:9 pan
that crosses the frame width in 4 s at 24 fps scores ~0.009 (1/96 of 160 px over a 184 px
diagonal); a small subject moving in a still frame scores far less than a pan.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from workstation.core.errors import MediaError
from workstation.core.media import _open, _video_stream
from workstation.core.progress import Progress, Stage
from workstation.core.store import Project

MOTION_WIDTH = 160


def motion_score(path: str | Path, width: int = MOTION_WIDTH) -> float:
    """Mean Farneback flow magnitude over consecutive frames / frame diagonal (0 for 1 frame)."""
    import cv2

    path = Path(path)
    container = _open(path)
    total = 0.0
    pairs = 0
    try:
        stream = _video_stream(path, container)
        stream.thread_type = "AUTO"
        prev = None
        size = None
        for frame in container.decode(stream):
            if size is None:
                w = min(width, frame.width)
                h = max(8, round(frame.height * w / frame.width))
                size = (w - w % 2, h - h % 2)
            gray = frame.reformat(width=size[0], height=size[1], format="gray").to_ndarray()
            if prev is not None:
                flow = cv2.calcOpticalFlowFarneback(prev, gray, None, 0.5, 3, 15, 3, 5, 1.2, 0)
                total += float(np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2).mean())
                pairs += 1
            prev = gray
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"decoding failed: {exc}") from None
    finally:
        container.close()
    if size is None:
        raise MediaError(path, "no frame could be decoded")
    if pairs == 0:
        return 0.0
    return total / pairs / math.hypot(*size)


@dataclass
class MotionSummary:
    scored: dict[int, float] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0


def score_motion(
    project: Project, clip_ids: Sequence[int] | None = None, *, redo: bool = False
) -> Stage[MotionSummary]:
    """Score clips (all when None); clips with a score already are skipped unless ``redo``."""
    from workstation.core.autotag.tagging import _select

    start = time.perf_counter()
    clips = _select(project, clip_ids)
    summary = MotionSummary()
    total = len(clips)
    yield Progress("motion", 0, total, "", "measuring motion")
    try:
        for done, clip in enumerate(clips, start=1):
            if clip.motion is not None and not redo:
                summary.skipped.append(clip.id)
            else:
                try:
                    score = motion_score(clip.path)
                except MediaError as exc:
                    summary.failed[clip.id] = str(exc)
                else:
                    project.set_clip_motion(clip.id, score)
                    summary.scored[clip.id] = score
            yield Progress(
                "motion",
                done,
                total,
                clip.path.name,
                "" if clip.id not in summary.scored else f"{summary.scored[clip.id]:.4f}",
            )
    finally:
        summary.seconds = time.perf_counter() - start
    return summary
