"""The transformers video captioner on a tiny random-weight Qwen2.5-VL built here, offline.

The caption is random text; what is checked is the pipeline: sampled frames -> processor (video
input) -> generate -> decode -> stored as the auto caption, manual captions untouched, the
model loaded through the same ``from_pretrained`` path with HF_HUB_OFFLINE=1, clear errors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from autotag_fixtures import add_clip, solid, write_clip

from workstation import cli
from workstation.core import review
from workstation.core.autotag import CaptionerKind, CaptionSettings, ModelError
from workstation.core.autotag.frames import SampledFrames, decode_frames, sample_numbers
from workstation.core.autotag.hf_captioner import (
    HFCaptioner,
    caption_and_free,
    check_model_source,
    choose_device,
    load_device,
    save_device,
    video_metadata,
)
from workstation.core.progress import drive

TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% for c in m['content'] %}"
    "{% if c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
MESSAGES = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "x"}]}]


def tiny_tokenizer():
    """A byte-level tokenizer: 256 byte tokens + Qwen's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

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
    return fast, {s: fast.convert_tokens_to_ids(s) for s in specials}


def build_tiny_vlm(folder: Path) -> Path:
    """A Qwen2.5-VL with one text and one vision layer (hidden 32), a byte-level tokenizer
    and the real Qwen2-VL image/video processors."""
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    fast, ids = tiny_tokenizer()
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


# -- timing: the processor is told when the sampled frames were taken ---------------------------
CLIP_FPS, CLIP_FRAMES = 24, 192  # an 8-second clip
SAMPLE_FPS = 2.0


def sampled_clip() -> SampledFrames:
    """16 frames of the 8-second clip at 2 fps, as the captioning stage samples them."""
    numbers = sample_numbers(CLIP_FRAMES, CLIP_FPS, SAMPLE_FPS, max_frames=16)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (56, 56, 3), dtype=np.uint8) for _ in numbers]
    return SampledFrames(images, numbers, float(CLIP_FPS), CLIP_FRAMES)


def test_qwen25_gets_the_clips_real_timing(tiny_vlm, offline):
    cap = HFCaptioner.load(str(tiny_vlm), device="cpu", sample_fps=SAMPLE_FPS)
    frames = sampled_clip()
    assert len(frames) == 16 and frames.numbers[:2] == [6, 18]
    inputs = cap._inputs([(frames, "x")])
    # second_per_grid_ts = temporal_patch_size / sampled fps: 2 frames a grid at 2 fps = 1 s
    grids = int(inputs["video_grid_thw"][0][0])
    seconds = float(inputs["second_per_grid_ts"][0])
    assert seconds == pytest.approx(1.0) and grids * seconds == pytest.approx(8.0)
    # the old call (fps only, no metadata) took the frames as 24 fps: 16 frames = 0.67 s
    old = cap.processor(
        text=[cap.processor.apply_chat_template(MESSAGES, add_generation_prompt=True)],
        videos=[np.stack(frames)],
        return_tensors="pt",
        videos_kwargs={"fps": SAMPLE_FPS, "do_sample_frames": False},
    )
    assert float(old["second_per_grid_ts"][0]) == pytest.approx(2 / 24)
    # frames without their timing: consecutive frames at the sample rate
    plain = cap._inputs([(list(frames), "x")])
    assert float(plain["second_per_grid_ts"][0]) == pytest.approx(2 / SAMPLE_FPS)
    cap.close()


def test_decoded_frames_carry_the_clip_timing(tmp_path):
    path = write_clip(tmp_path / "c.mp4", solid((90, 90, 90), n=48), fps=24)
    numbers = sample_numbers(48, 24, SAMPLE_FPS, max_frames=8)
    images = decode_frames(path, numbers).images
    assert isinstance(images, SampledFrames)
    assert images.numbers == numbers == [6, 18, 30, 42]
    assert images.fps == pytest.approx(24.0) and images.frame_count == 48
    meta = video_metadata(images, SAMPLE_FPS)
    assert meta["duration"] == pytest.approx(2.0) and meta["frames_indices"] == numbers


def test_qwen3_prompt_timestamps_are_the_clips_seconds():
    """Qwen3-VL writes '<t seconds>' before each temporal patch (mean of its two frames)."""
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    fast, _ = tiny_tokenizer()
    px = {"size": {"shortest_edge": 32 * 32 * 4, "longest_edge": 32 * 32 * 64}}
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(),
        tokenizer=fast,
        video_processor=Qwen3VLVideoProcessor(**px),
        chat_template=TEMPLATE,
    )
    cap = HFCaptioner(None, processor, model_id="tiny", device="cpu", dtype="float32")
    text = fast.decode(cap._inputs([(sampled_clip(), "x")])["input_ids"][0])
    stamps = [float(t) for t in re.findall(r"<([0-9.]+) seconds>", text)]
    assert stamps == pytest.approx([0.5 + k for k in range(8)])  # 0.5 s ... 7.5 s
    # without the metadata transformers assumes 24 fps: the 8 s clip ends at 0.6 s
    old = processor(
        text=[processor.apply_chat_template(MESSAGES, add_generation_prompt=True)],
        videos=[np.stack(sampled_clip())],
        videos_kwargs={"fps": SAMPLE_FPS, "do_sample_frames": False},
    )
    wrong = re.findall(r"<([0-9.]+) seconds>", fast.decode(old["input_ids"][0]))
    assert float(wrong[-1]) == pytest.approx(0.6)
