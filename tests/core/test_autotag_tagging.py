"""Peak frames and the tagging stage on generated clips with the tiny model."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from autotag_fixtures import add_clip, clip_tags, solid, write_clip, write_tiny_model

from workstation.core import synth
from workstation.core.autotag import TagSettings, tag_clips
from workstation.core.autotag.frames import decode_frames, peak_frames, plan_parts, sample_numbers
from workstation.core.errors import MediaError, WorkstationError
from workstation.core.progress import Cancelled, CancelToken, drive

RED, BLUE = (230, 20, 20), (20, 20, 230)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "wd-tiny")


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return {
        "red": write_clip(folder / "red.mp4", solid(RED)),
        "blue": write_clip(folder / "blue.mp4", solid(BLUE)),
    }


@pytest.fixture()
def tagged_project(project, clip_files):
    ids = {name: add_clip(project, path, 12) for name, path in clip_files.items()}
    return project, ids


def _blurry_with_sharp(n: int, sharp: set[int]) -> list[np.ndarray]:
    yy, xx = np.mgrid[0:96, 0:160]
    smooth = np.stack([xx * 1.5, yy * 2.0, np.full_like(xx, 128)], axis=2).astype(np.uint8)
    checker = ((((yy // 4) + (xx // 4)) % 2) * 255).astype(np.uint8)
    frames = []
    for i in range(n):
        img = smooth.copy()
        if i in sharp:
            img[10:80, 40:150] = checker[10:80, 40:150, None]
        frames.append(img)
    return frames


def test_peak_frames_middle_plus_sharpest_per_part(tmp_path):
    # 40 frames, 4 picks: middle 20, parts [2,14) [14,26) [26,38); frame 21 is next to the
    # middle and must not be picked again.
    path = write_clip(tmp_path / "sharp.mp4", _blurry_with_sharp(40, {7, 16, 21, 30}))
    assert plan_parts(40, 4) == (20, [(2, 14), (14, 26), (26, 38)])
    got = peak_frames(path, 4, 40)
    assert got.numbers == [7, 16, 20, 30]
    # The images are the frames they claim to be (the barcode says so) at full size.
    assert [synth.read_frame_number(img) for img in got.images] == got.numbers
    assert got.images[0].shape == (96, 160, 3)


def test_peak_frames_short_clip_and_single_frame(tmp_path):
    path = write_clip(tmp_path / "short.mp4", solid(RED, n=3))
    assert peak_frames(path, 4, 3).numbers == [0, 1, 2]
    assert peak_frames(path, 1, 3).numbers == [1]


def test_sampled_frames_for_captions(tmp_path):
    assert sample_numbers(48, 24, 1.0, 8) == [12, 36]
    assert sample_numbers(240, 24, 1.0, 4) == [30, 90, 150, 210]
    path = write_clip(tmp_path / "s.mp4", solid(BLUE, n=48))
    got = decode_frames(path, [12, 36], max_side=80)
    assert got.numbers == [12, 36] and got.images[0].shape == (48, 80, 3)
    assert [synth.read_frame_number(i) for i in got.images] == [12, 36]
    with pytest.raises(MediaError, match="file not found"):
        decode_frames(tmp_path / "gone.mp4", [0])


def test_tag_clips_stores_tags_with_provenance(tagged_project, model_dir):
    project, ids = tagged_project
    settings = TagSettings(model=str(model_dir))
    records = []
    summary = drive(tag_clips(project, None, settings), records.append)
    assert sorted(summary.tagged) == sorted(ids.values())
    assert summary.provider == "CPUExecutionProvider"
    assert summary.frames == 8 and not summary.failed
    assert records[-1].done == records[-1].total == 2

    red = clip_tags(project, ids["red"])
    blue = clip_tags(project, ids["blue"])
    assert "red background" in red and "blue background" not in red
    assert "blue background" in blue and "red background" not in blue
    assert "hatsune miku" in blue and "hatsune miku" not in red
    assert "maybe someone" not in blue  # 0.5 is under the character threshold
    assert "simple background" in red and "^_^" in red
    assert red["sensitive"]["category"] == "rating" and "general" not in red
    assert blue["general"]["category"] == "rating"
    row = blue["hatsune miku"]
    assert row["source"] == "auto" and row["state"] == "active"
    assert row["model"] == str(model_dir.resolve())
    assert row["threshold"] == 0.85 and row["aggregation"] == "mean"
    assert 0.85 < row["confidence"] <= 1
    assert red["red background"]["threshold"] == 0.35
    assert red["sensitive"]["threshold"] is None
    # The review API orders a run's tags most confident first.
    confidences = [r["confidence"] for r in blue.values()]
    assert confidences == sorted(confidences, reverse=True)


def test_rerun_skips_redo_replaces_and_person_edits_survive(tagged_project, model_dir):
    project, ids = tagged_project
    settings = TagSettings(model=str(model_dir))
    drive(tag_clips(project, None, settings))
    again = drive(tag_clips(project, None, settings))
    assert sorted(again.skipped) == sorted(ids.values()) and again.tagged == []

    red = ids["red"]
    db = project.db
    tag = {r["name"]: r["id"] for r in db.execute("SELECT * FROM tags")}
    # A person rejects one auto tag, accepts another and adds a manual tag.
    db.execute(
        "UPDATE clip_tags SET state='rejected' WHERE clip_id=? AND tag_id=?",
        (red, tag["red background"]),
    )
    db.execute(
        "UPDATE clip_tags SET state='accepted', confidence=0.123 WHERE clip_id=? AND tag_id=?",
        (red, tag["simple background"]),
    )
    db.execute("INSERT INTO tags(name, category) VALUES ('my tag', 'general')")
    my = db.execute("SELECT id FROM tags WHERE name='my tag'").fetchone()[0]
    db.execute(
        "INSERT INTO clip_tags(clip_id, tag_id, source, position) VALUES (?,?,'manual',0)",
        (red, my),
    )
    redo = drive(
        tag_clips(
            project,
            [red],
            TagSettings(model=str(model_dir), redo=True, aggregation="max", underscores=True),
        )
    )
    assert redo.tagged == [red]
    rows = clip_tags(project, red)
    assert rows["red background"]["state"] == "rejected"  # not revived
    assert "red_background" not in rows  # nor under its other spelling
    assert rows["simple background"]["confidence"] == 0.123  # accepted: untouched
    assert rows["my tag"]["source"] == "manual"
    assert rows["^_^"]["aggregation"] == "max"  # the new auto tags replaced the old ones
    assert "simple_background" not in rows  # the accepted spelling stays the only one
    assert set(rows) == {"my tag", "red background", "simple background", "sensitive", "^_^"}
    assert rows["my tag"]["position"] < rows["^_^"]["position"]
    # The blue clip was not part of this run.
    assert clip_tags(project, ids["blue"])["blue background"]["aggregation"] == "mean"


def test_broken_and_missing_clips_fail_alone(project, clip_files, model_dir, tmp_path):
    good = add_clip(project, clip_files["red"], 12)
    missing = add_clip(project, tmp_path / "missing.mp4", 12)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    bad = add_clip(project, junk, 12)
    summary = drive(tag_clips(project, [missing, good, bad], TagSettings(model=str(model_dir))))
    assert summary.tagged == [good]
    assert "missing.mp4: file not found" in summary.failed[missing]
    assert "junk.mp4" in summary.failed[bad]
    with pytest.raises(WorkstationError, match="clip ids not in the project: 999"):
        drive(tag_clips(project, [999], TagSettings(model=str(model_dir))))


def test_cancel_stops_the_decode_thread(project, clip_files, model_dir):
    for k in range(6):
        add_clip(project, clip_files["red" if k % 2 else "blue"].parent / f"c{k}.mp4", 12)
        (clip_files["red"].parent / f"c{k}.mp4").write_bytes(clip_files["red"].read_bytes())
    token = CancelToken()
    seen = []

    def on_progress(p):
        seen.append(p)
        if p.data.get("clip_id"):
            token.cancel()

    with pytest.raises(Cancelled):
        drive(
            tag_clips(project, None, TagSettings(model=str(model_dir), batch_size=4)),
            on_progress,
            token,
        )
    assert not [t for t in threading.enumerate() if t.name == "autotag-decode"]
    tagged = project.db.execute("SELECT COUNT(DISTINCT clip_id) FROM clip_tags").fetchone()[0]
    assert 1 <= tagged < 6


def test_several_decode_workers_tag_every_clip_once(project, clip_files, model_dir, tmp_path):
    ids = []
    for k in range(5):
        path = tmp_path / f"w{k}.mp4"
        path.write_bytes(clip_files["blue" if k % 2 else "red"].read_bytes())
        ids.append(add_clip(project, path, 12))
    summary = drive(
        tag_clips(
            project,
            None,
            TagSettings(model=str(model_dir), decode_workers=3, batch_size=4, frames=2),
        )
    )
    assert sorted(summary.tagged) == sorted(ids) and summary.frames == 10
    assert not [t for t in threading.enumerate() if t.name == "autotag-decode"]
    for k, clip_id in enumerate(ids):
        want = "blue background" if k % 2 else "red background"
        assert want in clip_tags(project, clip_id)


class _SlowTagger:
    """A tagger whose model 'runs' until interrupted, like a big model on a CPU."""

    def __init__(self, real):
        self.real = real
        self.model_id, self.provider = "slow", "CPUExecutionProvider"
        self.names, self.categories = real.names, real.categories
        self.preprocess = real.preprocess
        self.release = threading.Event()
        self.interrupted = False

    def predict(self, batch):
        if not self.release.wait(30):
            raise AssertionError("never interrupted")
        raise InterruptedError("tagger interrupted")

    def interrupt(self):
        self.interrupted = True
        self.release.set()


def test_cancel_interrupts_a_running_model(project, clip_files, model_dir):
    from workstation.core.autotag.wd14 import WD14Tagger

    add_clip(project, clip_files["red"], 12)
    slow = _SlowTagger(WD14Tagger.load(model_dir))
    token = CancelToken()

    def on_progress(p):
        if p.message.startswith("running the model"):
            token.cancel()

    with pytest.raises(Cancelled):
        drive(tag_clips(project, None, TagSettings(), tagger=slow), on_progress, token)
    assert slow.interrupted
    alive = [t.name for t in threading.enumerate() if t.name.startswith("autotag-")]
    assert alive == []


def test_wd14_interrupt_stops_predict(model_dir, tmp_path):
    from workstation.core.autotag.wd14 import WD14Tagger

    tagger = WD14Tagger.load(write_tiny_model(tmp_path / "fixed", dynamic=False))
    real = tagger.session

    class Session:  # interrupts from "another thread" after the first frame
        def run(self, *args):
            out = real.run(*args)
            tagger.interrupt()
            return out

    tagger.session = Session()
    frames = np.zeros((3, 64, 64, 3), np.float32)
    with pytest.raises(InterruptedError):
        tagger.predict(frames)
    tagger.session = real
    assert tagger.predict(frames).shape == (3, 8)  # the next run is not affected


def test_a_failing_model_is_one_clear_error(project, clip_files, model_dir):
    from workstation.core.autotag import ModelError
    from workstation.core.autotag.wd14 import WD14Tagger

    add_clip(project, clip_files["red"], 12)
    broken = _SlowTagger(WD14Tagger.load(model_dir))

    def predict(batch):
        raise RuntimeError("CUDA out of memory")

    broken.predict = predict
    with pytest.raises(ModelError, match="slow: the model failed on a batch of 4 frames: CUDA out"):
        drive(tag_clips(project, None, TagSettings(), tagger=broken))
    assert not [t for t in threading.enumerate() if t.name.startswith("autotag-")]


def test_cli_mcut_cuts_each_clip_at_its_own_gap(tagged_project, model_dir, capsys):
    from workstation import cli

    project, ids = tagged_project
    root = str(project.root)
    args = ["-q", "tag", root, "--model", str(model_dir)]
    assert cli.main([*args, "--mcut", "general"]) == 0, capsys.readouterr().err
    red = clip_tags(project, ids["red"])
    # red clip's general tags: red background 0.99, ^_^ 0.95, simple background 0.5, blue
    # background low: the largest gap is under ^_^, so MCut drops simple background (0.5 is
    # above the 0.35 threshold)
    assert "simple background" not in red and "^_^" in red
    assert red["^_^"]["threshold"] == pytest.approx((red["^_^"]["confidence"] + 0.5) / 2)
    assert clip_tags(project, ids["blue"])["hatsune miku"]["threshold"] == 0.85
    assert cli.main([*args, "--redo"]) == 0
    assert "simple background" in clip_tags(project, ids["red"])
