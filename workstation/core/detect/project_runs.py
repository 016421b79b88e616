"""Detection runs stored in a project: one video (resumable), or all of a project's videos.

The default detector is TransNetV2 (:mod:`.learned`); its per-frame outputs are saved chunk by
chunk (:func:`learned_run`), as are the ensemble's curves while :func:`~.stage.decode_pass`
measures them, so a cancelled or crashed run of either resumes where it stopped; the cuts are
stored when the run is complete.  Detectors other than the ensemble go through
:func:`~.registry.detect_video_with`; several videos at once through :mod:`.parallel`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workstation.core.detect import learned, stage, transitions
from workstation.core.detect.features import CURVES
from workstation.core.detect.stage import (
    DETECTOR,
    DetectionResult,
    DetectSettings,
    Fronts,
    LiveCuts,
    Rows,
    decode_pass,
    result_of,
    with_cuts,
)
from workstation.core.errors import WorkstationError
from workstation.core.progress import Progress, Stage
from workstation.core.store import Project, Video

#: The ensemble's recommended preset (one frozen instance, as a default argument is).
_DEFAULTS = DetectSettings()
#: The default detector (:class:`~.registry.DetectorKind` ``TRANSNETV2``).
DEFAULT_KIND = learned.DETECTOR


def detect_video(
    project: Project,
    video_id: int,
    settings: DetectSettings = _DEFAULTS,
    *,
    restart: bool = False,
    kind: str = DEFAULT_KIND,
    workers: int | None = None,
) -> Stage[DetectionResult]:
    """Detect one project video, storing scores as it goes and the cuts at the end.

    A run with the same settings that was cancelled (or crashed) is resumed from its saved
    frames unless ``restart``.  Manual cuts and deleted auto cuts are never touched
    (:meth:`Project.replace_auto_cuts`).  ``kind`` picks the detector of :mod:`.registry` (a
    :class:`~.registry.DetectorKind`; ``settings`` are the ensemble's); runs of the default
    (TransNetV2) and of the ensemble resume, the others are stored, not resumed.
    """
    if kind != DETECTOR:
        from workstation.core.detect.registry import detect_video_with

        return (yield from detect_video_with(project, video_id, kind, settings, restart=restart))
    video = project.video(video_id)
    path = Path(video.path)
    params = settings.to_params()
    total = video.frame_count
    index = project.frame_index(video_id)
    rows = Rows(total)
    start = 0
    resumable = None if restart else project.resumable_detection(video_id, DETECTOR, params)
    if resumable is not None:
        detection_id, saved = resumable
        start = _restore(project, detection_id, rows, saved)
    else:
        detection_id = project.start_detection(video_id, DETECTOR, params, settings.threshold)
    live = LiveCuts(rows, settings)
    saver = _Saver(project, detection_id, rows, start)

    def on_chunk(done: int, fronts: Fronts = (), /) -> None:
        if done > saver.upto:
            saver.save(done)
        live.update([(start, done), *fronts])

    state = "failed"
    try:
        message = f"resuming at frame {start}" if start else "finding cuts"
        yield Progress("detect", start, total, path.name, message, {"cuts": []})
        scan = decode_pass(
            path,
            settings,
            rows,
            start=start,
            total=total,
            index=index,
            keyframes=project.keyframes(video_id),
            workers=workers,
            on_chunk=on_chunk,
            pixels=video.width * video.height,
        )
        frames = yield from with_cuts(scan, live.cuts)
        saver.save(frames)
        result = result_of(rows, frames, settings)
        yield from transitions.refine_result(result, path, video.fps, index)
        save_score(project, detection_id, result.scores["score"], frames)
        transitions.store_cuts(project, video_id, result.cuts)
        result.detection_id = detection_id
        state = "done"
        yield Progress(
            "detect", frames, total, path.name, "done", {"cuts": [c.frame for c in result.cuts]}
        )
        return result
    except GeneratorExit:
        if state == "done":  # closed after its last report: the run is complete
            raise
        state = "cancelled"
        # Keep what was measured since the last full chunk too: a resume starts there.
        done = _measured_until(rows, saver.upto, total)
        if done > saver.upto:
            saver.save(done)
        raise
    finally:
        project.finish_detection(detection_id, state)


class _Saver:
    """Stores a run's curves chunk by chunk as the pass measures them (a resume reads them)."""

    def __init__(self, project: Project, detection_id: int, rows: Rows, upto: int) -> None:
        self.project, self.detection_id, self.rows = project, detection_id, rows
        self.upto = upto  # frames saved so far

    def save(self, done: int) -> None:
        """Save frames up to ``done``: the chunk holding the last saved frame again, then on."""
        chunk_size = stage.CHUNK
        first = (self.upto // chunk_size) * chunk_size
        for chunk in range(first, done, chunk_size):
            end = min(chunk + chunk_size, done)
            for i, name in enumerate(CURVES):
                values = self.rows.a[chunk:end, i]
                self.project.save_score_chunk(self.detection_id, name, chunk, values, end)
        self.upto = done


def save_score(project: Project, detection_id: int, score: np.ndarray, frames: int) -> None:
    """Store a run's hard-cut evidence curve (the one the timeline draws), chunk by chunk."""
    chunk_size = stage.CHUNK
    for chunk in range(0, frames, chunk_size):
        part = score[chunk : chunk + chunk_size]
        project.save_score_chunk(detection_id, "score", chunk, part, frames)


def _measured_until(rows: Rows, saved: int, total: int) -> int:
    """Frames measured so far (rows are filled in order; unfilled rows are all zero)."""
    filled = np.flatnonzero(rows.a[saved:total].any(axis=1))
    return saved + int(filled[-1]) + 1 if len(filled) else saved


def _restore(project: Project, detection_id: int, rows: Rows, saved: int) -> int:
    """Load a run's saved curves into ``rows``; returns the frame to resume at."""
    good = saved
    a = rows.a
    for i, name in enumerate(CURVES):
        values = project.scores(detection_id, name)
        good = min(good, len(values))
        a[: min(len(values), len(a)), i] = values[: len(a)]
    return max(0, min(good, len(a) - 8))


def detect_project(
    project: Project,
    video_ids: list[int] | None = None,
    settings: DetectSettings = _DEFAULTS,
    restart: bool = False,
    kind: str = DEFAULT_KIND,
    jobs: int = 1,
) -> Stage[dict[int, DetectionResult]]:
    """Detect all (or the given) videos; a video that fails gets its error, the rest go on.

    An unknown or unavailable ``kind`` fails once, before any video, naming it and why.  With
    ``jobs > 1`` up to that many videos run at once, each in its own process
    (:mod:`.parallel`)."""
    if kind != DETECTOR:
        from workstation.core.detect.registry import require

        require(kind)
    ids = [v.id for v in project.videos()] if video_ids is None else list(video_ids)
    if jobs > 1 and len(ids) > 1:
        from workstation.core.detect.parallel import detect_in_parallel

        return (
            yield from detect_in_parallel(
                project, ids, settings, restart=restart, kind=kind, jobs=jobs
            )
        )
    results: dict[int, DetectionResult] = {}
    for k, vid in enumerate(ids):
        try:
            results[vid] = yield from detect_video(
                project, vid, settings, restart=restart, kind=kind
            )
        except (WorkstationError, ValueError) as exc:  # a bad file, a stale video id
            message = str(exc)
            results[vid] = DetectionResult([], {}, settings.threshold, 0, error=message)
            yield Progress("detect", k + 1, len(ids), f"video {vid}", message, {"error": message})
    return results


# ---------------------------------------------------------------------------------------------
# The default detector's runs (TransNetV2, :mod:`.learned`)
# ---------------------------------------------------------------------------------------------
def learned_run(
    project: Project, video: Video, *, restart: bool = False
) -> Stage[tuple[int, DetectionResult]]:
    """Score one project video with the network, saving its outputs chunk by chunk; returns
    ``(detection id, result)``, the run still open (the caller stores the cuts and finishes
    it, :func:`~.registry.detect_video_with`).  A cancelled run is marked so, and the next
    one with the same params resumes at the window where it stopped (unless ``restart``)."""
    from workstation.core.detect import transnet_onnx

    transnet_onnx.ensure_model()  # (a clear message before any record is made)
    params = learned.params()
    total = video.frame_count
    outputs = learned.Outputs(total)
    start = 0
    resumable = None if restart else project.resumable_detection(video.id, learned.DETECTOR, params)
    if resumable is not None:
        detection_id, saved = resumable
        start = _restore_outputs(project, detection_id, outputs, saved)
    else:
        detection_id = project.start_detection(
            video.id, learned.DETECTOR, params, learned.THRESHOLD
        )
    saved_upto = start

    def save(done: int) -> None:
        nonlocal saved_upto
        first = (saved_upto // stage.CHUNK) * stage.CHUNK
        for chunk in range(first, done, stage.CHUNK):
            end = min(chunk + stage.CHUNK, done)
            for name in learned.OUTPUTS:
                values = outputs.curve(name, end)[chunk:end]
                project.save_score_chunk(detection_id, name, chunk, values, end)
        saved_upto = done

    index = project.frame_index(video.id) if start else None
    first = max(0, start - learned.PAD) if start else 0
    reader = learned.NetReader(Path(video.path), first=first, index=index)
    finished = False
    try:
        if start:
            yield Progress("detect", start, total, video.name, f"resuming at frame {start}")
        frames = yield from learned.score_pass(
            reader, outputs, start=start, total=total, on_batch=save
        )
        save(frames)
        finished = True
    finally:
        reader.close()
        if not finished:
            project.finish_detection(detection_id, "cancelled")
    return detection_id, learned.result_of(outputs, frames)


def _restore_outputs(
    project: Project, detection_id: int, outputs: learned.Outputs, saved: int
) -> int:
    """Load a run's saved outputs; returns the frame to resume at (a window's first)."""
    good = saved
    for name in learned.OUTPUTS:
        values = project.scores(detection_id, name)
        good = min(good, len(values))
        outputs.set(name, values)
    return learned.resume_point(good)
