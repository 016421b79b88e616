"""``--attention``: the chosen kernel reaches every attention of the UNet and its motion modules,
the kernels compute the same function, and a missing package is refused by name."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest
import torch
from diffusers.models.attention_processor import Attention, AttnProcessor, AttnProcessor2_0

from workstation.core.errors import WorkstationError
from workstation.train import checks, models
from workstation.train.attention import FlashAttnProcessor, use_attention
from workstation.train.launch import TrainSettings


@pytest.fixture(scope="module")
def motion_unet(tiny_models):
    base = models.load_base(tiny_models["sd"])
    adapter, _ = models.load_motion_adapter(tiny_models["adapter"], base.unet)
    unet = models.build_motion_unet(base.unet, adapter).eval()
    torch.manual_seed(0)
    with torch.no_grad():  # no zero-initialised projection: every attention shows in the output
        for name, p in unet.named_parameters():
            if "attn" in name or "proj_out" in name:
                p.normal_(0, 0.2)
    return unet


def _forward(unet) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    frames, channels = 4, unet.config["in_channels"]
    latents = torch.randn(1, channels, frames, 8, 8, generator=g)
    context = torch.randn(1, 7, unet.config["cross_attention_dim"], generator=g)
    with torch.no_grad():
        return unet(
            latents, torch.tensor([10]), encoder_hidden_states=context.repeat_interleave(frames, 0)
        ).sample


def _processors(unet) -> dict[str, object]:
    return {n: m.processor for n, m in unet.named_modules() if isinstance(m, Attention)}


def test_the_choice_reaches_spatial_and_motion_attention_and_sdpa_equals_math(motion_unet):
    count = use_attention(motion_unet, "math")
    procs = _processors(motion_unet)
    assert count == len(procs)
    motion = [n for n in procs if ".motion_modules." in n]
    assert motion and len(motion) < len(procs)  # both kinds are there
    assert all(type(p) is AttnProcessor for p in procs.values())
    math = _forward(motion_unet)

    use_attention(motion_unet, "sdpa")
    assert all(type(p) is AttnProcessor2_0 for p in _processors(motion_unet).values())
    sdpa = _forward(motion_unet)
    assert math.abs().max() > 0.1
    torch.testing.assert_close(sdpa, math, atol=1e-5, rtol=1e-4)

    # The same weights with the motion modules' attention turned off give another output, so
    # the comparison above does see the temporal attention.
    with torch.no_grad():
        saved = {}
        for name, p in motion_unet.named_parameters():
            if ".motion_modules." in name and ".to_out." in name:
                saved[name] = p.clone()
                p.zero_()
        without = _forward(motion_unet)
        for name, p in motion_unet.named_parameters():
            if name in saved:
                p.copy_(saved[name])
    assert (without - sdpa).abs().max() > 1e-3


def _reference_flash(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False):
    """flash_attn_func's contract: (batch, tokens, heads, head_dim) in, the same out, half
    precision only."""
    assert q.dtype in (torch.float16, torch.bfloat16) and dropout_p == 0.0 and not causal
    q, k, v = (t.float().transpose(1, 2) for t in (q, k, v))
    weights = (q @ k.transpose(-1, -2) * softmax_scale).softmax(-1)
    return (weights @ v).transpose(1, 2).to(torch.bfloat16)


def test_the_flash_processor_matches_sdpa(motion_unet, monkeypatch):
    """The processor's reshaping, checked through a stand-in with flash_attn_func's contract
    (the package itself needs an NVIDIA GPU)."""
    fake = types.ModuleType("flash_attn")
    fake.flash_attn_func = _reference_flash  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "flash_attn", fake)
    use_attention(motion_unet, "sdpa")
    sdpa = _forward(motion_unet)
    use_attention(motion_unet, "flash")
    assert all(type(p) is FlashAttnProcessor for p in _processors(motion_unet).values())
    flash = _forward(motion_unet)
    use_attention(motion_unet, "sdpa")
    assert (flash - sdpa).abs().max() < 0.05 * sdpa.abs().max()  # bf16 inside


@pytest.mark.parametrize(("choice", "package"), [("xformers", "xformers"), ("flash", "flash_attn")])
def test_a_kernel_that_is_not_installed_is_refused_by_name(monkeypatch, choice, package):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == package else real(name, *a)
    )
    s = TrainSettings(dataset="d", base_model="b", output="o", attention=choice)
    with pytest.raises(WorkstationError) as err:
        checks._check(s)
    assert str(err.value).startswith(f"--attention {choice}: needs the {package} package")
    assert checks.check_form(s)["attention"].problem.startswith(f"needs the {package} package")
    for fine in ("auto", "sdpa", "math"):
        checks._check(TrainSettings(dataset="d", base_model="b", output="o", attention=fine))


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal needs a machine without CUDA")
def test_a_gpu_only_kernel_is_refused_on_another_device(
    make_settings, tmp_path, monkeypatch, fresh_accelerate
):
    from workstation.train.run import train

    monkeypatch.setattr(checks, "attention_problem", lambda choice: "")  # as if installed
    events: list[dict] = []
    with pytest.raises(WorkstationError) as err:
        train(make_settings(tmp_path / "run", attention="flash"), events.append)
    assert str(err.value) == (
        "--attention flash: runs on an NVIDIA GPU only, and this run's device is cpu; "
        "use --attention sdpa"
    )
    assert not events  # refused before the models load and the run starts
