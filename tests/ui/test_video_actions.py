"""The window's video actions: remove videos (asked first, naming what goes; clip files only when
asked) and re-link a video to a moved file (only one with the same frames)."""

from __future__ import annotations

import shutil
from fractions import Fraction

import pytest

from workstation.core import settings as app_settings
from workstation.core.store import Cut
from workstation.ui.cut.video_actions import removal_question
from workstation.ui.main_window import MainWindow


@pytest.fixture()
def window(qtbot, demo_project):
    vid = demo_project.find_video("demo_live.mp4").id
    demo_project.add_cut(vid, Cut(60))
    demo_project.add_cut(vid, Cut(108))
    clip = demo_project.root / "clips" / "live" / "demo_live_f000000-000060.mp4"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"stand-in clip")
    clip.with_suffix(".txt").write_text("cat\n")
    demo_project.upsert_clip(
        clip,
        video_id=vid,
        start_frame=0,
        end_frame=60,
        fps=Fraction(24),
        frame_count=60,
        width=32,
        height=18,
    )
    w = MainWindow(app_settings.load(), interactive=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    assert w.open_project(demo_project.root)
    assert w.video_list.select_video(vid)
    yield w, vid, clip
    w.close()


def answer(window, reply):
    """The removal question answers ``reply`` (None: cancel); returns what it was asked."""
    asked = []

    def ask(_parent, removal):
        asked.append(removal_question(removal))
        return reply

    window.menus.video_actions.ask_removal = ask
    return asked


def test_remove_asks_naming_what_goes_and_cancel_keeps_everything(qtbot, window):
    w, vid, clip = window
    asked = answer(w, None)
    w.menus.video_actions.remove.trigger()
    assert asked == [
        "Remove demo_live.mp4 from the project? Its 2 cuts and the rows of 1 clip go too."
    ]
    assert vid in [v.id for v in w.session.project.videos()]


def test_remove_keeps_clip_files_unless_asked(qtbot, window):
    w, vid, clip = window
    p = w.session.project
    answer(w, False)
    with qtbot.waitSignal(w.session.videosChanged):
        w.menus.video_actions.remove.trigger()
    assert vid not in [v.id for v in p.videos()]
    assert p.clips() == [] and p.cuts(vid) == []
    assert clip.exists() and clip.with_suffix(".txt").exists()
    assert "demo_live.mp4" not in [r.name for r in w.video_list.model.rows]
    assert w.cut_view.video_id is not None and w.cut_view.video_id != vid  # shows another
    assert w.statusBar().currentMessage() == "Removed demo_live.mp4 from the project."


def test_remove_deletes_clip_files_when_asked(qtbot, window):
    w, vid, clip = window
    answer(w, True)
    w.menus.video_actions.remove.trigger()
    assert not clip.exists() and not clip.with_suffix(".txt").exists()
    assert "deleted 1 clip file" in w.statusBar().currentMessage()


def test_relink_to_the_moved_file_keeps_the_cuts(qtbot, window, tmp_path):
    w, vid, clip = window
    p = w.session.project
    old = p.video(vid).path
    moved = tmp_path / "elsewhere" / "live.mp4"
    moved.parent.mkdir()
    shutil.move(old, moved)
    w.video_list.reload()
    assert w.video_list.model.rows[w.video_list.model.row_of(vid)].missing
    with qtbot.waitSignal(w.jobs.jobFinished, timeout=30000) as blocker:
        w.menus.video_actions.relink_current(moved)
    assert blocker.args[0].state == "done", blocker.args[0].error
    assert p.video(vid).path == moved.resolve()
    assert [c.frame for c in p.cuts(vid)] == [60, 108]
    assert not w.video_list.model.rows[w.video_list.model.row_of(vid)].missing
    assert "now points at" in w.statusBar().currentMessage()


def test_relink_to_other_frames_is_refused_naming_the_difference(qtbot, window):
    w, vid, clip = window
    p = w.session.project
    old = p.video(vid).path
    anime = p.find_video("demo_anime.mp4").path
    with qtbot.waitSignal(w.jobs.jobFinished, timeout=30000) as blocker:
        w.menus.video_actions.relink_current(anime)
    job = blocker.args[0]
    assert job.state == "failed"
    assert job.error == (
        "demo_anime.mp4 has 244 frames at 30 fps; demo_live.mp4 has 308 frames at 23.976 fps: "
        "choose a file with the same frame count and frame rate"
    )
    assert p.video(vid).path == old
