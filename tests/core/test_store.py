"""The project store: migrations, cut edits that never lose a person's work, segments."""

from __future__ import annotations

import shutil
import sqlite3
from fractions import Fraction

import pytest

from workstation.core.errors import ProjectError
from workstation.core.ingest import add_paths
from workstation.core.progress import drive
from workstation.core.store import DB_NAME, SCHEMA_VERSION, Cut, Project


def test_new_project_layout_and_wal(tmp_path):
    root = tmp_path / "p"
    with Project.create(root) as p:
        assert p.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert p.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert p.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert (root / "clips").is_dir() and (root / "cache").is_dir()
    with pytest.raises(ProjectError, match="not a workstation project"):
        Project.open(tmp_path / "elsewhere")


def test_newer_schema_is_refused(tmp_path):
    Project.create(tmp_path).close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ProjectError, match="newer"):
        Project.open(tmp_path)


def test_transaction_rolls_back(demo_project):
    vid = demo_project.videos()[0].id
    with pytest.raises(RuntimeError), demo_project.transaction():
        demo_project.add_cut(vid, Cut(10))
        raise RuntimeError("boom")
    assert demo_project.cuts(vid) == []


def test_redetection_keeps_manual_cuts_and_tombstones(demo_project):
    vid = demo_project.videos()[0].id
    auto = [Cut(f, "auto", "test", 0.9) for f in (20, 40, 60, 80)]
    assert demo_project.replace_auto_cuts(vid, auto) == 4
    demo_project.remove_cut(vid, 40)  # the person deletes a wrong auto cut
    demo_project.move_cut(vid, 60, 62)  # and fixes one by two frames
    demo_project.add_cut(vid, Cut(100, "manual"))
    demo_project.replace_auto_cuts(
        vid, [Cut(f, "auto", "test", 0.8) for f in (20, 41, 60, 80, 150)]
    )
    cuts = {c.frame: c.source for c in demo_project.cuts(vid)}
    assert cuts == {20: "auto", 62: "manual", 80: "auto", 100: "manual", 150: "auto"}


def test_segments_follow_cuts_and_keep_flags(demo_project):
    v = demo_project.videos()[0]
    for f in (50, 100):
        demo_project.add_cut(v.id, Cut(f))
    demo_project.set_segment_keep(v.id, 50, False)
    segs = demo_project.segments(v.id)
    assert [(s.start, s.end, s.keep) for s in segs] == [
        (0, 50, True),
        (50, 100, False),
        (100, v.frame_count, True),
    ]
    demo_project.move_cut(v.id, 50, 55)  # the flag moves with the cut
    assert not demo_project.segment_keep(v.id, 55)
    with pytest.raises(ValueError, match="already a cut"):
        demo_project.move_cut(v.id, 55, 100)
    demo_project.remove_cut(v.id, 55)  # merged into the kept first segment
    assert [(s.start, s.keep) for s in demo_project.segments(v.id)] == [(0, True), (100, True)]
    with pytest.raises(ValueError):
        demo_project.add_cut(v.id, Cut(v.frame_count))


def test_edits_survive_reopen(demo_project):
    vid = demo_project.videos()[0].id
    demo_project.add_cut(vid, Cut(33, "manual"))
    root = demo_project.root
    demo_project.close()
    with Project.open(root) as again:
        assert [c.frame for c in again.cuts(vid)] == [33]
        assert len(again.frame_index(vid)) == again.video(vid).frame_count


def test_moved_video_is_relinked(tmp_path, demo_videos):
    src = tmp_path / "a" / demo_videos[0].name
    src.parent.mkdir()
    shutil.copy(demo_videos[0], src)
    with Project.create(tmp_path / "p") as p:
        drive(add_paths(p, [src]))
        vid = p.videos()[0].id
        p.add_cut(vid, Cut(12, "manual"))
        moved = tmp_path / "b" / "renamed.mp4"
        moved.parent.mkdir()
        src.rename(moved)
        result = drive(add_paths(p, [moved]))
        assert result.relinked == [vid]
        assert [v.path for v in p.videos()] == [moved.resolve()]
        assert [c.frame for c in p.cuts(vid)] == [12]


def test_ingest_goes_on_after_bad_files(tmp_path, demo_videos):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mkv").write_text("hello")
    shutil.copy(demo_videos[0], folder / "good.mp4")
    with Project.create(tmp_path / "p") as p:
        result = drive(add_paths(p, [folder, tmp_path / "missing.mov"]))
        assert [v.name for v in p.videos()] == ["good.mp4"]
        msgs = sorted(str(e) for e in result.errors)
        assert len(msgs) == 3
        assert any("empty.mp4" in m and "empty" in m for m in msgs)
        assert any("notes.mkv" in m for m in msgs)
        assert any("missing.mov" in m and "not found" in m for m in msgs)


def test_clip_rows_and_the_video_overview(demo_project):
    p = demo_project
    v = p.videos()[0]
    assert not p.has_clips(v.id) and p.clip_counts() == (0, 0, 0)
    path = p.clips_dir / "a.mp4"
    clip = dict(start_frame=0, end_frame=10, fps=Fraction(25), frame_count=10, width=64, height=48)
    cid = p.upsert_clip(path, video_id=v.id, settings={"b": 1, "a": 2}, verified=True, **clip)
    p.upsert_clip(p.clips_dir / "b.mp4", video_id=v.id, verified=False, **clip)
    assert p.has_clips(v.id) and p.clip_counts() == (2, 1, 1)
    assert p.clip_recipe(path) == ({"a": 2, "b": 1}, True, 10)
    assert p.clip_recipe(p.clips_dir / "none.mp4") is None
    p.set_clip_motion(cid, 0.5)
    assert {c.id: c.motion for c in p.clips(v.id)}[cid] == 0.5
    assert p.caption_source(cid) is None and not p.has_auto_tags(cid, "wd14")
    p.add_cut(v.id, Cut(10))
    (row,) = p.video_overview(v.id)
    assert (row["id"], row["cuts"], row["detected"], row["clips"]) == (v.id, 1, 0, 2)
    by_path = sorted(p.videos(), key=lambda x: str(x.path))
    assert [r["id"] for r in p.video_overview()] == [x.id for x in by_path]
    p.set_segment_keep(v.id, 10, False)
    p.clear_segment_flags(v.id)
    assert all(s.keep for s in p.segments(v.id))
