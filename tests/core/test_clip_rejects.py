"""Rejecting clips and the project bin: hidden from filters unless asked, left out of export and
auto-tagging, files moved and moved back by undo/redo; out-of-date clips after a cut edit."""

from __future__ import annotations

from fractions import Fraction

import pytest
from fake_media import add_fake_video

from workstation.core import cliptext, review
from workstation.core.autotag.tagging import _select
from workstation.core.errors import WorkstationError
from workstation.core.export.selection import select_clips
from workstation.core.review import filter_clip_ids
from workstation.core.store import Cut, Project


@pytest.fixture()
def clips(project):
    """Four clip files with sidecars; clips 0-1 from a video's frames [0,100) and [100,200)."""
    vid = add_fake_video(project, "/footage/a.mp4", content_id="a")
    ids = []
    for i in range(4):
        path = project.clips_dir / f"c{i}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"clip %d" % i)
        ids.append(
            project.upsert_clip(
                path,
                video_id=vid if i < 2 else None,
                start_frame=100 * i if i < 2 else None,
                end_frame=100 * (i + 1) if i < 2 else None,
                fps=Fraction(24),
                frame_count=100,
                width=64,
                height=64,
            )
        )
    review.add_tags(project, ids, "dog")  # writes the sidecars
    return project, ids, vid


def files(project: Project) -> list[str]:
    return sorted(
        str(p.relative_to(project.root))
        for p in project.root.rglob("*")
        if p.is_file() and p.suffix in (".mp4", ".txt")
    )


def test_rejected_clips_are_hidden_unless_asked_for(clips):
    p, ids, _ = clips
    edit = review.reject_clips(p, ids[:2])
    assert filter_clip_ids(p, "") == ids[2:]
    assert filter_clip_ids(p, "tag:dog") == ids[2:]
    assert filter_clip_ids(p, "rejected:yes") == ids[:2]
    assert filter_clip_ids(p, "rejected:yes OR rejected:no") == ids
    assert filter_clip_ids(p, "-rejected:yes") == ids[2:]
    assert review.count_clips(p, "") == 2
    assert p.clip_ids(include_rejected=False) == ids[2:]
    assert [c.id for c in select_clips(p, "all")] == ids[2:]  # export
    assert [c.id for c in select_clips(p, "tag:dog")] == ids[2:]
    assert [c.id for c in _select(p, None)] == ids[2:]  # auto-tagging "all"
    edit.undo(p)
    assert filter_clip_ids(p, "") == ids
    edit.redo(p)
    assert filter_clip_ids(p, "rejected:yes") == ids[:2]


def test_delete_clip_files_moves_them_to_the_bin_and_back(clips):
    p, ids, _ = clips
    before = files(p)
    assert "clips/c1.txt" in before
    edit = review.delete_clip_files(p, ids[1:3])
    assert files(p) == sorted(
        ["bin/clips/c1.mp4", "bin/clips/c1.txt", "bin/clips/c2.mp4", "bin/clips/c2.txt"]
        + ["clips/c0.mp4", "clips/c0.txt", "clips/c3.mp4", "clips/c3.txt"]
    )
    assert filter_clip_ids(p, "rejected:yes") == ids[1:3]
    binned = {c.id: c for c in p.clips()}
    assert binned[ids[1]].path == p.root / "bin/clips/c1.mp4" and binned[ids[1]].rejected
    assert review.clip_tags(p, ids[1])  # tags kept
    edit.undo(p)
    assert files(p) == before
    assert filter_clip_ids(p, "") == ids
    assert {c.id: c.path for c in p.clips()}[ids[1]] == p.clips_dir / "c1.mp4"
    edit.redo(p)
    assert "bin/clips/c2.mp4" in files(p)
    edit.undo(p)
    review.delete_clip_files(p, ids[1:2])  # again: the bin is empty, same names
    assert "bin/clips/c1.mp4" in files(p)


def test_a_move_that_fails_leaves_files_and_rows_as_they_were(clips, monkeypatch):
    p, ids, _ = clips
    before = files(p)
    (p.root / "bin" / "clips").mkdir(parents=True)
    real_move = __import__("shutil").move
    calls = []

    def failing_move(src, dst):
        calls.append(src)
        if len(calls) == 3:  # the second clip's file
            raise OSError(28, "No space left on device")
        return real_move(src, dst)

    monkeypatch.setattr("workstation.core.review.rejects.shutil.move", failing_move)
    with pytest.raises(WorkstationError, match="c1.mp4: cannot move it to .*: the disk is full"):
        review.delete_clip_files(p, ids[:2])
    assert files(p) == before
    assert filter_clip_ids(p, "") == ids


def test_bin_names_never_overwrite(clips):
    p, ids, _ = clips
    (p.root / "bin" / "clips").mkdir(parents=True)
    (p.root / "bin" / "clips" / "c0.mp4").write_bytes(b"an older one")
    review.delete_clip_files(p, ids[:1])
    assert (p.root / "bin/clips/c0.mp4").read_bytes() == b"an older one"
    assert (p.root / "bin/clips/c0-2.mp4").read_bytes() == b"clip 0"


def test_out_of_date_after_a_cut_is_added_inside_a_clip(clips):
    p, ids, vid = clips
    cliptext.update_settings(p, enabled=False)
    assert filter_clip_ids(p, "stale:yes") == []
    p.add_cut(vid, Cut(150))  # inside clip 1's [100, 200)
    assert filter_clip_ids(p, "stale:yes") == [ids[1]]
    assert filter_clip_ids(p, "stale:no") == [ids[0], *ids[2:]]
    rows = {r[0]: r for r in p.grid_rows()}
    assert rows[ids[1]][11] and not rows[ids[0]][11]
    p.add_cut(vid, Cut(100))  # on a boundary: nothing inside a clip
    p.remove_cut(vid, 150)
    assert filter_clip_ids(p, "stale:yes") == []


def test_out_of_date_after_a_cut_that_bounded_its_segment_is_removed(clips):
    """A clip records the segment it was cut from; removing (or moving) one of that segment's
    cuts makes the clip out of date, as adding a cut inside it does.  The video's own start
    and end are not cuts; a clip without a recorded segment is checked by the first rule."""
    p, ids, vid = clips
    cliptext.update_settings(p, enabled=False)
    for frame in (100, 200):
        p.add_cut(vid, Cut(frame))
    for i, segment in ((0, [0, 100]), (1, [100, 200])):
        p.upsert_clip(
            p.clips_dir / f"c{i}.mp4",
            video_id=vid,
            start_frame=segment[0] + 2,  # trimmed: the clip starts inside its segment
            end_frame=segment[1] - 2,
            fps=Fraction(24),
            frame_count=96,
            width=64,
            height=64,
            settings={"trim": 2, "segment": segment},
        )
    assert filter_clip_ids(p, "stale:yes") == []
    p.remove_cut(vid, 200)  # clip 1's end: its segment is now [100, video end)
    assert filter_clip_ids(p, "stale:yes") == [ids[1]]
    p.remove_cut(vid, 100)  # between clips 0 and 1
    assert filter_clip_ids(p, "stale:yes") == ids[:2]
    assert p.stale_clip_ids() == set(ids[:2])
    rows = {r[0]: r for r in p.grid_rows()}
    assert rows[ids[0]][11] and rows[ids[1]][11] and not rows[ids[2]][11]
    p.add_cut(vid, Cut(100))
    p.add_cut(vid, Cut(200))  # put back: nothing is out of date
    assert filter_clip_ids(p, "stale:yes") == []
