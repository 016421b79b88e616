"""Random-weight SD1.5-layout models for tests and benchmarks, written as real model folders.

They go through exactly the loading code real models do (``from_pretrained`` of a diffusers
folder, ``from_single_file`` of an original-format motion module).  ``size="sd15"`` has the real
SD1.5 shapes (UNet 320-1280, VAE 128-512, 12-layer CLIP-L text encoder) for timing and memory;
``size="tiny"`` (UNet 32/64, 2-layer text encoder) trains a step in about a second on a CPU.
The tokenizer is a hand-written BPE over single letters: no download needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import torch

if TYPE_CHECKING:
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    from diffusers.models.unets.unet_motion_model import MotionAdapter
    from transformers import CLIPTextModel, CLIPTokenizer

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def write_letter_tokenizer(folder: Path) -> tuple[Path, Path]:
    """vocab.json + merges.txt of a CLIP BPE tokenizer whose tokens are single letters."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in LETTERS:
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder / "vocab.json", folder / "merges.txt"


class _TextSizes(TypedDict, total=False):
    """The CLIPTextConfig arguments that differ between the sizes."""

    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    projection_dim: int
    hidden_act: str


def build_sd_folder(
    folder: Path, size: str = "tiny", seed: int = 0, dtype: torch.dtype = torch.float32
) -> Path:
    """Write a random StableDiffusionPipeline folder (``folder/sd``) and return its path."""
    # From the defining modules, for the type checker (see models.py).  The pipeline's module
    # imports the model classes too, so nothing is imported between the seed and the models.
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import (
        StableDiffusionPipeline,
    )
    from diffusers.schedulers.scheduling_ddim import DDIMScheduler

    torch.manual_seed(seed)
    unet, vae, text_cfg = _random_unet_vae(size)
    tokenizer, text_encoder = _random_text_encoder(folder, size, text_cfg)
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        # No safety checker (requires_safety_checker=False): diffusers takes None untyped.
        safety_checker=None,  # type: ignore[arg-type]
        feature_extractor=None,  # type: ignore[arg-type]
        requires_safety_checker=False,
    )
    pipe.to(dtype=dtype)
    pipe.save_pretrained(str(folder / "sd"))
    return folder / "sd"


def _random_unet_vae(size: str) -> tuple[UNet2DConditionModel, AutoencoderKL, _TextSizes]:
    """A random UNet and VAE of ``size`` (made in this order, from the current seed) and the
    text encoder's sizes."""
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel

    if size == "tiny":
        unet = UNet2DConditionModel(
            block_out_channels=(32, 64),
            layers_per_block=2,
            sample_size=16,
            in_channels=4,
            out_channels=4,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=32,
            norm_num_groups=2,
        )
        vae = AutoencoderKL(
            block_out_channels=(32, 64),
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 2,
            up_block_types=("UpDecoderBlock2D",) * 2,
            latent_channels=4,
            norm_num_groups=2,
            sample_size=32,
        )
        text_cfg = _TextSizes(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            projection_dim=32,
        )
    elif size == "sd15":
        unet = UNet2DConditionModel(
            sample_size=64,
            in_channels=4,
            out_channels=4,
            layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280),
            cross_attention_dim=768,
            attention_head_dim=8,
            norm_num_groups=32,
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        )
        vae = AutoencoderKL(
            block_out_channels=(128, 256, 512, 512),
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            latent_channels=4,
            layers_per_block=2,
            sample_size=512,
        )
        text_cfg = _TextSizes(
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            projection_dim=768,
            hidden_act="quick_gelu",
        )
    else:
        raise ValueError(f"size {size!r}: expected 'tiny' or 'sd15'")
    return unet, vae, text_cfg


def _random_text_encoder(
    folder: Path, size: str, text_cfg: _TextSizes
) -> tuple[CLIPTokenizer, CLIPTextModel]:
    """The letter tokenizer (written under ``folder/_tokenizer``) and a random CLIP text encoder."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab, merges = write_letter_tokenizer(folder / "_tokenizer")
    tokenizer = CLIPTokenizer(str(vocab), str(merges), model_max_length=77)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            # sd15 keeps CLIP-L's 49408-row embedding (memory as real); the letters use 54 of them
            vocab_size=49408 if size == "sd15" else len(tokenizer.get_vocab()),
            max_position_embeddings=77,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            **text_cfg,
        )
    )
    return tokenizer, text_encoder


def build_adapter_folder(
    folder: Path, size: str = "tiny", mid_block: bool = False, seed: int = 1
) -> MotionAdapter:
    """A random MotionAdapter matching :func:`build_sd_folder`, saved to ``folder``."""
    from diffusers.models.unets.unet_motion_model import MotionAdapter

    torch.manual_seed(seed)
    if size == "tiny":
        adapter = MotionAdapter(
            block_out_channels=(32, 64),
            motion_layers_per_block=2,
            motion_norm_num_groups=2,
            motion_num_attention_heads=8,
            motion_max_seq_length=32,
            use_motion_mid_block=mid_block,
        )
    else:
        adapter = MotionAdapter(motion_max_seq_length=32, use_motion_mid_block=mid_block)
    with torch.no_grad():  # non-zero output projections, so the module does something
        for name, p in adapter.named_parameters():
            if "proj_out" in name:
                p.normal_(0, 0.02)
    adapter.save_pretrained(str(folder))
    return adapter
