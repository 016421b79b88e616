"""Buttons and Space: a click on a button of a view's window does not move the focus to it (its
focus policy becomes Tab focus), so Space after clicking "Detect cuts" or "Add videos…" still
plays; a button reached with Tab takes Space and Enter, which press it, as in any other program.
Dialogs keep Qt's own button behaviour.  One application event filter; the first
:class:`~workstation.ui.common.shortcuts.ActionBinder` installs it.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QDialog

_PRESS_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Select)


class ButtonKeys(QObject):
    """An application event filter for the buttons of the views' windows (not dialogs').

    A button being polished (first shown) that would take the focus on a click takes it on Tab
    only; a focused button claims Space and Enter (``ShortcutOverride``), so its own key press
    presses it instead of a window shortcut (play / pause) firing.  :func:`install` once."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.Polish, QEvent.Type.ShortcutOverride):
            return False
        if not isinstance(obj, QAbstractButton) or isinstance(obj.window(), QDialog):
            return False
        if kind == QEvent.Type.Polish:
            if obj.focusPolicy() in (Qt.FocusPolicy.StrongFocus, Qt.FocusPolicy.ClickFocus):
                obj.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        elif (
            isinstance(event, QKeyEvent)
            and event.key() in _PRESS_KEYS
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            and obj.hasFocus()
        ):
            event.accept()  # the button's key, not a shortcut's
        return False

    @staticmethod
    def install() -> ButtonKeys | None:
        """Install the filter on the application once (None without a QApplication)."""
        app = QCoreApplication.instance()
        if not isinstance(app, QApplication):
            return None
        found = app.findChild(ButtonKeys)
        if isinstance(found, ButtonKeys):
            return found
        keys = ButtonKeys(app)
        app.installEventFilter(keys)
        return keys
