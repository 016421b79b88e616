"""Make the motion modules normalise each frame on its own, as ComfyUI and A1111 run them.

diffusers 0.42's ``AnimateDiffTransformer3D.forward`` reshapes its input (batch*frames, C, H, W)
to (batch, C, frames, H, W) and applies its GroupNorm to that, so the statistics are taken over
all frames together. The original AnimateDiff ``TemporalTransformer3DModel`` (all versions),
ComfyUI-AnimateDiff-Evolved (``motion_module_ad.py``, ``TemporalTransformer3DModel.forward``,
whose ``GroupNormAD`` is a plain ``F.group_norm``) and sd-webui-animatediff
(``motion_module.py``, ``TemporalTransformer3DModel.forward``) apply it to (batch*frames, C, H, W):
one set of statistics per frame. Same weights, different function; a module trained the
diffusers way is then run the other way by the people who use it.

:func:`use_per_frame_norm` swaps each motion transformer's ``norm`` for a
:class:`FrameGroupNorm` holding the very same parameters, so state_dict keys, saving and
``convert.py`` are unchanged. It is applied for every version: the temporal transformer's norm
is per frame in v1, v2 and v3 alike (v1's other difference, GroupNorm across frames in the
image UNet's resnets, is not handled here).
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D
from torch import nn

log = logging.getLogger("workstation.train")

# What the run's log and start event say about the motion modules' GroupNorm.
PER_FRAME = "per frame (as ComfyUI-AnimateDiff-Evolved and sd-webui-animatediff)"


class FrameGroupNorm(nn.GroupNorm):
    """A GroupNorm that, given (B, C, F, H, W), normalises each of the F frames separately."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if input.dim() != 5:
            return super().forward(input)
        b, c, f, h, w = input.shape
        frames = input.transpose(1, 2).reshape(b * f, c, h, w)
        out = F.group_norm(frames, self.num_groups, self.weight, self.bias, self.eps)
        return out.reshape(b, f, c, h, w).transpose(1, 2)


def per_frame(norm: nn.GroupNorm) -> FrameGroupNorm:
    """A FrameGroupNorm sharing ``norm``'s parameters (same tensors, same names)."""
    new = FrameGroupNorm(norm.num_groups, norm.num_channels, eps=norm.eps, affine=norm.affine)
    new.weight = norm.weight
    new.bias = norm.bias
    new.train(norm.training)
    return new


def use_per_frame_norm(model: nn.Module) -> int:
    """Give every AnimateDiffTransformer3D in ``model`` a per-frame GroupNorm; how many."""
    count = 0
    for module in model.modules():
        if isinstance(module, AnimateDiffTransformer3D) and type(module.norm) is nn.GroupNorm:
            module.norm = per_frame(module.norm)
            count += 1
    if count:
        log.info("motion modules: GroupNorm %s, in %d temporal transformers", PER_FRAME, count)
    return count
