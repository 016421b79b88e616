"""Files the workstation writes beside videos and clips are replaced only while they hold what it
wrote: a person's edit of a cut sidecar or a clip .txt is kept and said so, never overwritten."""

from __future__ import annotations

import logging

import pytest

from workstation.core import owned, review, synth
from workstation.core.cutfiles import import_cuts, sidecar_path, write_sidecar
from workstation.core.owned import NotOurs, sha256
from workstation.core.progress import drive
from workstation.core.slicing import split_video
from workstation.core.store import Cut, Project, Written


def _video(project: Project, name: str = "demo_transitions.mp4"):
    return next(v for v in project.videos() if v.name == name)


def test_a_sidecar_edited_by_a_person_is_kept_until_imported(demo_project):
    video = _video(demo_project)
    demo_project.add_cut(video.id, Cut(60, "manual"))
    side = write_sidecar(demo_project, video.id)
    assert side == sidecar_path(video.path)
    edited = side.read_text() + "00:00:03.200       80  manual\n"  # 25 fps
    side.write_text(edited)  # "Edit, save, then import the file"

    demo_project.add_cut(video.id, Cut(100, "manual"))  # an edit in the app meanwhile
    with pytest.raises(NotOurs, match="changed since the workstation wrote it; kept it") as err:
        write_sidecar(demo_project, video.id)
    assert "import it to take its cuts into demo_transitions.mp4" in str(err.value)
    assert side.read_text() == edited

    import_cuts(demo_project, video.id, side, replace=True)  # the person's cuts are taken in
    assert [c.frame for c in demo_project.cuts(video.id)] == [60, 80]
    demo_project.add_cut(video.id, Cut(120, "manual"))
    write_sidecar(demo_project, video.id)  # the workstation's file again
    assert "     120  manual" in side.read_text()


def test_a_persons_file_at_the_sidecar_name_is_never_overwritten(demo_project):
    video = _video(demo_project)
    side = sidecar_path(video.path)
    side.write_text("my notes about this video\n")
    with pytest.raises(NotOurs, match="was not written by the workstation"):
        write_sidecar(demo_project, video.id)
    assert side.read_text() == "my notes about this video\n"


def test_a_sidecar_of_an_older_version_is_taken_as_ours(demo_project):
    video = _video(demo_project)
    side = sidecar_path(video.path)
    side.write_text("# Motion Dataset Workstation cut list, format 1\n# (no record of it)\n")
    demo_project.add_cut(video.id, Cut(60))
    write_sidecar(demo_project, video.id)
    assert "      60" in side.read_text()


def test_a_crash_between_the_record_and_the_write_leaves_a_file_still_ours(demo_project):
    video = _video(demo_project)
    demo_project.add_cut(video.id, Cut(60))
    side = write_sidecar(demo_project, video.id)
    old = side.read_bytes()
    # The record already says what the next write holds; the file was not replaced yet.
    demo_project.record_written([(side, Written(3, sha256(b"new"), sha256(old)))])
    demo_project.add_cut(video.id, Cut(90))
    write_sidecar(demo_project, video.id)
    assert "      90" in side.read_text()


def test_a_clip_txt_edited_by_a_person_is_kept_and_the_others_written(demo_project, caplog):
    video = _video(demo_project)
    for c in synth.Truth.load(str(video.path) + ".truth.json").cuts:
        demo_project.add_cut(video.id, Cut(c.frame))
    drive(split_video(demo_project, video.id, workers=0))
    a, b = demo_project.clips(video.id)[:2]
    review.add_tags(demo_project, [a.id, b.id], "blue_sky")
    txt_a, txt_b = a.path.with_suffix(".txt"), b.path.with_suffix(".txt")
    assert txt_a.read_text() == txt_b.read_text() == "blue_sky"
    txt_a.write_text("a person's caption, typed in an editor")

    with caplog.at_level(logging.WARNING):
        review.add_tags(demo_project, [a.id, b.id], "red_car")
    assert txt_a.read_text() == "a person's caption, typed in an editor"
    assert txt_b.read_text() == "blue_sky, red_car"
    assert f"{txt_a}: changed since the workstation wrote it; kept it" in caplog.text

    txt_a.unlink()  # the way to let the workstation write it again
    review.add_tags(demo_project, [a.id], "green_tree")
    assert txt_a.read_text() == "blue_sky, red_car, green_tree"


def test_write_owned_adopts_a_file_that_already_holds_the_text(demo_project, tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("same")
    written, kept = owned.write_owned(
        demo_project, [(path, "same")], legacy=lambda p, d: False, kept_hint="-"
    )
    assert (written, kept) == (0, [])
    assert demo_project.written_files([path])[str(path)].sha256 == sha256(b"same")
    written, kept = owned.write_owned(
        demo_project, [(path, "other")], legacy=lambda p, d: False, kept_hint="-"
    )
    assert (written, kept, path.read_text()) == (1, [], "other")
