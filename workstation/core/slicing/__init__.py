"""Frame-exact slicing of kept segments into training clips, verified, over worker processes.

Clips are re-encoded (H.264, yuv420p, even dimensions) from exactly the frames ``[start, end)``:
a stream copy would have to start at the previous keyframe and drag in frames of the previous
shot.  Each worker seeks to the keyframe before its range with the stored :class:`FrameIndex`,
decodes forward, numbers frames by their timestamps, encodes to a temp file beside the final
one and verifies it (frame count, first and last frame against the source); this process then
puts it in place.

Never a finished clip without its row, even on a full disk or a kill: the stage first commits
the clip's row marked unverified ("being put in place"), then renames the temp file to its
final name (``atomic.replacing``), then commits the row verified.  A failed first commit leaves
only the temp file, which is removed; a kill after the rename leaves a row that says
unverified, so the next run encodes the clip again instead of reusing it.  (Renaming first and
committing after would leave, on a full disk, a clip with no row, or a re-sliced clip whose old
row still claims its old settings.)  A full disk stops the run: the clip it hit is named, with
the file that could not be written.  Temp files a killed run left (``.NAME.ws-PID.tmp``, and the
``.NAME.PID.part`` of older versions) are removed on the next run, and the ``.txt`` sidecars of
the videos' clips are reconciled with the database (rewritten only where they differ), so a
run killed between an edit's commit and its sidecar writes is repaired by running it again.

Changing the frame rate resamples by timestamps ("sample and hold"): output frame ``k`` shows
the source frame on screen at ``t_start + k / fps`` (exact rational arithmetic on the stored
timestamps), so frames are dropped when lowering the rate and repeated when raising it, and
the clip keeps the segment's duration.  A clip's source range ``[start, end)`` (its name and
its row) is the source time it covers, so it does not change with the output frame rate.
With ``fps=None`` every source frame is kept once; a variable-frame-rate source then keeps its
own timestamps.

Lengths (``min_frames``/``max_frames``) count output frames.  A segment longer than
``max_frames`` is split into consecutive chunks of exactly ``max_frames``; a chunk (or segment)
shorter than ``min_frames`` is skipped and reported.  A fade's or dissolve's frames (its cut's
span) are left out of the clips on both sides unless ``keep_transitions``.  ``trim`` drops that
many frames at each edge that is a cut (not at the very start or end of the video), where a
transition frame often hides.

Modules: ``settings`` (what the person chose), ``plan`` (segments to clip plans), ``encode``
and ``verify`` (one clip, in a worker), ``upright`` (rotation); this module runs the stage:
it plans, reuses clips already made, spreads the encodes over a thread or worker processes,
records each clip as it finishes and cleans up on cancel.
"""

from __future__ import annotations

import contextlib
import errno
import json
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from workstation.core import atomic, cliptext, isolate
from workstation.core.errors import MediaError, WorkstationError
from workstation.core.progress import Progress, Stage
from workstation.core.slicing.encode import _encode, _Interrupted
from workstation.core.slicing.plan import (
    ClipPlan,
    SkippedSegment,
    clip_folder,
    clip_name,
    output_size,
    plan_video,
)
from workstation.core.slicing.plan import (
    _source_frames as _source_frames,  # export.py imports it from here
)
from workstation.core.slicing.settings import SETTINGS_VERSION, SliceSettings, SliceSettingsError
from workstation.core.slicing.upright import quarter_turns, upright_rgb
from workstation.core.slicing.verify import Verification, _check_clip, match_tolerance, verify_clip
from workstation.core.store import CLIP_SEGMENT_KEY, DB_NAME, Project, database_error

__all__ = [
    "PART_SUFFIX",
    "POOL_MIN_CPUS",
    "POOL_MIN_FRAMES",
    "SETTINGS_VERSION",
    "ClipPlan",
    "ClipResult",
    "SkippedSegment",
    "SliceResult",
    "SliceSettings",
    "SliceSettingsError",
    "Verification",
    "clip_folder",
    "clip_name",
    "encode_clip",
    "match_tolerance",
    "output_size",
    "plan_video",
    "quarter_turns",
    "split_project",
    "split_video",
    "upright_rgb",
    "verify_clip",
]

# Starting a spawn pool costs 0.5-4 s (each worker imports numpy and PyAV).  On 2 cores a
# single thread (x264 threads itself) sliced the demo set twice as fast as 2 processes (see
# docs/benchmarks.md), so by default a pool is used only for big jobs on bigger machines.
POOL_MIN_CPUS = 4
POOL_MIN_FRAMES = 1500
PART_SUFFIX = ".part"


@dataclass
class ClipResult:
    path: Path
    video_id: int
    start: int  # source frames [start, end)
    end: int
    frames: int
    verified: bool
    error: str | None = None
    reused: bool = False
    clip_id: int | None = None  # the project's clip row (None for reused and failed clips)


@dataclass
class SliceResult:
    clips: list[ClipResult] = field(default_factory=list)  # written, reused or failed
    skipped: list[SkippedSegment] = field(default_factory=list)
    stale: list[Path] = field(default_factory=list)  # clips of these videos the cuts no longer give
    errors: list[str] = field(default_factory=list)  # one sentence per failed clip/video
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def written(self) -> list[ClipResult]:
        return [c for c in self.clips if not c.reused and c.verified]

    @property
    def reused(self) -> list[ClipResult]:
        return [c for c in self.clips if c.reused]

    @property
    def failed(self) -> list[ClipResult]:
        return [c for c in self.clips if not c.verified]


# ---------------------------------------------------------------------------------------------
# The worker side (runs in a child process, or inline)
# ---------------------------------------------------------------------------------------------
_CANCEL: Any = None  # a multiprocessing.Event in workers
_FRAMES: Any = None  # a shared counter of frames encoded, for progress
_OWNER = 0  # the pid of the process that puts clips in place (names the temp files)

# The verify_error of a clip row committed before its file is renamed into place.
PENDING = "being put in place when the run stopped; split again to make it"


def _init_worker(cancel: Any, frames: Any, owner: int = 0) -> None:
    global _CANCEL, _FRAMES, _OWNER
    _CANCEL, _FRAMES, _OWNER = cancel, frames, owner


def _temp_for(final: Path, owner: int) -> Path:
    """The temp file a worker encodes to: ``atomic.temp_path`` of the process that renames it,
    so ``atomic.replacing`` there finds it and a sweep after that process died removes it."""
    return final.with_name(f".{final.name}.ws-{owner or os.getpid()}.tmp")


class _Counter:
    """The in-process stand-in for a shared ``multiprocessing.Value`` frame counter."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock


def encode_clip(
    plan: ClipPlan, cancel: Any = None, counter: Any = None, owner: int = 0
) -> dict[str, Any]:
    """Encode and verify one clip into its temp file; returns a picklable outcome (never raises).

    ``cancel`` (an Event) stops it at the next frame; ``counter`` counts encoded frames;
    ``owner`` is the pid of the process that will put the clip in place (this one when 0).  In
    worker processes they come from the pool initializer instead.  The outcome's ``tmp`` names
    the encoded file when ``written``; the caller renames it (see the module docstring).
    """
    final = Path(plan.path)
    tmp = _temp_for(final, owner or _OWNER)
    outcome: dict[str, Any] = {
        "path": plan.path,
        "frames": 0,
        "verified": False,
        "error": None,
        "written": False,
        "tmp": str(tmp),
        "disk_full": False,
    }
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        refs = _encode(plan, tmp, cancel or _CANCEL, counter or _FRAMES)
        check = _check_clip(
            tmp,
            len(plan.src),
            refs,
            plan.src[0],
            plan.src[-1],
            plan.tolerance,
            plan.width,
            plan.height,
        )
        outcome.update(frames=check.frames, verified=check.ok, error=check.error, written=True)
    except _Interrupted:
        outcome["error"] = "cancelled"
    except OSError as exc:
        outcome["error"] = str(atomic.write_error(final, exc))
        outcome["disk_full"] = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    except MediaError as exc:
        outcome["error"] = f"{final.name}: {exc}"
    except Exception as exc:  # one bad segment must not stop the others
        outcome["error"] = f"{final.name}: encoding failed ({type(exc).__name__}: {exc})"
    finally:
        if not outcome["written"]:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return outcome


# ---------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------
def split_video(
    project: Project,
    video_id: int,
    settings: SliceSettings = SliceSettings(),  # noqa: B008 (frozen, so sharing it is safe)
    *,
    workers: int | None = None,
) -> Stage[SliceResult]:
    """Slice one video's kept segments (see :func:`split_project`)."""
    return (yield from split_project(project, [video_id], settings, workers=workers))


def _existing_clip(project: Project, path: Path, params: str) -> int | None:
    """Frame count of a verified clip at ``path`` made with the same settings, if any."""
    made = project.clip_recipe(path)
    if made is None or not made[1] or not path.is_file() or path.stat().st_size == 0:
        return None
    settings, _verified, frame_count = made
    settings = {k: v for k, v in settings.items() if k != CLIP_SEGMENT_KEY}
    if json.dumps(settings, sort_keys=True) != params:
        return None
    return frame_count


def _remove_stale_parts(folder: Path) -> None:
    """Temp files of a slicer that died are removed: this version's ``.NAME.ws-PID.tmp``
    (also the sidecars'), and the ``.NAME.PID.part`` and ``.NAME.PID.tmp`` older versions
    wrote (:func:`atomic.sweep_temps`)."""
    if folder.is_dir():
        atomic.sweep_temps(folder, legacy=(".tmp", PART_SUFFIX))


def split_project(
    project: Project,
    video_ids: Iterable[int] | None = None,
    settings: SliceSettings = SliceSettings(),  # noqa: B008 (frozen, so sharing it is safe)
    *,
    workers: int | None = None,
) -> Stage[SliceResult]:
    """Slice the kept segments of videos into verified clips, spread over processes.

    ``workers=0`` encodes one clip at a time in a thread of this process; ``workers=N`` runs a
    spawn-based pool of N processes (a script that calls this needs the
    ``if __name__ == "__main__":`` guard).  The default picks the thread for small jobs and
    machines under 4 cores, else one process per core.  Clips already present and
    verified with the same settings are reused.  Cancelling (closing the generator) drops
    pending clips, stops running ones at their next frame and removes their temp files; clips
    finished by then are recorded.
    """
    t0 = time.monotonic()
    result = SliceResult()
    ids = [v.id for v in project.videos()] if video_ids is None else list(video_ids)
    params = settings.to_params()
    params_key = json.dumps(params, sort_keys=True)
    cpus = os.cpu_count() or 1
    yield Progress("slice", 0, None, "", "planning clips")
    plans = _plan_clips(project, ids, settings, params_key, result)
    n_workers = min(cpus if workers is None else workers, len(plans))
    total_frames = sum(len(p.src) for p in plans)
    if workers is None and (cpus < POOL_MIN_CPUS or total_frames < POOL_MIN_FRAMES):
        n_workers = 0  # a thread, with x264's own threads on every core, is faster here
    threads = max(1, cpus // max(1, n_workers))
    plans = [_with_threads(p, threads) for p in plans]
    recorder = _Recorder(project, result, params, plans, total_frames)

    if not plans:
        _reconcile_sidecars(project, ids, result)
        result.seconds = time.monotonic() - t0
        yield Progress("slice", 0, 0, "", "nothing to do")
        return result

    pool, submit, cancel, counter = _start_pool(n_workers)
    futures: dict[Future[dict[str, Any]], ClipPlan] = {}
    recorded: set[Future[dict[str, Any]]] = set()
    finished = False
    try:
        futures = {pool.submit(submit, p): p for p in plans}
        pending = set(futures)
        yield recorder.progress(plans[0].name)
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for fut in done:
                recorded.add(fut)
                recorder.record(_outcome(fut, futures[fut]))
            if recorder.fatal:
                break  # a full disk: the other clips would fail alike
            if done:
                yield recorder.progress(futures[next(iter(done))].name)
            else:
                live = min(total_frames, max(recorder.done_frames, counter.value))
                p = recorder.progress("")
                yield Progress(p.stage, live, p.total, p.item, p.message, p.data)
        finished = True
    finally:
        if not finished or recorder.fatal:
            cancel.set()
        result.cancelled = not finished
        pool.shutdown(wait=True, cancel_futures=True)
        for fut, plan in futures.items():
            if fut in recorded or not fut.done() or fut.cancelled():
                continue
            recorder.record(_outcome(fut, plan))
        for folder in {Path(p.path).parent for p in plans}:
            _remove_stale_parts(folder)
        result.seconds = time.monotonic() - t0
    _reconcile_sidecars(project, ids, result)
    yield recorder.progress("")
    return result


def _reconcile_sidecars(project: Project, video_ids: list[int], result: SliceResult) -> None:
    """Rewrite the ``.txt`` sidecars of these videos' clips that differ from the database."""
    try:
        clip_ids = [c.id for vid in video_ids for c in project.clips(vid)]
        cliptext.reconcile_sidecars(project, clip_ids)
    except WorkstationError as exc:
        result.errors.append(str(exc))


def _plan_clips(
    project: Project,
    ids: list[int],
    settings: SliceSettings,
    params_key: str,
    result: SliceResult,
) -> list[ClipPlan]:
    """The clips to encode.  Clips already made with the same settings go into ``result`` as
    reused, as do skipped segments, stale clips and videos that cannot be planned; stale temp
    files of the videos' clip folders are removed."""
    plans: list[ClipPlan] = []
    for vid in ids:
        try:
            video = project.video(vid)
        except WorkstationError as exc:
            result.errors.append(str(exc))
            continue
        try:
            vplans, skipped = plan_video(project, video, settings)
        except WorkstationError as exc:
            result.errors.append(str(exc))
            continue
        result.skipped += skipped
        _remove_stale_parts(clip_folder(project, video))
        planned = {Path(p.path) for p in vplans}
        result.stale += [c.path for c in project.clips(vid) if c.path not in planned]
        for plan in vplans:
            frames = _existing_clip(project, Path(plan.path), params_key)
            if frames is not None:
                result.clips.append(
                    ClipResult(
                        Path(plan.path), vid, plan.start, plan.end, frames, True, reused=True
                    )
                )
            else:
                plans.append(plan)
    return plans


def _start_pool(
    n_workers: int,
) -> tuple[Executor, Callable[[ClipPlan], dict[str, Any]], Any, Any]:
    """The executor for the encodes, the function to submit, the cancel event and the shared
    frame counter: one thread of this process for ``n_workers <= 0``, else spawned processes."""
    if n_workers <= 0:  # in this process, in one thread (debugging, tests, tiny jobs)
        cancel: Any = threading.Event()
        counter: Any = _Counter()
        pool: Executor = ThreadPoolExecutor(1, thread_name_prefix="slice")
        submit: Callable[[ClipPlan], dict[str, Any]] = partial(
            encode_clip, cancel=cancel, counter=counter, owner=os.getpid()
        )
    else:
        ctx = multiprocessing.get_context("spawn")  # fork is unsafe from a threaded (Qt) process
        try:  # each needs a lock in shared memory (/dev/shm)
            cancel = ctx.Event()
            counter = ctx.Value("q", 0)
            pool = ProcessPoolExecutor(
                n_workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(cancel, counter, os.getpid()),
            )
        except OSError as exc:
            raise isolate.cannot_start_workers(exc) from None
        submit = encode_clip
    return pool, submit, cancel, counter


class _Recorder:
    """Records each finished clip (in the result, and as a clip row when written) and makes the
    stage's progress records, which carry the clip rows written since the previous one."""

    def __init__(
        self,
        project: Project,
        result: SliceResult,
        params: dict[str, Any],
        plans: list[ClipPlan],
        total_frames: int,
    ) -> None:
        self.project = project
        self.result = result
        self.params = params
        self.by_path = {p.path: p for p in plans}
        self.clips_total = len(plans)
        self.total_frames = total_frames
        self.done_frames = 0
        self.new_ids: list[int] = []  # clip rows written since the last progress record
        self.fatal: str | None = None  # why the run must stop (a full disk)

    def record(self, outcome: dict[str, Any]) -> None:
        plan = self.by_path[outcome["path"]]
        self.done_frames += len(plan.src)
        error = outcome["error"]
        if error == "cancelled":
            return
        clip = ClipResult(
            Path(plan.path),
            plan.video_id,
            plan.start,
            plan.end,
            outcome["frames"],
            bool(outcome["verified"]),
            error,
        )
        result = self.result
        result.clips.append(clip)
        if error:
            result.errors.append(
                error if error.startswith(clip.path.name) else f"{clip.path.name}: {error}"
            )
        if outcome.get("disk_full"):
            self.fatal = error
        if outcome["written"]:
            self._publish(plan, clip, Path(outcome["tmp"]), outcome)

    def _publish(
        self, plan: ClipPlan, clip: ClipResult, tmp: Path, outcome: dict[str, Any]
    ) -> None:
        """Row (unverified) → rename → row (verified): see the module docstring."""
        final = Path(plan.path)
        step = "record"
        try:
            with atomic.replacing(final) as expected:
                if expected != tmp:  # the worker and this process disagree on the name
                    raise OSError(errno.ENOENT, "the encoded temp file is missing", str(tmp))
                self._row(plan, outcome, False, PENDING)
                step = "rename"
            step = "verify"
            clip.clip_id = self._row(plan, outcome, bool(outcome["verified"]), outcome["error"])
        except OSError as exc:
            self._failed(clip, str(atomic.write_error(final, exc)), step, exc.errno)
            return
        except Exception as exc:  # the database commit: a full disk, a read-only project
            self._failed(clip, _commit_error(self.project, final, exc, step), step, None, exc)
            return
        self.new_ids.append(clip.clip_id)

    def _row(self, plan: ClipPlan, outcome: dict[str, Any], verified: bool, error: Any) -> int:
        return self.project.upsert_clip(
            Path(plan.path),
            video_id=plan.video_id,
            start_frame=plan.start,
            end_frame=plan.end,
            fps=plan.out_rate,
            frame_count=outcome["frames"],
            width=plan.width,
            height=plan.height,
            settings={**self.params, CLIP_SEGMENT_KEY: list(plan.segment)},
            verified=verified,
            verify_error=error,
        )

    def _failed(
        self,
        clip: ClipResult,
        message: str,
        step: str,
        err: int | None,
        exc: Exception | None = None,
    ) -> None:
        """A clip that could not be recorded or put in place: named, and a full disk stops."""
        clip.verified, clip.error = False, message
        self.result.errors.append(message)
        if err in (errno.ENOSPC, errno.EDQUOT) or "full" in str(exc or ""):
            self.fatal = message

    def progress(self, item: str) -> Progress:
        clips_done = len(self.result.clips) - len(self.result.reused)
        ids = list(self.new_ids)
        self.new_ids.clear()
        return Progress(
            "slice",
            self.done_frames,
            self.total_frames,
            item,
            f"{clips_done} of {self.clips_total} clips",
            {"clips_done": clips_done, "clips_total": self.clips_total, "new_clip_ids": ids},
        )


def _commit_error(project: Project, clip: Path, exc: Exception, step: str) -> str:
    """A database commit that failed, in the store's words for that SQLite error."""
    if isinstance(exc, sqlite3.Error):
        where = str(database_error(project.root / DB_NAME, exc))
    elif isinstance(exc, WorkstationError):  # the store's words already
        where = str(exc)
    else:
        where = f"{project.root / DB_NAME}: {exc}"
    if step == "verify":
        return f"{clip.name}: in place but recorded as unverified ({where}); split again"
    return f"{clip.name}: not recorded ({where}); the clip was not kept"


def _outcome(fut: Future[dict[str, Any]], plan: ClipPlan) -> dict[str, Any]:
    try:
        return fut.result()
    except BrokenProcessPool:
        error = (
            f"{plan.name}: the slicing worker processes stopped unexpectedly (out of memory, "
            "or a script that starts slicing without an `if __name__ == '__main__':` guard)"
        )
    except Exception as exc:  # e.g. a pickling error
        error = f"{plan.name}: worker failed ({type(exc).__name__}: {exc})"
    return {"path": plan.path, "frames": 0, "verified": False, "written": False, "error": error}


def _with_threads(plan: ClipPlan, threads: int) -> ClipPlan:
    from dataclasses import replace

    return replace(plan, threads=threads)
