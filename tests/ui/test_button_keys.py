"""Space on a button: a click leaves the focus where it was (so Space still plays); a button
reached with Tab takes Space and presses it instead of the window's play / pause shortcut.
Dialogs keep Qt's own buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QPushButton, QVBoxLayout, QWidget

from workstation.ui.common.shortcuts import ActionBinder, ShortcutMap


def _window(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    picture = QWidget()  # stands in for the timeline: takes the focus, types nothing
    picture.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button = QPushButton("Detect cuts")
    layout = QVBoxLayout(window)
    layout.addWidget(picture)
    layout.addWidget(button)
    toggles: list[int] = []
    ActionBinder(window, ShortcutMap()).bind("player.toggle", lambda: toggles.append(1))
    clicks: list[int] = []
    button.clicked.connect(lambda: clicks.append(1))
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    picture.setFocus()
    qtbot.waitUntil(picture.hasFocus)
    return window, picture, button, toggles, clicks


def test_a_clicked_button_does_not_take_space_from_playback(qtbot):
    _window_kept, picture, button, toggles, clicks = _window(qtbot)
    assert button.focusPolicy() == Qt.FocusPolicy.TabFocus
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert clicks == [1] and picture.hasFocus() and not button.hasFocus()
    qtbot.keyClick(picture, Qt.Key.Key_Space)
    assert toggles == [1] and clicks == [1]


def test_a_button_reached_with_tab_is_pressed_by_space_and_playback_stays(qtbot):
    _window_kept, picture, button, toggles, clicks = _window(qtbot)
    qtbot.keyClick(picture, Qt.Key.Key_Tab)
    assert button.hasFocus()
    qtbot.keyClick(button, Qt.Key.Key_Space)
    assert clicks == [1] and toggles == []


def test_dialog_buttons_keep_their_click_focus(qtbot):
    ActionBinder(QWidget(), ShortcutMap())  # installs the filter
    dialog = QDialog()
    qtbot.addWidget(dialog)
    ok = QPushButton("OK", dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert ok.focusPolicy() == Qt.FocusPolicy.StrongFocus
