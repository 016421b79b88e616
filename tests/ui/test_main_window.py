"""The main window on real projects: videos listed with their state, jobs, log, settings, smoke."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading

import pytest

from workstation.core import settings as app_settings
from workstation.core.store import Cut, Project
from workstation.ui.main_window import MainWindow
from workstation.ui.smoke import StallMeter


@pytest.fixture()
def window(qtbot):
    w = MainWindow(app_settings.load(), interactive=False)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def names(window):
    return sorted(r.name for r in window.video_list.model.rows)


def test_the_welcome_page_shows_its_whole_text(qtbot, window):
    """The wrapped text under the title was cut after its second line (an aligned label gets
    its size hint, not its height for the width it wraps to)."""
    from PySide6.QtWidgets import QLabel

    text = next(
        label
        for label in window.opening.welcome.findChildren(QLabel)
        if "training clips" in label.text()
    )
    assert text.isVisible()
    assert text.height() >= text.heightForWidth(text.width())


def test_shows_the_demo_projects_videos_and_the_first_frame(qtbot, window, demo_project):
    with qtbot.waitSignal(window.videoShown, timeout=10000):
        assert window.open_project(demo_project.root)
    assert names(window) == ["demo_anime.mp4", "demo_live.mp4", "demo_transitions.mp4"]
    assert window.windowTitle().startswith("proj")
    assert window.player is not None
    with qtbot.waitSignal(window.player.firstFrameShown, timeout=15000):
        pass
    rows = window.video_list.model.rows
    assert all(r.state_text == "probed" for r in rows)
    assert window.menus.detect_action.isEnabled() and window.menus.slice_action.isEnabled()


def test_video_state_follows_the_store(qtbot, window, demo_project):
    assert window.open_project(demo_project.root)
    session = window.session
    vid = window.video_list.current_video_id()
    session.project.set_cuts_reviewed(vid, True)
    session.cutsChanged.emit(vid)  # any change of that video refreshes its row
    row = window.video_list.model.rows[window.video_list.model.row_of(vid)]
    assert row.reviewed and "cuts reviewed" in row.states


def test_recent_projects_persist(qtbot, demo_project, tmp_path):
    first = MainWindow(app_settings.load(), interactive=False)
    qtbot.addWidget(first)
    assert first.open_project(demo_project.root)
    other = tmp_path / "other"
    assert first.open_project(other, create=True)
    first.close()
    stored = app_settings.load()
    assert stored.recent_projects[:2] == [str(other.resolve()), str(demo_project.root)]
    assert stored.last_project == str(other.resolve())
    assert stored.window_geometry  # the layout is remembered too

    second = MainWindow(app_settings.load(), interactive=False)
    qtbot.addWidget(second)
    second.opening.fill_recent_menu(second.menus.recent_menu)
    entries = [a.text() for a in second.menus.recent_menu.actions()]
    assert entries[:2] == [str(other.resolve()), str(demo_project.root)]
    second.menus.recent_menu.actions()[1].trigger()
    assert second.session is not None and second.session.root == demo_project.root
    second.close()


def test_add_videos_job_reports_bad_files_and_adds_the_rest(qtbot, window, demo_videos, tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    shutil.copy(demo_videos[0], folder / demo_videos[0].name)
    (folder / "broken.mp4").write_bytes(b"this is not a video at all" * 10)
    assert window.open_project(tmp_path / "p", create=True)
    assert names(window) == []
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=30000) as blocker:
        window.menus.add_videos([folder])
    job = blocker.args[0]
    assert job.state == "done"
    qtbot.waitUntil(lambda: names(window) == [demo_videos[0].name], timeout=5000)
    qtbot.waitUntil(lambda: any("broken.mp4" in line for line in window.log_panel.lines()))
    assert "could not be added" in window.statusBar().currentMessage()
    assert window.jobs_panel.row_for(job).status.text().startswith("done")
    assert window.session.project.jobs()[0]["stage"] == "add"


def test_slice_selected_runs_a_job_and_marks_the_video_sliced(qtbot, window, demo_project):
    vid = demo_project.videos()[0].id
    demo_project.add_cut(vid, Cut(100))
    demo_project.set_segment_keep(vid, 100, False)
    assert window.open_project(demo_project.root)
    window.video_list.select_video(vid)
    with qtbot.waitSignal(window.cut_view.video_jobs.batchFinished, timeout=120000) as blocker:
        window.cut_view.slice_videos(window.video_list.selected_video_ids())
    batch = blocker.args[0]
    assert batch.done == [vid], batch.failed
    row = window.video_list.model.rows[window.video_list.model.row_of(vid)]
    assert row.clips == 1 and row.state_text == "sliced (1 clips)"


def test_log_panel_receives_records_from_worker_threads(qtbot, window):
    worker_log = logging.getLogger("workstation.test")
    t = threading.Thread(target=lambda: worker_log.warning("from a worker: %s", "bad.mp4"))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: any("from a worker: bad.mp4" in ln for ln in window.log_panel.lines()))
    assert window.log_panel.warnings >= 1


def test_opening_a_folder_that_is_not_a_project_says_so(qtbot, window, tmp_path):
    (tmp_path / "random").mkdir()
    (tmp_path / "random" / "file.txt").write_text("x")
    assert not window.open_project(tmp_path / "random")
    assert window.session is None
    assert "not a workstation project" in window.statusBar().currentMessage()
    assert window.center.currentWidget() is window.opening.welcome


def test_open_when_shown_waits_for_the_first_paint(qtbot, demo_project):
    w = MainWindow(app_settings.AppSettings(), persist=False, interactive=False)
    qtbot.addWidget(w)
    w.open_when_shown(demo_project.root)
    assert w.session is None  # nothing heavy before the window is on screen
    with qtbot.waitSignal(w.projectOpened, timeout=10000):
        w.show()
    assert w.session.root == demo_project.root
    w.close()


def test_stall_meter_measures_gaps_while_a_job_runs(qtbot, window, demo_project):
    assert window.open_project(demo_project.root)
    meter = StallMeter()
    meter.start()
    from workstation.core.progress import Progress

    enough = threading.Event()

    def busy():
        i = 0
        while not enough.is_set():  # keeps a worker busy until the meter has ticked a while
            sum(range(20000))
            i += 1
            yield Progress("busy", i, None)

    job = window.jobs.run("Busy", busy)
    qtbot.waitUntil(lambda: meter.ticks > 20 and job.last_progress is not None, timeout=20000)
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=20000):
        enough.set()
    meter.stop()
    assert meter.ticks > 10
    assert meter.max_gap_ms > 0
    assert meter.percentile_ms(50) <= meter.max_gap_ms


def _run_app(args, env_extra, timeout=90):
    env = {**os.environ, **env_extra}
    code = "import sys; from workstation.ui.app import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_smoke_mode_prints_timings_and_saves_a_screenshot(demo_project, tmp_path):
    shot = tmp_path / "shot.png"
    demo_project.close()
    result = _run_app(
        ["--smoke", "--project", str(demo_project.root), "--screenshot", str(shot)],
        {"XDG_CONFIG_HOME": str(tmp_path / "cfg")},
    )
    assert result.returncode == 0, result.stderr
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["window_shown_ms"] > 0 and data["first_frame_ms"] >= data["window_shown_ms"]
    assert shot.stat().st_size > 10_000
    assert not (tmp_path / "cfg").exists()  # smoke mode leaves the user's settings alone


def test_smoke_mode_fails_clearly(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.txt").write_text("x")
    result = _run_app(["--smoke", "--project", str(tmp_path / "empty")], {})
    assert result.returncode != 0
    assert "not a workstation project" in result.stderr
    assert result.stdout.strip() == ""


def test_project_with_no_videos_fails_the_smoke(tmp_path):
    Project.create(tmp_path / "novideos").close()
    result = _run_app(["--smoke", "--project", str(tmp_path / "novideos")], {})
    assert result.returncode != 0
    assert "no videos" in result.stderr


def test_clips_tab_builds_the_clips_view_when_first_shown(qtbot, window, demo_project):
    assert window.open_project(demo_project.root)
    assert window.clips_view is None  # not built at start-up
    window.tabs.setCurrentIndex(window.clips_tab)
    assert window.clips_view is not None
    window.tabs.setCurrentIndex(0)
    assert window.close_project()
    assert window.clips_view is None and window.tabs.currentIndex() == 0


def test_initial_project_choice(tmp_path, demo_project):
    from workstation.ui.app import _initial_project, build_parser

    settings = app_settings.AppSettings(last_project=str(demo_project.root))
    args = build_parser().parse_args([])
    assert _initial_project(args, settings) == (demo_project.root, None)
    args = build_parser().parse_args([str(tmp_path / "new")])
    path, problem = _initial_project(args, settings)  # a mistyped path is not made a project
    assert path is None and problem.startswith(f"{tmp_path / 'new'}: no project there")
    args = build_parser().parse_args(["--project", str(demo_project.root)])
    assert _initial_project(args, settings) == (demo_project.root, None)
    assert _initial_project(build_parser().parse_args([]), app_settings.AppSettings()) == (
        None,
        None,
    )


def test_missing_video_file_is_shown_as_missing(qtbot, window, demo_project):
    video = demo_project.videos()[0]
    video.path.rename(video.path.with_suffix(".gone"))
    assert window.open_project(demo_project.root)
    model = window.video_list.model
    row = model.rows[model.row_of(video.id)]
    assert row.missing and row.state_text == "file missing"
    index = model.index(model.row_of(video.id), 0)
    from PySide6.QtCore import Qt

    assert "missing" in model.data(index, Qt.ItemDataRole.ToolTipRole)


def test_dropping_files_adds_them(qtbot, window, demo_videos, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    assert window.open_project(tmp_path / "p", create=True)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(demo_videos[1]))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=30000):
        window.dropEvent(event)
    qtbot.waitUntil(lambda: names(window) == [demo_videos[1].name], timeout=5000)


def test_shortcut_overrides_round_trip_through_the_app_settings():
    from workstation.ui.common.shortcuts import ShortcutMap

    defaults = ShortcutMap.from_settings(app_settings.AppSettings())
    sid = next(iter(defaults.specs))
    app_settings.save_shortcuts({sid: ["Ctrl+Alt+F9"]})
    loaded = ShortcutMap.from_settings()  # reads workstation.core.settings.load()
    assert loaded.overrides() == {sid: ["Ctrl+Alt+F9"]}


def test_videos_menu_opens_detection_settings_and_says_what_detect_will_use(
    qtbot, window, monkeypatch
):
    from workstation.core.detect.registry import DETECTORS, DetectorKind, load_choice
    from workstation.ui.cut import detect_settings

    def pick_content(dialog):  # stands in for the person choosing and pressing OK
        dialog.detector.setCurrentEnum(DetectorKind.CONTENT)
        dialog.accept()
        return 1

    monkeypatch.setattr(detect_settings.DetectSettingsDialog, "exec", pick_content)
    assert window.menus.detect_settings_action in window.menuBar().actions()[1].menu().actions()
    window.menus.detect_settings_action.trigger()
    assert load_choice()[0] is DetectorKind.CONTENT
    label = DETECTORS[DetectorKind.CONTENT].label
    assert window.statusBar().currentMessage() == f"Detect cuts will use {label}."


def test_no_menu_key_is_also_a_view_key(qtbot, window, demo_project):
    """A key claimed by a menu action (window-wide) and by a view's action is ambiguous while
    that view has focus: Qt runs neither.  (Ctrl+Shift+A was both Add videos and Accept auto
    tags.)"""

    def keys(actions):
        return {k.toString(): a.text() for a in actions for k in a.shortcuts() if k.toString()}

    def menu_actions(menu):
        for a in menu.actions():
            yield a
            if a.menu():
                yield from menu_actions(a.menu())

    menus = keys(menu_actions(window.menuBar()))
    assert window.open_project(demo_project.root)
    window.tabs.setCurrentIndex(window.clips_tab)  # builds the Clips view
    for view in (window.cut_view, window.clips_view):
        mine = keys(view.binder.actions.values())
        assert mine, view
        assert not {k: (menus[k], mine[k]) for k in menus.keys() & mine.keys()}
