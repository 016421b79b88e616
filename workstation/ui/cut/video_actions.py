"""The window's video actions: detect or slice the selected or all videos, remove videos from
the project, re-link a video to a moved file.

The Videos menu and the video list's context menu hold these actions
(:class:`~workstation.ui.menus.WindowMenus` adds them); detecting and slicing go to the Cut
view's :class:`~workstation.ui.cut.video_jobs.VideoJobs`, so a batch started here and one
started from the Cut view's toolbar share one queue.

Removing asks first, naming what goes (the cuts, the clip rows with their tags and captions);
clip files are deleted only when the person ticks the box, and never the video file.
Re-linking probes the chosen file in a job and accepts it only with the same frame count and
frame rate (:meth:`Project.relink_video` names the difference otherwise).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QFileDialog, QMenu, QMessageBox, QWidget

from workstation.core.errors import WorkstationError
from workstation.ui.cut import stages
from workstation.ui.cut.video_list import VideoList

if TYPE_CHECKING:
    from workstation.core.store import VideoRemoval
    from workstation.ui.common.jobs import Job, JobsController
    from workstation.ui.session import ProjectSession

log = logging.getLogger("workstation.ui.main_window")

# Asks about a removal: None to cancel, else whether to delete the clip files too.
RemovalQuestion = Callable[[QWidget, "VideoRemoval"], bool | None]


def ask_removal(parent: QWidget, removal: VideoRemoval) -> bool | None:
    """The confirmation: what goes, what stays, and a box to delete the clip files too."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Remove from project")
    box.setText(removal_question(removal))
    box.setInformativeText(
        "The video file stays where it is. Clip files stay on disk unless you tick the box."
    )
    delete = QCheckBox(
        f"Also delete the {_n(removal.clips, 'clip file')} (and their .txt sidecars)"
    )
    if removal.clips:
        box.setCheckBox(delete)
    remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    if box.clickedButton() is not remove:
        return None
    return delete.isChecked()


def removal_question(removal: VideoRemoval) -> str:
    """E.g. "Remove demo.mp4 from the project? Its 12 cuts and the rows of its 8 clips
    (3 reviewed, tagged or captioned) go too."""
    names = removal.names
    what = names[0] if len(names) == 1 else f"{len(names)} videos ({', '.join(names[:3])}…)"
    if len(names) in (2, 3):
        what = f"{len(names)} videos ({', '.join(names)})"
    its = "Its" if len(names) == 1 else "Their"
    goes = [_n(removal.cuts, "cut")]
    if removal.clips:
        rows = f"the rows of {_n(removal.clips, 'clip')}"
        if removal.edited_clips:
            rows += f" ({removal.edited_clips} reviewed, tagged or captioned)"
        goes.append(rows)
    return f"Remove {what} from the project? {its} {' and '.join(goes)} go too."


class VideoActions(QObject):
    """Detect, Detect all, Slice…, Slice all…, Remove…, Re-link… for the window's menus."""

    def __init__(
        self,
        window: QWidget,
        video_list: VideoList,
        jobs: JobsController,
        session: Callable[[], ProjectSession | None],
        cut_view: Callable[[], QWidget | None],
        status: Callable[[str], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.video_list = video_list
        self.jobs = jobs
        self._session = session
        self._cut_view = cut_view
        self._status = status
        self.ask_removal: RemovalQuestion = ask_removal  # tests answer for the person
        self.detect = self._action("&Detect cuts", self.detect_selected)
        self.detect.setToolTip("Find the cuts of the selected videos (a job per video)")
        self.detect_all = self._action("Detect &all videos", self.detect_every)
        self.slice = self._action("&Slice…", self.slice_selected)
        self.slice.setToolTip(
            "Choose how, then write a clip per kept segment of the selected videos"
        )
        self.slice_all = self._action("Slice all &videos…", self.slice_every)
        self.remove = self._action("&Remove video from project…", self.remove_selected)
        self.remove.setToolTip("Forget the selected videos, their cuts and clips (asks first)")
        self.relink = self._action("Re-&link video…", self.relink_current)
        self.relink.setToolTip("Point the video at its file after it was moved or renamed")

    def _action(self, text: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    @property
    def context_actions(self) -> list[QAction | None]:
        return [self.detect, self.slice, None, self.relink, self.remove]

    def add_to(self, menu: QMenu) -> None:
        for a in (self.detect, self.detect_all, self.slice, self.slice_all):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.relink)
        menu.addAction(self.remove)
        menu.addSeparator()

    def editing_actions(self) -> list[QAction]:
        """The actions that change the project (off while a read-only project is open)."""
        return [self.detect, self.detect_all, self.slice, self.slice_all, self.remove, self.relink]

    def update_enabled(self) -> None:
        session = self._session()
        has_project = session is not None
        selected = has_project and bool(self.video_list.selected_video_ids())
        has_videos = has_project and bool(self.video_list.model.rows)
        for a in (self.detect, self.slice, self.remove):
            a.setEnabled(selected)
        self.relink.setEnabled(has_project and self.video_list.current_video_id() is not None)
        for a in (self.detect_all, self.slice_all):
            a.setEnabled(has_videos)

    # -- detect and slice --------------------------------------------------------------------
    def _view(self) -> Any:
        view = self._cut_view()
        if view is None or not hasattr(view, "video_jobs"):
            self._status("Detecting and slicing need the Cut view, which could not be loaded.")
            return None
        return view

    def all_ids(self) -> list[int]:
        return [r.id for r in self.video_list.model.rows]

    def detect_selected(self) -> object | None:
        view = self._view()
        return view.detect_videos(self.video_list.selected_video_ids()) if view else None

    def detect_every(self) -> object | None:
        view = self._view()
        return view.detect_videos(self.all_ids()) if view else None

    def slice_selected(self) -> object | None:
        """The Slice dialog for the selected videos (shown, not waited for)."""
        view = self._view()
        return view.slice() if view else None

    def slice_every(self) -> object | None:
        view = self._view()
        if view is None:
            return None
        ids = self.all_ids()
        return view.slice_dialog(ids) if ids else None

    # -- remove ------------------------------------------------------------------------------
    def remove_selected(self) -> VideoRemoval | None:
        return self.remove_videos(self.video_list.selected_video_ids())

    def remove_videos(self, video_ids: list[int]) -> VideoRemoval | None:
        """Ask, then forget these videos; their clip files go only when asked to."""
        session = self._session()
        if session is None or not video_ids:
            return None
        view = self._cut_view()
        jobs = getattr(view, "video_jobs", None)
        busy = set(video_ids) & (jobs.busy() if jobs is not None else set())
        project = session.project
        if busy:
            name = project.video(next(iter(busy))).name
            self._status(f"{name} has a detect or slice job: wait for it or cancel it first.")
            return None
        flush = getattr(view, "flush", None)
        if flush is not None:
            flush()  # pending cut sidecars are written before their video goes
        delete_files = self.ask_removal(self.window, project.removal_of(video_ids))
        if delete_files is None:
            return None
        try:
            removal = project.remove_videos(video_ids)
        except WorkstationError as exc:
            self._status(str(exc))
            return None
        forget = getattr(view, "forget_video", None)
        for vid in video_ids:
            if forget is not None:
                forget(vid)
        problems = stages.delete_clip_files(removal.clip_paths) if delete_files else []
        for problem in problems:
            log.warning("%s", problem)
        session.videosChanged.emit()
        session.clipsChanged.emit()
        if self.video_list.current_video_id() is None:
            self.video_list.select_first()
        text = f"Removed {', '.join(removal.names)} from the project"
        if delete_files:
            text += f" and deleted {_n(removal.clips - len(problems), 'clip file')}"
        if problems:
            text += f"; {len(problems)} could not be deleted: see the Log"
        self._status(text + ".")
        return removal

    # -- re-link -----------------------------------------------------------------------------
    def relink_current(self, path: str | Path | None = None) -> Job | None:
        """Point the current video at another file with the same frames (probed in a job)."""
        session = self._session()
        vid = self.video_list.current_video_id()
        if session is None or vid is None:
            return None
        video = session.project.video(vid)
        if path is None:
            from workstation.core.media import VIDEO_EXTENSIONS

            patterns = " ".join(f"*{ext}" for ext in sorted(VIDEO_EXTENSIONS))
            start = video.path.parent if video.path.parent.is_dir() else Path.home()
            chosen, _ = QFileDialog.getOpenFileName(
                self.window,
                f"Re-link {video.name}: choose the same video",
                str(start),
                f"Videos ({patterns});;All files (*)",
            )
            if not chosen:
                return None
            path = chosen
        new = Path(path)

        def done(result: Any) -> None:
            if session is not self._session():
                return
            session.videosChanged.emit()
            view: Any = self._cut_view()
            if view is not None and getattr(view, "video_id", None) == vid:
                view.show_video(vid)  # the player opens the new file
            self._status(f"{video.name} now points at {getattr(result, 'path', new)}.")

        return self.jobs.run_on_project(
            f"Re-link {video.name}",
            lambda project: stages.relink_stage(project, vid, new),
            on_done=done,
            on_error=self._status,
            stage_name="relink",
            target=new.name,
        )


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
