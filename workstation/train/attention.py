"""``--attention``: which kernel computes attention in the UNet and its motion modules.

* ``sdpa`` (and ``auto``): diffusers' default ``AttnProcessor2_0``, PyTorch's
  ``scaled_dot_product_attention`` (which itself picks a flash or memory-efficient kernel on a
  GPU when the inputs allow it).
* ``math``: diffusers' ``AttnProcessor``: ``baddbmm`` + softmax, the plain reference.
* ``xformers``: diffusers' ``XFormersAttnProcessor`` (``xformers.ops.memory_efficient_attention``).
* ``flash``: :class:`FlashAttnProcessor`, Dao's ``flash_attn_func`` (flash-attn package; CUDA,
  fp16/bf16 only).

Every ``Attention`` module of the motion UNet gets the processor: the spatial self- and
cross-attention and the motion modules' temporal attention alike (the training step, the
validation samples and the checkpointed recompute all run through them).  A choice whose
package is missing is refused before anything loads (:func:`workstation.train.checks.
attention_problem`).
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers.models.attention_processor import Attention, AttnProcessor, AttnProcessor2_0

from workstation.core.errors import WorkstationError


class FlashAttnProcessor:
    """Attention through ``flash_attn.flash_attn_func`` ((batch, tokens, heads, head_dim)
    layout, no mask: the UNet's attention never has one).  Half-precision inputs only, as
    flash-attn takes; an fp32 input is cast to the autocast dtype (bf16 by default) and back."""

    def __init__(self) -> None:
        # Optional package, checked before loading (checks.attention_problem); no stubs.
        from flash_attn import flash_attn_func  # type: ignore[import-not-found]

        self.attend = flash_attn_func

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> torch.Tensor:
        if attention_mask is not None or attn.spatial_norm is not None:
            raise ValueError("--attention flash: this attention has a mask or a spatial norm")
        residual = hidden_states
        shape = hidden_states.shape
        if hidden_states.ndim == 4:  # (b, c, h, w) -> (b, h*w, c)
            hidden_states = hidden_states.flatten(2).transpose(1, 2)
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        if encoder_hidden_states is not None and attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        q, k, v = attn.to_q(hidden_states), attn.to_k(context), attn.to_v(context)
        b, heads = q.shape[0], attn.heads
        q, k, v = (t.unflatten(-1, (heads, t.shape[-1] // heads)) for t in (q, k, v))
        if attn.norm_q is not None:
            q = attn.norm_q(q)
        if attn.norm_k is not None:
            k = attn.norm_k(k)
        dtype = q.dtype
        if dtype not in (torch.float16, torch.bfloat16):
            half = torch.get_autocast_dtype("cuda") if q.is_cuda else torch.bfloat16
            q, k, v = q.to(half), k.to(half), v.to(half)
        out = self.attend(q, k, v, dropout_p=0.0, softmax_scale=attn.scale, causal=False)
        out = out.to(dtype).reshape(b, -1, q.shape[-2] * q.shape[-1])
        out = attn.to_out[1](attn.to_out[0](out))
        if len(shape) == 4:
            out = out.transpose(1, 2).reshape(shape)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


def check_device(choice: str, device: torch.device) -> None:
    """xformers' and flash-attn's kernels run on NVIDIA GPUs only: refuse them elsewhere before
    the models load, naming the device."""
    if choice in ("xformers", "flash") and device.type != "cuda":
        raise WorkstationError(
            f"--attention {choice}: runs on an NVIDIA GPU only, and this run's device is "
            f"{device.type}; use --attention sdpa"
        )


def processor_for(choice: str) -> Any:
    """A new processor for ``choice`` (one of TrainSettings.attention's choices)."""
    if choice in ("auto", "sdpa"):
        return AttnProcessor2_0()
    if choice == "math":
        return AttnProcessor()
    if choice == "xformers":
        from diffusers.models.attention_processor import XFormersAttnProcessor

        return XFormersAttnProcessor()
    if choice == "flash":
        return FlashAttnProcessor()
    raise ValueError(f"unknown attention {choice!r}")


def use_attention(model: torch.nn.Module, choice: str) -> int:
    """Give every ``Attention`` module of ``model`` the ``choice`` processor; returns how many
    got it."""
    processor = processor_for(choice)
    count = 0
    for module in model.modules():
        if isinstance(module, Attention):
            module.set_processor(processor)
            count += 1
    return count
