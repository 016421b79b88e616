"""Hooks the Hydrus pieces into the main window: a "Hydrus" menu, Edit > Preferences…, the
status-bar indicator of the open project and "Open in Hydrus" in the Clips view's context
menu.  The window creates one :class:`HydrusHooks` and tells it about each new Clips view."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from workstation.ui.hydrus.conflicts import ConflictsDialog
from workstation.ui.hydrus.mirror import HydrusMirror
from workstation.ui.hydrus.prefs import PreferencesDialog

if TYPE_CHECKING:
    from workstation.ui.session import ProjectSession


class HydrusHooks(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.mirror: HydrusMirror | None = None
        self.clips_view: Any = None
        bar = window.menuBar()
        menu = bar.addMenu("H&ydrus")
        help_menu = next((a for a in bar.actions() if a.text() == "&Help"), None)
        if help_menu is not None:
            bar.insertMenu(help_menu, menu)
        self.prefs_action = QAction("&Preferences…", self)
        self.prefs_action.triggered.connect(self.open_preferences)
        edit = next((a.menu() for a in bar.actions() if a.text() == "&Edit"), None)
        if edit is not None:
            edit.addSeparator()
            edit.addAction(self.prefs_action)
        menu.addAction("Connect… (Preferences)", self.open_preferences)
        self.sync_action = menu.addAction("&Sync now", self.sync_now)
        self.conflicts_action = menu.addAction("&Conflicts…", self.open_conflicts)
        self.open_action = QAction("Open in Hydrus", self)
        self.open_action.triggered.connect(self.open_selected)
        menu.addAction(self.open_action)
        self.actions = [
            self.prefs_action,
            self.sync_action,
            self.conflicts_action,
            self.open_action,
        ]
        window.projectOpened.connect(self.attach)
        window.projectClosed.connect(self.detach)
        self._enable(False)

    def writing_actions(self) -> list[QAction]:
        """The actions that write the project (the link, a sync, a resolved conflict): the
        window keeps them off while a read-only project is open."""
        return [self.prefs_action, self.sync_action, self.conflicts_action]

    def _enable(self, on: bool) -> None:
        for a in self.actions:
            a.setEnabled(on)

    def attach(self, session: ProjectSession) -> None:
        self.detach()
        mirror = self.mirror = HydrusMirror(session, self.window.jobs, self)
        mirror.attach_label(self.window.statusBar())
        mirror.message.connect(lambda text: self.window.statusBar().showMessage(text, 15000))
        mirror.opened.connect(
            lambda r: self.window.statusBar().showMessage(
                f"Shown in Hydrus on the page “{r.page_name}”.", 8000
            )
        )
        self.window.jobs.jobFinished.connect(self._refresh)  # e.g. a slice added clips
        self._enable(True)

    def detach(self) -> None:
        if self.mirror is not None:
            self.mirror.timer.stop()
            self.window.jobs.jobFinished.disconnect(self._refresh)
            self.window.statusBar().removeWidget(self.mirror.label)
            self.mirror.label.deleteLater()
            self.mirror.deleteLater()
            self.mirror = None
        self.clips_view = None
        self._enable(False)

    def adopt_clips_view(self, view: Any) -> None:
        """Edits in the view start the debounced sync; its context menu gets "Open in Hydrus"."""
        self.clips_view = view
        editor = getattr(view, "editor", None)
        if editor is not None and self.mirror is not None:
            editor.edited.connect(self.mirror.edited)
        grid = getattr(view, "grid", None)
        if grid is not None:
            grid.addAction(self.open_action)

    # -- actions ---------------------------------------------------------------------------
    def open_preferences(self) -> PreferencesDialog | None:
        if self.mirror is None:
            return None
        dialog = PreferencesDialog(self.mirror.session, self.window.jobs, self.window)
        dialog.hydrus.saved.connect(self._refresh)
        dialog.setModal(True)
        dialog.show()
        return dialog

    def _refresh(self, *_args: object) -> None:
        if self.mirror is not None:
            self.mirror.refresh()

    def _resolved(self, _conflict_id: int) -> None:
        """A resolved conflict goes out with the (debounced) next sync."""
        if self.mirror is not None:
            self.mirror.refresh()
            self.mirror.edited()

    def sync_now(self) -> None:
        if self.mirror is not None:
            self.mirror.sync_now()

    def open_conflicts(self) -> ConflictsDialog | None:
        if self.mirror is None:
            return None
        dialog = ConflictsDialog(self.mirror.session.project, self.window)
        dialog.resolved.connect(self._resolved)
        dialog.finished.connect(self._refresh)
        dialog.show()
        return dialog

    def open_selected(self) -> None:
        view = self.clips_view
        if self.mirror is not None and view is not None:
            self.mirror.open_clips(view.selected_ids())
