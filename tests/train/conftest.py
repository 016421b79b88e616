"""Tiny random models and a tiny dataset export, built in code, loaded like real ones."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402  (the train extra: pip install -e .[train])

from workstation.core import synth  # noqa: E402
from workstation.train.launch import TrainSettings  # noqa: E402

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def write_tokenizer(folder: Path) -> None:
    """A CLIP BPE tokenizer over single letters: vocab.json + merges.txt written by hand."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in LETTERS:
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")


def build_tiny_sd(folder: Path) -> Path:
    """SD1.5 layout, tiny: UNet 32/64 channels, 2-block VAE, 2-layer CLIP text encoder."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=16, in_channels=4,
        out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
        norm_num_groups=2)
    vae = AutoencoderKL(block_out_channels=(32, 64), in_channels=3, out_channels=3,
                        down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4,
                        norm_num_groups=2, sample_size=32)
    write_tokenizer(folder / "_tok")
    tokenizer = CLIPTokenizer(str(folder / "_tok" / "vocab.json"),
                              str(folder / "_tok" / "merges.txt"), model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer.get_vocab()), hidden_size=32, intermediate_size=37,
        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
        projection_dim=32, bos_token_id=0, eos_token_id=1, pad_token_id=1))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   unet=unet, scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(folder / "sd"))
    return folder / "sd"


def build_tiny_adapter(folder: Path, mid_block: bool = False):
    from diffusers import MotionAdapter

    torch.manual_seed(1)
    adapter = MotionAdapter(block_out_channels=(32, 64), motion_layers_per_block=2,
                            motion_norm_num_groups=2, motion_num_attention_heads=8,
                            motion_max_seq_length=32, use_motion_mid_block=mid_block)
    with torch.no_grad():  # random, non-zero output projections: the module does something
        for name, p in adapter.named_parameters():
            if "proj_out" in name:
                p.normal_(0, 0.02)
    adapter.save_pretrained(str(folder))
    return adapter


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """``sd``: diffusers folder; ``adapter``: MotionAdapter folder (v3 layout);
    ``motion_file``: the same module in the original AnimateDiff format."""
    from workstation.train.convert import save_safetensors, to_original

    root = tmp_path_factory.mktemp("tiny-models")
    sd = build_tiny_sd(root)
    adapter = build_tiny_adapter(root / "adapter")
    motion_file = save_safetensors(to_original(adapter.state_dict()),
                                   root / "mm_tiny_v3.safetensors")
    return {"sd": sd, "adapter": root / "adapter", "motion_file": motion_file}


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory) -> Path:
    """metadata.jsonl export: 2 good clips (70 and 40 frames), one of 20 frames (stride gets
    lowered), one of 5 frames (too short) and a broken file."""
    root = tmp_path_factory.mktemp("export")
    clips = root / "clips"
    lines = []
    for name, frames, kind, caption in [
        ("a.mp4", 70, "shapes", "red ball moves left"),
        ("b.mp4", 40, "fast", "camera pans right"),
        ("c.mp4", 20, "texture", "slow zoom"),
        ("d.mp4", 5, "shapes", "too short"),
    ]:
        synth.write_video(clips / name, synth.Sequence([synth.Shot(kind, frames, seed=frames)]),
                          width=64, height=48, gop=10)
        lines.append({"video_path": f"clips/{name}", "caption": caption})
    (clips / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 10)
    lines.append({"video_path": "clips/broken.mp4", "caption": "broken"})
    (root / "metadata.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return root


@pytest.fixture()
def make_settings(tiny_models, tiny_export):
    """``make_settings(output, **overrides)``: the fast recipe on the tiny models and export."""

    def make(output: Path, **kw) -> TrainSettings:
        return tiny_settings(tiny_models, tiny_export, output, **kw)

    return make


def tiny_settings(models: dict[str, Path], export: Path, output: Path, **kw) -> TrainSettings:
    """The fast recipe: 32 px, 8 frames at stride 4, no workers, no warm-up, 2 sample steps."""
    base = dict(dataset=str(export), base_model=str(models["sd"]), output=str(output),
                resolution=32, frames=8, stride=4, max_steps=4, checkpoint_every=2,
                keep_checkpoints=1, sample_every=0, sample_steps=2, num_workers=0,
                lr_warmup_steps=0, learning_rate=1e-3)
    base.update(kw)
    return TrainSettings(**base)


@pytest.fixture()
def fresh_accelerate():
    """accelerate keeps process-wide state; each in-process run starts from a clean one."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


# Two cores shared with other jobs: one intra-op thread each is several times faster than
# OpenMP threads spinning against each other (measured: ~20 s vs ~1 s per tiny step).
torch.set_num_threads(1)
