"""The tagging stage: peak frames of each clip -> tagger -> per-clip tags with provenance.

Decoding and preprocessing run in a feeder thread that stays a few clips ahead, so the model
(which keeps the CPU cores or the GPU busy) never waits for FFmpeg.  Frames of several clips
are run as one batch when the model's batch axis is dynamic.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workstation.core.autotag.base import (
    Aggregation,
    ModelError,
    Tagger,
    TagResult,
    TagSettings,
    TagSummary,
)
from workstation.core.autotag.frames import peak_frames
from workstation.core.autotag.storage import store_auto_tags
from workstation.core.autotag.wd14 import CATEGORY_NAMES, CHARACTER, RATING, display_name
from workstation.core.errors import WorkstationError
from workstation.core.progress import Progress, Stage
from workstation.core.store import Clip, Project

HEARTBEAT_S = 0.25  # a progress record at least this often while the model runs


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


CHARACTER_MCUT_FLOOR = 0.15  # SmilingWolf's wd-tagger app: character MCut never below this


def mcut_threshold(probs: np.ndarray) -> float | None:
    """Maximum Cut Thresholding (Largeron et al. 2012), as SmilingWolf's wd-tagger app does
    it: sort descending and cut in the middle of the largest gap between neighbours.
    None when there are fewer than two values (no gap to cut)."""
    ranked = np.sort(np.asarray(probs, dtype=np.float64).ravel())[::-1]
    if len(ranked) < 2:
        return None
    t = int(np.argmax(ranked[:-1] - ranked[1:]))
    return float((ranked[t] + ranked[t + 1]) / 2)


def thresholds_for(conf: np.ndarray, categories: np.ndarray, settings: TagSettings) -> np.ndarray:
    """Each label's cut-off for one row of confidences: its category's threshold, or the
    MCut of that category's confidences when the settings ask for it (characters: at least
    :data:`CHARACTER_MCUT_FLOOR`)."""
    general, character = settings.general_threshold, settings.character_threshold
    is_char = categories == CHARACTER
    is_general = ~is_char & (categories != RATING)
    if settings.general_mcut:
        cut = mcut_threshold(conf[is_general])
        general = general if cut is None else cut
    if settings.character_mcut:
        cut = mcut_threshold(conf[is_char])
        character = character if cut is None else max(CHARACTER_MCUT_FLOOR, cut)
    return np.where(is_char, character, general)  # float64: stored exactly as given


def aggregate(
    probs: np.ndarray, names: Sequence[str], categories: np.ndarray, settings: TagSettings
) -> list[TagResult]:
    """Per-frame probabilities (frames x labels) -> the clip's tags, best first.

    mean/max: a tag is kept when the mean (max) over frames is above its category's threshold
    (strictly, as SmilingWolf's wd-tagger app: ``x[1] > general_thresh``).
    vote: kept when at least half the frames are above it; its confidence is the mean,
    so confidences compare across aggregations.  With MCut the threshold is cut from the
    confidences themselves (per frame for vote).  The top rating is always a tag.
    """
    probs = np.atleast_2d(np.asarray(probs, dtype=np.float32))
    mean = probs.mean(axis=0)
    conf = probs.max(axis=0) if settings.aggregation is Aggregation.MAX else mean
    if settings.aggregation is Aggregation.VOTE:
        per_frame = np.stack([thresholds_for(row, categories, settings) for row in probs])
        keep = (probs > per_frame).mean(axis=0) >= 0.5
        thresholds = per_frame.mean(axis=0)
    else:
        thresholds = thresholds_for(conf, categories, settings)
        keep = conf > thresholds
    excluded = {_norm(x) for x in settings.exclude}
    out: list[TagResult] = []
    ratings = np.flatnonzero(categories == RATING)
    if settings.include_rating and len(ratings):
        top = int(ratings[np.argmax(conf[ratings])])
        if _norm(names[top]) not in excluded:
            out.append(
                TagResult(
                    display_name(names[top], settings.underscores), "rating", float(conf[top]), None
                )
            )
    chosen = [
        i
        for i in map(int, np.flatnonzero(keep & (categories != RATING)))
        if _norm(names[i]) not in excluded
    ]
    # Characters first (they say the most), then general tags, each by confidence.
    chosen.sort(key=lambda i: (categories[i] != CHARACTER, -conf[i]))
    for i in chosen:
        cat = CATEGORY_NAMES.get(int(categories[i]), "meta")
        out.append(
            TagResult(
                display_name(names[i], settings.underscores),
                cat if cat != "rating" else "meta",
                float(conf[i]),
                float(thresholds[i]),
            )
        )
    return out


@dataclass(frozen=True)
class _Job:
    clip_id: int
    path: Path
    frame_count: int


@dataclass
class _Decoded:
    clip_id: int
    numbers: list[int]
    batch: np.ndarray  # (frames, size, size, 3) float32, preprocessed


@dataclass
class _Failed:
    clip_id: int
    error: Exception


class FrameFeeder:
    """Threads that decode peak frames and preprocess them ahead of inference.

    Inputs are immutable job records (no Project: SQLite connections stay in their thread).
    One worker is enough on a CPU provider (the model wants the cores); a GPU eats frames
    faster than one decoder makes them, so more workers help there.  Results come in the
    order they are ready.  :meth:`stop` is safe at any time (a cancelled stage calls it).
    """

    def __init__(
        self,
        jobs: Sequence[_Job],
        frames: int,
        preprocess: Callable[[np.ndarray], np.ndarray],
        ahead: int = 4,
        workers: int = 1,
        decoder_threads: int = 0,
    ) -> None:
        self.frames = frames
        self.decoder_threads = decoder_threads
        self.preprocess = preprocess
        # Decoded or failed clips; None when a worker has finished.
        self.queue: queue.Queue[_Decoded | _Failed | None] = queue.Queue(maxsize=max(1, ahead))
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        for job in jobs:
            self._jobs.put(job)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name="autotag-decode", daemon=True)
            for _ in range(max(1, workers))
        ]
        self._running = len(self._threads)

    def start(self) -> FrameFeeder:
        for thread in self._threads:
            thread.start()
        return self

    def _put(self, item: _Decoded | _Failed | None) -> bool:
        while not self._stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    return
                try:
                    clip = peak_frames(
                        job.path,
                        self.frames,
                        job.frame_count,
                        stop=self._stop,
                        threads=self.decoder_threads,
                    )
                    batch = np.stack([self.preprocess(img) for img in clip.images])
                    item: _Decoded | _Failed = _Decoded(job.clip_id, clip.numbers, batch)
                except Exception as exc:  # reported per clip; the others go on
                    item = _Failed(job.clip_id, exc)
                if not self._put(item):
                    return
        finally:
            self._put(None)

    def __iter__(self) -> Iterator[_Decoded | _Failed | None]:
        """Decoded clips as they are ready; None every HEARTBEAT_S while none is (so the stage
        can yield progress while a long clip decodes)."""
        running = len(self._threads)
        while running:
            try:
                item = self.queue.get(timeout=HEARTBEAT_S)
            except queue.Empty:
                yield None
                continue
            if item is None:  # a worker finished
                running -= 1
                continue
            yield item

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            while thread.is_alive():  # unblock a producer waiting on a full queue
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    thread.join(timeout=0.05)


def _select(project: Project, clip_ids: Sequence[int] | None) -> list[Clip]:
    clips = project.clips()
    if clip_ids is None:
        return [c for c in clips if not c.rejected]  # a person rejected them
    by_id = {c.id: c for c in clips}
    missing = [i for i in clip_ids if i not in by_id]
    if missing:
        raise WorkstationError(f"clip ids not in the project: {', '.join(map(str, missing))}")
    return [by_id[i] for i in clip_ids]


def tag_clips(
    project: Project,
    clip_ids: Sequence[int] | None = None,
    settings: TagSettings | None = None,
    *,
    tagger: Tagger | None = None,
) -> Stage[TagSummary]:
    """Tag clips (all when ``clip_ids`` is None) and store every tag with its provenance.

    Clips already tagged by the same model are skipped unless ``settings.redo``.  A clip that
    fails (missing or broken file) is reported in the summary; the others go on.
    """
    settings = settings or TagSettings()
    clips = _select(project, clip_ids)
    total = len(clips)
    if tagger is None:
        from workstation.core.autotag import create_tagger

        yield Progress("tag", 0, total, "", f"loading {settings.model}")
        tagger = create_tagger(settings)
    summary = TagSummary(model=tagger.model_id, provider=tagger.provider)
    yield Progress("tag", 0, total, "", f"model on {tagger.provider}")
    start = time.perf_counter()
    jobs = []
    for clip in clips:
        if not settings.redo and project.has_auto_tags(clip.id, tagger.model_id):
            summary.skipped.append(clip.id)
        else:
            jobs.append(_Job(clip.id, clip.path, clip.frame_count))
    names = {c.id: c.path.name for c in clips}
    done = len(summary.skipped)
    if not jobs:
        yield Progress("tag", done, total, "", "nothing to do")
        return summary
    feeder = _start_feeder(jobs, tagger, settings)
    infer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autotag-infer")
    run = _TagRun(project, tagger, settings, summary, infer, names, total, done)
    try:
        yield from _tag_fed(run, feeder)
    finally:
        feeder.stop()
        infer.shutdown(wait=True, cancel_futures=True)
        summary.seconds = time.perf_counter() - start
    return summary


def _start_feeder(jobs: Sequence[_Job], tagger: Tagger, settings: TagSettings) -> FrameFeeder:
    """A started feeder for the jobs, sized for where the model runs."""
    on_cpu = tagger.provider == "CPUExecutionProvider"
    workers = settings.decode_workers or (1 if on_cpu else min(4, os.cpu_count() or 1))
    return FrameFeeder(
        jobs,
        settings.frames,
        tagger.preprocess,
        ahead=max(2, 2 * settings.batch_size // settings.frames),
        workers=workers,
        decoder_threads=1 if on_cpu else 0,
    ).start()


@dataclass
class _TagRun:
    """The state one tagging run shares between its batches (``done`` counts clips finished)."""

    project: Project
    tagger: Tagger
    settings: TagSettings
    summary: TagSummary
    infer: ThreadPoolExecutor
    names: dict[int, str]
    total: int
    done: int


def _tag_fed(run: _TagRun, feeder: FrameFeeder) -> Iterator[Progress]:
    """Collect the feeder's clips into batches of ``batch_size`` frames and tag each batch."""
    pending: list[_Decoded] = []
    for item in feeder:
        if item is None:
            yield Progress("tag", run.done, run.total, "", "decoding frames")
            continue
        if isinstance(item, _Failed):
            run.summary.failed[item.clip_id] = str(item.error)
            run.done += 1
            yield Progress("tag", run.done, run.total, run.names[item.clip_id], "failed")
            continue
        pending.append(item)
        if sum(len(d.batch) for d in pending) >= run.settings.batch_size:
            yield from _flush(run, pending)
    if pending:
        yield from _flush(run, pending)


def _predict(run: _TagRun, batch: np.ndarray) -> Generator[Progress, None, np.ndarray]:
    """The model's probabilities for a batch of frames, yielding progress while it runs."""
    tagger = run.tagger
    # The model runs in its own thread so this stage keeps yielding (the GUI stays live
    # and cancel is immediate: the run is interrupted, not waited for).
    future = run.infer.submit(tagger.predict, batch)
    try:
        while True:
            try:
                return future.result(timeout=HEARTBEAT_S)
            except FutureTimeout:
                yield Progress(
                    "tag", run.done, run.total, "", f"running the model on {len(batch)} frames"
                )
            except InterruptedError:
                raise
            except Exception as exc:  # e.g. out of GPU memory: every clip would fail
                raise ModelError(
                    tagger.model_id,
                    f"the model failed on a batch of {len(batch)} frames: {exc}",
                ) from None
    finally:
        if not future.done():
            interrupt = getattr(tagger, "interrupt", None)
            if interrupt is not None:
                interrupt()
            wait([future], timeout=30)


def _flush(run: _TagRun, pending: list[_Decoded]) -> Iterator[Progress]:
    """Tag the pending clips as one batch, store their tags and empty ``pending``."""
    tagger, settings, summary = run.tagger, run.settings, run.summary
    batch = np.concatenate([d.batch for d in pending])
    t = time.perf_counter()
    probs = yield from _predict(run, batch)
    summary.inference_seconds += time.perf_counter() - t
    summary.frames += len(batch)
    row = 0
    results = []
    for d in pending:
        n = len(d.batch)
        results.append(
            (
                d.clip_id,
                aggregate(probs[row : row + n], tagger.names, tagger.categories, settings),
            )
        )
        row += n
    pending.clear()
    # One transaction (one undoable edit) per batch of clips.
    store_auto_tags(
        run.project,
        results,
        tagger.model_id,
        settings.aggregation.value,
        settings.general_threshold,
    )
    for clip_id, tags in results:
        summary.tagged.append(clip_id)
        run.done += 1
        yield Progress(
            "tag",
            run.done,
            run.total,
            run.names[clip_id],
            f"{len(tags)} tags",
            {"clip_id": clip_id, "tags": [t.name for t in tags]},
        )
