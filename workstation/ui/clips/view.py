"""The Clips view: a grid of every clip, a filter bar, a looping preview and the review panels.

Layout: filter bar + sort on top; the clip grid (``QListView`` in icon mode over
:class:`ClipModel`, drawn by :class:`ClipDelegate`) on the left; on the right the current clip
looping in the player, and tabs with the :class:`TagPanel` (selected clips) and the
:class:`AllTagsPanel` (the project's tags).

Every edit runs through the view's :class:`~workstation.ui.clips.edits.ClipEditor` (core ``Edit``
diffs on a ``QUndoStack``, sidecars rewritten inline or by a job).  Edits made from the clip
panel refresh the grid rows in place without re-running the filter, so the clip a person is
reviewing doesn't vanish when it stops matching; project-wide edits (all-tags panel, bulk) and
their undo re-run the filter.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.edits import Edit
from workstation.core.review import QueryError
from workstation.core.store import Project
from workstation.ui.clips.all_tags_panel import AllTagsPanel, Scope
from workstation.ui.clips.delegate import ClipDelegate
from workstation.ui.clips.edits import ClipEditor
from workstation.ui.clips.model import ClipIdRole, ClipModel, SortKey
from workstation.ui.clips.tag_panel import TagPanel
from workstation.ui.common.shortcuts import (
    CLIP_SHORTCUTS,
    ActionBinder,
    ShortcutEditor,
    ShortcutHelp,
    ShortcutMap,
    save_overrides,
)
from workstation.ui.common.thumb_loader import ThumbLoader

log = logging.getLogger(__name__)

GRID_SPACING = 6
SCROLL_HOLD_MS = 120  # thumbnails are requested once scrolling pauses this long


class ClipGrid(QListView):
    """The grid itself: icon mode, uniform cells, extended selection."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setMouseTracking(True)
        self.setWordWrap(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)


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
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.jobs = jobs
        self.loader = ThumbLoader(session.project.cache_dir, self, threads=2)
        self.model = ClipModel(session.project, self.loader, self)
        self.model.auto_fill_counts = False  # after the first paint: see eventFilter
        self._counts_timer = QTimer(self, singleShot=True, interval=250)  # if nothing paints
        self._counts_timer.timeout.connect(self.model.fill_counts)
        self.editor = ClipEditor(session, jobs, self)
        self.editor.edited.connect(self._after_edit)
        self.editor.failed.connect(self.show_message)
        self._waiting_shown = False
        self._selection_pending = False

        # filter bar
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(
            'Filter: tag:dog -tag:cat caption:"a dog" frames>=48 reviewed:no tags=0 …'
        )
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(lambda _t: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self.apply_filter)
        self._filter_timer = QTimer(self, singleShot=True, interval=250)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.filter_error = QLabel("")
        self.filter_error.setTextFormat(Qt.TextFormat.RichText)
        self.filter_error.setStyleSheet("color:#e05050;")
        self.filter_error.hide()
        self.sort_combo = QComboBox()
        for key in SortKey:
            self.sort_combo.addItem(key.value, key)
        self.sort_combo.currentIndexChanged.connect(self._sort_changed)
        self.sort_desc = QToolButton()
        self.sort_desc.setText("↓")
        self.sort_desc.setCheckable(True)
        self.sort_desc.setToolTip("Reverse the order")
        self.sort_desc.toggled.connect(self._sort_changed)
        self.count_label = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(QLabel("Sort"))
        bar.addWidget(self.sort_combo)
        bar.addWidget(self.sort_desc)
        bar.addWidget(self.count_label)
        from workstation.ui.clips.autotag_actions import AutotagActions

        self.autotag = AutotagActions(self)  # Tag / Caption / Motion score jobs, Models…
        bar.addWidget(self.autotag.button)

        # grid
        self.delegate = ClipDelegate(self)
        self.grid = ClipGrid()
        self.grid.setItemDelegate(self.delegate)
        cell = self.delegate.sizeHint(None, None)
        self.grid.setGridSize(QSize(cell.width() + GRID_SPACING, cell.height() + GRID_SPACING))
        self.grid.setModel(self.model)
        self.grid.setDragEnabled(False)
        self.model.is_visible = self._row_visible
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.grid.selectionModel().currentChanged.connect(self._selection_changed)
        self.grid.viewport().installEventFilter(self)
        self.grid.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.model.filterChanged.connect(self._show_count)
        self.model.modelReset.connect(self._selection_changed)
        self.loader.thumbReady.connect(lambda *_a: self._check_shown())

        # hover animation
        self._hover_id: int | None = None
        self._hover_frames: list[int] = []
        self._hover_step = 0
        self._hover_delay = QTimer(self, singleShot=True, interval=300)
        self._hover_delay.timeout.connect(self._start_hover)
        self._hover_tick = QTimer(self, interval=180)
        self._hover_tick.timeout.connect(self._hover_next)
        self._shown_poll = QTimer(self, interval=40)
        self._shown_poll.timeout.connect(self._check_shown)

        # right side: player + panels
        self.player = None
        self._resume_preview = QTimer(self, singleShot=True, interval=400)
        self._resume_preview.timeout.connect(
            lambda: self.player is not None and self.player.is_ready and self.player.play()
        )
        right = QSplitter(Qt.Orientation.Vertical)
        if with_player:
            from workstation.ui.cut.player import PlayerWidget  # libmpv: loaded only with a player

            self.player = PlayerWidget()
            self.player.setMinimumSize(240, 135)
            self.player.firstFrameShown.connect(self._start_loop)
            self.player.loadFailed.connect(self.show_message)
            right.addWidget(self.player)
        self.tag_panel = TagPanel(self.editor)
        self.all_tags = AllTagsPanel(self.editor, self.scope_ids)
        self.all_tags.filterRequested.connect(self.set_filter)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.tag_panel, "Clip")
        self.tabs.addTab(self.all_tags, "All tags")
        right.addWidget(self.tabs)
        right.setStretchFactor(right.count() - 1, 3)
        if self.player is not None:
            right.setSizes([260, 440])  # the preview loops small; the panel needs the room

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(bar)
        ll.addWidget(self.filter_error)
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

        # shortcuts: declared in shortcuts.CLIP_SHORTCUTS, remapped like the Cut view's
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
        b.bind("clips.focus_filter", self._focus_filter)
        b.bind("clips.undo", self.undo)
        b.bind("clips.redo", self.redo)
        b.bind("clips.help", self.help.toggle).setText("Shortcuts")
        b.refresh()  # tooltips name the keys
        self.shortcuts_button = QToolButton()
        self.shortcuts_button.setDefaultAction(b.actions["clips.help"])
        self.shortcuts_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bar.addWidget(self.shortcuts_button)

        # slicing announces clips one by one: reload once per burst, not once per clip
        self._reload_timer = QTimer(self, singleShot=True, interval=150)
        self._reload_timer.timeout.connect(self.show_project)
        session.clipsChanged.connect(self._reload_timer.start)
        session.closed.connect(self._on_session_closed)
        self.show_project()

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
            self._show_query_error(err)
            self.model.set_query("", force=True)
        self._restore_selection(keep, current)
        if current is None and self.model.rowCount() and not keep:
            self.select_clips([self.model.clip_ids()[0]])
        self.all_tags.refresh()
        self._show_count()
        self._waiting_shown = True
        self._shown_poll.start()
        QTimer.singleShot(0, self._check_shown)

    def _reload_model(self):
        """Rows now; their tag counts once the grid has painted (or after 250 ms)."""
        err = self.model.reload()
        self._counts_timer.start()
        return err

    def _on_session_closed(self) -> None:
        """The database is closed: stop everything that would still read it."""
        for timer in (
            self._counts_timer,
            self._reload_timer,
            self._filter_timer,
            self._shown_poll,
            self._hover_delay,
            self._hover_tick,
        ):
            timer.stop()
        self.model.stop_requests()
        self.tag_panel._caption_timer.stop()
        self._waiting_shown = False
        self.loader.shutdown()
        if self.player is not None:
            self.player.unload()
        self.setEnabled(False)

    def closeEvent(self, event) -> None:
        self.loader.shutdown()
        if self.player is not None:
            self.player.unload()  # mpv's threads must not outlive the widget
        super().closeEvent(event)

    def _scrolled(self, _value: int) -> None:
        """While the grid scrolls, thumbnails wait and the looping preview pauses: decoding
        and software GL rendering would take the CPU the scrolling needs."""
        self.model.hold_requests(SCROLL_HOLD_MS)
        if self.player is not None and self.player.is_playing:
            self.player.pause()
            self._resume_preview.start()
        elif self._resume_preview.isActive():
            self._resume_preview.start()

    # -- filter and sort -------------------------------------------------------------------
    def set_filter(self, text: str) -> QueryError | None:
        """Put ``text`` in the filter bar and apply it now."""
        self.filter_edit.setText(text)
        return self.apply_filter()

    def apply_filter(self) -> QueryError | None:
        self._filter_timer.stop()
        text = self.filter_edit.text()
        keep, current = self.selected_ids(), self.current_id()
        err = self.model.set_query(text)
        if err is not None:
            self._show_query_error(err)
            return err
        self.filter_error.hide()
        self.filter_edit.setStyleSheet("")
        self._restore_selection(keep, current)
        return None

    def _show_query_error(self, err: QueryError) -> None:
        q = err.query or self.filter_edit.text()
        pos = min(err.position, len(q))
        before, at, after = q[:pos], q[pos : pos + 1] or " ", q[pos + 1 :]
        shown = (
            f"<code>{html.escape(before)}<span style='background:#a33;color:white'>"
            f"{html.escape(at).replace(' ', '&nbsp;')}</span>{html.escape(after)}</code>"
        )
        self.filter_error.setText(f"{html.escape(err.message)} (at character {pos + 1}): {shown}")
        self.filter_error.setToolTip(err.pointer())
        self.filter_error.show()
        self.filter_edit.setStyleSheet("QLineEdit { border: 1px solid #e05050; }")
        if self.filter_edit.hasFocus():
            self.filter_edit.setCursorPosition(pos)

    @property
    def query_error(self) -> str:
        return self.filter_error.text() if self.filter_error.isVisible() else ""

    def _sort_changed(self, *_a) -> None:
        self.model.set_sort(self.sort_combo.currentData(), self.sort_desc.isChecked())

    def _show_count(self) -> None:
        n, total = self.model.rowCount(), self.model.total()
        self.count_label.setText(f"{n:,} clips" if n == total else f"{n:,} of {total:,} clips")

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    # -- selection -------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        """Selected clips in grid order (read from the selection's ranges: selecting all
        10,000 clips is one range, not 10,000 indexes)."""
        rows: set[int] = set()
        for rng in self.grid.selectionModel().selection():
            rows.update(range(rng.top(), rng.bottom() + 1))
        return self.model.ids_at(sorted(rows))

    def current_id(self) -> int | None:
        idx = self.grid.currentIndex()
        return idx.data(ClipIdRole) if idx.isValid() else None

    def select_clips(self, clip_ids: Iterable[int], current: int | None = None) -> None:
        sm = self.grid.selectionModel()
        rows = [r for r in (self.model.row_of(c) for c in clip_ids) if r is not None]
        sm.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select
        for r in rows:
            sm.select(self.model.index(r), flags)
        cur = self.model.row_of(current) if current is not None else (rows[0] if rows else None)
        if cur is not None:
            sm.setCurrentIndex(self.model.index(cur), QItemSelectionModel.SelectionFlag.NoUpdate)
            self.grid.scrollTo(self.model.index(cur))

    def _restore_selection(self, keep: list[int], current: int | None) -> None:
        if keep or current is not None:
            self.select_clips(keep, current)
        self._selection_changed()

    def _selection_changed(self, *_a) -> None:
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
        if ids != self.tag_panel.clip_ids:
            self.tag_panel.set_clips(ids)
        self._preview(cur if cur is not None else (ids[0] if ids else None))

    def step(self, delta: int) -> None:
        """Select the next/previous clip in the grid (the review flow)."""
        n = self.model.rowCount()
        if not n:
            return
        idx = self.grid.currentIndex()
        row = 0 if not idx.isValid() else max(0, min(n - 1, idx.row() + delta))
        self.select_clips([self.model.clip_ids()[row]])

    def scope_ids(self, scope: Scope) -> list[int]:
        if scope is Scope.SELECTED:
            return self.selected_ids()
        if scope is Scope.FILTERED:
            return self.model.clip_ids()
        return self.project.clip_ids()

    # -- preview ---------------------------------------------------------------------------
    def _preview(self, clip_id: int | None) -> None:
        if self.player is None or clip_id is None:
            return
        row = self.model.clip(clip_id)
        if row is None or self.player.path == row.path:
            return
        if not row.path.exists():
            self.show_message(f"{row.path}: file not found")
            return
        self.player.load(row.path, fps=row.fps, frame_count=row.frame_count)

    def _start_loop(self) -> None:
        """Loop the current clip forever (mpv's loop-file), muted, like a GIF."""
        mpv = self.player._ensure_mpv()  # the player has no loop API; the option is mpv's own
        mpv["loop-file"] = "inf"
        mpv["mute"] = "yes"
        self.player.play()

    # -- edits (run by self.editor; see clip_edits.py) ------------------------------------
    @property
    def undo_stack(self):
        return self.editor.undo_stack

    def apply_edit(self, fn: Callable[[Project], Edit], *, refilter: bool = False) -> Edit | None:
        """Run one core edit now, put it on the undo stack; the grid and panels refresh."""
        return self.editor.apply_edit(fn, refilter=refilter)

    def _after_edit(self, clip_ids: Iterable[int], refilter: bool) -> None:
        self.message.setText("")
        self.tag_panel.show_error("")
        if refilter:
            self._reload_model()
            self._restore_selection(self.selected_ids(), self.current_id())
        else:
            self.model.refresh_clips(clip_ids)
        self.tag_panel.refresh()
        self.all_tags.refresh()
        self._show_count()

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
        self.apply_edit(lambda p: review.mark_reviewed(p, ids, reviewed))
        if advance and len(ids) == 1:
            self.step(1)

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

    # -- visible rows, gridShown, hover ----------------------------------------------------
    def visible_rows(self) -> list[int]:
        """Rows whose cell intersects the viewport (from the grid geometry, no scan)."""
        n = self.model.rowCount()
        if not n:
            return []
        vp = self.grid.viewport().rect()
        g = self.grid.gridSize()
        cols = max(1, vp.width() // max(1, g.width()))
        top = self.grid.verticalOffset()
        first = max(0, (top // max(1, g.height()) - 1) * cols)
        last = min(n, ((top + vp.height()) // max(1, g.height()) + 2) * cols)
        return [r for r in range(first, last) if self._row_visible(r)]

    def _row_visible(self, row: int) -> bool:
        rect = self.grid.visualRect(self.model.index(row))
        return rect.isValid() and rect.intersects(self.grid.viewport().rect())

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

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.grid.viewport():
            t = event.type()
            if t == QEvent.Type.Paint and self._counts_timer.isActive():
                self._counts_timer.start(0)  # the grid is on screen: now read the tag counts
            elif t == QEvent.Type.MouseMove:
                self._hover_at(event.position().toPoint())
            elif t == QEvent.Type.Leave:
                self._hover_at(None)
        return super().eventFilter(obj, event)

    def _hover_at(self, pos: QPoint | None) -> None:
        idx = self.grid.indexAt(pos) if pos is not None else None
        cid = idx.data(ClipIdRole) if idx is not None and idx.isValid() else None
        if cid == self._hover_id:
            return
        self._hover_id = cid
        self._hover_tick.stop()
        self.model.set_hover(None)
        if cid is not None:
            self._hover_delay.start()
        else:
            self._hover_delay.stop()

    def _start_hover(self) -> None:
        if self._hover_id is None:
            return
        self._hover_frames = self.model.request_hover(self._hover_id)
        self._hover_step = 0
        if len(self._hover_frames) > 1:
            self._hover_tick.start()

    def _hover_next(self) -> None:
        if self._hover_id is None or not self._hover_frames:
            self._hover_tick.stop()
            return
        self._hover_step = (self._hover_step + 1) % len(self._hover_frames)
        self.model.set_hover(self._hover_id, self._hover_frames[self._hover_step])

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._waiting_shown:
            self._shown_poll.start()
        if self.player is not None and self.player.is_ready:
            self.player.play()  # the preview loops again when the view comes back

    def hideEvent(self, event) -> None:
        if self.player is not None and self.player.is_playing:
            self.player.pause()  # nobody sees it loop (another tab, minimised)
        super().hideEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.help.isVisible():
            self.help.setGeometry(self.rect())
