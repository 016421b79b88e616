"""The Cut view: player on top, timeline and review strip below, keyboard-first editing.

Every edit is a ``QUndoCommand`` (see :mod:`workstation.ui.cut.commands`) written to the project
at once through the session's main-thread :class:`Project`; the view then tells the rest of the
app (``session.cutsChanged``) and rewrites the video's sidecar, debounced so a burst of nudges
costs one write, and flushed when the view switches video, closes or the app quits.

Long work (detection, import, export, slicing) runs as jobs; the worker opens its own Project
and the view only applies results on the main thread after checking they are still current.

The view is layout and wiring around its parts: :mod:`~workstation.ui.cut.editing` (checks and
commands for each edit), :mod:`~workstation.ui.cut.actions` (toolbar and key bindings),
:mod:`~workstation.ui.cut.sidecar` (the debounced sidecar writer) and
:mod:`~workstation.ui.cut.stages` (the jobs' stages and file dialogs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import signals_blocked

from workstation.core.store import Project
from workstation.core.thumbs import ThumbSource
from workstation.ui.common.shortcuts import (
    ShortcutEditor,
    ShortcutHelp,
    ShortcutMap,
    save_overrides,
)
from workstation.ui.common.thumb_loader import ThumbLoader
from workstation.ui.cut.actions import CutActions
from workstation.ui.cut.commands import history_is_current
from workstation.ui.cut.editing import CutEdits
from workstation.ui.cut.player import PlayerWidget
from workstation.ui.cut.player_controls import PlayerControls
from workstation.ui.cut.review_strip import ReviewStrip
from workstation.ui.cut.sidecar import SidecarLane
from workstation.ui.cut.stages import (
    ask_export_path,
    ask_import_path,
    confirm_import,
    detection_stage,
    export_stage,
    format_from_name,
    import_stage,
)
from workstation.ui.cut.timeline.widget import Timeline
from workstation.ui.cut.video_jobs import VideoJobs
from workstation.ui.cut.video_list import NO_VIDEOS

log = logging.getLogger(__name__)

__all__ = ["CutView", "detection_stage"]  # detection_stage: for the main window


NO_VIDEO_SHOWN = "No video shown: pick one in the Videos list to review its cuts"


class CutView(QWidget):
    """Review and edit one video's cuts."""

    message = Signal(str)  # a status line for the main window
    sidecarWritten = Signal(int, str)  # video id, path

    def __init__(
        self,
        session,
        jobs,
        parent: QWidget | None = None,
        *,
        shortcuts=None,
        loader: ThumbLoader | None = None,  # the window's, shared with the Clips view
    ) -> None:
        super().__init__(parent)
        # Undo stacks emit on destruction; created first, they are destroyed before the
        # actions their signals update.
        self._stack_owner = QObject(self)
        self.session = session
        self.jobs = jobs
        self.video_id: int | None = None
        self.source: ThumbSource | None = None
        self._stacks: dict[int, QUndoStack] = {}
        self._emitting = False
        # The videos Detect and Slice act on: the window sets the video list's selection.
        self.selected_videos: Callable[[], list[int]] = lambda: (
            [self.video_id] if self.video_id is not None else []
        )
        self.shortcuts: ShortcutMap = shortcuts or ShortcutMap.from_settings()

        self.loader = loader if loader is not None else ThumbLoader(session.project.cache_dir, self)
        self.player = PlayerWidget(self)
        self.controls = PlayerControls(self.player, self)
        self.timeline = Timeline(self, loader=self.loader)
        self.strip = ReviewStrip(self.loader, self)
        self.status = QLabel()
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setWordWrap(True)
        self.toolbar = QToolBar("Cuts", self)
        self.help = ShortcutHelp(self.shortcuts, self)
        self.help.customizeRequested.connect(self.edit_shortcuts)

        self._lay_out()

        self.sidecars = SidecarLane(session, self)
        self.sidecars.written.connect(self.sidecarWritten)
        self.sidecars.failed.connect(self.show_error)
        self.edits = CutEdits(self)
        self.video_jobs = VideoJobs(self)

        bar = self.cut_actions = CutActions(self)
        self.binder = bar.binder
        self.detect_action, self.detect_settings_action = bar.detect, bar.detect_settings
        self.import_action, self.export_action = bar.import_, bar.export
        self.slice_action, self.reviewed_action = bar.slice, bar.reviewed
        self.undo_action, self.redo_action = bar.undo, bar.redo
        self.player.frameChanged.connect(self._on_player_frame)
        self.timeline.seekRequested.connect(self.player.seek_frame)
        self.timeline.cutSelected.connect(self._on_cut_selected)
        self.timeline.addCutRequested.connect(self.add_cut)
        self.timeline.deleteCutRequested.connect(self.delete_cut)
        self.timeline.moveCutRequested.connect(self.move_cut)
        self.timeline.toggleRejectRequested.connect(self.edits.toggle_segment)
        self.timeline.mergeRequested.connect(self.edits.merge_segment)
        self.strip.acceptRequested.connect(self.accept_cut)
        self.strip.deleteRequested.connect(self.delete_cut)
        self.strip.nudgeRequested.connect(self.edits.nudge_cut_at)
        self.strip.seekRequested.connect(self._seek_from_strip)
        self.loader.failed.connect(self.show_error)
        session.cutsChanged.connect(self._on_cuts_changed)
        if hasattr(session, "closed"):
            session.closed.connect(self._on_session_closed)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.flush)
        self.update_enabled()
        self.status.setText(NO_VIDEO_SHOWN if session.project.videos() else NO_VIDEOS)

    def _lay_out(self) -> None:
        """Toolbar; player and controls over timeline and review strip (a splitter); status."""
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.player, 1)
        top_layout.addWidget(self.controls)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.timeline)
        bottom_layout.addWidget(self.strip)
        # The player takes the height the timeline and review strip do not need (at 1280x800
        # a 2:3 share left the strip's area half empty and the picture small).
        bottom.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.toolbar)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

    # -- actions ---------------------------------------------------------------------------
    def action(self, sid: str) -> QAction:
        return self.binder.actions[sid]

    def _on_stack_index(self, _index: int) -> None:
        self.update_enabled()

    def update_enabled(self) -> None:
        vid = self.video_id
        self.cut_actions.update_enabled(
            vid is not None, vid is not None and self.video_jobs.detecting(vid), self.undo_stack
        )

    # -- the shown video -------------------------------------------------------------------
    @property
    def project(self) -> Project:
        return self.session.project

    @property
    def undo_stack(self) -> QUndoStack | None:
        return self._stacks.get(self.video_id) if self.video_id is not None else None

    def show_video(self, video_id: int) -> None:
        """Show a video (its undo history is kept while the view lives)."""
        # Pending sidecars go to the writer thread now; waiting here would stall the switch.
        self.sidecars.hand_over()
        video = self.project.video(video_id)
        self.video_id = video_id
        if video_id not in self._stacks:
            stack = QUndoStack(self._stack_owner)
            stack.indexChanged.connect(self._on_stack_index)
            self._stacks[video_id] = stack
        self.source = ThumbSource.from_project(self.project, video_id)
        self.timeline.set_video(video.frame_count, video.fps, self.source)
        self.reload()
        self.reload_scores()
        self.strip.set_cut(self.source, None)
        with signals_blocked(self.reviewed_action):
            self.reviewed_action.setChecked(video.cuts_reviewed)
        self.player.load(
            video.path, fps=video.fps, frame_count=video.frame_count, index=self.source.index
        )
        self._show_counts()
        self.update_enabled()
        # No setFocus here: a person arrowing through the video list keeps the keyboard.

    def reload(self) -> None:
        """Re-read cuts and keep flags of the shown video from the project."""
        if self.video_id is None:
            return
        self.timeline.set_cuts(
            self.project.cuts(self.video_id), self.project.segments(self.video_id)
        )
        self._refresh_strip()

    def reload_scores(self) -> None:
        if self.video_id is None:
            return
        det = self.project.latest_detection(self.video_id)
        if det is None:
            self.timeline.set_scores(None)
            self.strip.set_scored(None)
            return
        scored = self.project.scores(det["id"], "scored")  # (empty: its detector scores all)
        self.timeline.set_scores(self.project.scores(det["id"], "score"), det["threshold"], scored)
        self.strip.set_scored(self.timeline.is_scored if len(scored) else None)
        self._refresh_strip()

    def _refresh_strip(self) -> None:
        sel = self.timeline.selected_cut
        cut = self.timeline.cut_at_frame(sel) if sel is not None else None
        self.strip.set_cut(self.source, cut)

    def _on_cut_selected(self, frame) -> None:
        self._refresh_strip()
        if frame is not None:
            self.seek(frame)

    def _on_player_frame(self, frame: int) -> None:
        self.timeline.set_playhead(frame)

    def seek(self, frame: int) -> None:
        if self.video_id is None or frame < 0:
            return
        self.timeline.set_playhead(frame)
        self.player.seek_frame(frame)

    def _on_cuts_changed(self, video_id: int) -> None:
        """Someone else (a batch job, another view) changed this video's cuts."""
        if self._emitting:
            return
        # Undo steps replay rows as they were; if the change touched their rows they would
        # mix old and new cuts, and the history of that video starts afresh.
        cleared = self._check_history(video_id)
        if video_id == self.video_id:
            self.reload()
            self.reload_scores()
            if cleared:
                self.status.setText(
                    "The cuts were changed elsewhere; the undo history was cleared."
                )
            self.update_enabled()

    def _announce(self, video_id: int) -> None:
        """Tell the app the cuts changed, without reacting to our own signal."""
        self._emitting = True
        try:
            self.session.cutsChanged.emit(video_id)
        finally:
            self._emitting = False

    def forget_video(self, video_id: int) -> None:
        """The video left the project: drop its undo history; if shown, show nothing."""
        stack = self._stacks.pop(video_id, None)
        if stack is not None:
            stack.clear()
            stack.deleteLater()
        if video_id == self.video_id:
            self.player.pause()
            self.video_id = None
            self.source = None
            self.timeline.set_video(1, self.timeline.fps, None)
            self.timeline.set_cuts([], [])
            self.strip.set_cut(None, None)
            self.status.setText("")
            self.update_enabled()

    def _on_session_closed(self) -> None:
        self.video_jobs.stop()
        self.sidecars.stop()
        self.loader.shutdown()
        self.player.unload()
        self.video_id = None

    # -- CutEditTarget: commands call these --------------------------------------------------
    def cuts_edited(self, video_id: int, select: int | None, frames: list[int]) -> None:
        self.sidecars.changed(video_id)
        self._announce(video_id)
        if video_id == self.video_id:
            p = self.project
            flags = {f: p.segment_keep(video_id, f) for f in frames}
            self.timeline.patch_cuts(frames, p.cuts_at(video_id, frames), flags)
            self._refresh_strip()
            if select is not None:
                self.timeline.select_cut(select)
            self._show_counts()
        self.update_enabled()

    def _show_counts(self) -> None:
        cuts = self.timeline.cuts
        uncertain = sum(c.uncertain for c in cuts)
        extra = f", {uncertain} uncertain" if uncertain else ""
        self.status.setText(f"{len(cuts)} cuts{extra}")

    def edit_failed(self, message: str) -> None:
        self.show_error(message)

    # -- edits (checked and made undoable by self.edits) ---------------------------------
    def add_cut(self, frame: int) -> bool:
        return self.edits.add_cut(frame)

    def add_cut_at_playhead(self) -> bool:
        return self.edits.add_cut_at_playhead()

    def delete_cut(self, frame: int | None) -> bool:
        return self.edits.delete_cut(frame)

    def move_cut(self, old: int, new: int) -> bool:
        return self.edits.move_cut(old, new)

    def nudge(self, delta: int) -> bool:
        """Move the selected cut by ``delta`` frames; a run of nudges is one undo step."""
        return self.edits.nudge(delta)

    def accept_cut(self, frame: int | None) -> bool:
        return self.edits.accept_cut(frame)

    def toggle_reject_at_playhead(self) -> bool:
        return self.edits.toggle_reject_at_playhead()

    def merge_at_playhead(self) -> bool:
        return self.edits.merge_at_playhead()

    def undo(self) -> None:
        self.edits.undo()

    def redo(self) -> None:
        self.edits.redo()

    def step_cut(self, direction: int, *, only_uncertain: bool = False) -> int | None:
        """Select the next/previous cut from the selection (or the playhead) and seek there;
        with the strip's "Doubtful first" on, an uncertain one while any is left."""
        if self.strip.doubtful_first.isChecked() and any(c.uncertain for c in self.timeline.cuts):
            only_uncertain = True
        return self.edits.step_cut(direction, only_uncertain=only_uncertain)

    def step_uncertain(self, direction: int) -> int | None:
        return self.edits.step_uncertain(direction)

    def _seek_from_strip(self, frame: int) -> None:
        self.timeline.set_playhead(frame)
        self.player.seek_frame(frame)

    # -- sidecar ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Write pending sidecars now and wait (video switch, close, quit): nothing is lost."""
        self.sidecars.flush()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.help.isVisible():
            self.help.setGeometry(self.rect())

    def closeEvent(self, event) -> None:
        self.flush()
        self.loader.shutdown()
        super().closeEvent(event)

    # -- jobs ------------------------------------------------------------------------------
    def selected_video_ids(self) -> list[int]:
        """The videos Detect and Slice act on: the selection, else the shown video."""
        ids = [v for v in self.selected_videos() if v is not None]
        if not ids and self.video_id is not None:
            ids = [self.video_id]
        return ids

    def detect(self) -> object | None:
        """Detect the cuts of the selected videos (a job each, one after another); found cuts
        show on the timeline as they come.  Returns the :class:`Batch` (None: nothing to do)."""
        return self.detect_videos(self.selected_video_ids())

    def detect_videos(self, video_ids: list[int]) -> object | None:
        return self.video_jobs.detect(video_ids)

    def edit_detection_settings(self, every: list[int] | None = None) -> bool:
        """The Detect dialog: the detector and settings (remembered per project), then detect
        the selected or all videos (``every``: the project's; the video list's by default)."""
        from workstation.ui.cut.detect_settings import ask_detection_settings

        if every is None:
            every = [v.id for v in self.project.videos()]
        answer = ask_detection_settings(
            self, project=self.project, selected=self.selected_video_ids(), every=every
        )
        if answer is None:
            return False
        self.status.setText(answer.said)
        if answer.run_on:
            self.detect_videos(answer.run_on)
        return True

    def replaced_outside_undo(self, vid: int, what: str) -> None:
        """Cuts were rewritten by a job (detection, import): keep the video's undo history
        while its steps still fit the rows (see :func:`history_is_current`), else drop it."""
        cleared = self._check_history(vid)
        self.sidecars.changed(vid)
        self._announce(vid)
        if vid == self.video_id:
            self.reload()
            self.reload_scores()
            note = (
                " The undo history was cleared: it held edits of cuts this replaced."
                if cleared
                else ""
            )
            self.status.setText(f"{what}: {len(self.timeline.cuts)} cuts.{note}")
        self.update_enabled()

    def _check_history(self, vid: int) -> bool:
        """Clear the undo history of ``vid`` when the store no longer matches it; True if it
        was cleared (an empty history is never 'cleared')."""
        stack = self._stacks.get(vid)
        if stack is None or stack.count() == 0:
            return False
        commands = [stack.command(i) for i in range(stack.count())]
        if history_is_current(self.project, vid, commands, stack.index()):
            return False
        stack.clear()
        return True

    def import_cuts(self, path: str | Path | None = None) -> object | None:
        vid = self.video_id
        if vid is None:
            return None
        if path is None:
            path = ask_import_path(self, self.project.video(vid).path.parent)
            if path is None:
                return None
        path = Path(path)
        self.flush()
        if not confirm_import(self, self.project, vid, path):
            return None
        return self.jobs.run_on_project(
            f"Import cuts: {path.name}",
            lambda project: import_stage(project, vid, path, replace=True),
            on_done=lambda _r: self.replaced_outside_undo(vid, f"Imported {path.name}"),
            on_error=self.show_error,
            stage_name="import-cuts",
            target=path.name,
        )

    def export_cuts(self, path: str | Path | None = None, fmt: str | None = None) -> object | None:
        vid = self.video_id
        if vid is None:
            return None
        if path is None:
            chosen = ask_export_path(self, self.project.video(vid))
            if chosen is None:
                return None
            path, fmt = chosen
        fmt = fmt or format_from_name(Path(path))
        path = Path(path)
        self.sidecars.hand_over()  # the job reads the project, not the file
        return self.jobs.run_on_project(
            f"Export cuts: {path.name}",
            lambda project: export_stage(project, vid, fmt, path),
            on_done=lambda out: self.status.setText(f"Exported the cuts to {out}"),
            on_error=self.show_error,
            stage_name="export-cuts",
            target=path.name,
        )

    def slice(self) -> object | None:
        """Open the Slice dialog for the selected videos; its OK slices them (see
        :meth:`slice_videos`).  Returns the dialog (shown, not waited for)."""
        return self.slice_dialog(self.selected_video_ids())

    def slice_dialog(self, ids: list[int]) -> object | None:
        """Open the Slice dialog for these videos (window-modal); OK slices them."""
        if not ids:
            return None
        from workstation.ui.cut.slice_dialog import SliceDialog

        self.flush()  # the preview reads the cuts from the project
        dialog = SliceDialog(self.project, ids, self)
        dialog.accepted.connect(lambda: self.slice_videos(ids, dialog.chosen))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def slice_videos(self, video_ids: list[int], settings=None) -> object | None:
        """Slice these videos (a job each, one after another) with ``settings`` (default: the
        project's remembered ones); returns the :class:`Batch`."""
        from workstation.ui.cut.slice_dialog import settings_for

        return self.video_jobs.slice(video_ids, settings or settings_for(self.project))

    def set_reviewed(self, reviewed: bool) -> None:
        if self.video_id is None:
            return
        self.project.set_cuts_reviewed(self.video_id, reviewed)
        self.session.videosChanged.emit()
        self.status.setText(
            "Cuts marked as reviewed." if reviewed else "Cuts marked as not reviewed."
        )

    # -- shortcuts -------------------------------------------------------------------------
    def edit_shortcuts(self) -> None:
        dialog = ShortcutEditor(self.shortcuts, self)
        if dialog.exec():
            self.save_shortcuts()

    def save_shortcuts(self) -> None:
        """Store the remapped keys (only those that differ from the defaults) in the settings;
        the Clips view's remapped keys share the settings' dict and stay."""
        try:
            save_overrides(self.shortcuts)
        except Exception as exc:  # the keys work for this session either way
            self.show_error(f"Could not save the shortcuts: {exc}")

    def show_error(self, message: str) -> None:
        self.status.setText(f"<span style='color:#e06c6c'>{message}</span>")
        self.message.emit(message)
        log.warning("%s", message)
