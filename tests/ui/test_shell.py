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


# -- opening projects ------------------------------------------------------------------------
def _workstation(*args: str, env_extra: dict[str, str] | None = None, timeout: int = 60):
    """``python -m workstation ARGS`` in a child process."""
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "workstation", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_a_mistyped_path_on_the_command_line_is_refused_not_created(tmp_path):
    typo = tmp_path / "projetc"
    result = _workstation(str(typo))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {typo}: no project there (the folder does not exist). "
        f"To make one, run `workstation new {typo}` or use File → New project."
    )
    assert not typo.exists()
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(b"x")
    result = _workstation("gui", str(folder))
    assert result.returncode == 1 and f"no {DB_NAME} in it" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["a.mp4"]


def test_python_m_workstation_runs_the_command_line(tmp_path):
    result = _workstation("new", str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p" / DB_NAME).is_file()
    assert _workstation("--help").stdout.startswith("usage: workstation")


def test_new_project_refuses_a_folder_with_files_and_offers_a_folder_inside(
    qtbot, window, tmp_path, monkeypatch
):
    folder = tmp_path / "holiday"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    assert not window.open_project(folder, create=True)  # the guard under every way in
    assert "has files in it" in window.statusBar().currentMessage()
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]

    monkeypatch.setattr(window.opening, "ask_subfolder", lambda _f: None)  # cancelled
    assert not window.opening.new_project(folder)
    assert window.session is None
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]

    monkeypatch.setattr(window.opening, "ask_subfolder", lambda _f: "dataset")
    assert window.opening.new_project(folder)
    assert window.session is not None and window.session.root == (folder / "dataset").resolve()
    assert (folder / "dataset" / DB_NAME).is_file()
    assert (folder / "notes.txt").read_text() == "mine"


def test_open_on_an_empty_folder_asks_before_making_a_project(
    qtbot, window, tmp_path, monkeypatch
):
    empty = tmp_path / "empty"
    empty.mkdir()
    asked: list[str] = []
    answer = {"yes": False}

    def question(_parent, _title, text, *_a):
        asked.append(text)
        return QMessageBox.StandardButton.Yes if answer["yes"] else QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", question)
    assert not window.opening.open_folder(empty)
    assert asked == [f"No project at {empty}. Create one?"]
    assert not any(empty.iterdir()) and window.session is None
    answer["yes"] = True
    assert window.opening.open_folder(empty)
    assert (empty / DB_NAME).is_file() and window.session is not None


def test_a_failed_open_keeps_the_open_project(qtbot, window, demo_project, tmp_path):
    root = demo_project.root
    demo_project.close()
    with qtbot.waitSignal(window.videoShown, timeout=10000):
        assert window.open_project(root)
    session = window.session
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    assert not window.open_project(tmp_path / "junk")
    assert "not a workstation project" in window.statusBar().currentMessage()
    assert window.session is session and not session.is_closed
    assert window.center.currentWidget() is window.tabs
    assert window.cut_view is not None and window.cut_view.video_id is not None
    assert session.project.videos()  # the database is still open and readable
    # A deferred open (the command line's) that fails goes back to the open project too.
    with qtbot.waitSignal(window.projectOpenFailed, timeout=5000):
        window.open_when_shown(tmp_path / "junk")
    assert window.session is session and window.center.currentWidget() is window.tabs
