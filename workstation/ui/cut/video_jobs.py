"""The Cut view's jobs over videos: detect or slice any set of them, one video at a time.

The toolbar's buttons, the Videos menu and the video list's context menu all come here with
the videos they act on (the selection, or all videos).  Each video's job goes through the
:class:`~workstation.ui.cut.batch.VideoLane`; its results are applied on the main thread: the
shown video's timeline follows a detection live, a finished detection keeps or clears that
video's undo history (see :meth:`CutView.replaced_outside_undo`), and a batch ends with one
sentence in the status line saying what was done and what failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from workstation.core.progress import Progress
from workstation.ui.cut import stages
from workstation.ui.cut.batch import Batch, VideoLane

if TYPE_CHECKING:
    from workstation.core.slicing import SliceSettings
    from workstation.ui.common.jobs import Job
    from workstation.ui.cut.view import CutView


class VideoJobs(QObject):
    """Detect and slice jobs of a Cut view, queued in one lane."""

    batchFinished = Signal(object)  # a Batch, after its summary is shown

    def __init__(self, view: CutView) -> None:
        super().__init__(view)
        self.view = view
        self.lane = VideoLane()

    def detecting(self, video_id: int) -> bool:
        return video_id in self.lane.queued("detect")

    def busy(self) -> set[int]:
        return self.lane.busy()

    def stop(self) -> None:
        self.lane.stop()

    # -- detect ------------------------------------------------------------------------------
    def detect(self, video_ids: list[int]) -> Batch | None:
        """Detect the cuts of these videos, one job each, one after another."""
        view = self.view
        if not video_ids:
            return None
        view.sidecars.hand_over()  # the jobs read the project, not the files
        batch = Batch("detect", video_ids, self)
        items = [
            (vid, view.project.video(vid).name, self._detect_starter(vid)) for vid in video_ids
        ]
        batch.finished.connect(self._detect_batch_done)
        self.lane.add(batch, items, "Detect cuts")
        if batch.video_ids:
            first = view.project.video(batch.video_ids[0]).name
            more = len(batch.video_ids) - 1
            view.status.setText(
                f"Detecting cuts in {first}" + (f" and {more} more…" if more else "…")
            )
        view.update_enabled()
        return batch

    def _detect_starter(self, vid: int):
        view = self.view

        def start(title: str) -> Job | None:
            def progress(rec: Progress) -> None:
                cuts = rec.data.get("cuts") if rec.data else None
                if cuts is not None and view.video_id == vid:
                    view.timeline.set_live_cuts(getattr(c, "frame", c) for c in cuts)

            def ended(ok: bool, message: str | None = None) -> None:
                if view.video_id == vid:
                    view.timeline.set_live_cuts([])
                if ok:
                    view.replaced_outside_undo(vid, "Detection finished")
                elif message:
                    view.show_error(message)
                view.update_enabled()

            name = title.partition(": ")[2]
            # Looked up when the job starts, so tests (and later settings) replace it.
            stage_fn = stages.detection_stage
            job = view.jobs.run_on_project(
                title,
                lambda project: stage_fn(project, vid),
                on_progress=progress,
                on_done=lambda _r: ended(True),
                on_error=lambda message: ended(False, message),
                stage_name="detect",
                target=name,
            )
            job.cancelled.connect(lambda: ended(False))
            return job

        return start

    def _detect_batch_done(self, batch: Batch) -> None:
        view = self.view
        view.update_enabled()
        if len(batch.video_ids) > 1 or batch.cancelled:
            view.status.setText(self._summary(batch, "Detected cuts in") + ".")
        # (one video: its own message, the cuts found or the error, says it all)
        self.batchFinished.emit(batch)

    # -- slice -------------------------------------------------------------------------------
    def slice(self, video_ids: list[int], settings: SliceSettings) -> Batch | None:
        """Slice the kept segments of these videos with ``settings``, one job each."""
        view = self.view
        if not video_ids:
            return None
        view.sidecars.hand_over()
        batch = Batch("slice", video_ids, self)
        items = [
            (vid, view.project.video(vid).name, self._slice_starter(vid, settings))
            for vid in video_ids
        ]
        batch.finished.connect(self._slice_batch_done)
        self.lane.add(batch, items, "Slice")
        running = self.lane.running
        if batch.video_ids and running is not None and running.batch is not batch:
            view.status.setText(
                f"Slicing {_videos(len(batch.video_ids))} after the jobs before it."
            )
        view.update_enabled()
        return batch

    def _slice_starter(self, vid: int, settings: SliceSettings):
        view = self.view
        session = view.session

        def start(title: str) -> Job | None:
            name = title.partition(": ")[2]

            def done(result: Any) -> None:
                if session is view.session:
                    session.clipsChanged.emit()
                view.status.setText(f"Sliced {name}: {stages.slice_summary(result)}")

            return view.jobs.run_on_project(
                title,
                lambda project: stages.slice_stage(project, vid, settings),
                on_done=done,
                on_error=view.show_error,
                stage_name="slice",
                target=name,
            )

        return start

    def _slice_batch_done(self, batch: Batch) -> None:
        view = self.view
        view.update_enabled()
        if len(batch.video_ids) > 1 or batch.cancelled:
            total = stages.merge_slice_results(list(batch.results.values()))
            view.status.setText(f"{self._summary(batch, 'Sliced')}: {stages.slice_summary(total)}.")
        self.batchFinished.emit(batch)

    # -- words -------------------------------------------------------------------------------
    def _summary(self, batch: Batch, verb: str) -> str:
        """E.g. "Sliced 4 videos (1 failed: a.mp4: …; stopped, 2 not started)"."""
        names = {vid: self._name(vid) for vid in batch.video_ids}
        parts = []
        if batch.failed:
            vid, message = next(iter(batch.failed.items()))
            parts.append(f"{len(batch.failed)} failed: {names.get(vid, vid)}: {message}")
        if batch.cancelled:
            parts.append(f"stopped, {len(batch.not_started)} not started")
        extra = f" ({'; '.join(parts)})" if parts else ""
        return f"{verb} {_videos(len(batch.done))}{extra}"

    def _name(self, vid: int) -> str:
        try:
            return self.view.project.video(vid).name
        except Exception:  # removed meanwhile
            return f"video {vid}"


def _videos(n: int) -> str:
    return f"{n} video{'s' if n != 1 else ''}"
