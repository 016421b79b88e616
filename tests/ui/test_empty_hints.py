"""Every view says what to do while it is empty: the Videos list (none yet, none matching), the
Cut view (no video, no video shown), the Train tab (no dataset: export one; no clips: slice
first).  The clip grid's own hints are in test_clips_bulk."""

from __future__ import annotations

from fake_media import add_fake_video
from train_fixtures import open_view

from tests.core.autotag_fixtures import add_clip
from workstation.core.store import Project
from workstation.ui.common.jobs import JobsController
from workstation.ui.common.shortcuts import ShortcutMap
from workstation.ui.cut.video_list import NO_VIDEOS, VideoList
from workstation.ui.cut.view import NO_VIDEO_SHOWN, CutView
from workstation.ui.session import ProjectSession


def test_the_videos_list_says_add_videos_then_what_the_filter_missed(qtbot, tmp_path):
    p = Project.create(tmp_path / "p")
    videos = VideoList()
    qtbot.addWidget(videos)
    videos.set_project(p)
    assert videos.table.empty_text() == NO_VIDEOS and "Add videos" in NO_VIDEOS
    add_fake_video(p, "/footage/holiday.mp4")
    videos.reload()
    assert videos.table.empty_text() == ""
    videos.filter.setText("beach")
    assert videos.table.empty_text() == "No video names contain “beach”"
    videos.filter.setText("holi")
    assert videos.table.empty_text() == ""


def test_the_cut_view_says_add_or_pick_a_video(qtbot, tmp_path):
    root = tmp_path / "p"
    Project.create(root).close()
    for expected in (NO_VIDEOS, NO_VIDEO_SHOWN):
        session = ProjectSession(root)
        jobs = JobsController(session)
        view = CutView(session, jobs, shortcuts=ShortcutMap())
        qtbot.addWidget(view)
        assert view.status.text() == expected
        add_fake_video(session.project, "/footage/a.mp4")  # for the second round
        jobs.shutdown()
        session.close()


def test_the_train_tab_says_how_to_get_a_dataset(qtbot, tmp_path):
    root = tmp_path / "p"
    Project.create(root).close()
    v, _jobs, session = open_view(qtbot, root)
    assert "no clips: slice a video in Cut" in v.dataset_hint.text()
    assert not v.dataset_hint.isHidden()
    path = session.project.clips_dir / "c.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    add_clip(session.project, path, 24, w=64, h=64)
    assert "press Export now" in v.update_dataset_hint()
    v.dataset.setText(str(tmp_path / "export"))
    assert v.dataset_hint.text() == "" and v.dataset_hint.isHidden()
