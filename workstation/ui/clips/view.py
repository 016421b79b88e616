"""The Clips view: a grid of every clip, a filter bar, a looping preview and the review panels.

Layout: the :class:`~workstation.ui.clips.filter_bar.FilterBar` (query, sort, count) on top;
the :class:`~workstation.ui.clips.grid.ClipGrid` (``QListView`` in icon mode over
:class:`ClipModel`, drawn by :class:`ClipDelegate`, animated on hover by ``GridHover``) on the
left; on the right the current clip looping in the
:class:`~workstation.ui.clips.preview.LoopingPreview`, and tabs with the :class:`TagPanel`
(selected clips) and the :class:`AllTagsPanel` (the project's tags).  The view holds these parts
and ties them together: the selection, the edits, ``gridShown`` and the shortcuts.

Every edit runs through the view's :class:`~workstation.ui.clips.edits.ClipEditor` (core ``Edit``
diffs on a ``QUndoStack``, sidecars rewritten inline or by a job).  After every edit (and its
undo) the edited rows are re-read in place and the filter is re-run, so the grid, the count and
"Filtered clips" always mean the same clips: those that match now.  A clip that stops matching
leaves the grid but stays in the clip panel until another clip is selected (a message says
so), and "mark reviewed and go on" moves to the clip that followed it.  The covers in memory
survive every edit (the grid never goes grey).  Rejected clips (Delete) are hidden unless the
filter says ``rejected:``; "Delete clip files…" moves their files to the project bin (see
:mod:`~workstation.ui.clips.removal`).  An empty grid says why it is empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QHideEvent, QResizeEvent, QShowEvent, QUndoStack
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.review import QueryError
from workstation.core.review.edits import Edit
from workstation.core.store import Project
from workstation.ui.clips.all_tags_panel import AllTagsPanel, Scope
from workstation.ui.clips.delegate import ClipDelegate
from workstation.ui.clips.edits import ClipEditor
from workstation.ui.clips.filter_bar import FilterBar
from workstation.ui.clips.grid import ClipGrid, GridHover
from workstation.ui.clips.model import ClipModel
from workstation.ui.clips.preview import LoopingPreview
from workstation.ui.clips.removal import ClipRemoval
from workstation.ui.clips.selection import GridSelection
from workstation.ui.clips.tag_panel import TagPanel
from workstation.ui.clips.wording import empty_grid_text, n_clips
from workstation.ui.common.shortcuts import (
    CLIP_SHORTCUTS,
    ActionBinder,
    ShortcutEditor,
    ShortcutHelp,
    ShortcutMap,
    save_overrides,
)
from workstation.ui.common.thumb_loader import ThumbLoader

if TYPE_CHECKING:
    from workstation.ui.cut.player import PlayerWidget

log = logging.getLogger(__name__)

GRID_SPACING = 6
SCROLL_HOLD_MS = 120  # thumbnails are requested once scrolling pauses this long

__all__ = ["ClipGrid", "ClipsView"]  # the grid moved to grid.py; it stays importable from here


class ClipsView(QWidget):
    """Clip review for one project session (works standalone given a session and jobs)."""

    gridShown = Signal()  # once the thumbnails on screen are drawn after show_project()
    editFailed = Signal(str)

    def __init__(
        self,
        session,
        jobs,
        parent: QWidget | None = None,
        *,
        with_player: bool = True,
        shortcuts: ShortcutMap | None = None,
        loader: ThumbLoader | None = None,  # the window's, shared with the Cut view
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.jobs = jobs
        self.loader = (
            loader
            if loader is not None
            else ThumbLoader(session.project.cache_dir, self, threads=2)
        )
        self.model = ClipModel(session.project, self.loader, self)
        self.model.auto_fill_counts = False  # after the first paint: see eventFilter
        self._counts_timer = QTimer(self, singleShot=True, interval=250)  # if nothing paints
        self._counts_timer.timeout.connect(self.model.fill_counts)
        # the covers on screen are asked for before the counts are read (~0.1 s on 10k clips)
        self.model.coversAsked.connect(self._counts_after_covers)
        self.editor = ClipEditor(session, jobs, self)
        self.editor.edited.connect(self._after_edit)
        self.editor.failed.connect(self.show_message)
        self._waiting_shown = False
        self._selection_pending = False
        self._kept: set[int] = set()  # clips the panel keeps after they left the grid
        self._cuts_edited = False

        self.filter_bar = FilterBar()
        self.filter_bar.filterRequested.connect(self.apply_filter)
        self.filter_bar.sortChanged.connect(self.model.set_sort)
        self.filter_edit = self.filter_bar.filter_edit
        self.filter_error = self.filter_bar.filter_error
        self.sort_combo = self.filter_bar.sort_combo
        self.sort_desc = self.filter_bar.sort_desc
        self.count_label = self.filter_bar.count_label
        from workstation.ui.clips.autotag_actions import AutotagActions

        self.autotag = AutotagActions(self)  # Tag / Caption / Motion score jobs, Models…
        self.filter_bar.add_widget(self.autotag.button)
        self._build_grid()
        self._shown_poll = QTimer(self, interval=40)
        self._shown_poll.timeout.connect(self._check_shown)

        # right side: player + panels
        self.preview: LoopingPreview | None = None
        self.player: PlayerWidget | None = None
        if with_player:  # libmpv is loaded only with a preview
            self.preview = LoopingPreview(self)
            self.preview.failed.connect(self.show_message)
            self.player = self.preview.player
        self.tag_panel = TagPanel(self.editor)
        self.all_tags = AllTagsPanel(self.editor, self.scope_ids)
        self.all_tags.filterRequested.connect(self.set_filter)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.tag_panel, "Clip")
        self.tabs.addTab(self.all_tags, "All tags")
        self._lay_out()
        self.removal = ClipRemoval(self, self.editor, self.selection, self._say)
        self._bind_shortcuts(shortcuts)

        # slicing announces clips one by one: reload once per burst, not once per clip
        self._reload_timer = QTimer(self, singleShot=True, interval=150)
        self._reload_timer.timeout.connect(self.show_project)
        session.clipsChanged.connect(self._reload_timer.start)
        session.cutsChanged.connect(self._cuts_changed)
        session.closed.connect(self._on_session_closed)
        self.show_project()

    def _build_grid(self) -> None:
        self.delegate = ClipDelegate(self)
        self.grid = ClipGrid()
        self.grid.setItemDelegate(self.delegate)
        cell = self.delegate.cell_size()
        self.grid.setGridSize(QSize(cell.width() + GRID_SPACING, cell.height() + GRID_SPACING))
        self.grid.setModel(self.model)
        self.grid.setDragEnabled(False)
        self.model.is_visible = self._row_visible
        self.selection = GridSelection(self.grid, self.model)
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.grid.selectionModel().currentChanged.connect(self._selection_changed)
        self.grid.viewport().installEventFilter(self)
        self.grid.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.model.filterChanged.connect(self._show_count)
        self.model.modelReset.connect(self._selection_changed)
        self.loader.thumbReady.connect(lambda *_a: self._check_shown())
        self.hover = GridHover(self.grid, self.model, self)

    def _lay_out(self) -> None:
        """The filter bar over the grid on the left; the preview over the panels on the right."""
        right = QSplitter(Qt.Orientation.Vertical)
        if self.player is not None:
            right.addWidget(self.player)
        right.addWidget(self.tabs)
        right.setStretchFactor(right.count() - 1, 3)
        if self.player is not None:
            right.setSizes([260, 440])  # the preview loops small; the panel needs the room

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.filter_bar)
        ll.addWidget(self.grid, 1)
        self.message = QLabel("")
        self.message.setStyleSheet("color:#e07b39;")
        ll.addWidget(self.message)
        ll.addWidget(self.autotag.status)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(split)

    def _bind_shortcuts(self, shortcuts: ShortcutMap | None) -> None:
        """Declared in shortcuts.CLIP_SHORTCUTS, remapped like the Cut view's."""
        self.shortcuts = shortcuts or ShortcutMap.from_settings(specs=CLIP_SHORTCUTS)
        self.help = ShortcutHelp(self.shortcuts, self)
        self.help.customizeRequested.connect(self.edit_shortcuts)
        b = self.binder = ActionBinder(self, self.shortcuts)
        b.bind("clips.next", lambda: self.step(1))
        b.bind("clips.prev", lambda: self.step(-1))
        b.bind("clips.reviewed", lambda: self.mark_reviewed(True, advance=True))
        b.bind("clips.unreviewed", lambda: self.mark_reviewed(False))
        b.bind("clips.focus_tags", self.tag_panel.focus_tag_box)
        b.bind("clips.focus_caption", lambda: self.tag_panel.caption.setFocus())
        b.bind(
            "clips.accept_above",
            lambda: self.tag_panel.accept_above(self.tag_panel.threshold.value()),
        )
        b.bind("clips.focus_filter", self.filter_bar.focus)
        b.bind("clips.reject", self.removal.reject_clicked).setText("Reject clip(s)")
        b.bind("clips.delete_files", self.removal.delete_files_clicked).setText(
            "Delete clip files…"
        )
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.grid.addActions([b.actions["clips.reject"], b.actions["clips.delete_files"]])
        b.bind("clips.undo", self.undo)
        b.bind("clips.redo", self.redo)
        b.bind("clips.help", self.help.toggle).setText("Shortcuts")
        b.refresh()  # tooltips name the keys
        self.shortcuts_button = QToolButton()
        self.shortcuts_button.setDefaultAction(b.actions["clips.help"])
        self.shortcuts_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.filter_bar.add_widget(self.shortcuts_button)

    # -- the project -----------------------------------------------------------------------
    @property
    def project(self) -> Project:
        return self.session.project

    def show_project(self) -> None:
        """(Re)load every clip row, keep the filter and selection; ``gridShown`` follows once
        the thumbnails on screen are drawn."""
        keep = self.selected_ids()
        current = self.current_id()
        err = self._reload_model()
        if err is not None:  # the stored filter no longer parses: show everything
            self.filter_bar.show_error(err)
            self.model.set_query("", force=True)
        self._restore_selection(keep, current)
        if current is None and self.model.rowCount() and not keep:
            self.select_clips([self.model.clip_ids()[0]])
        self.all_tags.refresh()
        self._show_count()
        self._waiting_shown = True
        self._shown_poll.start()
        QTimer.singleShot(0, self._check_shown)

    def _reload_model(self) -> QueryError | None:
        """Rows now; their tag counts once the grid has painted (or after 250 ms)."""
        err = self.model.reload()
        self._counts_timer.start()
        return err

    def _on_session_closed(self) -> None:
        """The database is closed: stop everything that would still read it."""
        for timer in (self._counts_timer, self._reload_timer, self._shown_poll):
            timer.stop()
        self.filter_bar.stop()
        self.hover.stop()
        self.model.stop_requests()
        self.tag_panel.caption_editor.stop()
        self._waiting_shown = False
        self.loader.shutdown()
        if self.preview is not None:
            self.preview.unload()
        self.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.loader.shutdown()
        if self.preview is not None:
            self.preview.unload()  # mpv's threads must not outlive the widget
        super().closeEvent(event)

    def _scrolled(self, _value: int) -> None:
        """While the grid scrolls, thumbnails wait and the looping preview pauses: decoding
        and software GL rendering would take the CPU the scrolling needs."""
        self.model.hold_requests(SCROLL_HOLD_MS)
        if self.preview is not None:
            self.preview.pause_while_scrolling()

    # -- filter and sort -------------------------------------------------------------------
    def set_filter(self, text: str) -> QueryError | None:
        """Put ``text`` in the filter bar and apply it now."""
        self.filter_edit.setText(text)
        return self.apply_filter()

    def apply_filter(self) -> QueryError | None:
        self.filter_bar.stop()
        text = self.filter_bar.text()
        keep, current = self.selected_ids(), self.current_id()
        err = self.model.set_query(text)
        if err is not None:
            self.filter_bar.show_error(err)
            return err
        self.filter_bar.clear_error()
        self._restore_selection(keep, current)
        return None

    @property
    def query_error(self) -> str:
        return self.filter_bar.error_text

    def _show_count(self) -> None:
        m = self.model
        self.filter_bar.show_count(m.rowCount(), m.total(), m.rejected_count())
        self.grid.set_empty_text(empty_grid_text(m.query, m.loaded_count(), m.rejected_count()))

    # -- selection (see selection.py) -----------------------------------------------------
    def selected_ids(self) -> list[int]:
        return self.selection.selected_ids()

    def current_id(self) -> int | None:
        return self.selection.current_id()

    def select_clips(self, clip_ids: Iterable[int], current: int | None = None) -> None:
        self.selection.select_clips(clip_ids, current)

    def step(self, delta: int) -> None:
        """Select the next/previous clip in the grid (the review flow)."""
        self.selection.step(delta)

    def _restore_selection(self, keep: list[int], current: int | None) -> None:
        if keep or current is not None:
            self.select_clips(keep, current)
        self._selection_changed()

    def _selection_changed(self, *_a: object) -> None:
        if not self._selection_pending:  # one panel reload per burst of selection signals
            self._selection_pending = True
            QTimer.singleShot(0, self._apply_selection)

    def _apply_selection(self) -> None:
        self._selection_pending = False
        ids = self.selected_ids()
        cur = self.current_id()
        if (
            not ids
            and cur is not None
            and self.grid.selectionModel().isSelected(self.grid.currentIndex())
        ):
            ids = [cur]
        if not ids and self._kept:
            return  # the panel keeps the clips that just left the grid
        self._kept = set()
        if ids != self.tag_panel.clip_ids:
            self.tag_panel.set_clips(ids)
        self._preview(cur if cur is not None else (ids[0] if ids else None))

    def scope_ids(self, scope: Scope) -> list[int]:
        if scope is Scope.SELECTED:
            return self.selected_ids()
        if scope is Scope.FILTERED:  # the rows the grid shows now (always the filter's)
            return self.model.clip_ids()
        return self.project.clip_ids(include_rejected=False)

    # -- preview ---------------------------------------------------------------------------
    def _preview(self, clip_id: int | None) -> None:
        if self.preview is not None and clip_id is not None:
            self.preview.show_clip(self.model.clip(clip_id))

    # -- edits (run by self.editor; see edits.py) -----------------------------------------
    @property
    def undo_stack(self) -> QUndoStack:
        return self.editor.undo_stack

    def apply_edit(self, fn: Callable[[Project], Edit], *, refilter: bool = False) -> Edit | None:
        """Run one core edit now, put it on the undo stack; the grid and panels refresh."""
        return self.editor.apply_edit(fn, refilter=refilter)

    def _after_edit(self, clip_ids: Iterable[int], _project_wide: bool) -> None:
        """Re-read the edited rows, re-run the filter (the grid changes only when the clips
        that match changed); the covers in memory stay."""
        self.message.setText("")
        self.tag_panel.show_error("")
        keep, current = self.selected_ids(), self.current_id()
        cur_row = self.selection.current_row()
        self.model.refresh_clips(clip_ids)
        if self.model.refilter():
            self._after_refilter(keep, current, cur_row)
        self.tag_panel.refresh()
        self.all_tags.refresh()
        self._show_count()

    def _after_refilter(self, keep: list[int], current: int | None, cur_row: int) -> None:
        """The filter dropped or added clips after an edit: keep the selection that is still
        there; clips the panel shows that left the grid stay in the panel, and say so."""
        m = self.model
        gone = [c for c in self.tag_panel.clip_ids if m.row_of(c) is None]
        still = [c for c in keep if m.row_of(c) is not None]
        cur = current if current is not None and m.row_of(current) is not None else None
        if still or cur is not None:
            self.select_clips(still, cur)
        elif gone:
            self._kept = set(gone)
            self.selection.keep_place(cur_row)  # current, not selected: a step selects it
        if gone and not still:
            row = m.clip(gone[0])
            what = row.name if row is not None and len(gone) == 1 else n_clips(len(gone))
            self._say(
                f"{what} no longer match{'es' if len(gone) == 1 else ''} the filter: left the "
                "grid, still in the panel until you select another clip"
            )
        self._selection_changed()

    def _say(self, text: str) -> None:
        """A note under the grid (not an error)."""
        self.message.setText(text)

    def _cuts_changed(self, _video_id: int) -> None:
        """Cuts were edited: clips they now split are out of date (re-read when shown)."""
        self._cuts_edited = True
        if self.isVisible():
            self._refresh_stale()

    def _refresh_stale(self) -> None:
        self._cuts_edited = False
        self.model.refresh_stale()
        if "stale" in self.model.query:
            self.model.refilter()

    def undo(self) -> None:
        self.tag_panel.commit_caption()
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()

    def mark_reviewed(self, reviewed: bool = True, *, advance: bool = False) -> None:
        from workstation.core import review

        ids = self.selected_ids()
        if not ids:
            return
        self.tag_panel.commit_caption()
        after = self.selection.next_after(ids) if advance and len(ids) == 1 else None
        self.apply_edit(lambda p: review.mark_reviewed(p, ids, reviewed))
        if after is not None:  # the clip that followed, even when this one left the grid
            self.select_clips([after])

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.tag_panel.show_error(text)
        if text:
            log.warning("%s", text)
            self.editFailed.emit(text)

    # -- shortcuts -------------------------------------------------------------------------
    def action(self, sid: str) -> QAction:
        return self.binder.actions[sid]

    def edit_shortcuts(self) -> None:
        dialog = ShortcutEditor(self.shortcuts, self)
        if dialog.exec():
            self.save_shortcuts()

    def save_shortcuts(self) -> None:
        """Store the remapped keys in the app settings (the Cut view's stay as they are)."""
        try:
            save_overrides(self.shortcuts)
        except Exception as exc:  # the keys work for this session either way
            self.show_message(f"Could not save the shortcuts: {exc}")

    # -- visible rows, gridShown ----------------------------------------------------------
    def visible_rows(self) -> list[int]:
        """Rows whose cell intersects the viewport (from the grid geometry, no scan)."""
        return self.grid.visible_rows()

    def _row_visible(self, row: int) -> bool:
        return self.grid.row_visible(row)

    def _check_shown(self) -> None:
        if not self._waiting_shown:
            self._shown_poll.stop()
            return
        if not self.grid.isVisible():
            self._shown_poll.stop()  # showEvent starts it again
            return
        rows = self.visible_rows()
        pending = self.model.pending_covers(rows)
        if pending and self.loader.pool.activeThreadCount() == 0 and not self.model.asking:
            self.grid.viewport().update()  # ask again (data() notes what is wanted)
            return
        if pending:
            return
        self._waiting_shown = False
        self._shown_poll.stop()
        self.grid.viewport().repaint()
        self.gridShown.emit()

    def _counts_after_covers(self) -> None:
        if self._counts_timer.isActive():
            self._counts_timer.start(0)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        painted = obj is self.grid.viewport() and event.type() == QEvent.Type.Paint
        if painted and self._counts_timer.isActive() and not self.model.asking:
            self._counts_timer.start(0)  # the grid is on screen: now read the tag counts
        return super().eventFilter(obj, event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._cuts_edited:
            self._refresh_stale()
        if self._waiting_shown:
            self._shown_poll.start()
        if self.preview is not None:
            self.preview.play()  # the preview loops again when the view comes back

    def hideEvent(self, event: QHideEvent) -> None:
        if self.preview is not None:
            self.preview.pause()  # nobody sees it loop (another tab, minimised)
        super().hideEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.help.isVisible():
            self.help.setGeometry(self.rect())
