"""Removing videos from a project and re-linking one to another file (the store's side)."""

from __future__ import annotations

import shutil
from fractions import Fraction

import pytest

from workstation.core.errors import ProjectError
from workstation.core.media import probe
from workstation.core.progress import drive
from workstation.core.store import Cut


def test_remove_videos_takes_cuts_detections_and_clip_rows_but_no_file(demo_project):
    p = demo_project
    vid = p.find_video("demo_live.mp4").id
    other = p.find_video("demo_anime.mp4").id
    p.add_cut(vid, Cut(60))
    p.add_cut(other, Cut(48))
    p.set_segment_keep(vid, 60, False)
    clip = p.root / "clips" / "x.mp4"
    p.upsert_clip(
        clip,
        video_id=vid,
        start_frame=0,
        end_frame=60,
        fps=Fraction(24),
        frame_count=60,
        width=32,
        height=18,
    )
    cid = p.clips(vid)[0].id
    p.add_manual_tags(cid, [p.new_tag("cat")])
    asked = p.removal_of([vid])
    assert (asked.names, asked.cuts, asked.clips, asked.edited_clips) == (
        ["demo_live.mp4"],
        1,
        1,
        1,
    )
    assert asked.clip_paths == [clip]
    path = p.video(vid).path
    done = p.remove_videos([vid])
    assert done.clip_paths == [clip]
    assert vid not in [v.id for v in p.videos()]
    assert p.clips(vid) == [] and p.clips() == []
    assert p.db.execute("SELECT COUNT(*) FROM clip_tags").fetchone()[0] == 0
    assert p.db.execute("SELECT COUNT(*) FROM cuts WHERE video_id=?", (vid,)).fetchone()[0] == 0
    assert p.db.execute("SELECT COUNT(*) FROM segments WHERE video_id=?", (vid,)).fetchone()[0] == 0
    assert [c.frame for c in p.cuts(other)] == [48]  # the other video is untouched
    assert path.exists()  # the video file stays


def test_relink_accepts_the_same_frames_and_names_a_difference(demo_project, tmp_path):
    p = demo_project
    vid = p.find_video("demo_live.mp4").id
    p.add_cut(vid, Cut(60))
    old = p.video(vid).path
    moved = tmp_path / "moved" / "renamed.mp4"
    moved.parent.mkdir()
    shutil.move(old, moved)
    video = p.relink_video(vid, drive(probe(moved)))
    assert video.path == moved.resolve() and video.id == vid
    assert [c.frame for c in p.cuts(vid)] == [60]
    anime = p.find_video("demo_anime.mp4")
    with pytest.raises(ProjectError) as err:
        p.relink_video(vid, drive(probe(anime.path)))
    assert str(err.value) == (
        "demo_anime.mp4 has 244 frames at 30 fps; renamed.mp4 has 308 frames at 23.976 fps: "
        "choose a file with the same frame count and frame rate"
    )
    assert p.video(vid).path == moved.resolve()
