"""Dataset export: layouts, decode-back, trainer notes, split by video, incremental runs."""

from __future__ import annotations

import csv
import json
import tarfile

import pytest

from workstation.core import synth
from workstation.core.errors import WorkstationError
from workstation.core.export.manifest import MANIFEST, trainer_notes
from workstation.core.export.selection import split_by_video
from workstation.core.export.settings import ExportSettings
from workstation.core.export.stage import export_dataset
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
    assert ok.ok and wan.ok  # 61 = 4*15+1
    short, wan = trainer_notes(40)
    assert not short.ok and "stride 2" in short.message and "trimmed to 37" in wan.message
    tiny, _ = trainer_notes(10)
    assert not tiny.ok and "too short" in tiny.message


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


def test_a_damaged_manifest_reads_as_a_fresh_export(sliced, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("[1, 2, 3]")  # valid JSON, not a manifest
    result = drive(export_dataset(sliced, out, ExportSettings()))
    assert result.errors == [] and result.encoded == len(result.clips) > 0


def test_webdataset_export_leaves_other_tar_files_alone(sliced, tmp_path):
    out = tmp_path / "wds"
    (out / "train").mkdir(parents=True)
    backup = out / "train" / "my_backup.tar"
    backup.write_bytes(b"a person's own archive")
    drive(export_dataset(sliced, out, ExportSettings(format="webdataset", shard_size=4)))
    assert backup.read_bytes() == b"a person's own archive"
    assert sorted(p.name for p in (out / "train").glob("0*.tar"))  # the shards are there
