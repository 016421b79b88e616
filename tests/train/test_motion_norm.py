"""The motion modules compute what ComfyUI-AnimateDiff-Evolved and sd-webui-animatediff run.

``reference_temporal_transformer`` is written from their source, not from diffusers:
ComfyUI-AnimateDiff-Evolved ``animatediff/motion_module_ad.py`` (``TemporalTransformer3DModel.
forward``: ``GroupNormAD`` on the (b f) c h w input, ``proj_in``, the blocks, ``proj_out``,
residual; ``TemporalTransformerBlock.forward``: LayerNorm then attention per attention block,
then ``ff(ff_norm(x))``, each with a residual; ``VersatileAttention.forward``: "(b f) d c ->
(b d) f c", ``PositionalEncoding`` (sin on even, cos on odd channels), attention, back) and
sd-webui-animatediff ``motion_module.py`` (the same classes and order). Both normalise each
frame on its own; diffusers 0.42's ``AnimateDiffTransformer3D`` normalises across frames.

For v1 the image UNet's resnets differ the other way: ``reference_resnet_v1`` follows the
original AnimateDiff ``animatediff/models/resnet.py`` ``ResnetBlock3D.forward`` built without
``use_inflated_groupnorm`` (v1's ``configs/inference/inference-v1.yaml``): ``torch.nn.GroupNorm``
on (b, c, f, h, w), i.e. across frames, as sd-webui-animatediff's and AD-Evolved's v1 GroupNorm
hacks reproduce.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D, UNetMotionModel

from workstation.train import models
from workstation.train.motion_norm import (
    AcrossFramesGroupNorm,
    FrameGroupNorm,
    describe_norms,
    use_per_frame_norm,
)

CHANNELS, HEADS, GROUPS, MAX_LEN, LAYERS = 16, 2, 4, 32, 2


def tiny_transformer() -> AnimateDiffTransformer3D:
    """Built with the arguments diffusers' motion blocks use, tiny, with random weights."""
    torch.manual_seed(0)
    module = AnimateDiffTransformer3D(
        num_attention_heads=HEADS,
        in_channels=CHANNELS,
        num_layers=LAYERS,
        norm_num_groups=GROUPS,
        cross_attention_dim=None,
        attention_bias=False,
        activation_fn="geglu",
        positional_embeddings="sinusoidal",
        num_positional_embeddings=MAX_LEN,
        attention_head_dim=CHANNELS // HEADS,
        double_self_attention=True,
    )
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn_like(p) * (0.3 if p.dim() > 1 else 0.5))
            if name.endswith(("norm.weight", "norm1.weight", "norm2.weight", "norm3.weight")):
                p.add_(1.0)
    assert module.proj_out.weight.abs().sum() > 0
    return module.double().eval()  # float64: equal functions agree to ~1e-12


def sinusoidal_pe(length: int, dim: int) -> torch.Tensor:
    """AD-Evolved / A1111 ``PositionalEncoding``: (1, length, dim)."""
    position = torch.arange(length).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
    pe = torch.zeros(1, length, dim, dtype=torch.float64)
    pe[0, :, 0::2] = torch.sin(position * div_term)
    pe[0, :, 1::2] = torch.cos(position * div_term)
    return pe


def reference_attention(
    sd: dict[str, torch.Tensor], prefix: str, x: torch.Tensor, frames: int
) -> torch.Tensor:
    """``VersatileAttention.forward`` on x: ((b f), d, c) -> ((b f), d, c)."""
    bf, d, c = x.shape
    t = x.reshape(bf // frames, frames, d, c).permute(0, 2, 1, 3).reshape(-1, frames, c)
    t = t + sinusoidal_pe(MAX_LEN, c)[:, :frames]
    q, k, v = (t @ sd[f"{prefix}.to_{n}.weight"].T for n in "qkv")
    n, s, _ = q.shape
    q, k, v = (z.reshape(n, s, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
    att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // HEADS), dim=-1) @ v
    att = att.transpose(1, 2).reshape(n, s, c)
    out = F.linear(att, sd[f"{prefix}.to_out.0.weight"], sd[f"{prefix}.to_out.0.bias"])
    return out.reshape(bf // frames, d, frames, c).permute(0, 2, 1, 3).reshape(bf, d, c)


def reference_temporal_transformer(
    sd: dict[str, torch.Tensor], x: torch.Tensor, frames: int
) -> torch.Tensor:
    """``TemporalTransformer3DModel.forward`` on x: ((b f), C, H, W), weights in diffusers names."""
    bf, c, h, w = x.shape
    hidden = F.group_norm(x, GROUPS, sd["norm.weight"], sd["norm.bias"], eps=1e-6)  # per frame
    hidden = hidden.permute(0, 2, 3, 1).reshape(bf, h * w, c)
    hidden = F.linear(hidden, sd["proj_in.weight"], sd["proj_in.bias"])
    for i in range(LAYERS):
        p = f"transformer_blocks.{i}"
        for norm, attn in (("norm1", "attn1"), ("norm2", "attn2")):
            normed = F.layer_norm(hidden, (c,), sd[f"{p}.{norm}.weight"], sd[f"{p}.{norm}.bias"])
            hidden = reference_attention(sd, f"{p}.{attn}", normed, frames) + hidden
        normed = F.layer_norm(hidden, (c,), sd[f"{p}.norm3.weight"], sd[f"{p}.norm3.bias"])
        proj = F.linear(normed, sd[f"{p}.ff.net.0.proj.weight"], sd[f"{p}.ff.net.0.proj.bias"])
        value, gate = proj.chunk(2, dim=-1)  # GEGLU
        ff = F.linear(value * F.gelu(gate), sd[f"{p}.ff.net.2.weight"], sd[f"{p}.ff.net.2.bias"])
        hidden = ff + hidden
    hidden = F.linear(hidden, sd["proj_out.weight"], sd["proj_out.bias"])
    return hidden.reshape(bf, h, w, c).permute(0, 3, 1, 2) + x


def brightness_fade(batch: int = 2, frames: int = 8) -> torch.Tensor:
    """((batch*frames), C, 4, 4): one random picture per batch item, fading in frame by frame."""
    torch.manual_seed(1)
    picture = torch.randn(batch, 1, CHANNELS, 4, 4)
    gain = torch.linspace(0.1, 2.0, frames).view(1, frames, 1, 1, 1)
    offset = torch.linspace(-1.0, 1.0, frames).view(1, frames, 1, 1, 1)
    return (picture * gain + offset).reshape(batch * frames, CHANNELS, 4, 4).double()


def test_patched_motion_transformer_matches_the_ui_reference():
    module = tiny_transformer()
    sd = {k: v.detach().clone() for k, v in module.state_dict().items()}
    x = brightness_fade()
    with torch.no_grad():
        expected = reference_temporal_transformer(sd, x, frames=8)
        before = module(x, num_frames=8)
        assert use_per_frame_norm(module) == 1
        after = module(x, num_frames=8)
    assert not torch.allclose(before, expected, atol=1e-3)  # diffusers as shipped differs
    assert (before - expected).abs().max() > 0.05
    torch.testing.assert_close(after, expected, atol=1e-5, rtol=0)


def test_frame_group_norm_is_per_frame_and_keeps_the_parameters():
    norm = torch.nn.GroupNorm(GROUPS, CHANNELS, eps=1e-6).double()
    module = tiny_transformer()
    module.norm = norm
    use_per_frame_norm(module)
    assert isinstance(module.norm, FrameGroupNorm)
    assert module.norm.weight is norm.weight and module.norm.bias is norm.bias
    x = torch.randn(2, CHANNELS, 3, 4, 4, dtype=torch.float64)  # (B, C, F, H, W)
    per_frame = torch.stack(
        [F.group_norm(x[:, :, f], GROUPS, norm.weight, norm.bias, 1e-6) for f in range(3)], 2
    )
    torch.testing.assert_close(module.norm(x), per_frame)
    assert use_per_frame_norm(module) == 0  # already per frame: nothing to do twice


def test_motion_unet_keys_unchanged_and_a_training_step_runs(tiny_models):
    base = models.load_base(tiny_models["sd"])
    adapter, _ = models.load_motion_adapter(tiny_models["adapter"], base.unet)
    plain = UNetMotionModel.from_unet2d(base.unet, adapter)
    unet = models.build_motion_unet(base.unet, adapter)
    assert list(unet.state_dict()) == list(plain.state_dict())
    temporal = [m for m in unet.modules() if isinstance(m, AnimateDiffTransformer3D)]
    assert temporal and all(isinstance(m.norm, FrameGroupNorm) for m in temporal)
    assert not any(
        isinstance(m.norm, FrameGroupNorm) for m in plain.modules() if hasattr(m, "norm")
    )

    unet.train()
    trainable = [p for p in unet.parameters() if p.requires_grad]
    norm_weight = temporal[0].norm.weight
    assert any(p is norm_weight for p in trainable)
    frames, channels = 4, unet.config["in_channels"]
    latents = torch.randn(1, channels, frames, 8, 8)
    context = torch.randn(1, 7, unet.config["cross_attention_dim"]).repeat_interleave(frames, 0)
    pred = unet(latents, torch.tensor([10]), encoder_hidden_states=context).sample
    loss = F.mse_loss(pred, torch.randn_like(pred))
    loss.backward()
    assert norm_weight.grad is not None and norm_weight.grad.abs().sum() > 0
    before = norm_weight.detach().clone()
    torch.optim.SGD(trainable, lr=0.1).step()
    assert not torch.equal(before, norm_weight.detach())


@pytest.mark.parametrize("frames", [1, 5])
def test_matches_reference_for_other_frame_counts(frames):
    module = tiny_transformer()
    sd = {k: v.detach().clone() for k, v in module.state_dict().items()}
    use_per_frame_norm(module)
    x = brightness_fade(batch=1, frames=frames)
    with torch.no_grad():
        torch.testing.assert_close(
            module(x, num_frames=frames),
            reference_temporal_transformer(sd, x, frames),
            atol=1e-5,
            rtol=0,
        )


def reference_resnet_v1(resnet, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
    """Original ``ResnetBlock3D.forward`` (non-inflated GroupNorm) on x: (b, c, f, h, w)."""

    def norm(n: torch.nn.GroupNorm, v: torch.Tensor) -> torch.Tensor:
        return F.group_norm(v, n.num_groups, n.weight, n.bias, n.eps)  # 5-D: across frames

    def conv(c: torch.nn.Conv2d, v: torch.Tensor) -> torch.Tensor:  # InflatedConv3d: per frame
        b, _, f, h, w = v.shape
        out = c(v.transpose(1, 2).reshape(b * f, -1, h, w))
        return out.reshape(b, f, *out.shape[1:]).transpose(1, 2)

    hidden = conv(resnet.conv1, F.silu(norm(resnet.norm1, x)))
    hidden = hidden + resnet.time_emb_proj(F.silu(temb))[:, :, None, None, None]
    hidden = conv(resnet.conv2, F.silu(norm(resnet.norm2, hidden)))
    shortcut = conv(resnet.conv_shortcut, x) if resnet.conv_shortcut is not None else x
    return (shortcut + hidden) / resnet.output_scale_factor


def run_capturing(unet, module, latents, frames):
    """Run ``unet`` on ``latents``; ``module``'s (input, temb, output), input as (b, c, f, h, w)."""
    seen = {}

    def hook(_, args, kwargs, output):
        seen["x"] = kwargs.get("input_tensor", args[0] if args else None)
        seen["temb"] = kwargs.get("temb")
        seen["out"] = output

    handle = module.register_forward_hook(hook, with_kwargs=True)
    context = torch.randn(latents.shape[0], 7, unet.config["cross_attention_dim"])
    with torch.no_grad():
        unet(
            latents, torch.tensor([10]), encoder_hidden_states=context.repeat_interleave(frames, 0)
        )
    handle.remove()

    def video(t):
        return t.reshape(latents.shape[0], frames, *t.shape[1:]).transpose(1, 2)

    return video(seen["x"]), seen["temb"], video(seen["out"])


def test_v1_resnets_normalise_across_frames_like_the_original(tiny_models):
    base = models.load_base(tiny_models["sd"])
    adapter = models.fresh_adapter(base.unet, "v1")
    assert "v1" in describe_norms(adapter.config)
    plain = UNetMotionModel.from_unet2d(base.unet, adapter).eval()
    unet = models.build_motion_unet(base.unet, adapter).eval()
    assert list(unet.state_dict()) == list(plain.state_dict())
    assert isinstance(unet.conv_norm_out, AcrossFramesGroupNorm)
    frames = 6
    torch.manual_seed(2)
    picture = torch.randn(2, unet.config["in_channels"], 1, 8, 8)
    latents = picture * torch.linspace(0.1, 2.0, frames).view(1, 1, frames, 1, 1)  # a fade
    diffs = {}
    for name, model in (("patched", unet), ("plain", plain)):
        resnet = model.down_blocks[0].resnets[0]
        x, temb, out = run_capturing(model, resnet, latents, frames)
        with torch.no_grad():
            expected = reference_resnet_v1(resnet, x, temb[::frames])
        diffs[name] = (out - expected).abs().max().item()
    assert diffs["patched"] < 1e-5, diffs
    assert diffs["plain"] > 1e-3, diffs  # diffusers as shipped normalises per frame

    norm = unet.conv_norm_out
    x, _, out = run_capturing(unet, norm, latents, frames)
    expected = F.group_norm(x, norm.num_groups, norm.weight, norm.bias, norm.eps)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
