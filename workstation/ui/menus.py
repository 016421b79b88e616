"""The main window's menus, its toolbar and the actions behind them: adding videos (dialogs,
drops), the video actions (detect, slice, remove, re-link:
:mod:`workstation.ui.cut.video_actions`), the Models dialog, Edit (undo, redo,
select all in the view shown), Help (shortcuts, About, the log folder), the theme, and which
actions are enabled.

The Edit menu's Undo/Redo show the view's keys but hold none: the view's own actions answer the
keys (a key held by both would be ambiguous, and Qt would run neither).

:class:`WindowMenus` is one part the window holds.  It gets what it works with explicitly: the
window as a plain ``QMainWindow`` (its menu bar, status bar, dialogs' parent), the jobs
controller, the video list, the :class:`~workstation.ui.project_opening.ProjectOpener` behind
New/Open/recent, and the docks; the window sets :attr:`WindowMenus.session` and
:attr:`WindowMenus.cut_view` as projects open and close (as it does ``JobsController.session``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QToolBar,
    QToolButton,
    QWidget,
)

from workstation.ui.common.jobs import Job, JobsController
from workstation.ui.cut.video_actions import VideoActions
from workstation.ui.cut.video_list import VideoList
from workstation.ui.project_opening import ProjectOpener
from workstation.ui.session import ProjectSession
from workstation.ui.wording import counted

if TYPE_CHECKING:
    from workstation.core.store import Project
    from workstation.ui.clips.models_dialog import ModelsDialog
    from workstation.ui.common.shortcuts import ShortcutHelp
    from workstation.ui.cut.view import CutView
    from workstation.ui.export import ExportDialog

# The window's messages keep one logger name in the Log panel, whichever module sends them.
log = logging.getLogger("workstation.ui.main_window")


class WindowMenus(QObject):
    """Menus and the video actions of the main window."""

    def __init__(
        self,
        window: QMainWindow,
        jobs: JobsController,
        video_list: VideoList,
        opener: ProjectOpener,
        *,
        close_project: Callable[[], bool],
        docks: Sequence[QDockWidget],
        log_dock: QDockWidget,
        current_view: Callable[[], QWidget | None] = lambda: None,
        set_theme: Callable[[str], None] = lambda _t: None,
        theme: str = "system",
    ) -> None:
        super().__init__(window)
        self.current_view = current_view  # the view of the tab shown (None: none or Train)
        self._set_theme = set_theme
        self._theme = theme
        self._icons: dict[QAction, str] = {}
        self.window = window
        self.jobs = jobs
        self.video_list = video_list
        self.log_dock = log_dock  # raised when added files were refused
        self.session: ProjectSession | None = None
        self.cut_view: QWidget | None = None
        self._models_dialog: ModelsDialog | None = None
        self._all_keys: ShortcutHelp | None = None  # the every-view shortcut overlay, once asked
        self._about: QWidget | None = None
        self._build(opener, close_project, docks)

    def _status(self, text: str, ms: int) -> None:
        self.window.statusBar().showMessage(text, ms)

    # -- building --------------------------------------------------------------------------
    def _build(
        self,
        opener: ProjectOpener,
        close_project: Callable[[], bool],
        docks: Sequence[QDockWidget],
    ) -> None:
        bar = self.window.menuBar()
        file = bar.addMenu("&File")
        self.new_action = file.addAction("&New project…", opener.new_project_dialog)
        self.new_action.setShortcut(QKeySequence.StandardKey.New)
        self.open_action = file.addAction("&Open project…", opener.open_project_dialog)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(lambda: opener.fill_recent_menu(self.recent_menu))
        file.addSeparator()
        self.add_videos_action = file.addAction("&Add videos…", self.add_videos_dialog)
        self.add_videos_action.setShortcut(QKeySequence("Ctrl+I"))
        self.add_folder_action = file.addAction("Add a &folder of videos…", self.add_folder_dialog)
        self.export_action = file.addAction("&Export dataset…", self.open_export)
        # Ctrl+E is the Clips view's "edit the caption": one key for both would fire neither.
        self.export_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        file.addSeparator()
        self.close_action = file.addAction("&Close project", close_project)
        self.quit_action = file.addAction("&Quit", self.window.close)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)

        videos = bar.addMenu("&Videos")
        self.video_actions = VideoActions(
            self.window,
            self.video_list,
            self.jobs,
            lambda: self.session,
            lambda: self.cut_view,
            lambda text: self._status(text, 10000),
        )
        self.video_actions.add_to(videos)
        self.detect_action, self.slice_action = self.video_actions.detect, self.video_actions.slice
        self.video_list.context_actions = self.video_actions.context_actions
        self.detect_settings_action = videos.addAction(
            "Detec&t with settings…", self.edit_detection_settings
        )
        self.detect_settings_action.setToolTip(
            "Choose the detector and its settings (kept per project), then detect the selected "
            "or all videos"
        )
        self.models_action = videos.addAction("Auto-tagging &models…", self.open_models)
        self.models_action.setToolTip("Tagger and captioner models on this machine; device")

        self._build_edit(bar.addMenu("&Edit"))
        view = bar.addMenu("V&iew")
        for dock in docks:
            view.addAction(dock.toggleViewAction())
        self._build_theme(view.addMenu("&Theme"))
        self._build_help(bar.addMenu("&Help"))
        self._build_toolbar(docks[0])

    def _build_edit(self, edit: Any) -> None:
        edit.aboutToShow.connect(self.update_edit_actions)
        self.undo_action = edit.addAction("&Undo", lambda: self._view_call("undo"))
        self.redo_action = edit.addAction("&Redo", lambda: self._view_call("redo"))
        edit.addSeparator()
        self.select_all_action = edit.addAction("Select &all", self.select_all)
        self.select_all_action.setShortcut(QKeySequence.StandardKey.SelectAll)
        self.select_all_action.setToolTip("Select every video (Cut) or every clip shown (Clips)")

    def _build_theme(self, menu: Any) -> None:
        group = QActionGroup(self)
        for name, label in (
            ("system", "Follow the &system"),
            ("light", "&Light"),
            ("dark", "&Dark"),
        ):
            a = menu.addAction(label)
            a.setCheckable(True)
            a.setChecked(name == self._theme)
            a.triggered.connect(lambda _c=False, n=name: self._set_theme(n))
            group.addAction(a)

    def _build_help(self, menu: Any) -> None:
        self.shortcuts_help_action = menu.addAction("&Keyboard shortcuts\tF1", self.show_shortcuts)
        self.shortcuts_help_action.setIconText("Shortcuts")
        self.log_folder_action = menu.addAction("Open the &log folder", self.open_log_folder)
        self.log_folder_action.setToolTip("Where internal errors are written (internal-errors.log)")
        self.setup_training_action = menu.addAction(
            "Install &training components…", self.open_setup_training
        )
        menu.addSeparator()
        self.about_action = menu.addAction("&About Motion Dataset Workstation", self.show_about)

    def _build_toolbar(self, videos_dock: QDockWidget) -> None:
        """The main toolbar: icons for what a person does most, in the order they do it."""
        tb = self.toolbar = QToolBar("Main", self.window)
        tb.setObjectName("toolbar-main")  # saveState/restoreState
        tb.setIconSize(QSize(20, 20))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toggle = videos_dock.toggleViewAction()
        toggle.setText("Videos")
        toggle.setToolTip("Show or hide the video list")
        for action, name in (
            (toggle, "videos-panel"),
            (self.open_action, "open"),
            (self.add_videos_action, "add-videos"),
            (self.shortcuts_help_action, "keyboard"),
        ):
            self._icons[action] = name
            tb.addAction(action)
        for action, name in (
            (self.detect_action, "detect"),
            (self.slice_action, "slice"),
            (self.undo_action, "undo"),
            (self.redo_action, "redo"),
            (self.about_action, "help"),
        ):
            self._icons[action] = name  # in the menus only (the Cut view has its own buttons)
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.refresh_icons()

    def refresh_icons(self) -> None:
        """Icons painted in the palette's colours (again after a theme change)."""
        from workstation.ui.resources import icon

        for action, name in self._icons.items():
            action.setIcon(icon(name))

    def adopt_cut_view(self, view: CutView) -> list[QAction]:
        """Icons for the Cut view's main buttons (kept current with the theme like the
        window's); returns its actions that change the project."""
        for action, name in (
            (view.detect_action, "detect"),
            (view.slice_action, "slice"),
            (view.undo_action, "undo"),
            (view.redo_action, "redo"),
            (view.action("help.shortcuts"), "keyboard"),
        ):
            self._icons[action] = name
            action.destroyed.connect(lambda _o=None, a=action: self._icons.pop(a, None))
        view.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (view.undo_action, view.redo_action, view.action("help.shortcuts")):
            button = view.toolbar.widgetForAction(action)  # their tooltips say it in words
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.refresh_icons()
        changes = [view.detect_action, view.import_action, view.slice_action, view.reviewed_action]
        return [*view.binder.editing_actions(), *changes]

    def editing_actions(self) -> list[QAction]:
        """The menu actions that change the project: off while a read-only project is open."""
        return [
            self.add_videos_action,
            self.add_folder_action,
            *self.video_actions.editing_actions(),
            self.undo_action,
            self.redo_action,
        ]

    # -- edit and help ---------------------------------------------------------------------
    def _view_call(self, name: str) -> bool:
        """Run the shown view's ``undo``/``redo``; False when the view has none."""
        fn = getattr(self.current_view(), name, None)
        if fn is None:
            return False
        fn()
        return True

    def update_edit_actions(self) -> None:
        """Undo/Redo say what they would undo, with the view's keys, and are on when they can."""
        view = self.current_view()
        stack = getattr(view, "undo_stack", None)
        binder = getattr(view, "binder", None)
        for action, which in ((self.undo_action, "undo"), (self.redo_action, "redo")):
            can = bool(stack is not None and getattr(stack, f"can{which.title()}")())
            what = getattr(stack, f"{which}Text")() if can and stack is not None else ""
            keys = next(
                (
                    a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                    for sid, a in (binder.actions.items() if binder is not None else ())
                    if sid.endswith(f".{which}")
                ),
                "",
            )
            label = f"&{which.title()} {what}".rstrip()
            action.setText(f"{label}\t{keys}" if keys else label)
            action.setEnabled(can)
        self.select_all_action.setEnabled(self.session is not None)

    def select_all(self) -> None:
        """Every clip shown in the Clips view, every video on the Cut tab."""
        grid = getattr(self.current_view(), "grid", None)
        if grid is not None:
            grid.selectAll()
        elif self.session is not None:
            self.video_list.table.selectAll()

    def show_shortcuts(self) -> None:
        """The shown view's shortcut overlay; elsewhere, every view's keys in one overlay."""
        help_ = getattr(self.current_view(), "help", None)
        if help_ is None:
            if self._all_keys is None:
                from workstation.ui.common.shortcuts import (
                    CLIP_SHORTCUTS,
                    CUT_SHORTCUTS,
                    ShortcutHelp,
                    ShortcutMap,
                )

                keys = ShortcutMap.from_settings(specs=CUT_SHORTCUTS + CLIP_SHORTCUTS)
                # Remapping stays with each view (its own editor); this one only lists.
                self._all_keys = ShortcutHelp(
                    keys, self.window.centralWidget() or self.window, editable=False
                )
            help_ = self._all_keys
        help_.toggle()

    def show_about(self) -> None:
        from workstation.ui.about import show_about

        self._about = show_about(self.window)

    def open_setup_training(self) -> None:
        from workstation.ui.setup_training import SetupTrainingDialog

        self._setup_training = SetupTrainingDialog(self.jobs, self.window)
        self._setup_training.show()

    def open_log_folder(self) -> Path:
        from workstation.ui.about import open_log_folder

        folder, opened = open_log_folder()
        self._status(
            f"Log folder: {folder}" if opened else f"Log folder: {folder} (not opened)", 10000
        )
        return folder

    def edit_detection_settings(self) -> bool:
        """The Detect dialog (the Cut view's, for the selected or all videos); with no
        project open, the app-wide detector choice only."""
        edit = getattr(self.cut_view, "edit_detection_settings", None)
        if self.session is not None and edit is not None:
            return bool(edit(self.video_actions.all_ids()))
        from workstation.ui.cut.detect_settings import ask_detection_settings

        answer = ask_detection_settings(self.window)
        if answer is None:
            return False
        self._status(answer.said, 8000)
        return True

    def open_models(self) -> ModelsDialog | None:
        """The Models dialog of the open project (None, with a message, when none is open)."""
        if self.session is None:
            self._status("Open a project first: models are chosen per project", 8000)
            return None
        from workstation.ui.clips.models_dialog import ModelsDialog

        dialog = self._models_dialog
        if dialog is None or dialog.session is not self.session:
            dialog = self._models_dialog = ModelsDialog(self.session, self.jobs, self.window)
        dialog.refresh()
        dialog.show()
        dialog.raise_()
        return dialog

    def open_export(self) -> ExportDialog | None:
        """The Export dialog of the open project; its "show these clips" filters the Clips
        view."""
        if self.session is None:
            return None
        from workstation.ui.export import ExportDialog

        dialog = ExportDialog(self.session, self.jobs, self.window, show_clips=self.show_clips)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_clips(self, query: str) -> None:
        """Switch to the Clips view with ``query`` in its filter bar."""
        window: Any = self.window  # the MainWindow (typed as a plain QMainWindow here)
        view = window.ensure_clips_view()
        window.tabs.setCurrentIndex(window.clips_tab)
        set_filter = getattr(view, "set_filter", None)
        if set_filter is not None:
            set_filter(query)

    def update_actions(self) -> None:
        has_project = self.session is not None
        for a in (
            self.add_videos_action,
            self.add_folder_action,
            self.export_action,
            self.close_action,
            self.select_all_action,
        ):
            a.setEnabled(has_project)
        self.video_actions.update_enabled()

    # -- videos ----------------------------------------------------------------------------
    def add_videos_dialog(self) -> None:
        from workstation.core.media import VIDEO_EXTENSIONS

        patterns = " ".join(f"*{ext}" for ext in sorted(VIDEO_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(
            self.window, "Add videos", "", f"Videos ({patterns});;All files (*)"
        )
        if files:
            self.add_videos(files)

    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Add every video in a folder")
        if folder:
            self.add_videos([folder])

    def add_videos(self, paths: Sequence[str | Path]) -> Job | None:
        """Probe and add files/folders as a job; bad files are reported, the rest added."""
        session = self.session
        if session is None:
            return None
        names = [str(p) for p in paths]

        def stage(project: Project) -> Any:
            from workstation.core.ingest import add_paths

            return add_paths(project, [*names])

        def done(result: Any) -> None:
            errors = list(getattr(result, "errors", []))
            for error in errors:
                log.warning("not added: %s", error)
            added = len(getattr(result, "added", []))
            text = f"Added {counted(added, 'video')}."
            if errors:
                text += f" {counted(len(errors), 'file')} could not be added: see the Log."
                self.log_dock.raise_()
            self._status(text, 15000)
            if session is self.session:
                session.videosChanged.emit()
                if self.video_list.current_video_id() is None:
                    self.video_list.select_first()

        title = f"Add videos: {Path(names[0]).name}" + (
            f" +{len(names) - 1}" if len(names) > 1 else ""
        )
        return self.jobs.run_on_project(
            title, stage, on_done=done, stage_name="add", target=";".join(names)[:500]
        )
