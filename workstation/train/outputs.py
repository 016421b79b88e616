"""The files a finished run leaves for other tools: the motion module in the original key
layout, a diffusers ``motion_adapter/`` folder and, for LoRA mode, the LoRA on its own (in the
original layout and in diffusers')."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def export_outputs(
    unet, adapter_config: dict, output: Path, mode: str, lora_scale: float, described: str
) -> dict[str, str]:
    """Write motion_module.safetensors (original keys), motion_adapter/ and, for LoRA mode,
    motion_lora.safetensors (original LoRA keys, alpha folded in: ComfyUI-AnimateDiff-Evolved,
    A1111) and motion_lora_diffusers.safetensors (diffusers' ``load_lora_weights``)."""
    # From the defining module, for the type checker (see models.py).
    from diffusers.models.unets.unet_motion_model import MotionAdapter

    from workstation.train import convert

    state = unet.state_dict()
    written: dict[str, str] = {}
    meta = {"format": "pt", "trained_with": "motion-dataset-workstation", "base": described}
    if mode == "lora":
        lora = convert.lora_to_original(state, lora_scale)
        written["motion_lora"] = str(
            convert.save_safetensors(lora, output / "motion_lora.safetensors", meta)
        )
        written["motion_lora_diffusers"] = str(
            convert.save_safetensors(
                convert.lora_to_diffusers(state, lora_scale),
                output / "motion_lora_diffusers.safetensors",
                meta,
            )
        )
        state = convert.merge_lora(state, lora_scale)
    motion = {k: v.detach().float().cpu() for k, v in state.items() if ".motion_modules." in k}
    written["motion_module"] = str(
        convert.save_safetensors(
            convert.to_original(motion), output / "motion_module.safetensors", meta
        )
    )
    adapter = MotionAdapter.from_config(adapter_config)
    adapter.load_state_dict(motion)
    final = output / "motion_adapter"
    tmp = output / ".motion_adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    adapter.save_pretrained(str(tmp), safe_serialization=True)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    written["motion_adapter"] = str(final)
    return written
