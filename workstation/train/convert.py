"""Writing trained motion weights in the formats other tools load.

* ``motion_module.safetensors``: the ORIGINAL AnimateDiff key names (what A1111's extension
  loads strictly, and what ComfyUI and ``MotionAdapter.from_single_file`` detect): no ``module.``
  prefix, ``temporal_transformer.`` back in, ``attention_blocks.0/1``, ``norms.0/1``,
  ``ff_norm``, and the sinusoidal ``pos_encoder.pe`` buffer of BOTH attention blocks (diffusers
  keeps one ``pos_embed`` per transformer block and drops them on load).
* ``motion_lora.safetensors``: the motion LoRA in the original ``processor.to_q_lora.down/up``
  format (what AnimateDiff's motion LoRAs use, what ComfyUI-AnimateDiff-Evolved and A1111's
  sd-webui-animatediff load), alpha folded into the up weights (those loaders read no alpha).
* ``motion_lora_diffusers.safetensors``: the same LoRA as diffusers' ``load_lora_weights``
  reads it on an ``AnimateDiffPipeline``: peft keys under ``unet.`` (``...attn1.to_q.lora_A.
  weight``), alpha folded into ``lora_B`` (with no alpha in the file diffusers uses alpha = rank).

This is the exact inverse of diffusers' ``convert_animatediff_checkpoint_to_diffusers``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from workstation.core import atomic

_TO_ORIGINAL = {
    "norm1": "norms.0",
    "norm2": "norms.1",
    "norm3": "ff_norm",
    "attn1": "attention_blocks.0",
    "attn2": "attention_blocks.1",
}
_PROJ_NAMES = {"to_q": "to_q", "to_k": "to_k", "to_v": "to_v", "to_out.0": "to_out"}


def original_key(key: str) -> str | None:
    """``down_blocks.0.motion_modules.1.transformer_blocks.0.attn1.to_q.weight`` ->
    ``down_blocks.0.motion_modules.1.temporal_transformer.transformer_blocks.0.
    attention_blocks.0.to_q.weight``; None for keys that are not motion weights."""
    parts = key.split(".")
    try:
        i = parts.index("motion_modules")
    except ValueError:
        return None
    head, tail = parts[: i + 2], parts[i + 2 :]
    if tail and tail[0] == "transformer_blocks":
        tail = tail[:2] + [_TO_ORIGINAL.get(p, p) for p in tail[2:3]] + tail[3:]
    return ".".join(head + ["temporal_transformer"] + tail)


def to_original(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Diffusers motion-module weights (MotionAdapter or UNetMotionModel keys) in the original
    AnimateDiff layout, with both ``pos_encoder.pe`` buffers per transformer block."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if ".pos_embed.pe" in key:
            block = original_key(key.replace(".pos_embed.pe", ".attn1.x"))
            assert block is not None
            base = block.rsplit(".attention_blocks.0.", 1)[0]
            for j in (0, 1):
                out[f"{base}.attention_blocks.{j}.pos_encoder.pe"] = _plain(value).clone()
            continue
        new = original_key(key)
        if new is not None:
            out[new] = _plain(value)
    return out


def _plain(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", torch.float32 if t.is_floating_point() else t.dtype).contiguous()


def merge_lora(state: dict[str, torch.Tensor], scale: float) -> dict[str, torch.Tensor]:
    """Fold peft LoRA weights into their base layers: plain keys, ``W + scale * B @ A``."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if ".lora_A." in key or ".lora_B." in key:
            continue
        if ".base_layer." in key:
            plain = key.replace(".base_layer.", ".")
            if key.endswith(".weight"):
                stem = key.removesuffix(".base_layer.weight")
                a = state.get(f"{stem}.lora_A.default.weight")
                b = state.get(f"{stem}.lora_B.default.weight")
                if a is not None and b is not None:
                    value = value.float() + scale * (b.float() @ a.float())
            out[plain] = value
        else:
            out[key] = value
    return out


def lora_to_original(state: dict[str, torch.Tensor], scale: float) -> dict[str, torch.Tensor]:
    """peft ``...attn1.to_q.lora_A/B.default.weight`` -> original ``...attention_blocks.0.
    processor.to_q_lora.down/up.weight``, ``up`` multiplied by ``scale`` (= alpha / rank)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        for tag, kind in ((".lora_A.default.weight", "down"), (".lora_B.default.weight", "up")):
            if not key.endswith(tag):
                continue
            stem = key.removesuffix(tag)  # ...transformer_blocks.0.attn1.to_out.0
            attn, _, proj = stem.rpartition(".attn")
            attn_index, _, proj_name = proj.partition(".")
            block = original_key(f"{attn}.attn{attn_index}.x")
            assert block is not None
            new = (
                block.removesuffix(".x") + f".processor.{_PROJ_NAMES[proj_name]}_lora.{kind}.weight"
            )
            v = _plain(value)
            out[new] = v * scale if kind == "up" else v
    return out


def lora_to_diffusers(state: dict[str, torch.Tensor], scale: float) -> dict[str, torch.Tensor]:
    """peft ``...attn1.to_q.lora_A/B.default.weight`` -> ``unet....attn1.to_q.lora_A/B.weight``
    (diffusers' LoRA file layout), ``lora_B`` multiplied by ``scale`` (= alpha / rank)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        for tag, name in (
            (".lora_A.default.weight", "lora_A"),
            (".lora_B.default.weight", "lora_B"),
        ):
            if key.endswith(tag) and ".motion_modules." in key:
                v = _plain(value)
                out[f"unet.{key.removesuffix(tag)}.{name}.weight"] = (
                    v * scale if name == "lora_B" else v
                )
    return out


def save_safetensors(
    state: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None
) -> Path:
    """Atomic write (:func:`workstation.core.atomic.replacing`): the final name only ever holds
    a whole file."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic.replacing(path) as tmp:
            save_file(state, str(tmp), metadata=metadata or {})
    except OSError as exc:
        raise atomic.write_error(path, exc) from None
    return path
