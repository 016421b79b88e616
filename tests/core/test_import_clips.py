"""Importing a folder of clips with same-name .txt files: probe, tags or caption, bad files."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from workstation.core import cliptext, review
from workstation.core.errors import MediaError, WorkstationError
from workstation.core.import_clips import import_clip_folder, probe_clip, read_clip_text
from workstation.core.progress import Cancelled, CancelToken, drive
from workstation.core.review import filter_clip_ids
from workstation.core.store import Project
from workstation.core.synth import Sequence, Shot, write_video


@pytest.fixture(scope="module")
def sample_clips(tmp_path_factory):
    """Three tiny clips in three containers: (path, frames, fps)."""
    folder = tmp_path_factory.mktemp("sample-clips")
    out = []
    for name, frames, fps, codec in [
        ("walk.mp4", 12, 24, "libx264"),
        ("run.mkv", 10, 25, "libx264"),
        ("jump.webm", 8, 30, "libvpx-vp9"),
    ]:
        write_video(
            folder / name,
            Sequence([Shot("shapes", frames, seed=frames)]),
            width=64,
            height=36,
            fps=fps,
            codec=codec,
        )
        out.append((folder / name, frames, fps))
    return out


@pytest.fixture()
def dataset(tmp_path, sample_clips):
    """A dataset folder as people keep them: clips, .txt files, and some bad files."""
    d = tmp_path / "dataset"
    (d / "sub").mkdir(parents=True)
    (d / ".cache").mkdir()
    walk, run, jump = (p for p, _, _ in sample_clips)
    shutil.copy(walk, d / "walk.mp4")
    (d / "walk.txt").write_text("1girl, walking, blue_sky, long hair", encoding="utf-8")
    shutil.copy(run, d / "run.mkv")
    (d / "run.txt").write_text(
        "\ufeffA woman runs along a beach, waves behind her.\n", encoding="utf-8"
    )
    shutil.copy(jump, d / "sub" / "jump.webm")  # no .txt
    shutil.copy(walk, d / "sub" / "latin1.mp4")
    (d / "sub" / "latin1.txt").write_bytes("caf\xe9 scene".encode("latin-1"))
    (d / "broken.mp4").write_bytes(b"this is not a video" * 50)
    (d / "empty.mov").write_bytes(b"")
    (d / "notes.txt").write_text("not beside any clip")
    shutil.copy(walk, d / ".cache" / "hidden.mp4")
    return d


def test_import_folder_with_bad_files(project, dataset, sample_clips):
    records = []
    result = drive(import_clip_folder(project, dataset), records.append)
    assert len(result.added) == 4 and not result.updated
    assert (result.tag_lists, result.captions) == (1, 2)
    problems = sorted(str(e) for e in result.errors)
    assert len(problems) == 3
    assert "broken.mp4: not a video file" in problems[0]
    assert "empty.mov: file is empty" in problems[1]
    assert "latin1.txt: not UTF-8 text" in problems[2]
    # progress once per clip file (6 found: hidden folders are skipped)
    per_clip = [r for r in records if r.total]
    assert [r.done for r in per_clip] == [1, 2, 3, 4, 5, 6]

    clips = {c.path.name: c for c in project.clips()}
    assert set(clips) == {"walk.mp4", "run.mkv", "jump.webm", "latin1.mp4"}
    for path, frames, fps in sample_clips:
        c = clips[path.name]
        assert (c.frame_count, c.fps, c.width, c.height) == (frames, Fraction(fps), 64, 36)
        assert c.video_id is None and c.start_frame is None
        assert c.duration == pytest.approx(frames / fps)
    walk = clips["walk.mp4"].id
    tags = review.clip_tags(project, walk)
    assert [t.name for t in tags] == ["1girl", "walking", "blue_sky", "long hair"]
    assert {t.source for t in tags} == {"manual"}
    cap = review.caption(project, clips["run.mkv"].id)
    assert cap == review.Caption("A woman runs along a beach, waves behind her.", "manual")
    assert review.caption(project, clips["jump.webm"].id) is None
    assert review.caption(project, clips["latin1.mp4"].id).text == "caf\xe9 scene"
    # the imported clips are ordinary clips: queries work on them
    assert filter_clip_ids(project, "tag:long*") == [walk]
    assert filter_clip_ids(project, "frames<10") == [clips["jump.webm"].id]


def test_reimport_keeps_edits_and_edits_rewrite_the_txt(project, dataset):
    drive(import_clip_folder(project, dataset))
    walk = next(c.id for c in project.clips() if c.path.name == "walk.mp4")
    assert (dataset / "walk.txt").read_text() == "1girl, walking, blue_sky, long hair"  # untouched
    review.remove_tags(project, [walk], "walking")
    assert (dataset / "walk.txt").read_text() == "1girl, blue_sky, long hair"
    (dataset / "walk.txt").write_text("something else entirely, new")
    again = drive(import_clip_folder(project, dataset, workers=1))
    assert not again.added and len(again.updated) == 4
    assert [t.name for t in review.clip_tags(project, walk)] == ["1girl", "blue_sky", "long hair"]


def test_import_persists_after_reopening(tmp_path, dataset):
    root = tmp_path / "p"
    with Project.create(root) as project:
        drive(import_clip_folder(project, dataset))
    with Project.open(root) as project:
        assert len(project.clips()) == 4
        assert {t.name for t in review.tag_counts(project)} == {
            "1girl",
            "walking",
            "blue_sky",
            "long hair",
        }
        run = next(c.id for c in project.clips() if c.path.name == "run.mkv")
        assert review.caption(project, run).text.startswith("A woman runs")


def test_cancel_keeps_what_was_probed(project, dataset):
    token = CancelToken()

    def on_progress(p):
        if p.done == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        drive(import_clip_folder(project, dataset), on_progress, token)
    assert 1 <= len(project.clips()) <= 3
    result = drive(import_clip_folder(project, dataset))
    assert len(result.added) + len(result.updated) == 4


def test_not_a_folder(project, tmp_path):
    with pytest.raises(WorkstationError, match="not a folder"):
        drive(import_clip_folder(project, tmp_path / "missing"))


def test_probe_clip_reads_headers(sample_clips, tmp_path):
    for path, frames, fps in sample_clips:
        info = probe_clip(path)
        assert (info.frame_count, info.fps, info.text) == (frames, Fraction(fps), None)
    audio_only = tmp_path / "a.txt.mp4"
    audio_only.write_bytes(b"\x00" * 100)
    with pytest.raises(MediaError, match="a.txt.mp4"):
        probe_clip(audio_only)


@pytest.mark.parametrize(
    "text, trigger, tags, caption",
    [
        (
            "1girl, solo, long hair, looking at viewer",
            "",
            ["1girl", "solo", "long hair", "looking at viewer"],
            "",
        ),
        ("blue_sky,cloud", "", ["blue_sky", "cloud"], ""),
        ("a, a, b", "", ["a", "b"], ""),
        ("A dog runs on the beach.", "", [], "A dog runs on the beach."),
        ("A dog, running on the beach.", "", [], "A dog, running on the beach."),
        ("dog running", "", [], "dog running"),  # one item: a caption
        (
            "a man walks slowly toward the red car, then stops",
            "",
            [],
            "a man walks slowly toward the red car, then stops",
        ),  # a long item: a caption
        ("tag one, tag two\nsecond line", "", [], "tag one, tag two\nsecond line"),
        ("sks, dog, grass", "sks", ["dog", "grass"], ""),
        ("sks a dog on grass", "sks", [], "a dog on grass"),
        ("sks", "sks", [], ""),
        ("   ", "", [], ""),
    ],
)
def test_txt_rule(text, trigger, tags, caption):
    assert read_clip_text(text, trigger) == (tags, caption)


def test_sidecar_round_trip(project, tmp_path, sample_clips):
    """Clips whose .txt the workstation wrote import back to the same tags and caption."""
    folder = tmp_path / "export"
    folder.mkdir()
    walk = sample_clips[0][0]
    shutil.copy(walk, folder / "a.mp4")
    shutil.copy(walk, folder / "b.mp4")
    cliptext.update_settings(project, trigger="sks", format="tags")
    drive(import_clip_folder(project, folder))
    a, b = (c.id for c in project.clips())
    review.add_tags(project, [a], ["dog", "grass"])
    review.set_caption(project, [b], "A dog sleeps.")
    cliptext.update_settings(project, format="caption")
    cliptext.write_sidecars(project, [b])
    assert (folder / "a.txt").read_text() == "sks, dog, grass"
    assert (folder / "b.txt").read_text() == "sks, A dog sleeps."
    with Project.create(tmp_path / "p2") as other:
        cliptext.update_settings(other, trigger="sks")
        drive(import_clip_folder(other, folder))
        a2, b2 = (c.id for c in other.clips())
        assert [t.name for t in review.clip_tags(other, a2)] == ["dog", "grass"]
        assert review.caption(other, b2).text == "A dog sleeps."


def test_cli_import_filter_edit_and_list(tmp_path, dataset, capsys):
    """The review commands: import-clips, tags add/remove/rename/list, clips --json."""
    from workstation.cli import main

    root = tmp_path / "proj"
    Project.create(root).close()
    assert main(["-q", "import-clips", str(root), str(dataset)]) == 1  # bad files: exit 1
    out = capsys.readouterr()
    assert "imported 4 clips" in out.out and "broken.mp4" in out.err
    assert main(["-q", "tags", "add", str(root), "beach", "--filter", "caption:beach"]) == 0
    assert main(["-q", "tags", "add", str(root), "moving", "--filter", "frames>=10"]) == 0
    assert main(["-q", "tags", "remove", str(root), "walking"]) == 0
    assert main(["-q", "tags", "rename", str(root), "moving", "motion"]) == 0
    assert main(["-q", "tags", "reject", str(root)]) == 1  # "reject everything" is refused
    assert "name the tags to reject or give --below" in capsys.readouterr().err
    capsys.readouterr()
    assert main(["tags", "list", str(root), "--json"]) == 0
    counts = {t["name"]: t["count"] for t in json.loads(capsys.readouterr().out)}
    assert counts == {"motion": 3, "beach": 1, "1girl": 1, "blue_sky": 1, "long hair": 1}
    assert main(["clips", str(root), "--json", "--filter", "tag:motion -tag:1girl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [Path(r["path"]).name for r in records] == ["run.mkv", "latin1.mp4"]
    run = records[0]
    assert run["frames"] == 10 and run["fps"] == "25/1" and run["video"] is None
    assert run["caption"]["source"] == "manual" and run["caption"]["text"].startswith("A woman")
    assert [(t["name"], t["source"], t["confidence"]) for t in run["tags"]] == [
        ("beach", "manual", None),
        ("motion", "manual", None),
    ]
    assert run["reviewed"] is False
    assert main(["clips", str(root), "--filter", "tag:(motion"]) == 2
    assert "'tag:' needs a value" in capsys.readouterr().err
    assert main(["clips", str(root), "--filter", "frames>>2"]) == 2
    err = capsys.readouterr().err
    assert "needs a number" in err and "^" in err
    assert (dataset / "run.txt").read_text() == (
        "beach, motion, A woman runs along a beach, waves behind her."
    )
