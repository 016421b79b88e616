"""Gradient checkpointing of the motion modules: less kept for backward, the same gradients."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from workstation.train import models
from workstation.train.checkpointing import (
    SavedTensors,
    checkpoint_motion_modules,
    motion_modules,
)
from workstation.train.random_models import _random_unet_vae


def _tiny_motion_unet(lora: bool = False):
    torch.manual_seed(0)
    unet2d, _vae, _text = _random_unet_vae("tiny")
    adapter = models.fresh_adapter(unet2d)
    with torch.no_grad():  # non-zero output projections, so every weight gets a gradient
        for name, p in adapter.named_parameters():
            if "proj_out" in name:
                p.normal_(0, 0.02)
    unet = models.build_motion_unet(unet2d, adapter)
    if lora:
        models.add_motion_lora(unet, 4, 4.0)
    return unet


def _step(unet, frames: int = 4):
    """Loss and gradients of one training-like step, and what the forward kept for backward."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 4, frames, 16, 16, generator=gen)
    text = torch.randn(1, 7, 32, generator=gen).repeat_interleave(frames, 0)
    unet.zero_grad(set_to_none=True)
    mm = motion_modules(unet)
    with SavedTensors(unet, keep_inputs_of=mm, attribute_to=mm) as saved:
        out = unet(x, torch.tensor([500]), encoder_hidden_states=text).sample
    loss = out.float().pow(2).mean()
    loss.backward()
    grads = {n: p.grad.clone() for n, p in unet.named_parameters() if p.grad is not None}
    return loss.item(), grads, saved


@pytest.mark.parametrize("lora", [False, True])
def test_motion_modules_are_checkpointed_and_gradients_do_not_change(lora):
    unet = _tiny_motion_unet(lora)
    unet.train()
    loss0, grads0, plain = _step(unet)

    unet.enable_gradient_checkpointing()
    _loss, _g, diffusers_only = _step(unet)
    assert checkpoint_motion_modules(unet) == len(motion_modules(unet)) > 0
    loss1, grads1, ours = _step(unet)

    # diffusers' own checkpointing leaves the motion modules' activations in place ...
    assert diffusers_only.inside == pytest.approx(plain.inside, rel=0.01) and plain.inside > 0
    # ... ours keeps only each module's input (one tensor per module, not its internals)
    assert ours.inside < plain.inside / 5
    assert ours.total < diffusers_only.total
    # the same function, the same gradients, for every trained weight
    assert loss1 == pytest.approx(loss0, rel=1e-6)
    assert grads1.keys() == grads0.keys() and len(grads0) > 0
    for name, g in grads0.items():
        torch.testing.assert_close(grads1[name], g, rtol=1e-4, atol=1e-6, msg=name)


def test_switching_off_and_no_grad():
    unet = _tiny_motion_unet()
    unet.train()
    checkpoint_motion_modules(unet)
    _l, _g, on = _step(unet)
    checkpoint_motion_modules(unet, enabled=False)
    _l, _g, off = _step(unet)
    assert on.inside < off.inside
    with torch.no_grad():  # sampling: the wrapper just runs the module
        out = unet(torch.zeros(1, 4, 2, 16, 16), 1, encoder_hidden_states=torch.zeros(2, 7, 32))
    assert out.sample.shape == (1, 4, 2, 16, 16)


def test_a_forward_patched_on_the_class_later_is_used():
    """Another change to the motion module (a norm replaced by patching its class) composes."""
    unet = _tiny_motion_unet()
    checkpoint_motion_modules(unet)
    cls = type(motion_modules(unet)[0])
    calls = []
    original = cls.forward

    def patched(self, *args, **kwargs):
        calls.append(self)
        return original(self, *args, **kwargs)

    cls.forward = patched
    try:
        _step(unet)
    finally:
        cls.forward = original
    # each module runs once forward and once more when backward recomputes it: both patched
    assert len(calls) == 2 * len(motion_modules(unet))


def test_the_memory_model_holds_what_sd15_shapes_keep():
    """memory.py's activation constants are today's count at the real SD1.5 shapes (meta device)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import train_memory

    from workstation.train import memory

    with train_memory.flash_attention():
        for lora in (False, True):
            unet = train_memory.build("sd15", lora, "meta")
            torch.nn.Module.to(unet, dtype=torch.bfloat16)
            mode = "lora" if lora else "full"
            params = train_memory.count_params(unet)
            assert params["motion_M"] == pytest.approx(memory.MOTION_PARAMS_M, abs=0.1)
            assert params["unet2d_M"] == pytest.approx(memory.UNET2D_M, abs=0.1)
            for ckpt, how in ((False, "none"), (True, "motion")):
                got = train_memory.measure(unet, how, 2, 256, torch.bfloat16, "meta")["total"]
                assert got * 8 == pytest.approx(memory.ACT_GIB_256[(mode, ckpt)], rel=0.02)
