"""Detecting several videos at once: one child process per video, up to ``jobs`` at a time.

A long video's pass already spreads over the cores (:mod:`.segments`), but a short one cannot
be split, and a folder of short videos finishes sooner when videos run side by side; each
video's pass then splits over its share of the cores only.  Each video runs :func:`detect_video` in its own process
(:mod:`workstation.core.isolate`: a Project cannot cross a process boundary, its folder can), so
resume, tombstones and manual cuts behave exactly as in a serial run; SQLite's WAL lets the
processes take turns writing.  Their progress is merged into one stream of reports.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from workstation.core import isolate
from workstation.core.detect import segments
from workstation.core.detect.stage import DetectionResult
from workstation.core.errors import WorkstationError
from workstation.core.progress import Progress, Stage
from workstation.core.store import Project

_POLL_S = 0.2


#: ``(what, video id, payload)``: a Progress, the stage's result, or an error message.
_Report = tuple[str, int, Any]


def _drive(stage: Stage[Any], vid: int, out: queue.Queue[_Report], stop: threading.Event) -> None:
    """Run one video's stage in this thread, posting its reports; closes it when stopped."""
    try:
        while True:
            if stop.is_set():
                return
            try:
                out.put(("progress", vid, next(stage)))
            except StopIteration as done:
                out.put(("done", vid, done.value))
                return
    except WorkstationError as exc:  # a bad file, a stale video id: named by the child
        out.put(("error", vid, str(exc)))
    except Exception as exc:
        out.put(("error", vid, f"{type(exc).__name__}: {exc}"))
    finally:
        stage.close()  # cancels the child at its next yield if it is still running


def _videos(
    project: Project, ids: list[int], settings: Any
) -> tuple[dict[int, int], dict[int, str], dict[int, Any]]:
    """Each video's frame count and name; a stale id gets its failed result instead."""
    totals: dict[int, int] = {}
    names: dict[int, str] = {}
    results: dict[int, Any] = {}
    for vid in ids:
        try:
            video = project.video(vid)
        except (WorkstationError, ValueError) as exc:  # a stale id: no process for it
            results[vid] = DetectionResult([], {}, settings.threshold, 0, error=str(exc))
            continue
        totals[vid], names[vid] = max(0, video.frame_count), video.name
    return totals, names, results


def detect_in_parallel(
    project: Project,
    ids: list[int],
    settings: Any,
    *,
    restart: bool,
    kind: str,
    jobs: int,
) -> Stage[dict[int, Any]]:
    """Detect ``ids`` with up to ``jobs`` child processes; returns ``{video id: result}``.

    Reports count frames over all the videos; a video that fails gets a result with its
    ``error`` and the others go on, as in :func:`.project_runs.detect_project`.
    """
    totals, names, results = _videos(project, ids, settings)
    total = sum(totals.values())
    done: dict[int, int] = dict.fromkeys(totals, 0)
    reports: queue.Queue[_Report] = queue.Queue()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    waiting = list(totals)
    running = 0
    # The cores are shared out: each video's pass splits over its share (segments.py).
    share = max(1, segments.auto_workers() // max(1, jobs))

    def start_next() -> None:
        nonlocal running
        vid = waiting.pop(0)
        stage = isolate.in_child_process(
            isolate.project_stage,
            str(project.root),
            "workstation.core.detect.project_runs",
            "detect_video",
            vid,
            settings,
            restart=restart,
            kind=kind,
            workers=share,
        )
        t = threading.Thread(
            target=_drive, args=(stage, vid, reports, stop), name=f"detect video {vid}"
        )
        t.start()
        threads.append(t)
        running += 1

    try:
        while waiting and running < max(1, jobs):
            start_next()
        yield Progress("detect", 0, total, f"{len(ids)} videos", f"{running} at a time")
        for vid, bad in results.items():
            yield Progress("detect", 0, total, f"video {vid}", bad.error, {"error": bad.error})
        while running:
            try:
                what, vid, payload = reports.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            name = names[vid]
            if what == "progress":
                done[vid] = min(max(done[vid], payload.done), totals[vid] or payload.done)
                extra = {"video": vid, **payload.data}
                message = payload.message
                yield Progress("detect", sum(done.values()), total, name, message, extra)
                continue
            running -= 1
            if what == "done":
                results[vid] = payload
                done[vid] = totals[vid] or payload.frames
                yield Progress("detect", sum(done.values()), total, name, "done", {"video": vid})
            else:
                results[vid] = DetectionResult([], {}, settings.threshold, 0, error=payload)
                extra = {"video": vid, "error": payload}
                yield Progress("detect", sum(done.values()), total, name, payload, extra)
            if waiting:
                start_next()
    finally:
        stop.set()  # each thread closes its stage: the children stop at their next yield
        for t in threads:
            t.join()
    return {vid: results[vid] for vid in ids if vid in results}
