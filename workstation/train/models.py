"""Loading the base model and the motion module, offline, and building the trainable UNet.

Base model: a diffusers SD1.5 folder or a single-file checkpoint (loaded with the configs of a
local diffusers folder, since ``from_single_file`` would otherwise fetch them from the Hub).
Motion module: an original AnimateDiff file (v1/v2/v3 told apart by its keys; a released file
or a checkpoint of AnimateDiff's own train.py, see :func:`motion_state`), a diffusers
MotionAdapter folder, or nothing (a fresh module whose output projections start at zero, so the
UNet starts out as the image model).
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

# From the defining modules: diffusers' package-level names are, to a type checker, the
# placeholders it exports when torch is missing (its TYPE_CHECKING block imports those first).
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from diffusers.models.unets.unet_motion_model import MotionAdapter, UNetMotionModel
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
from transformers import CLIPTextModel, CLIPTokenizer

from workstation.core.errors import WorkstationError
from workstation.train.motion_norm import match_ui_norms

log = logging.getLogger("workstation.train")

MOTION_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
# The key both diffusers and ComfyUI recognise an AnimateDiff motion module by.
PE_KEY = (
    "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0."
    "attention_blocks.0.pos_encoder.pe"
)


@dataclass
class BaseModel:
    unet: UNet2DConditionModel
    vae: AutoencoderKL
    text_encoder: CLIPTextModel
    tokenizer: CLIPTokenizer


def training_scheduler() -> DDPMScheduler:
    """AnimateDiff's training noise schedule: linear betas 0.00085-0.012, 1000 steps, epsilon."""
    return DDPMScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="linear",
        prediction_type="epsilon",
        clip_sample=False,
    )


def load_base(path: str | Path, config: str | Path = "") -> BaseModel:
    """Load the SD1.5 parts from a diffusers folder or a single-file checkpoint."""
    p = Path(path)
    if p.is_dir():
        missing = [s for s in ("unet", "vae", "text_encoder", "tokenizer") if not (p / s).is_dir()]
        if missing:
            raise WorkstationError(
                f"{p}: not a diffusers SD1.5 folder (missing {', '.join(missing)}/)"
            )
        return BaseModel(
            UNet2DConditionModel.from_pretrained(p, subfolder="unet", local_files_only=True),
            AutoencoderKL.from_pretrained(p, subfolder="vae", local_files_only=True),
            CLIPTextModel.from_pretrained(p, subfolder="text_encoder", local_files_only=True),
            CLIPTokenizer.from_pretrained(p, subfolder="tokenizer", local_files_only=True),
        )
    if not p.is_file():
        raise WorkstationError(f"{p}: base model not found")
    if p.suffix not in (".safetensors", ".ckpt"):
        raise WorkstationError(
            f"{p}: base model must be a diffusers folder or a .safetensors/.ckpt checkpoint"
        )
    kwargs: dict[str, bool | str] = {"local_files_only": True}
    if config:
        if not (Path(config) / "model_index.json").exists():
            raise WorkstationError(
                f"{config}: --base-config must be a diffusers SD1.5 folder (with model_index.json)"
            )
        kwargs["config"] = str(config)
    try:
        pipe = StableDiffusionPipeline.from_single_file(str(p), safety_checker=None, **kwargs)
    except Exception as exc:
        hint = (
            ""
            if config
            else (
                " (offline, a single-file checkpoint needs --base-config: a "
                "local diffusers SD1.5 folder to take the configs from)"
            )
        )
        raise WorkstationError(f"{p}: cannot load the checkpoint: {exc}{hint}") from None
    return BaseModel(pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        loaded: Any = load_file(str(path))
    else:
        loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    return motion_state(loaded)


def motion_state(loaded: Any) -> dict[str, torch.Tensor]:
    """The motion-module weights of a loaded checkpoint, in the original AnimateDiff keys.

    Reads what AnimateDiff's own ``train.py`` saves as well as the released files:
    ``{"epoch", "global_step", "state_dict": ddp_unet.state_dict()}`` (a ``state_dict`` or
    ``model`` wrapper), keys with DataParallel/DDP's ``module.`` prefix, the whole UNet (only
    ``motion_modules`` keys are kept), and no ``pos_encoder.pe`` (AnimateDiff later made that
    buffer non-persistent): the sinusoidal tables are put back (:func:`add_missing_pe`).
    """
    for wrapper in ("state_dict", "model"):
        if isinstance(loaded, dict) and isinstance(loaded.get(wrapper), dict):
            loaded = loaded[wrapper]
    if not isinstance(loaded, dict):
        raise ValueError("the file holds no state dict")
    sd = {
        k.removeprefix("module."): v
        for k, v in loaded.items()
        if isinstance(k, str) and isinstance(v, torch.Tensor)
    }
    motion = {k: v for k, v in sd.items() if ".motion_modules." in k}
    return add_missing_pe(motion or sd)


def add_missing_pe(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Put back every attention block's ``pos_encoder.pe`` ([1, max_len, C] sinusoidal table)
    that a checkpoint lacks: max_len 32 (v2/v3; a file with no table and no mid block cannot
    say v1's 24, and the table's values do not depend on its length), C from ``to_q``."""
    from diffusers.models.embeddings import SinusoidalPositionalEmbedding

    present = [v for k, v in sd.items() if k.endswith(".pos_encoder.pe")]
    max_len = int(present[0].shape[1]) if present else 32
    out = dict(sd)
    for key, value in sd.items():
        if ".attention_blocks." in key and key.endswith(".to_q.weight"):
            pe_key = key.removesuffix("to_q.weight") + "pos_encoder.pe"
            if pe_key not in out:
                table = SinusoidalPositionalEmbedding(int(value.shape[1]), max_len).get_buffer("pe")
                out[pe_key] = table.to(value.dtype)
    return out


def detect_version(sd: dict[str, torch.Tensor]) -> str:
    """v2 has a mid block; v1's positional table is 24 long, v3's 32 (no mid block)."""
    if PE_KEY not in sd:
        raise ValueError(
            f"no AnimateDiff motion module keys (expected {PE_KEY.rsplit('.', 3)[0]}...)"
        )
    if any(k.startswith("mid_block.") for k in sd):
        return "v2"
    return "v1" if sd[PE_KEY].shape[1] == 24 else "v3"


def adapter_config_from_keys(sd: dict[str, torch.Tensor], norm_groups: int = 32) -> dict[str, Any]:
    """A MotionAdapter config that matches an original-format state dict."""
    blocks: dict[int, int] = {}
    channels: dict[int, int] = {}
    for k, v in sd.items():
        parts = k.split(".")
        if parts[0] == "down_blocks" and parts[2] == "motion_modules":
            b, m = int(parts[1]), int(parts[3])
            blocks[b] = max(blocks.get(b, 0), m + 1)
            if parts[-2] == "proj_in" and parts[-1] == "weight":
                channels[b] = v.shape[0]
    n = len(blocks)
    return {
        "block_out_channels": [channels[i] for i in range(n)],
        "motion_layers_per_block": blocks[0],
        "motion_mid_block_layers_per_block": 1,
        "motion_num_attention_heads": 8,
        "motion_norm_num_groups": norm_groups,
        "motion_max_seq_length": int(sd[PE_KEY].shape[1]),
        "use_motion_mid_block": any(k.startswith("mid_block.") for k in sd),
    }


def load_motion_adapter(
    path: str | Path, unet: UNet2DConditionModel, fresh_version: str = "v3"
) -> tuple[MotionAdapter, str]:
    """(adapter, description) from a file, a folder, or a fresh one matching ``unet``."""
    if not path:
        return fresh_adapter(unet, fresh_version), f"fresh {fresh_version} motion module"
    p = Path(path)
    if p.is_dir():
        if not (p / "config.json").exists():
            raise WorkstationError(f"{p}: not a MotionAdapter folder (no config.json)")
        adapter = MotionAdapter.from_pretrained(p, local_files_only=True)
        return adapter, f"MotionAdapter folder {p.name}"
    if not p.is_file():
        raise WorkstationError(f"{p}: motion module not found")
    if p.suffix not in MOTION_FILE_SUFFIXES:
        raise WorkstationError(
            f"{p}: motion module must be a .safetensors/.ckpt file or a MotionAdapter folder"
        )
    try:
        sd = _read_state_dict(p)
        version = detect_version(sd)
    except Exception as exc:
        raise WorkstationError(f"{p}: not an AnimateDiff motion module: {exc}") from None
    config = adapter_config_from_keys(sd, unet.config["norm_num_groups"])
    with tempfile.TemporaryDirectory(prefix="motion-config-") as tmp:
        # from_single_file converts the keys with diffusers' own code (given the cleaned-up
        # dict, not the file: it would re-read the raw keys); offline it needs a local config
        # folder, which we write from what the keys say.
        (Path(tmp) / "config.json").write_text(
            json.dumps({"_class_name": "MotionAdapter", **config})
        )
        try:
            adapter = MotionAdapter.from_single_file(sd, config=tmp, local_files_only=True)
        except Exception as exc:
            raise WorkstationError(f"{p}: cannot load the motion module: {exc}") from None
    return adapter, f"AnimateDiff {version} motion module {p.name}"


def fresh_adapter(unet: UNet2DConditionModel, version: str = "v3") -> MotionAdapter:
    """A new motion module for ``unet``; zero output projections make it start as identity."""
    adapter = MotionAdapter(
        block_out_channels=tuple(unet.config["block_out_channels"]),
        motion_layers_per_block=unet.config["layers_per_block"],
        motion_norm_num_groups=unet.config["norm_num_groups"],
        motion_num_attention_heads=8,
        motion_max_seq_length=24 if version == "v1" else 32,
        use_motion_mid_block=version == "v2",
    )
    for name, module in adapter.named_modules():
        if name.endswith("proj_out"):
            torch.nn.init.zeros_(module.weight)
            torch.nn.init.zeros_(module.bias)
    return adapter


def build_motion_unet(unet: UNet2DConditionModel, adapter: MotionAdapter) -> UNetMotionModel:
    unet_channels = unet.config["block_out_channels"]
    adapter_channels = adapter.config["block_out_channels"]
    if len(unet_channels) != len(adapter_channels) or list(unet_channels) != list(adapter_channels):
        raise WorkstationError(
            f"the motion module's channels {list(adapter_channels)} do not match "
            f"the base model's {list(unet_channels)} (an SD1.5 module is needed)"
        )
    motion = UNetMotionModel.from_unet2d(unet, adapter)
    motion.freeze_unet2d_params()
    match_ui_norms(motion, adapter.config)  # the function ComfyUI/A1111 run (motion_norm.py)
    return motion


# Attention projections of the temporal transformers: the targets of a motion LoRA.
LORA_TARGETS = (
    r".*motion_modules\.\d+\.transformer_blocks\.\d+\.attn[12]\.(to_q|to_k|to_v|to_out\.0)"
)


def add_motion_lora(unet: UNetMotionModel, rank: int, alpha: float) -> None:
    """Freeze the UNet and put a LoRA on the motion modules' attention projections (peft)."""
    from peft import LoraConfig

    for param in unet.parameters():
        param.requires_grad = False
    unet.add_adapter(
        LoraConfig(
            r=rank,
            lora_alpha=alpha,  # type: ignore[arg-type]  # peft says int; it is a float scale
            init_lora_weights="gaussian",
            target_modules=LORA_TARGETS,
        )
    )


def motion_adapter_from_unet(unet: UNetMotionModel, config: dict[str, Any]) -> MotionAdapter:
    """A MotionAdapter (with ``config``) holding the UNet's current motion weights."""
    adapter = MotionAdapter.from_config(config)
    sd = {
        k: v.detach().float().cpu()
        for k, v in unet.state_dict().items()
        if ".motion_modules." in k and "lora_" not in k
    }
    adapter.load_state_dict(sd)
    return adapter
