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
is per frame in v1, v2 and v3 alike.

v1 differs the other way round. The original AnimateDiff builds v2/v3 with
``use_inflated_groupnorm: true`` (``configs/inference/inference-v2.yaml``, ``-v3.yaml``): the
image UNet's ``ResnetBlock3D.norm1/norm2`` and ``conv_norm_out`` are ``InflatedGroupNorm``
(per frame, ``animatediff/models/resnet.py``). v1's config lacks the flag, so there they are a
plain ``nn.GroupNorm`` on (b, c, f, h, w): across all frames. sd-webui-animatediff reproduces
that for v1 only (``hack_groupnorm``: ``GroupNorm32.forward`` rearranged "(b f) c h w -> b c f h
w"; GroupNorm32 is ldm's resnet and output norm; its Forge port only warns that it does not,
``enable_gn_hack``), ComfyUI-AnimateDiff-Evolved too
(``groupnorm_mm_factory``, which patches every ``torch.nn.GroupNorm`` of the model during
sampling, so its spatial transformers' norms as well; the original and A1111 keep those per
frame, and so does this module). diffusers normalises them per frame for every version;
:func:`match_ui_norms` gives a v1 UNet :class:`AcrossFramesGroupNorm` there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from diffusers.models.resnet import ResnetBlock2D
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D
from torch import nn

log = logging.getLogger("workstation.train")

PER_FRAME = "motion modules' GroupNorm per frame"
V1_ACROSS = "; v1: resnets' and output GroupNorm across frames"


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
        log.info("%s, in %d temporal transformers", PER_FRAME, count)
    return count


class _Frames:
    """The frame count of the UNet's current call, set by a pre-hook, read by the norms."""

    count = 1


class AcrossFramesGroupNorm(nn.GroupNorm):
    """A GroupNorm that, given ((B*F), C, H, W), normalises over all F frames of each item."""

    frames: _Frames

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        f = self.frames.count
        if input.dim() != 4 or f <= 1 or input.shape[0] % f:
            return super().forward(input)
        bf, c, h, w = input.shape
        video = input.reshape(bf // f, f, c, h, w).transpose(1, 2)
        out = F.group_norm(video, self.num_groups, self.weight, self.bias, self.eps)
        return out.transpose(1, 2).reshape(bf, c, h, w)


def across_frames(norm: nn.GroupNorm, frames: _Frames) -> AcrossFramesGroupNorm:
    """An AcrossFramesGroupNorm sharing ``norm``'s parameters, reading ``frames``."""
    new = AcrossFramesGroupNorm(
        norm.num_groups, norm.num_channels, eps=norm.eps, affine=norm.affine
    )
    new.weight = norm.weight
    new.bias = norm.bias
    new.frames = frames
    new.train(norm.training)
    return new


def is_v1(config: Mapping[str, Any]) -> bool:
    """A MotionAdapter config of the v1 layout: 24 positions, no mid block."""
    return config["motion_max_seq_length"] == 24 and not config["use_motion_mid_block"]


def describe_norms(config: Mapping[str, Any]) -> str:
    """What :func:`match_ui_norms` does for a module with this config (for the run's log)."""
    return PER_FRAME + (V1_ACROSS if is_v1(config) else "")


def use_v1_norms(unet: nn.Module) -> int:
    """Make the resnets' norm1/norm2 and conv_norm_out of a motion UNet span all frames."""
    frames = _Frames()
    count = 0
    for module in list(unet.modules()):
        names: tuple[str, ...] = ("norm1", "norm2") if isinstance(module, ResnetBlock2D) else ()
        if module is unet:
            names = ("conv_norm_out",)
        for attr in names:
            old = getattr(module, attr, None)
            if type(old) is nn.GroupNorm:
                setattr(module, attr, across_frames(old, frames))
                count += 1

    def note_frames(_: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        sample = args[0] if args else kwargs["sample"]
        frames.count = int(sample.shape[2])  # (B, C, F, H, W)

    unet.register_forward_pre_hook(note_frames, with_kwargs=True)
    return count


def match_ui_norms(unet: nn.Module, config: Mapping[str, Any]) -> str:
    """Make ``unet`` (a motion UNet built with ``config``) normalise as the UIs do; says how."""
    use_per_frame_norm(unet)
    if is_v1(config):
        count = use_v1_norms(unet)
        log.info("v1 motion module: %d resnet/output GroupNorms across frames", count)
    return describe_norms(config)
