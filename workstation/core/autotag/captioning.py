"""The captioning stage: sampled frames of each clip + a prompt -> an auto caption.

Captioners that offer ``caption_many`` (local transformers models) get ``batch_size`` clips per
call: one batched ``generate`` is several times faster on a GPU than one clip at a time.  A
batch that runs out of memory (or fails otherwise) is retried one clip at a time, so one
oversized or broken clip costs only itself; after an out-of-memory batch the rest of the run
uses smaller batches.  The next batch's frames are decoded in a helper thread while the model
works on the current one.  A manual caption is never replaced (not even with ``redo``).  An
unreachable server stops the run at once; any other failure fails one clip, and three in a row
stop the run (the server is clearly not coping).
"""

from __future__ import annotations

import logging
import sys
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeGuard, TypeVar

from workstation.core.autotag.base import (
    BatchCaptioner,
    Captioner,
    CaptionOutOfMemory,
    CaptionServerError,
    CaptionSettings,
    CaptionSummary,
)
from workstation.core.autotag.frames import ClipFrames, decode_frames, sample_numbers
from workstation.core.autotag.storage import clip_tag_names, store_auto_caption
from workstation.core.autotag.tagging import _select
from workstation.core.errors import WorkstationError
from workstation.core.progress import Progress, Stage
from workstation.core.store import Clip, Project

MAX_FAILURES_IN_A_ROW = 3
HEARTBEAT_S = 0.25  # a progress record at least this often while the server works

log = logging.getLogger(__name__)

T = TypeVar("T")


def fill_prompt(template: str, tags: Sequence[str]) -> str:
    """Put the clip's tags where the template says ``{tags}`` (other braces are left alone)."""
    return template.replace("{tags}", ", ".join(tags) if tags else "none")


def _frames(clip: Clip, settings: CaptionSettings) -> ClipFrames:
    numbers = sample_numbers(clip.frame_count, clip.fps, settings.sample_fps, settings.max_frames)
    return decode_frames(clip.path, numbers, settings.max_side)


def _can_batch(captioner: Captioner) -> TypeGuard[BatchCaptioner]:
    return callable(getattr(captioner, "caption_many", None))


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's CUDA OOM (checked without importing torch) or any RuntimeError saying so."""
    if isinstance(exc, CaptionOutOfMemory):
        return True
    torch = sys.modules.get("torch")
    oom = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    if isinstance(oom, type) and isinstance(exc, oom):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def caption_clips(
    project: Project,
    clip_ids: Sequence[int] | None = None,
    settings: CaptionSettings | None = None,
    *,
    captioner: Captioner | None = None,
    batch_size: int | None = None,
) -> Stage[CaptionSummary]:
    """Caption clips (all when None); clips with a caption are skipped unless ``redo``.

    ``batch_size`` (default: the settings') only matters for captioners with ``caption_many``;
    1 asks one clip at a time.
    """
    settings = settings or CaptionSettings()
    size = settings.batch_size if batch_size is None else batch_size
    if size < 1:
        raise WorkstationError(f"batch_size: must be at least 1 (got {size})")
    clips = _select(project, clip_ids)
    total = len(clips)
    if captioner is None:
        from workstation.core.autotag import create_captioner
        from workstation.core.autotag.openai_captioner import redact_url

        server = redact_url(settings.server)  # never show a password in the address
        yield Progress("caption", 0, total, "", f"connecting to {server}")
        captioner = create_captioner(settings)
    batcher = captioner if _can_batch(captioner) else None
    if batcher is None:
        size = 1  # e.g. an OpenAI-compatible server: one request per clip
    summary = CaptionSummary(model=captioner.model_id)
    start = time.perf_counter()
    todo = _to_caption(project, clips, settings, summary)
    done = total - len(todo)
    yield Progress("caption", done, total, "", f"captioning with {captioner.model_id}")
    pending = deque(todo)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caption-decode")
    asker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caption-request")
    run = _Run(project, captioner, batcher, summary, asker)
    ahead: deque[tuple[Clip, Future[ClipFrames]]] = deque()

    def top_up() -> None:  # the next batch's frames decode while the model works
        while pending and len(ahead) < size:
            clip = pending.popleft()
            ahead.append((clip, pool.submit(_frames, clip, settings)))

    try:
        top_up()
        while ahead:
            current = [ahead.popleft() for _ in range(min(size, len(ahead)))]
            top_up()
            batch = [clip for clip, _ in current]
            name = batch[0].path.name if len(batch) == 1 else f"{len(batch)} clips"
            yield Progress("caption", done, total, name, "asking the model")
            ready = _gather(project, current, settings, summary)
            if len(ready) > 1:
                ready, size = yield from _caption_together(run, ready, size, done, total)
            for clip, frames, prompt in ready:  # one at a time (batch 1, or a failed batch)
                answer = yield from run.ask_one(clip, frames, prompt, done, total)
                if answer is not None:
                    run.store(clip, answer, prompt)
                done += 1
                yield Progress("caption", done, total, clip.path.name, "done")
            rest = len(batch) - len(ready)  # captioned as a batch, or unreadable
            if rest:
                done += rest
                yield Progress("caption", done, total, name, "done")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        asker.shutdown(wait=False, cancel_futures=True)  # an open request ends by its timeout
        summary.seconds = time.perf_counter() - start
    return summary


def _to_caption(
    project: Project, clips: list[Clip], settings: CaptionSettings, summary: CaptionSummary
) -> list[Clip]:
    """The clips to caption; the others go into the summary as kept (manual) or skipped."""
    todo: list[Clip] = []
    for clip in clips:
        source = project.caption_source(clip.id)
        if source == "manual":
            summary.kept_manual.append(clip.id)
        elif source is not None and not settings.redo:
            summary.skipped.append(clip.id)
        else:
            todo.append(clip)
    return todo


def _gather(
    project: Project,
    current: list[tuple[Clip, Future[ClipFrames]]],
    settings: CaptionSettings,
    summary: CaptionSummary,
) -> list[tuple[Clip, ClipFrames, str]]:
    """Frames and prompt of each clip of a batch, gathered per clip: a clip whose frames cannot
    be read fails alone (recorded in the summary)."""
    ready: list[tuple[Clip, ClipFrames, str]] = []
    for clip, future in current:
        try:
            frames = future.result()
        except Exception as exc:  # a broken clip file: report it, go on
            summary.failed[clip.id] = str(exc)
            continue
        prompt = fill_prompt(settings.prompt, clip_tag_names(project, clip.id))
        ready.append((clip, frames, prompt))
    return ready


def _caption_together(
    run: _Run, ready: list[tuple[Clip, ClipFrames, str]], size: int, done: int, total: int
) -> Stage[tuple[list[tuple[Clip, ClipFrames, str]], int]]:
    """Caption several clips in one call and store the captions.  Returns the clips still to
    caption one at a time (all of them when the batch failed, else none) and the batch size
    for the rest of the run (lowered after running out of memory)."""
    texts = yield from run.ask_many(ready, done, total)
    if texts is not None:
        for (clip, _, prompt), text in zip(ready, texts, strict=True):
            run.store(clip, text, prompt)
        return [], size
    if run.out_of_memory and size > 1:
        # The card cannot hold this many: smaller batches for the rest of the run
        # rather than a failed batch and a retry every time.
        size = max(1, min(size, (len(ready) + 1) // 2))
        log.warning("caption: batch size lowered to %d for the rest of this run", size)
    return ready, size


class _Run:
    """The state one captioning run shares between its batches: failures in a row, the summary."""

    def __init__(
        self,
        project: Project,
        captioner: Captioner,
        batcher: BatchCaptioner | None,
        summary: CaptionSummary,
        asker: ThreadPoolExecutor,
    ) -> None:
        self.project = project
        self.captioner = captioner
        self.batcher = batcher  # the captioner, when it can caption several clips per call
        self.summary = summary
        self.asker = asker
        self.in_a_row = 0
        self.out_of_memory = False  # the last failed batch ran out of memory

    def _wait(self, request: Future[T], done: int, total: int, item: str) -> Stage[T]:
        """Yield heartbeats until the request answers: the request runs in its own thread so a
        cancel takes effect at once (the answer, when it comes, is dropped)."""
        while True:
            try:
                return request.result(timeout=HEARTBEAT_S)
            except FutureTimeout:
                yield Progress("caption", done, total, item, "waiting for the model")

    def ask_many(
        self, ready: list[tuple[Clip, ClipFrames, str]], done: int, total: int
    ) -> Stage[list[str] | None]:
        """Captions of a whole batch, or None when it must be retried one clip at a time."""
        # Batches of several clips are only made when the captioner has caption_many.
        assert self.batcher is not None
        items = [(frames.images, prompt) for _, frames, prompt in ready]
        request = self.asker.submit(self.batcher.caption_many, items)
        problem: Exception
        try:
            texts = yield from self._wait(request, done, total, f"{len(items)} clips")
            if len(texts) != len(items):
                raise CaptionServerError(
                    f"{self.captioner.model_id}: {len(texts)} captions for {len(items)} clips"
                )
        except CaptionServerError as exc:
            if exc.unreachable:
                raise
            problem = exc
        except Exception as exc:
            problem = exc
        else:
            return list(texts)
        names = ", ".join(clip.path.name for clip, _, _ in ready)
        self.out_of_memory = is_out_of_memory(problem)
        if self.out_of_memory:
            log.warning(
                "caption: out of memory with a batch of %d clips (%s); captioning them one at "
                "a time (a smaller batch size avoids the retry)",
                len(items),
                names,
            )
        else:
            log.warning(
                "caption: a batch of %d clips (%s) failed (%s); captioning them one at a time",
                len(items),
                names,
                problem,
            )
        return None

    def ask_one(
        self, clip: Clip, frames: ClipFrames, prompt: str, done: int, total: int
    ) -> Stage[str | None]:
        """One clip's caption, or None when it failed (recorded in the summary)."""
        try:
            request = self.asker.submit(self.captioner.caption, frames.images, prompt)
            return (yield from self._wait(request, done, total, clip.path.name))
        except CaptionServerError as exc:
            if exc.unreachable:
                raise
            self.fail(clip, exc)
        except Exception as exc:  # a broken clip: report it, go on
            self.summary.failed[clip.id] = str(exc)
        return None

    def fail(self, clip: Clip, exc: CaptionServerError) -> None:
        self.summary.failed[clip.id] = str(exc)
        self.in_a_row += 1
        if self.in_a_row >= MAX_FAILURES_IN_A_ROW:
            raise CaptionServerError(
                f"stopped after {self.in_a_row} failures in a row; last: {exc}"
            ) from None

    def store(self, clip: Clip, text: str, prompt: str) -> None:
        text = text.strip()
        if not text:
            model = self.captioner.model_id
            self.fail(clip, CaptionServerError(f"{model}: the model returned an empty caption"))
            return
        self.in_a_row = 0
        model = self.captioner.model_id
        if store_auto_caption(self.project, clip.id, text, model, prompt):
            self.summary.captioned.append(clip.id)
        else:  # a person wrote a caption meanwhile
            self.summary.kept_manual.append(clip.id)
