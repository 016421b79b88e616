"""The Cut view: player on top, timeline and review strip below, keyboard-first editing.

Every edit is a ``QUndoCommand`` (see :mod:`workstation.ui.cut.commands`) written to the project
at once through the session's main-thread :class:`Project`; the view then tells the rest of the
app (``session.cutsChanged``) and rewrites the video's sidecar, debounced so a burst of nudges
costs one write, and flushed when the view switches video, closes or the app quits.

Long work (detection, import, export, slicing) runs as jobs; the worker opens its own Project
and the view only applies results on the main thread after checking they are still current.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import signals_blocked

from workstation.core.progress import Progress
from workstation.core.store import Cut, Project
from workstation.core.thumbs import ThumbSource
from workstation.ui.common.shortcuts import (
    ActionBinder,
    ShortcutEditor,
    ShortcutHelp,
    ShortcutMap,
    save_overrides,
)
from workstation.ui.common.thumb_loader import ThumbLoader
from workstation.ui.cut.commands import (
    AcceptCut,
    AddCut,
    CutCommand,
    DeleteCut,
    MergeWithNext,
    MoveCut,
    NudgeCut,
    ToggleReject,
)
from workstation.ui.cut.player import PlayerControls, PlayerWidget
from workstation.ui.cut.review_strip import ReviewStrip
from workstation.ui.cut.timeline.widget import Timeline

log = logging.getLogger(__name__)

SIDECAR_DELAY_MS = 300
EXPORT_FILTERS = {
    "sidecar": "Cut list sidecar (*.cuts.txt)",
    "csv": "PySceneDetect CSV (*.csv)",
    "ffmetadata": "FFmpeg chapters (*.ffmetadata.txt *.txt)",
    "edl": "CMX3600 EDL (*.edl)",
}


class SidecarWriter(QObject):
    """The single writer lane for sidecars: one thread, its own Project, writes in order.

    Rendering a sidecar for thousands of cuts takes a noticeable fraction of a second, which
    must not freeze the timeline after every nudge; one thread keeps the writes ordered, so the
    last one always reflects the last edit.
    """

    written = Signal(int, str)  # video id, path
    failed = Signal(str)

    def __init__(self, root: str | Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)

    def write(self, video_ids: list[int]) -> None:
        self.pool.start(lambda ids=tuple(video_ids): self._run(ids))

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)

    def _run(self, video_ids: tuple[int, ...]) -> None:  # in the writer thread
        from workstation.core.cutfiles import write_sidecar

        try:
            with Project(self.root) as project:
                for vid in video_ids:
                    try:
                        self.written.emit(vid, str(write_sidecar(project, vid)))
                    except Exception as exc:
                        self.failed.emit(f"Could not write the cut list beside the video: {exc}")
        except Exception as exc:
            self.failed.emit(f"Could not open the project to write cut lists: {exc}")


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
        self._dirty: set[int] = set()
        self._detecting: dict[int, object] = {}
        self._emitting = False
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
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.toolbar)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

        self._sidecar_timer = QTimer(self)
        self._sidecar_timer.setSingleShot(True)
        self._sidecar_timer.setInterval(SIDECAR_DELAY_MS)
        self._sidecar_timer.timeout.connect(self._write_sidecars_later)
        self.writer = SidecarWriter(session.root, self)
        self.writer.written.connect(self.sidecarWritten)
        self.writer.failed.connect(self._show_error)

        self._build_actions()
        self.player.frameChanged.connect(self._on_player_frame)
        self.timeline.seekRequested.connect(self.player.seek_frame)
        self.timeline.cutSelected.connect(self._on_cut_selected)
        self.timeline.addCutRequested.connect(self.add_cut)
        self.timeline.deleteCutRequested.connect(self.delete_cut)
        self.timeline.moveCutRequested.connect(self.move_cut)
        self.timeline.toggleRejectRequested.connect(self._toggle_segment)
        self.timeline.mergeRequested.connect(self._merge_segment)
        self.strip.acceptRequested.connect(self.accept_cut)
        self.strip.deleteRequested.connect(self.delete_cut)
        self.strip.nudgeRequested.connect(self._nudge_from_strip)
        self.strip.seekRequested.connect(self._seek_from_strip)
        self.loader.failed.connect(self._show_error)
        session.cutsChanged.connect(self._on_cuts_changed)
        if hasattr(session, "closed"):
            session.closed.connect(self._on_session_closed)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.flush)
        self._update_enabled()

    # -- actions ---------------------------------------------------------------------------
    def _build_actions(self) -> None:
        tb = self.toolbar
        self.detect_action = tb.addAction("Detect cuts", self.detect)
        self.detect_action.setToolTip(
            "Find the cuts of this video (runs as a job; cuts appear as they are found)"
        )
        self.detect_settings_action = tb.addAction(
            "Detection settings…", self.edit_detection_settings
        )
        self.detect_settings_action.setToolTip(
            "Choose the detector Detect cuts runs, and its settings"
        )
        self.import_action = tb.addAction("Import cuts…", self.import_cuts)
        self.import_action.setToolTip(
            "Replace this video's cuts with a cut file's "
            "(sidecar, PySceneDetect CSV, FFMETADATA, EDL)"
        )
        self.export_action = tb.addAction("Export cuts…", self.export_cuts)
        self.slice_action = tb.addAction("Slice kept segments", self.slice)
        self.slice_action.setToolTip("Write every kept segment as a frame-exact clip")
        self.reviewed_action = tb.addAction("Mark cuts reviewed")
        self.reviewed_action.setCheckable(True)
        self.reviewed_action.toggled.connect(self.set_reviewed)
        tb.addSeparator()

        b = self.binder = ActionBinder(self, self.shortcuts)
        self.undo_action = b.bind("edit.undo", self.undo)
        self.redo_action = b.bind("edit.redo", self.redo)
        self.undo_action.setText("Undo")
        self.redo_action.setText("Redo")
        tb.addAction(self.undo_action)
        tb.addAction(self.redo_action)
        handlers = {
            "cut.add": self.add_cut_at_playhead,
            "cut.delete": lambda: self.delete_cut(self.timeline.selected_cut),
            "cut.prev": lambda: self.step_cut(-1),
            "cut.next": lambda: self.step_cut(1),
            "cut.nudge_left": lambda: self.nudge(-1),
            "cut.nudge_right": lambda: self.nudge(1),
            "cut.accept": lambda: self.accept_cut(self.timeline.selected_cut),
            "cut.next_uncertain": lambda: self.step_uncertain(1),
            "cut.prev_uncertain": lambda: self.step_uncertain(-1),
            "segment.toggle_reject": self.toggle_reject_at_playhead,
            "segment.merge_next": self.merge_at_playhead,
            "player.toggle": self.player.toggle_play,
            "player.j": lambda: self.player.jkl("J"),
            "player.k": lambda: self.player.jkl("K"),
            "player.l": lambda: self.player.jkl("L"),
            "player.step_back": lambda: self.player.step(-1),
            "player.step_forward": lambda: self.player.step(1),
            "timeline.zoom_in": lambda: self.timeline.zoom_by(1.5),
            "timeline.zoom_out": lambda: self.timeline.zoom_by(1 / 1.5),
            "timeline.fit": self.timeline.fit,
            "timeline.start": lambda: self.seek(0),
            "timeline.end": lambda: self.seek(self.timeline.frame_count - 1),
            "help.shortcuts": self.help.toggle,
        }
        for sid, handler in handlers.items():
            b.bind(sid, handler)
        help_action = b.actions["help.shortcuts"]
        help_action.setText("Shortcuts")
        tb.addAction(help_action)
        b.refresh()

    def action(self, sid: str) -> QAction:
        return self.binder.actions[sid]

    def _on_stack_index(self, _index: int) -> None:
        self._update_enabled()

    def _update_enabled(self) -> None:
        has = self.video_id is not None
        for a in (
            self.detect_action,
            self.import_action,
            self.export_action,
            self.slice_action,
            self.reviewed_action,
        ):
            a.setEnabled(has)
        if has and self.video_id in self._detecting:
            self.detect_action.setEnabled(False)
        stack = self.undo_stack
        self.undo_action.setEnabled(bool(stack and stack.canUndo()))
        self.redo_action.setEnabled(bool(stack and stack.canRedo()))
        if stack is not None:
            self.undo_action.setToolTip(
                f"Undo {stack.undoText()} ({self.shortcuts.text('edit.undo')})"
            )
            self.redo_action.setToolTip(
                f"Redo {stack.redoText()} ({self.shortcuts.text('edit.redo')})"
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
        self._sidecar_timer.stop()
        self._write_sidecars_later()
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
        self._update_enabled()
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
            return
        self.timeline.set_scores(self.project.scores(det["id"], "score"), det["threshold"])

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
        if video_id in self._stacks:
            # Undo steps replay rows as they were; after a change made elsewhere they would
            # mix old and new cuts, so the history of that video starts afresh.
            self._stacks[video_id].clear()
        if video_id == self.video_id:
            self.reload()
            self.reload_scores()
            self._update_enabled()

    def _announce(self, video_id: int) -> None:
        """Tell the app the cuts changed, without reacting to our own signal."""
        self._emitting = True
        try:
            self.session.cutsChanged.emit(video_id)
        finally:
            self._emitting = False

    def _on_session_closed(self) -> None:
        self._sidecar_timer.stop()
        self.writer.wait()
        self.loader.shutdown()
        self.player.unload()
        self.video_id = None

    # -- CutEditTarget: commands call these --------------------------------------------------
    def cuts_edited(self, video_id: int, select: int | None, frames: list[int]) -> None:
        self._dirty.add(video_id)
        self._sidecar_timer.start()
        self._announce(video_id)
        if video_id == self.video_id:
            p = self.project
            flags = {f: p.segment_keep(video_id, f) for f in frames}
            self.timeline.patch_cuts(frames, p.cuts_at(video_id, frames), flags)
            self._refresh_strip()
            if select is not None:
                self.timeline.select_cut(select)
            self._show_counts()
        self._update_enabled()

    def _show_counts(self) -> None:
        cuts = self.timeline.cuts
        uncertain = sum(c.uncertain for c in cuts)
        extra = f", {uncertain} uncertain" if uncertain else ""
        self.status.setText(f"{len(cuts)} cuts{extra}")

    def edit_failed(self, message: str) -> None:
        self._show_error(message)

    def _push(self, command: CutCommand) -> bool:
        stack = self.undo_stack
        if stack is None:
            return False
        stack.push(command)
        return command.error is None

    # -- edits -----------------------------------------------------------------------------
    def add_cut(self, frame: int) -> bool:
        if self.video_id is None:
            return False
        if not 0 < frame < self.timeline.frame_count:
            self._show_error(f"A cut must be after the first frame (frame {frame} is not).")
            return False
        if self.timeline.cut_at_frame(frame) is not None:
            self.timeline.select_cut(frame)
            return False
        return self._push(AddCut(self, self.video_id, frame))

    def add_cut_at_playhead(self) -> bool:
        return self.add_cut(self.timeline.playhead)

    def delete_cut(self, frame: int | None) -> bool:
        if self.video_id is None or frame is None or self.timeline.cut_at_frame(frame) is None:
            return False
        return self._push(DeleteCut(self, self.video_id, frame))

    def move_cut(self, old: int, new: int) -> bool:
        if self.video_id is None or old == new or self.timeline.cut_at_frame(old) is None:
            return False
        if not 0 < new < self.timeline.frame_count:
            return False
        if self.timeline.cut_at_frame(new) is not None:
            self._show_error(f"There is already a cut at frame {new}.")
            return False
        return self._push(MoveCut(self, self.video_id, old, new))

    def nudge(self, delta: int) -> bool:
        """Move the selected cut by ``delta`` frames; a run of nudges is one undo step."""
        sel = self.timeline.selected_cut
        if sel is None or self.video_id is None:
            return False
        new = sel + delta
        if not 0 < new < self.timeline.frame_count or self.timeline.cut_at_frame(new):
            return False
        return self._push(NudgeCut(self, self.video_id, sel, new))

    def _seek_from_strip(self, frame: int) -> None:
        self.timeline.set_playhead(frame)
        self.player.seek_frame(frame)

    def _nudge_from_strip(self, frame: int, delta: int) -> None:
        self.timeline.select_cut(frame, reveal=False)
        self.nudge(delta)

    def accept_cut(self, frame: int | None) -> bool:
        if self.video_id is None or frame is None or self.timeline.cut_at_frame(frame) is None:
            return False
        return self._push(AcceptCut(self, self.video_id, frame))

    def _toggle_segment(self, start: int) -> bool:
        if self.video_id is None:
            return False
        seg_start, _end, keep = self.timeline.segment_at(start)
        return self._push(ToggleReject(self, self.video_id, seg_start, not keep))

    def toggle_reject_at_playhead(self) -> bool:
        return self._toggle_segment(self.timeline.playhead)

    def _merge_segment(self, start: int) -> bool:
        if self.video_id is None:
            return False
        _s, end, _keep = self.timeline.segment_at(start)
        if end >= self.timeline.frame_count:
            self._show_error("The last segment has no next segment to merge with.")
            return False
        return self._push(MergeWithNext(self, self.video_id, end))

    def merge_at_playhead(self) -> bool:
        return self._merge_segment(self.timeline.playhead)

    def undo(self) -> None:
        if self.undo_stack is not None:
            self.undo_stack.undo()

    def redo(self) -> None:
        if self.undo_stack is not None:
            self.undo_stack.redo()

    # -- navigation ------------------------------------------------------------------------
    def _reference(self) -> int:
        sel = self.timeline.selected_cut
        return sel if sel is not None else self.timeline.playhead

    def step_cut(self, direction: int, *, only_uncertain: bool = False) -> int | None:
        """Select the next/previous cut from the selection (or the playhead) and seek there."""
        cuts: list[Cut] = [c for c in self.timeline.cuts if c.uncertain or not only_uncertain]
        if not cuts:
            if only_uncertain:
                self.status.setText("No uncertain cuts left in this video.")
            return None
        ref = self._reference()
        if direction > 0:
            after = [c.frame for c in cuts if c.frame > ref]
            target = after[0] if after else (cuts[0].frame if only_uncertain else None)
        else:
            before = [c.frame for c in cuts if c.frame < ref]
            target = before[-1] if before else (cuts[-1].frame if only_uncertain else None)
        if target is None:
            return None
        self.timeline.select_cut(target)
        self.seek(target)
        return target

    def step_uncertain(self, direction: int) -> int | None:
        return self.step_cut(direction, only_uncertain=True)

    # -- sidecar ---------------------------------------------------------------------------
    def _write_sidecars_later(self) -> None:
        """Debounce timer: hand the edited videos to the single sidecar writer thread."""
        if not self._dirty or getattr(self.session, "is_closed", False):
            return
        dirty, self._dirty = sorted(self._dirty), set()
        self.writer.write(dirty)

    def flush(self) -> None:
        """Write pending sidecars now and wait (video switch, close, quit): nothing is lost."""
        self._sidecar_timer.stop()
        self.writer.wait()
        if not self._dirty or getattr(self.session, "is_closed", False):
            return
        from workstation.core.cutfiles import write_sidecar

        dirty, self._dirty = self._dirty, set()
        for vid in sorted(dirty):
            try:
                path = write_sidecar(self.project, vid)
            except Exception as exc:  # the edit is in the project; say why the file is not
                self._show_error(f"Could not write the cut list beside the video: {exc}")
                continue
            self.sidecarWritten.emit(vid, str(path))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.help.isVisible():
            self.help.setGeometry(self.rect())

    def closeEvent(self, event) -> None:
        self.flush()
        self.loader.shutdown()
        super().closeEvent(event)

    # -- jobs ------------------------------------------------------------------------------
    def detect(self) -> object | None:
        """Detect this video's cuts as a job; found cuts show on the timeline as they come."""
        vid = self.video_id
        if vid is None or vid in self._detecting:
            return None
        self._sidecar_timer.stop()
        self._write_sidecars_later()  # the job reads the project, not the file
        name = self.project.video(vid).name

        def stage(project):
            return detection_stage(project, vid)

        def progress(rec: Progress) -> None:
            cuts = rec.data.get("cuts") if rec.data else None
            if cuts is not None and self.video_id == vid:
                self.timeline.set_live_cuts(getattr(c, "frame", c) for c in cuts)

        job = self.jobs.run_on_project(
            f"Detect cuts: {name}",
            stage,
            on_progress=progress,
            on_done=lambda _r: self._detect_finished(vid, True),
            on_error=lambda msg: (self._detect_finished(vid, False), self._show_error(msg)),
            stage_name="detect",
            target=name,
        )
        job.cancelled.connect(lambda: self._detect_finished(vid, False))
        self._detecting[vid] = job
        self.status.setText(f"Detecting cuts in {name}…")
        self._update_enabled()
        return job

    def edit_detection_settings(self) -> bool:
        """The detector and settings the next detections use (saved in the app settings)."""
        from workstation.ui.cut.detect_settings import ask_detection_settings

        said = ask_detection_settings(self)
        if said is None:
            return False
        self.status.setText(said)
        return True

    def _detect_finished(self, vid: int, ok: bool) -> None:
        self._detecting.pop(vid, None)
        if vid == self.video_id:
            self.timeline.set_live_cuts([])
        if ok:
            self._replaced_outside_undo(vid, "Detection finished")
        self._update_enabled()

    def _replaced_outside_undo(self, vid: int, what: str) -> None:
        """Cuts were rewritten by a job: old undo steps would fight the new rows, drop them."""
        if vid in self._stacks:
            self._stacks[vid].clear()
        self._dirty.add(vid)
        self._sidecar_timer.start()
        self._announce(vid)
        if vid == self.video_id:
            self.reload()
            self.reload_scores()
            self.status.setText(f"{what}: {len(self.timeline.cuts)} cuts.")
        self._update_enabled()

    def import_cuts(self, path: str | Path | None = None) -> object | None:
        vid = self.video_id
        if vid is None:
            return None
        if path is None:
            start = str(self.project.video(vid).path.parent)
            path, _ = QFileDialog.getOpenFileName(
                self,
                "Import cuts",
                start,
                "Cut files (*.cuts.txt *.txt *.csv *.edl);;All files (*)",
            )
            if not path:
                return None
        path = Path(path)
        self.flush()

        def stage(project):
            from workstation.core.cutfiles import import_cuts

            yield Progress("import", 0, 1, path.name, "reading")
            result = import_cuts(project, vid, path)
            yield Progress("import", 1, 1, path.name, "done")
            return result

        return self.jobs.run_on_project(
            f"Import cuts: {path.name}",
            stage,
            on_done=lambda _r: self._replaced_outside_undo(vid, f"Imported {path.name}"),
            on_error=self._show_error,
            stage_name="import-cuts",
            target=path.name,
        )

    def export_cuts(self, path: str | Path | None = None, fmt: str | None = None) -> object | None:
        vid = self.video_id
        if vid is None:
            return None
        video = self.project.video(vid)
        if path is None:
            filters = ";;".join(EXPORT_FILTERS.values())
            path, chosen = QFileDialog.getSaveFileName(
                self,
                "Export cuts",
                str(video.path.with_name(video.name + ".scenes.csv")),
                filters,
                EXPORT_FILTERS["csv"],
            )
            if not path:
                return None
            fmt = next((k for k, v in EXPORT_FILTERS.items() if v == chosen), "csv")
        fmt = fmt or _format_from_name(Path(path))
        path = Path(path)
        self._sidecar_timer.stop()
        self._write_sidecars_later()  # the job reads the project, not the file

        def stage(project):
            from workstation.core.cutfiles import export_cuts

            yield Progress("export", 0, 1, path.name, "writing")
            out = export_cuts(project, vid, fmt, path)
            yield Progress("export", 1, 1, path.name, "done")
            return out

        return self.jobs.run_on_project(
            f"Export cuts: {path.name}",
            stage,
            on_done=lambda out: self.status.setText(f"Exported the cuts to {out}"),
            on_error=self._show_error,
            stage_name="export-cuts",
            target=path.name,
        )

    def slice(self) -> object | None:
        vid = self.video_id
        if vid is None:
            return None
        self._sidecar_timer.stop()
        self._write_sidecars_later()  # the job reads the project, not the file
        name = self.project.video(vid).name

        def stage(project):
            from workstation.core.slicing import split_video

            return split_video(project, vid)

        def done(result) -> None:
            self.session.clipsChanged.emit()
            self.status.setText(f"Sliced {name}: {_slice_summary(result)}")

        return self.jobs.run_on_project(
            f"Slice: {name}",
            stage,
            on_done=done,
            on_error=self._show_error,
            stage_name="slice",
            target=name,
        )

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
            self._show_error(f"Could not save the shortcuts: {exc}")

    def _show_error(self, message: str) -> None:
        self.status.setText(f"<span style='color:#e06c6c'>{message}</span>")
        self.message.emit(message)
        log.warning("%s", message)


def _format_from_name(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".cuts.txt"):
        return "sidecar"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".edl"):
        return "edl"
    return "ffmetadata" if "ffmetadata" in name else "sidecar"


def _slice_summary(result) -> str:
    """One line about a SliceResult: what was written, reused, skipped, failed."""
    parts = []
    for label, items in (
        ("written", getattr(result, "written", [])),
        ("reused", getattr(result, "reused", [])),
    ):
        if items:
            parts.append(f"{len(items)} clip{'s' if len(items) != 1 else ''} {label}")
    skipped = getattr(result, "skipped", [])
    if skipped:
        parts.append(f"{len(skipped)} segment(s) too short, skipped")
    errors = getattr(result, "errors", [])
    if errors:
        parts.append(f"{len(errors)} failed: {errors[0]}")
    return ", ".join(parts) or "no kept segments to slice"


def detection_stage(project, video_id: int, *, restart: bool = False):
    """Cut detection in a child process at lower priority, so the window stays responsive
    (see workstation.core.isolate); the Cut view and the main window both use it.

    It runs the detector chosen in "Detection settings…": read here from the app settings as
    plain values, turned into a detector in the child, so the window imports none."""
    from workstation.core import settings as app_settings
    from workstation.core.isolate import in_child_process, project_stage

    saved = app_settings.load()
    return in_child_process(
        project_stage,
        str(project.root),
        "workstation.core.detect.registry",
        "detect_video_as_saved",
        video_id,
        saved.detector,
        saved.detect_settings,
        restart=restart,
    )
