"""The window's shell: keys that work wherever the focus is, the Edit and Help menus, opening
projects (mistyped paths, non-empty folders, a failed open), a read-only project's disabled edits,
``python -m workstation``, the layout at 1280x800, icons and themes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from workstation.core import settings as app_settings
from workstation.core.store import DB_NAME, Cut, Project
from workstation.ui.main_window import MainWindow


def _window(qtbot, *, interactive: bool = False, size=(1280, 800)) -> MainWindow:
    w = MainWindow(app_settings.load(), interactive=interactive)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    _activate(qtbot, w)
    return w


def _activate(qtbot, w) -> None:
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)


@pytest.fixture()
def window(qtbot):
    w = _window(qtbot)
    yield w
    w.close()


@pytest.fixture()
def on_demo(qtbot, window, demo_project):
    """The window on the demo project, the first frame of a video shown."""
    vid = demo_project.find_video("demo_live.mp4").id
    demo_project.add_cut(vid, Cut(40))
    root = demo_project.root
    demo_project.close()
    with qtbot.waitSignal(window.videoShown, timeout=10000):
        assert window.open_project(root)
    if window.cut_view.video_id != vid:
        with qtbot.waitSignal(window.videoShown, timeout=10000):
            window.video_list.select_video(vid)
    qtbot.waitUntil(lambda: window.player.is_ready and window.player._frames_rendered > 0)
    _activate(qtbot, window)  # the player's GL surface re-created the native window
    return window, vid


# -- keys that work anywhere in the window ---------------------------------------------------
def test_space_and_f1_work_with_the_focus_in_the_video_list(qtbot, on_demo):
    window, _vid = on_demo
    table = window.video_list.table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus)
    view = window.cut_view
    with (
        qtbot.waitSignal(view.action("player.toggle").triggered, timeout=3000),
        qtbot.waitSignal(window.player.playingChanged, check_params_cb=bool, timeout=10000),
    ):
        qtbot.keyClick(table, Qt.Key.Key_Space)
    assert table.hasFocus()  # the key did its work without taking the focus away
    assert not view.help.isVisible()
    qtbot.keyClick(table, Qt.Key.Key_F1)
    assert view.help.isVisible()


def test_alt_right_on_the_picture_nudges_the_selected_cut(qtbot, on_demo):
    window, vid = on_demo
    view = window.cut_view
    view.timeline.select_cut(40)
    frame_before = window.player.current_frame
    window.player.setFocus()
    qtbot.waitUntil(window.player.hasFocus)
    qtbot.keyClick(window.player, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    cuts = [c.frame for c in window.session.project.cuts(vid)]
    assert 41 in cuts and 40 not in cuts
    assert window.player.current_frame == frame_before  # the playhead stayed


def test_view_keys_do_not_reach_a_hidden_view(qtbot, on_demo):
    """On the Train tab the Cut view's keys are off (its actions are not visible)."""
    window, vid = on_demo
    window.tabs.setCurrentIndex(window.train_tab)
    before = [c.frame for c in window.session.project.cuts(vid)]
    window.tabs.setFocus()
    qtbot.keyClick(window.tabs, Qt.Key.Key_C)
    assert [c.frame for c in window.session.project.cuts(vid)] == before
