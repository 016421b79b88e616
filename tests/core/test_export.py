"""Dataset export: layouts, decode-back, trainer notes, split by video, incremental runs."""

from __future__ import annotations

import csv
import json
import tarfile

import pytest

from workstation.core import synth
from workstation.core.errors import WorkstationError
from workstation.core.export.manifest import MANIFEST
from workstation.core.export.selection import clip_keys, split_by_video
from workstation.core.export.settings import ExportSettings
from workstation.core.export.stage import export_dataset
from workstation.core.export.trainers import trainer_notes
from workstation.core.media import iter_frames
from workstation.core.progress import Cancelled, CancelToken, drive
from workstation.core.slicing import SliceSettings, split_project
from workstation.core.store import Cut


@pytest.fixture(scope="module")
def sliced(tmp_path_factory, demo_videos):
    """The demo project cut at its true cuts and sliced into clips (once per module: tests
    that change review flags reset them first)."""
    import shutil

    from workstation.core.ingest import add_paths
    from workstation.core.store import Project

    root = tmp_path_factory.mktemp("export")
    for v in demo_videos:
        shutil.copy(v, root / v.name)
        shutil.copy(v.with_name(v.name + ".truth.json"), root / (v.name + ".truth.json"))
    p = Project.create(root / "proj")
    drive(add_paths(p, [root]))
    for v in p.videos():
        truth = synth.Truth.load(str(v.path) + ".truth.json")
        for c in truth.cuts:
            p.add_cut(v.id, Cut(c.frame, "manual"))
    drive(split_project(p, None, SliceSettings(min_frames=4)))
    clips = p.clips()
    assert clips and all(c.verified for c in clips)
    # a caption and tags on the first clip
    first = clips[0]
    p.db.execute("INSERT INTO tags(name, category) VALUES ('blue_sky', 'general')")
    p.db.execute(
        "INSERT INTO clip_tags(clip_id, tag_id, source) VALUES (?, 1, 'manual')", (first.id,)
    )
    p.db.execute(
        "INSERT INTO captions(clip_id, text, source, updated_at) VALUES (?, ?, 'manual', 0)",
        (first.id, 'a ball, "bouncing"'),
    )
    yield p
    p.close()


@pytest.fixture(autouse=True)
def _unreviewed(sliced):
    sliced.db.execute("UPDATE clips SET reviewed=0")


def test_pairs_layout_decoded_and_captioned(sliced, tmp_path):
    out = tmp_path / "out"
    result = drive(export_dataset(sliced, out, ExportSettings(trigger="mystyle")))
    n = len(sliced.clips())
    assert len(result.clips) == n and result.encoded == n and not result.errors
    lines = [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(lines) == n
    for line in lines:
        assert (out / line["video_path"]).exists()
        txt = (out / line["video_path"]).with_suffix(".txt").read_text()
        assert txt == line["caption"] and txt.startswith("mystyle")
    first_key = result.clips[0].key
    cap = [c for c in result.clips if c.clip_id == sliced.clips()[0].id][0].caption
    assert cap == 'mystyle, blue_sky, a ball, "bouncing"'
    # exported clips are the same frames as the project's clips (barcodes)
    clip = sliced.clips()[0]
    exported = out / f"{[c.key for c in result.clips if c.clip_id == clip.id][0]}.mp4"
    numbers = [synth.read_frame_number(img) for _, img in iter_frames(exported)]
    assert numbers == list(range(clip.start_frame, clip.end_frame))
    report = json.loads((out / "report.json").read_text())
    assert {c["key"] for c in report["clips"]} >= {first_key}


def test_webvid_csv_and_split_by_video(sliced, tmp_path):
    out = tmp_path / "wv"
    result = drive(export_dataset(sliced, out, ExportSettings(format="webvid", val_fraction=0.34)))
    assert result.val > 0 and result.train > 0
    train = list(csv.DictReader((out / "train.csv").open()))
    val = list(csv.DictReader((out / "val.csv").open()))
    assert list(train[0]) == ["videoid", "contentUrl", "duration", "page_dir", "name"]
    by_key = {c.key: c.clip_id for c in result.clips}
    video_of = {c.id: c.video_id for c in sliced.clips()}
    train_videos = {video_of[by_key[r["videoid"]]] for r in train}
    val_videos = {video_of[by_key[r["videoid"]]] for r in val}
    assert train_videos and val_videos and not train_videos & val_videos
    for r in train + val:
        assert (out / r["contentUrl"]).exists() and r["duration"].startswith("PT")
    # the caption with a comma and quotes survives the CSV
    names = {r["name"] for r in train + val}
    assert 'blue_sky, a ball, "bouncing"' in names


def test_webdataset_shards(sliced, tmp_path):
    out = tmp_path / "wds"
    result = drive(export_dataset(sliced, out, ExportSettings(format="webdataset", shard_size=4)))
    tars = sorted((out / "train").glob("*.tar"))
    assert len(tars) == -(-len(result.clips) // 4)
    with tarfile.open(tars[0]) as tar:
        names = tar.getnames()
        assert names[:3] == ["000000000.mp4", "000000000.txt", "000000000.json"]
        meta = json.load(tar.extractfile("000000000.json"))
        assert meta["frames"] > 0 and "caption" in meta
    first = tars[0].read_bytes()
    drive(export_dataset(sliced, out, ExportSettings(format="webdataset", shard_size=4)))
    assert tars[0].read_bytes() == first  # deterministic


def test_incremental_rerun_and_removal(sliced, tmp_path):
    out = tmp_path / "inc"
    first = drive(export_dataset(sliced, out, ExportSettings()))
    again = drive(export_dataset(sliced, out, ExportSettings()))
    assert again.encoded == 0 and again.reused == len(first.clips)
    keep = sliced.clips()[0]
    sliced.db.execute("UPDATE clips SET reviewed=1 WHERE id=?", (keep.id,))
    only = drive(export_dataset(sliced, out, ExportSettings(selection="reviewed")))
    assert len(only.clips) == 1 and only.removed == len(first.clips) - 1
    assert len(list(out.glob("*.mp4"))) == 1
    assert not list(out.rglob("*.tmp"))


def test_transforms_resize_crop_fps(sliced, tmp_path):
    out = tmp_path / "tf"
    clip = max(sliced.clips(), key=lambda c: c.frame_count)
    sliced.db.execute("UPDATE clips SET reviewed=1 WHERE id=?", (clip.id,))
    result = drive(
        export_dataset(
            sliced, out, ExportSettings(selection="reviewed", size=96, crop="1:1", fps=clip.fps / 2)
        )
    )
    (c,) = result.clips
    assert (c.width, c.height) == (96, 96)
    assert abs(c.frames - clip.frame_count / 2) <= 1


def test_cancel_leaves_no_partial_file_and_resumes(sliced, tmp_path):
    out = tmp_path / "cancel"
    token = CancelToken()
    seen = []

    def on_progress(p):
        seen.append(p)
        if len(seen) == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        drive(export_dataset(sliced, out, ExportSettings()), on_progress, token)
    assert not list(out.rglob("*.tmp"))
    done = json.loads((out / "export.json").read_text())["items"]
    assert 0 < len(done) < len(sliced.clips())
    result = drive(export_dataset(sliced, out, ExportSettings()))
    assert result.reused == len(done)


def test_bad_settings_and_filter(sliced, tmp_path):
    with pytest.raises(WorkstationError, match="crop"):
        ExportSettings(crop="wide")
    with pytest.raises(WorkstationError, match="export filter"):
        drive(export_dataset(sliced, tmp_path / "x", ExportSettings(selection="frames>>2")))
    with pytest.raises(WorkstationError, match="outside"):
        drive(export_dataset(sliced, sliced.clips_dir / "sub", ExportSettings()))


def test_trainer_notes():
    ok, wan = trainer_notes(61)
    assert ok.ok and wan.ok and ok.effect == wan.effect == "fits"  # 61 = 4*15+1
    short, wan = trainer_notes(40)
    assert not short.ok and "stride 2" in short.message and "trimmed to 37" in wan.message
    assert (short.effect, wan.effect) == ("stretch", "drop")
    tiny, _ = trainer_notes(10)
    assert not tiny.ok and "too short" in tiny.message and tiny.effect == "repeat"


def test_the_report_counts_what_trainers_do(sliced, tmp_path):
    from workstation.core.export.trainers import trainer_report

    result = drive(export_dataset(sliced, tmp_path / "out", ExportSettings()))
    groups = trainer_report(result.clips)
    for trainer in ("animatediff", "4n+1"):
        assert sum(len(g.clips) for g in groups if g.trainer == trainer) == len(result.clips)
    by = {(g.trainer, g.effect.value): g for g in groups}
    stretched = by[("animatediff", "stretch")].clips
    assert stretched and all(16 <= c.frames < 61 for c in stretched)
    assert all((c.frames - 1) % 4 for c in by[("4n+1", "drop")].clips)
    summary = json.loads((tmp_path / "out" / "report.json").read_text())["summary"]
    assert summary["animatediff"]["stretch"] == len(stretched)
    assert by[("animatediff", "stretch")].sentence().startswith(f"{len(stretched)} clip")


def test_settings_read_back_from_params_and_bad_values_are_defaults():
    s = ExportSettings(format="webvid", fps=8, size=64, crop="1:1", trigger="t", val_fraction=0.25)
    assert ExportSettings.from_params(s.to_params()) == s
    bad = {"crf": "high", "size": 3, "format": "avi", "fps": "0/1", "keep_first_tags": -1}
    assert ExportSettings.from_params({**bad, "trigger": "t", "nope": 1}) == ExportSettings(
        trigger="t"
    )


def test_split_needs_two_groups(sliced):
    clips = [c for c in sliced.clips() if c.video_id == sliced.videos()[0].id]
    assert set(split_by_video(sliced, clips, 0.5, 0).values()) == {"train"}


def test_a_manifest_pointing_outside_the_export_deletes_nothing_there(sliced, tmp_path):
    """The manifest in OUT is not trusted: entries naming files outside OUT (a path up, an
    absolute path) are refused with a message naming the manifest, and those files survive."""
    out = tmp_path / "out"
    drive(export_dataset(sliced, out, ExportSettings()))
    victims = [tmp_path / "victim.mp4", tmp_path / "elsewhere" / "other.mp4"]
    for v in victims:
        v.parent.mkdir(exist_ok=True)
        v.write_bytes(b"mine")
        v.with_suffix(".txt").write_text("mine too")
    manifest = out / MANIFEST
    data = json.loads(manifest.read_text())
    data["items"]["evil-up"] = {"video": "../victim.mp4"}
    data["items"]["evil-abs"] = {"video": str(victims[1])}
    data["items"]["broken"] = "not an object"
    manifest.write_text(json.dumps(data))
    again = drive(export_dataset(sliced, out, ExportSettings()))
    for v in victims:
        assert v.read_bytes() == b"mine" and v.with_suffix(".txt").read_text() == "mine too"
    refused = [e for e in again.errors if "not a video inside the export folder" in e]
    assert len(refused) == 2 and all(str(manifest) in e for e in refused)
    assert again.removed == 0 and again.reused == len(again.clips) > 0


def test_a_file_named_export_json_that_is_no_manifest_is_not_overwritten(sliced, tmp_path):
    """A person's export.json (or a damaged one) stops the export: it is never replaced."""
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("[1, 2, 3]")  # valid JSON, not a manifest
    with pytest.raises(WorkstationError) as caught:
        drive(export_dataset(sliced, out, ExportSettings()))
    assert f"{out / MANIFEST}: exists and is not an export's manifest" in str(caught.value)
    assert (out / MANIFEST).read_text() == "[1, 2, 3]"
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST]  # nothing else written
    (out / MANIFEST).unlink()
    result = drive(export_dataset(sliced, out, ExportSettings()))
    assert result.errors == [] and result.encoded == len(result.clips) > 0


def _first_key(project):
    clips = project.clips()
    return clip_keys(clips)[clips[0].id]


@pytest.mark.parametrize(
    ("fmt", "rel"),
    [
        ("pairs", "{key}.mp4"),
        ("pairs", "{key}.txt"),
        ("webvid", "videos/{key}.mp4"),
        ("webvid", "train.csv"),
        ("webdataset", "train/00000.tar"),
        ("pairs", "report.json"),
    ],
)
def test_a_persons_file_where_the_export_writes_stops_it_before_any_write(
    sliced, tmp_path, fmt, rel
):
    """Issue 12: OUT/key.mp4 (or a caption, an index file, a shard) a person put there is
    never overwritten; every target is checked first, so nothing at all is written."""
    out = tmp_path / "out"
    mine = out / rel.format(key=_first_key(sliced))
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"a person's own file")
    with pytest.raises(WorkstationError) as caught:
        drive(export_dataset(sliced, out, ExportSettings(format=fmt)))
    assert str(caught.value) == (
        f"Nothing was exported: {mine}: exists and was not written by an export; "
        "move it away or choose another folder."
    )
    assert mine.read_bytes() == b"a person's own file"
    assert [p for p in out.rglob("*") if p.is_file()] == [mine]


def test_a_file_the_export_wrote_and_a_person_changed_is_not_overwritten(sliced, tmp_path):
    out = tmp_path / "out"
    drive(export_dataset(sliced, out, ExportSettings()))
    caption = out / f"{_first_key(sliced)}.txt"
    caption.write_text("my own caption")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(WorkstationError, match="was changed since the export wrote it"):
        drive(export_dataset(sliced, out, ExportSettings()))
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # an export's own unchanged files are rewritten as before
    caption.unlink()
    again = drive(export_dataset(sliced, out, ExportSettings()))
    assert again.errors == [] and caption.exists()


def test_the_error_names_a_few_files_and_counts_the_rest(sliced, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    keys = sorted(clip_keys(sliced.clips()).values())
    for k in keys:
        (out / f"{k}.txt").write_text("mine")
    with pytest.raises(WorkstationError) as caught:
        drive(export_dataset(sliced, out, ExportSettings()))
    assert caught.value.problems[0].startswith(f"{out / keys[0]}.txt: exists")
    assert len(caught.value.problems) == len(keys) > 5
    assert str(caught.value).endswith(f"and {len(keys) - 5} more such files.")


def test_files_a_killed_export_wrote_are_taken_over_by_the_next(sliced, tmp_path):
    """A run killed between writes (no final manifest) claimed its paths first: the next run
    knows those files are the export's, rewrites them and finishes like an uninterrupted one."""
    out = tmp_path / "out"
    stage = export_dataset(sliced, out, ExportSettings())
    for p in stage:
        if p.done == 2 and p.message == "exporting":
            break  # two videos written, then the process "dies": no finally, no manifest
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["items"] == {} and manifest["claimed"]
    assert len(list(out.glob("*.mp4"))) >= 2
    result = drive(export_dataset(sliced, out, ExportSettings()))
    assert result.errors == [] and len(result.clips) == len(sliced.clips())
    assert "claimed" not in json.loads((out / MANIFEST).read_text())
    stage.close()  # (only now: closing runs the stage's finally, which a kill never does)


def test_webdataset_export_leaves_other_tar_files_alone(sliced, tmp_path):
    out = tmp_path / "wds"
    (out / "train").mkdir(parents=True)
    backup = out / "train" / "my_backup.tar"
    backup.write_bytes(b"a person's own archive")
    drive(export_dataset(sliced, out, ExportSettings(format="webdataset", shard_size=4)))
    assert backup.read_bytes() == b"a person's own archive"
    assert sorted(p.name for p in (out / "train").glob("0*.tar"))  # the shards are there
