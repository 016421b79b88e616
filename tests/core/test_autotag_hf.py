"""The transformers video captioner on a tiny random-weight Qwen2.5-VL built here, offline.

The caption is random text; what is checked is the pipeline: sampled frames -> processor (video
input) -> generate -> decode -> stored as the auto caption, manual captions untouched, the
model loaded through the same ``from_pretrained`` path with HF_HUB_OFFLINE=1, clear errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from autotag_fixtures import add_clip, solid, write_clip

from workstation import cli
from workstation.core import review
from workstation.core.autotag import CaptionerKind, CaptionSettings, ModelError
from workstation.core.autotag.hf_captioner import (
    HFCaptioner,
    caption_and_free,
    check_model_source,
    choose_device,
    load_device,
    save_device,
)
from workstation.core.progress import drive

TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% for c in m['content'] %}"
    "{% if c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_vlm(folder: Path) -> Path:
    """A Qwen2.5-VL with one text and one vision layer (hidden 32), a byte-level tokenizer
    (256 byte tokens + Qwen's special tokens) and the real Qwen2-VL image/video processors."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = [
        "<|endoftext|>",
        "<|im_start|>",
        "<|im_end|>",
        "<|vision_start|>",
        "<|vision_end|>",
        "<|image_pad|>",
        "<|video_pad|>",
    ]
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    fast.chat_template = TEMPLATE
    ids = {s: fast.convert_tokens_to_ids(s) for s in specials}
    px = {"min_pixels": 28 * 28 * 4, "max_pixels": 28 * 28 * 16}  # few video tokens: fast
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**px),
        tokenizer=fast,
        video_processor=Qwen2VLVideoProcessor(**px),
        chat_template=TEMPLATE,
    )
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(fast),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "max_position_embeddings": 2048,
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
            "bos_token_id": ids["<|im_start|>"],
        },
        vision_config={
            "depth": 1,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 32,
            "fullatt_block_indexes": [0],
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 56,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(0)
    Qwen2_5_VLForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny-qwen25vl"))


@pytest.fixture()
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # an empty cache


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hf-clips")
    return [
        write_clip(d / "red.mp4", solid((200, 30, 30), n=24, w=160, h=96)),
        write_clip(d / "blue.mp4", solid((30, 30, 200), n=24, w=160, h=96)),
    ]


def test_device_choice_on_cpu():
    assert choose_device("cpu") == ("cpu", "float32")
    with pytest.raises(Exception, match="device"):
        choose_device("tpu")


def test_pipeline_stores_auto_caption_and_keeps_manual(project, tiny_vlm, clip_files, offline):
    a = add_clip(project, clip_files[0], 24)
    b = add_clip(project, clip_files[1], 24)
    review.set_caption(project, [b], "my own words")
    settings = CaptionSettings(
        backend=CaptionerKind.TRANSFORMERS,
        model=str(tiny_vlm),
        server="",
        sample_fps=4,
        max_frames=4,
        max_tokens=8,
        temperature=0,
        prompt="Describe. Tags: {tags}",
    )
    summary = drive(caption_and_free(project, None, settings, device="cpu"))
    assert summary.captioned == [a] and summary.kept_manual == [b] and not summary.failed
    assert summary.model == f"transformers:{tiny_vlm}"
    auto = review.caption(project, a)
    assert auto.source == "auto" and auto.text and auto.model == summary.model
    assert auto.prompt == "Describe. Tags: none"
    assert review.caption(project, b).text == "my own words"
    # a second run skips the captioned clip unless redo
    again = drive(caption_and_free(project, None, settings, device="cpu"))
    assert again.skipped == [a] and again.kept_manual == [b]


def test_batch_of_clips_of_different_lengths(tiny_vlm, offline):
    cap = HFCaptioner.load(str(tiny_vlm), device="cpu", max_tokens=6, temperature=0)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (96, 160, 3), dtype=np.uint8) for _ in range(4)]
    many = cap.caption_many([(frames, "a"), (frames[:2], "a much longer prompt")])
    assert len(many) == 2 and all(isinstance(t, str) for t in many)
    # greedy decoding: the batched (left-padded) row equals the single run
    assert cap.caption_many([(frames, "a")])[0] == many[0]
    # close() stops a generate still running (after a cancel) at its next token
    cap.max_tokens = 50
    cap.stop.set()
    assert all(len(t) <= 4 for t in cap.caption_many([(frames, "a")]))
    cap.close()
    assert cap.model is None


def test_clear_errors(tmp_path, tiny_vlm, offline):
    with pytest.raises(ModelError, match="no such model folder"):
        check_model_source(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        check_model_source(str(empty))
    (empty / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="no weights"):
        check_model_source(str(empty))
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "config.json").write_text(json.dumps({"model_type": "not-a-model"}))
    (wrong / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(ModelError, match=str(wrong)):
        HFCaptioner.load(str(wrong), device="cpu")
    with pytest.raises(ModelError, match="not in the Hugging Face cache and HF_HUB_OFFLINE"):
        HFCaptioner.load("someone/not-downloaded-vlm", device="cpu")
    with pytest.raises(ModelError, match="neither a model folder nor"):
        check_model_source("no-slash-name")


def test_device_setting_is_stored(project):
    assert load_device(project) == "auto"
    save_device(project, "cpu")
    assert load_device(project) == "cpu"
    with pytest.raises(Exception, match="device"):
        save_device(project, "gpu9")


def test_cli_caption_with_local_model(project, tiny_vlm, clip_files, offline, capsys):
    a = add_clip(project, clip_files[0], 24)
    rc = cli.main(
        [
            "-q",
            "caption",
            str(project.root),
            "--model",
            str(tiny_vlm),
            "--device",
            "cpu",
            "--max-frames",
            "2",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and out["captioned"] == [a]
    assert review.caption(project, a).source == "auto"
