"""How the window shares its room: the Videos dock only where it is used, and the sizes a person
gives the views' splitters remembered between runs.

The Videos dock belongs to the Cut tab: on Clips and Train it would take a quarter of the width
for nothing, so it hides there and comes back on Cut as the person left it (the View menu and
the toolbar's Videos button still show or hide it on any tab).  Splitter sizes are saved by
view and position (``cut.0``, ``clips.1``) in the app settings' ``splitter_states``.
"""

from __future__ import annotations

import base64
import logging

from PySide6.QtCore import QByteArray, QObject
from PySide6.QtWidgets import QDockWidget, QSplitter, QWidget

log = logging.getLogger("workstation.ui.main_window")


class DockPerTab(QObject):
    """Shows ``dock`` on the tab it belongs to, hides it on the others."""

    def __init__(self, dock: QDockWidget, home_tab: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dock = dock
        self.home_tab = home_tab
        self.wanted = True  # the person's choice for the home tab
        self._switching = False
        self._on_home = True
        # Checked follows the dock being shown or hidden on purpose (View menu, toolbar, its
        # close button), not the window being minimised.
        dock.toggleViewAction().toggled.connect(self._toggled)

    def _toggled(self, checked: bool) -> None:
        if self._on_home and not self._switching:
            self.wanted = checked

    def tab_changed(self, index: int) -> None:
        self._on_home = index == self.home_tab
        self._switching = True
        try:
            if self._on_home:
                self.dock.setVisible(self.wanted)
            elif not self.dock.isFloating():
                self.dock.setVisible(False)
        finally:
            self._switching = False

    def restore_for_saving(self) -> None:
        """Before the window's state is saved: the dock as it is on its home tab."""
        self._switching = True
        try:
            self.dock.setVisible(self.wanted)
        finally:
            self._switching = False


def splitters(view: QWidget) -> list[QSplitter]:
    """The view's splitters, in a stable order (creation order of the widget tree)."""
    return view.findChildren(QSplitter)


def save_splitters(name: str, view: QWidget | None, into: dict[str, str]) -> None:
    if view is None:
        return
    for i, split in enumerate(splitters(view)):
        into[f"{name}.{i}"] = base64.b64encode(split.saveState().data()).decode()


def restore_splitters(name: str, view: QWidget, states: dict[str, str]) -> None:
    for i, split in enumerate(splitters(view)):
        text = states.get(f"{name}.{i}")
        if not text:
            continue
        try:
            ok = split.restoreState(QByteArray(base64.b64decode(text)))
        except (ValueError, TypeError):
            ok = False
        if not ok:
            log.warning("splitter sizes of %s.%d in the settings are damaged; not used", name, i)
