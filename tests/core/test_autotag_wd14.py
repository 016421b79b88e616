"""WD14 tagger: loading through the real loading code, preprocessing, clear errors, aggregation."""

from __future__ import annotations

import numpy as np
import pytest
from autotag_fixtures import TAGS, write_tiny_model
from PIL import Image

from workstation.core.autotag import Aggregation, ModelError, TagSettings, create_tagger
from workstation.core.autotag.tagging import aggregate, mcut_threshold
from workstation.core.autotag.wd14 import WD14Tagger, display_name, load_labels, resolve_model

NAMES = [t[0] for t in TAGS]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "wd-tiny")


def test_loads_folder_reads_signature_and_reports_provider(model_dir):
    tagger = create_tagger(TagSettings(model=str(model_dir)))
    assert isinstance(tagger, WD14Tagger)
    assert tagger.size == 64 and tagger.dynamic_batch
    assert tagger.input_name == "input_1:0" and tagger.output_name == "predictions_sigmoid"
    assert tagger.names == NAMES
    assert list(tagger.categories) == [t[1] for t in TAGS]
    assert tagger.provider == "CPUExecutionProvider"
    assert tagger.session.get_providers() == ["CPUExecutionProvider"]
    assert tagger.model_id == str(model_dir.resolve())


def probs_of(tagger, rgb):
    return dict(zip(tagger.names, tagger.predict(tagger.preprocess(rgb)[None])[0], strict=True))


def test_channel_order_is_bgr(model_dir):
    tagger = WD14Tagger.load(model_dir)
    red = probs_of(tagger, np.full((64, 64, 3), (255, 0, 0), np.uint8))
    blue = probs_of(tagger, np.full((64, 64, 3), (0, 0, 255), np.uint8))
    assert red["red_background"] > 0.99 and red["blue_background"] < 0.01
    assert blue["blue_background"] > 0.99 and blue["red_background"] < 0.01
    assert blue["hatsune_miku"] > 0.85 > red["hatsune_miku"]


def test_preprocess_matches_reference(model_dir):
    tagger = WD14Tagger.load(model_dir)
    # A wide RGBA image: left half opaque red, right half fully transparent.
    rgba = np.zeros((20, 40, 4), np.uint8)
    rgba[:, :20] = (255, 0, 0, 255)
    out = tagger.preprocess(Image.fromarray(rgba, "RGBA"))
    assert out.shape == (64, 64, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255
    # Padded top/bottom on white; transparent part composited onto white; BGR order.
    assert np.allclose(out[2, 32], [255, 255, 255])
    assert np.allclose(out[32, 50], [255, 255, 255], atol=1)
    assert np.allclose(out[32, 8], [0, 0, 255], atol=2)
    # The same as doing the reference steps by hand.
    canvas = Image.new("RGBA", (40, 20), (255, 255, 255))
    canvas.alpha_composite(Image.fromarray(rgba, "RGBA"))
    square = Image.new("RGB", (40, 40), (255, 255, 255))
    square.paste(canvas.convert("RGB"), (0, 10))
    ref = np.asarray(square.resize((64, 64), Image.BICUBIC), dtype=np.float32)[:, :, ::-1]
    assert np.array_equal(out, ref)


def test_batches_agree_with_single_frames_and_fixed_batch_models(tmp_path, model_dir):
    tagger = WD14Tagger.load(model_dir)
    frames = np.stack(
        [
            tagger.preprocess(np.full((30, 50, 3), c, np.uint8))
            for c in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]
        ]
    )
    batch = tagger.predict(frames)
    fixed = WD14Tagger.load(write_tiny_model(tmp_path / "fixed", dynamic=False))
    assert not fixed.dynamic_batch
    np.testing.assert_allclose(fixed.predict(frames), batch, rtol=1e-6)
    np.testing.assert_allclose(tagger.predict(frames[1:2])[0], batch[1], rtol=1e-6)


def test_clear_errors_for_bad_models(tmp_path, model_dir, monkeypatch):
    with pytest.raises(ModelError, match="model folder not found"):
        resolve_model(str(tmp_path / "nope" / "deeper"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="has no model.onnx"):
        resolve_model(empty)
    with pytest.raises(ModelError, match="not a single file"):
        resolve_model(model_dir / "model.onnx")

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"this is not a protobuf at all")
    (broken / "selected_tags.csv").write_text((model_dir / "selected_tags.csv").read_text())
    with pytest.raises(ModelError, match=r"model\.onnx: not an ONNX model"):
        WD14Tagger.load(broken)

    wrong_csv = tmp_path / "wrongcsv"
    wrong_csv.mkdir()
    (wrong_csv / "model.onnx").write_bytes((model_dir / "model.onnx").read_bytes())
    (wrong_csv / "selected_tags.csv").write_text("id,tag\n1,a\n")
    with pytest.raises(
        ModelError, match="expected columns tag_id,name,category,count, found id,tag"
    ):
        WD14Tagger.load(wrong_csv)
    (wrong_csv / "selected_tags.csv").write_text("tag_id,name,category,count\n0,a,x,1\n")
    with pytest.raises(ModelError, match="line 2: expected name and a numeric category"):
        load_labels(wrong_csv / "selected_tags.csv")
    (wrong_csv / "selected_tags.csv").write_text("tag_id,name,category,count\n0,a,0,1\n")
    with pytest.raises(ModelError, match="has 8 outputs but selected_tags.csv lists 1 tags"):
        WD14Tagger.load(wrong_csv)


def test_offline_hub_model_not_cached_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True, raising=False)
    monkeypatch.setattr(
        "huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"), raising=False
    )
    with pytest.raises(ModelError) as err:
        WD14Tagger.load("SmilingWolf/wd-vit-tagger-v3")
    text = str(err.value)
    assert text.startswith("SmilingWolf/wd-vit-tagger-v3: model not in the Hugging Face cache")
    assert "run once while online" in text and "local folder" in text


def test_display_names():
    assert display_name("long_hair", underscores=False) == "long hair"
    assert display_name("long_hair", underscores=True) == "long_hair"
    assert display_name("^_^", underscores=False) == "^_^"


CATS = np.array([t[1] for t in TAGS], dtype=np.int32)


def _probs(**over):
    p = np.zeros(len(NAMES), np.float32)
    for k, v in over.items():
        p[NAMES.index(k)] = v
    return p


def test_aggregation_modes_thresholds_rating_exclude():
    frames = np.stack(
        [
            _probs(
                general=0.9,
                red_background=0.9,
                blue_background=0.05,
                hatsune_miku=0.95,
                maybe_someone=0.9,
            ),
            _probs(
                general=0.8,
                sensitive=0.95,
                red_background=0.8,
                blue_background=0.05,
                hatsune_miku=0.95,
                maybe_someone=0.1,
            ),
            _probs(
                general=0.9,
                red_background=0.1,
                blue_background=0.9,
                hatsune_miku=0.7,
                maybe_someone=0.1,
            ),
        ]
    )
    mean = aggregate(frames, NAMES, CATS, TagSettings())
    names = [t.name for t in mean]
    # The top rating (by mean) comes first, then characters, then general tags by confidence.
    assert names == ["general", "hatsune miku", "red background"]
    assert mean[0].category == "rating" and mean[0].threshold is None
    miku = mean[1]
    assert miku.category == "character" and miku.threshold == 0.85
    assert miku.confidence == pytest.approx((0.95 + 0.95 + 0.7) / 3)
    red = mean[2]
    assert red.category == "general" and red.threshold == 0.35
    assert red.confidence == pytest.approx(0.6)

    mx = aggregate(frames, NAMES, CATS, TagSettings(aggregation=Aggregation.MAX))
    assert [t.name for t in mx] == [
        "sensitive",
        "hatsune miku",
        "maybe someone",
        "red background",
        "blue background",
    ]
    assert mx[1].confidence == pytest.approx(0.95)
    vote = aggregate(frames, NAMES, CATS, TagSettings(aggregation="vote"))
    assert "red background" in {t.name for t in vote}  # 2 of 3 frames
    assert "blue background" not in {t.name for t in vote}  # 1 of 3
    assert "hatsune miku" in {t.name for t in vote}  # 2 of 3 frames >= 0.85

    ex = aggregate(frames, NAMES, CATS, TagSettings(exclude=("red background",), underscores=True))
    assert "red_background" not in {t.name for t in ex}
    assert "hatsune_miku" in {t.name for t in ex}
    assert aggregate(frames, NAMES, CATS, TagSettings(include_rating=False))[0].name != "general"


def test_settings_are_validated():
    from workstation.core.errors import WorkstationError

    with pytest.raises(WorkstationError, match="general_threshold: must be between 0 and 1"):
        TagSettings(general_threshold=1.5)
    with pytest.raises(
        WorkstationError, match="aggregation: 'median' is not one of mean, max, vote"
    ):
        TagSettings(aggregation="median")
    with pytest.raises(WorkstationError, match="frames: must be at least 1"):
        TagSettings(frames=0)


def test_hub_model_loads_from_the_cache_offline(tmp_path, monkeypatch, model_dir):
    """A hub id resolves through hf_hub_download to the cached snapshot (the real code path)."""
    cache = tmp_path / "hub"
    repo = cache / "models--SmilingWolf--wd-tiny-tagger-v3"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    for name in ("model.onnx", "selected_tags.csv"):
        (snapshot / name).write_bytes((model_dir / name).read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True, raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache), raising=False)
    tagger = WD14Tagger.load("SmilingWolf/wd-tiny-tagger-v3")
    assert tagger.model_id == "SmilingWolf/wd-tiny-tagger-v3"
    assert tagger.folder == snapshot and tagger.names == NAMES


def test_settings_round_trip_through_the_project(project):
    from workstation.core.autotag import CaptionSettings
    from workstation.core.autotag.base import (
        load_settings,
        save_settings,
        settings_from_dict,
        settings_to_dict,
    )
    from workstation.core.errors import WorkstationError

    assert load_settings(project, TagSettings) == TagSettings()
    tag = TagSettings(
        model="/models/wd",
        frames=6,
        aggregation="vote",
        exclude=("solo",),
        underscores=True,
        providers=("CPUExecutionProvider",),
    )
    save_settings(project, tag)
    assert load_settings(project, TagSettings) == tag
    cap = CaptionSettings(server="http://h:11434", model="llava", api_key="secret")
    save_settings(project, cap)
    saved = project.db.execute("SELECT value FROM settings WHERE key='autotag.caption'").fetchone()[
        0
    ]
    assert "secret" not in saved and '"version": 1' in saved
    assert load_settings(project, CaptionSettings).model == "llava"
    with pytest.raises(WorkstationError, match=r"TagSettings.frames: 'four' is not a valid value"):
        settings_from_dict(TagSettings, {**settings_to_dict(tag), "frames": "four"})
    with pytest.raises(WorkstationError, match="newer than this workstation"):
        settings_from_dict(TagSettings, {"version": 99})


def test_a_tag_at_the_threshold_is_left_out():
    """Strictly above, as SmilingWolf's wd-tagger app (``x[1] > general_thresh``)."""
    frames = np.stack([_probs(red_background=0.5, hatsune_miku=0.75)] * 2)
    for how in ("mean", "max", "vote"):
        at = {
            t.name
            for t in aggregate(
                frames, NAMES, CATS, TagSettings(general_threshold=0.5, aggregation=how)
            )
        }
        assert "red background" not in at
        s = TagSettings(general_threshold=0.49, character_threshold=0.75, aggregation=how)
        above = {t.name for t in aggregate(frames, NAMES, CATS, s)}
        assert "red background" in above and "hatsune miku" not in above


def test_mcut_cuts_at_the_largest_gap():
    assert mcut_threshold(np.array([0.2, 0.9, 0.4, 0.85])) == pytest.approx((0.85 + 0.4) / 2)
    assert mcut_threshold(np.array([0.7])) is None
    frame = _probs(
        red_background=0.9, blue_background=0.85, simple_background=0.4, hatsune_miku=0.3
    )
    fixed = {t.name: t for t in aggregate(frame, NAMES, CATS, TagSettings())}
    assert "simple background" in fixed and "hatsune miku" not in fixed  # 0.4 > 0.35; 0.3 < 0.85
    cut = {t.name: t for t in aggregate(frame, NAMES, CATS, TagSettings(general_mcut=True))}
    assert "simple background" not in cut and "blue background" in cut
    assert cut["red background"].threshold == pytest.approx(0.625)
    chars = {t.name: t for t in aggregate(frame, NAMES, CATS, TagSettings(character_mcut=True))}
    # characters [0.3, 0.0]: cut at 0.15; the general tags keep their threshold
    assert chars["hatsune miku"].threshold == pytest.approx(0.15)
    assert "simple background" in chars
    # the character cut never goes below 0.15: [0.14, 0.0] would cut at 0.07
    low = aggregate(_probs(hatsune_miku=0.14), NAMES, CATS, TagSettings(character_mcut=True))
    assert "hatsune miku" not in {t.name for t in low}
    # vote: each frame cut on its own; kept when at least half the frames keep it
    two = np.stack([frame, _probs(red_background=0.9, blue_background=0.2)])
    vote = aggregate(two, NAMES, CATS, TagSettings(aggregation="vote", general_mcut=True))
    assert {"red background", "blue background"} <= {t.name for t in vote}
    assert "simple background" not in {t.name for t in vote}


def test_mcut_settings_are_saved_and_read_back():
    from workstation.core.autotag.base import settings_from_dict, settings_to_dict

    s = TagSettings(general_mcut=True)
    back = settings_from_dict(TagSettings, settings_to_dict(s))
    assert back.general_mcut and not back.character_mcut
    assert not TagSettings().general_mcut and not TagSettings().character_mcut
