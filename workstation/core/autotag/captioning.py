"""The captioning stage: sampled frames of each clip + a prompt -> an auto caption.

The next clip's frames are decoded in a helper thread while the server works on the current
one.  A manual caption is never replaced (not even with ``redo``).  An unreachable server stops
the run at once; any other failure fails one clip, and three in a row stop the run (the server
is clearly not coping).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from workstation.core.autotag.base import (
    Captioner,
    CaptionServerError,
    CaptionSettings,
    CaptionSummary,
)
from workstation.core.autotag.frames import ClipFrames, decode_frames, sample_numbers
from workstation.core.autotag.storage import caption_source, clip_tag_names, store_auto_caption
from workstation.core.autotag.tagging import _select
from workstation.core.progress import Progress, Stage
from workstation.core.store import Clip, Project

MAX_FAILURES_IN_A_ROW = 3
HEARTBEAT_S = 0.25  # a progress record at least this often while the server works


def fill_prompt(template: str, tags: Sequence[str]) -> str:
    """Put the clip's tags where the template says ``{tags}`` (other braces are left alone)."""
    return template.replace("{tags}", ", ".join(tags) if tags else "none")


def _frames(clip: Clip, settings: CaptionSettings) -> ClipFrames:
    numbers = sample_numbers(clip.frame_count, clip.fps, settings.sample_fps, settings.max_frames)
    return decode_frames(clip.path, numbers, settings.max_side)


def caption_clips(
    project: Project,
    clip_ids: Sequence[int] | None = None,
    settings: CaptionSettings | None = None,
    *,
    captioner: Captioner | None = None,
) -> Stage[CaptionSummary]:
    """Caption clips (all when None); clips with a caption are skipped unless ``redo``."""
    settings = settings or CaptionSettings()
    clips = _select(project, clip_ids)
    total = len(clips)
    if captioner is None:
        from workstation.core.autotag import create_captioner

        yield Progress("caption", 0, total, "", f"connecting to {settings.server}")
        captioner = create_captioner(settings)
    summary = CaptionSummary(model=captioner.model_id)
    start = time.perf_counter()
    todo: list[Clip] = []
    for clip in clips:
        source = caption_source(project, clip.id)
        if source == "manual":
            summary.kept_manual.append(clip.id)
        elif source is not None and not settings.redo:
            summary.skipped.append(clip.id)
        else:
            todo.append(clip)
    done = total - len(todo)
    yield Progress("caption", done, total, "", f"captioning with {captioner.model_id}")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caption-decode")
    asker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caption-request")
    in_a_row = 0
    try:
        ahead: Future | None = pool.submit(_frames, todo[0], settings) if todo else None
        for k, clip in enumerate(todo):
            current = ahead
            ahead = pool.submit(_frames, todo[k + 1], settings) if k + 1 < len(todo) else None
            yield Progress("caption", done, total, clip.path.name, "asking the model")
            try:
                frames = current.result()  # type: ignore[union-attr]
                prompt = fill_prompt(settings.prompt, clip_tag_names(project, clip.id))
                # The request runs in its own thread so the stage keeps yielding: a cancel
                # takes effect at once (the answer, when it comes, is dropped).
                request = asker.submit(captioner.caption, frames.images, prompt)
                while True:
                    try:
                        text = request.result(timeout=HEARTBEAT_S)
                        break
                    except FutureTimeout:
                        yield Progress(
                            "caption", done, total, clip.path.name, "waiting for the model"
                        )
            except CaptionServerError as exc:
                if exc.unreachable:
                    raise
                summary.failed[clip.id] = str(exc)
                in_a_row += 1
                if in_a_row >= MAX_FAILURES_IN_A_ROW:
                    raise CaptionServerError(
                        f"stopped after {in_a_row} failures in a row; last: {exc}"
                    ) from None
            except Exception as exc:  # a broken clip file: report it, go on
                summary.failed[clip.id] = str(exc)
            else:
                in_a_row = 0
                if store_auto_caption(project, clip.id, text, captioner.model_id, prompt):
                    summary.captioned.append(clip.id)
                else:  # a person wrote a caption meanwhile
                    summary.kept_manual.append(clip.id)
            done += 1
            yield Progress("caption", done, total, clip.path.name, "done")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        asker.shutdown(wait=False, cancel_futures=True)  # an open request ends by its timeout
        summary.seconds = time.perf_counter() - start
    return summary
