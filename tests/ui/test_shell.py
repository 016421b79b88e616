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


def test_open_on_an_empty_folder_asks_before_making_a_project(qtbot, window, tmp_path, monkeypatch):
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


# -- Edit and Help menus ---------------------------------------------------------------------
def test_edit_menu_undoes_and_redoes_in_the_view_shown(qtbot, on_demo):
    window, vid = on_demo
    menus, view = window.menus, window.cut_view
    menus.update_edit_actions()
    assert not menus.undo_action.isEnabled()
    view.add_cut(90)
    assert 90 in [c.frame for c in window.session.project.cuts(vid)]
    menus.update_edit_actions()  # what the Edit menu does as it opens
    assert menus.undo_action.isEnabled()
    assert menus.undo_action.text() == f"&Undo {view.undo_stack.undoText()}\tCtrl+Z"
    menus.undo_action.trigger()
    assert 90 not in [c.frame for c in window.session.project.cuts(vid)]
    menus.update_edit_actions()
    assert menus.redo_action.isEnabled() and not menus.undo_action.isEnabled()
    menus.redo_action.trigger()
    assert 90 in [c.frame for c in window.session.project.cuts(vid)]
    window.tabs.setCurrentIndex(window.train_tab)  # no undo history there
    menus.update_edit_actions()
    assert not menus.undo_action.isEnabled() and not menus.redo_action.isEnabled()


def test_select_all_selects_every_video_on_the_cut_tab(qtbot, on_demo):
    window, _vid = on_demo
    window.video_list.table.setFocus()
    qtbot.keyClick(window.video_list.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(window.video_list.selected_video_ids()) == 3
    assert window.menus.detect_action.isEnabled()


def test_help_menu_lists_shortcuts_everywhere(qtbot, on_demo):
    window, _vid = on_demo
    window.menus.shortcuts_help_action.trigger()
    assert window.cut_view.help.isVisible()
    window.cut_view.help.hide()
    window.tabs.setCurrentIndex(window.train_tab)
    window.menus.shortcuts_help_action.trigger()
    overlay = window.menus._all_keys
    assert overlay is not None and overlay.isVisible()
    text = overlay.body.text()
    assert "Add a cut at the playhead" in text and "Next clip" in text


def _readme_licence_rows() -> list[tuple[str, str, str]]:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Licence", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [tuple(c.strip() for c in r.strip("|").split("|")) for r in rows[1:]]


def test_about_names_the_version_and_the_licences_of_the_readme(qtbot, window):
    from workstation.ui import about

    assert list(about.LICENCES) == _readme_licence_rows()
    text = about.about_html()
    assert "Motion Dataset Workstation 0.1.0" in text and "GPL-3.0-or-later" in text
    assert "libmpv: GPL-2.0-or-later" in text and "libx264" in text
    window.menus.about_action.trigger()
    dialog = window.menus._about
    assert dialog.isVisible() and "GPL-3.0-or-later" in dialog.text.toPlainText()
    assert dialog.height() <= 600  # fits a 1280x800 screen: the table scrolls
    dialog.close()


def test_open_log_folder_shows_where_internal_errors_are_written(
    qtbot, window, tmp_path, monkeypatch
):
    from PySide6.QtGui import QDesktopServices

    from workstation.cli import _log_internal_error

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    window.menus.log_folder_action.trigger()
    folder = tmp_path / "state" / "motion-dataset-workstation"
    assert opened == [str(folder)] and folder.is_dir()
    written = _log_internal_error(RuntimeError("a bug"), ["status", "x"])
    assert written == folder / "internal-errors.log"  # the CLI's last-resort log is in there


# -- a read-only project ---------------------------------------------------------------------
def test_a_read_only_project_has_its_editing_actions_disabled(qtbot, window, demo_project):
    from test_readonly_project import _make_read_only, _make_writable

    root = demo_project.root
    demo_project.close()
    with pytest.MonkeyPatch.context() as mp:
        _make_read_only(root, mp)
        _check_read_only_window(qtbot, window, root)
        _make_writable(root)
    with qtbot.waitSignal(window.videoShown, timeout=10000):
        assert window.open_project(root)
    assert window.menus.add_videos_action.isEnabled()
    assert window.cut_view.action("cut.add").isEnabled()


def _check_read_only_window(qtbot, window, root) -> None:
    try:
        with qtbot.waitSignal(window.videoShown, timeout=10000):
            assert window.open_project(root)
        menus, view = window.menus, window.cut_view
        locked = [menus.add_videos_action, menus.add_folder_action, menus.detect_action]
        locked += [menus.slice_action, view.detect_action, view.slice_action, view.import_action]
        locked += [view.reviewed_action, view.action("cut.add"), view.action("edit.undo")]
        view.show_video(view.video_id)  # the view sets its own buttons again: they stay off
        assert not [a.text() for a in locked if a.isEnabled()]
        for still in (menus.open_action, view.action("player.toggle"), view.export_action):
            assert still.isEnabled(), still.text()
        window.tabs.setCurrentIndex(window.clips_tab)
        clips = window.clips_view
        assert not clips.action("clips.reviewed").isEnabled()
        assert not any(a.isEnabled() for a in clips.autotag.actions.values())
        assert clips.action("clips.next").isEnabled()
    finally:
        assert window.close_project()


# -- layout, icons, themes -------------------------------------------------------------------
def test_the_videos_dock_is_narrow_and_only_on_the_cut_tab(qtbot, on_demo):
    window, _vid = on_demo
    dock = window.videos_dock
    assert dock.isVisible() and dock.width() <= window.width() // 4
    window.tabs.setCurrentIndex(window.clips_tab)
    assert not dock.isVisible()
    window.tabs.setCurrentIndex(0)
    assert dock.isVisible()
    dock.toggleViewAction().trigger()  # the person hides it on Cut: it stays hidden
    window.tabs.setCurrentIndex(window.train_tab)
    window.tabs.setCurrentIndex(0)
    assert not dock.isVisible()
    dock.toggleViewAction().trigger()
    assert dock.isVisible()


def test_splitter_sizes_are_remembered_between_runs(qtbot, demo_project):
    from PySide6.QtWidgets import QSplitter

    root = demo_project.root
    demo_project.close()
    first = _window(qtbot)
    assert first.open_project(root)
    split = first.cut_view.findChildren(QSplitter)[0]
    total = sum(split.sizes())
    split.setSizes([total - 150, 150])
    wanted = split.sizes()
    first.close()
    assert "cut.0" in app_settings.load().splitter_states

    second = _window(qtbot)
    assert second.open_project(root)
    again = second.cut_view.findChildren(QSplitter)[0]
    assert again.sizes() == wanted
    second.close()


def test_toolbar_icons_are_bundled_and_painted_in_the_palette(qtbot, window):
    from PySide6.QtGui import QColor

    from workstation.ui.resources import icon, icon_names

    assert {"open", "add-videos", "detect", "slice", "undo", "redo", "keyboard"} <= set(
        icon_names()
    )
    for action in window.menus.toolbar.actions():
        if not action.isSeparator():
            assert not action.icon().isNull(), action.text()
    image = icon("slice", QColor("#ff0000")).pixmap(24, 24).toImage()
    colours = {
        image.pixelColor(x, y).name()
        for x in range(24)
        for y in range(24)
        if image.pixelColor(x, y).alpha() == 255
    }
    assert colours == {"#ff0000"}


@pytest.fixture()
def restore_style(qapp):
    style, palette = qapp.style().name(), qapp.palette()
    yield qapp
    qapp.setStyle(style)
    qapp.setPalette(palette)
    if hasattr(qapp.styleHints(), "unsetColorScheme"):
        qapp.styleHints().unsetColorScheme()


def test_light_and_dark_themes_are_chosen_and_remembered(qtbot, window, restore_style):
    from PySide6.QtGui import QPalette

    from workstation.ui.app import is_dark

    def lightness() -> int:
        return restore_style.palette().color(QPalette.ColorRole.Window).lightness()

    window.set_theme("light")
    assert lightness() > 180
    light_icon = window.menus.open_action.icon().pixmap(24, 24).toImage()
    window.set_theme("dark")
    assert lightness() < 80
    dark_icon = window.menus.open_action.icon().pixmap(24, 24).toImage()
    assert light_icon != dark_icon  # re-painted for the new palette
    assert app_settings.load().theme == "dark"
    assert is_dark(restore_style, "dark") and not is_dark(restore_style, "light")
    scheme = restore_style.styleHints().colorScheme()
    assert is_dark(restore_style, "system") == (scheme != Qt.ColorScheme.Light)


def test_counts_read_as_words():
    from workstation.ui.wording import counted

    assert [counted(n, "video") for n in (0, 1, 2)] == ["0 videos", "1 video", "2 videos"]
    assert counted(1, "clip") == "1 clip" and counted(3, "box", "boxes") == "3 boxes"


def test_a_long_recent_project_path_is_shortened_with_the_whole_in_its_tooltip(
    qtbot, window, tmp_path
):
    from PySide6.QtWidgets import QPushButton

    deep = tmp_path / ("a-very-long-folder-name-" * 6) / "my project"
    Project.create(deep).close()
    window.settings.add_recent(deep)
    window.opening.show_welcome()
    button = next(
        b for b in window.opening.welcome.findChildren(QPushButton) if b.toolTip() == str(deep)
    )
    assert "…" in button.text() and button.text().endswith("my project")
    assert button.fontMetrics().horizontalAdvance(button.text()) <= 460
