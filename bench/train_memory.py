"""Activation and parameter memory of SD1.5 motion training, counted on the meta device.

    .venv/bin/python bench/train_memory.py [--frames 4] [--check-frames 8] [--check-px 384]

Builds the real SD1.5 UNet (860 M) and a fresh v3 motion module (417 M) from their configs on
PyTorch's meta device (shapes, no memory, no download), runs one training forward and counts
what autograd keeps for backward with ``SavedTensors`` (workstation/train/checkpointing.py):
each storage once, parameters left out, checkpointed calls counted by their inputs, plus the
largest checkpointed call (recomputed during backward).  Attention is the CPU flash kernel
(keeps q, k, v, output and log-sum-exp, as CUDA's flash / memory-efficient kernels do, not the
T x T probabilities of the math kernel).  Weights and inputs are bf16: half-precision training.
``--autocast-check`` also runs the tiny model on the CPU under bf16 autocast to show how far
autocast (norms and softmax kept in fp32) is from pure bf16.

Measures full and LoRA (rank 16), no checkpointing / diffusers' (resnets only) / with the motion
modules, at 256 px and ``--frames``; then checks the linear frames x pixels scaling at one more
point.  Prints a Markdown table (for docs/benchmarks.md) and the constants of
workstation/train/memory.py.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from workstation.train import models
from workstation.train.checkpointing import SavedTensors, checkpoint_motion_modules, motion_modules
from workstation.train.random_models import _random_unet_vae

if TYPE_CHECKING:
    from diffusers.models.unets.unet_motion_model import UNetMotionModel

GIB = 2**30
MODES = ("none", "diffusers", "motion")  # checkpointing: off / resnets only / resnets + motion


@contextlib.contextmanager
def flash_attention() -> Iterator[None]:
    """F.scaled_dot_product_attention as the flash kernel (what a GPU run keeps for backward)."""
    original = F.scaled_dot_product_attention

    def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *a: Any, **kw: Any) -> Any:
        if a or kw.get("attn_mask") is not None:
            return original(q, k, v, *a, **kw)
        return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0.0, False)[0]

    F.scaled_dot_product_attention = sdpa  # type: ignore[assignment]
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original


def build(size: str, lora: bool, device: str) -> UNetMotionModel:
    with torch.device(device):
        unet2d, _vae, _text = _random_unet_vae(size)
        adapter = models.fresh_adapter(unet2d)
        unet = models.build_motion_unet(unet2d, adapter)
    if lora:
        models.add_motion_lora(unet, 16, 16.0)
    unet.train()
    return unet


def count_params(unet: torch.nn.Module) -> dict[str, float]:
    mm = sum(p.numel() for m in motion_modules(unet) for p in m.parameters())
    lora = sum(p.numel() for n, p in unet.named_parameters() if "lora_" in n)
    total = sum(p.numel() for p in unet.parameters())
    return {"unet2d_M": (total - mm) / 1e6, "motion_M": (mm - lora) / 1e6, "lora_M": lora / 1e6}


def measure(
    unet: UNetMotionModel, mode: str, frames: int, px: int, dtype: torch.dtype, device: str
) -> dict[str, float]:
    """GiB kept for backward by one forward of batch 1 (``total``, ``inside`` motion modules)."""
    unet.disable_gradient_checkpointing()
    checkpoint_motion_modules(unet, enabled=False)
    if mode != "none":
        unet.enable_gradient_checkpointing()
    if mode == "motion":
        checkpoint_motion_modules(unet)
    mm = motion_modules(unet)
    resnets = [m for m in unet.modules() if type(m).__name__ == "ResnetBlock2D"]
    keep = (resnets if mode != "none" else []) + (mm if mode == "motion" else [])
    lat = px // 8
    x = torch.randn(1, 4, frames, lat, lat, device=device, dtype=dtype)
    text = torch.randn(frames, 77, unet.config["cross_attention_dim"], device=device, dtype=dtype)
    t = torch.tensor([500], device=device)
    with SavedTensors(unet, keep_inputs_of=keep, attribute_to=mm) as saved:
        unet(x, t, encoder_hidden_states=text)
    return {
        "total": saved.total / GIB,
        "inside": saved.inside / GIB,
        "largest": saved.largest / GIB,  # one motion module call (0 when it is checkpointed)
    }


def autocast_ratio() -> float:
    """Bytes kept under CPU bf16 autocast / bytes kept in pure bf16 (tiny model, real CPU)."""
    out = []
    for autocast in (True, False):
        torch.manual_seed(0)
        unet = build("tiny", False, "cpu")
        dtype = torch.float32 if autocast else torch.bfloat16
        torch.nn.Module.to(unet, dtype=dtype)  # ModelMixin.to's wrapper confuses mypy
        ctx = torch.autocast("cpu", torch.bfloat16) if autocast else contextlib.nullcontext()
        with ctx:
            out.append(measure(unet, "none", 4, 128, dtype, "cpu")["total"])
    return out[0] / out[1]


def print_estimates() -> None:
    """The Train view's estimate (workstation/train/memory.py) for 16 frames, batch 1."""
    from workstation.train.launch import TrainSettings
    from workstation.train.memory import estimate_vram_gb

    print("\nEstimated peak GiB, 16 frames, batch 1, latents not cached (AdamW / 8-bit AdamW):\n")
    print("| mode | checkpointing | 256 px | 384 px | 512 px |")
    print("|---|---|---|---|---|")
    for mode in ("full", "lora"):
        for ckpt in (True, False):
            cells = []
            for px in (256, 384, 512):
                gb = [
                    estimate_vram_gb(
                        TrainSettings(
                            mode=mode, resolution=px, gradient_checkpointing=ckpt, adam_8bit=b8
                        )
                    )
                    for b8 in (False, True)
                ]
                cells.append(f"{gb[0]:.1f}" if mode == "lora" else f"{gb[0]:.1f} / {gb[1]:.1f}")
            print(f"| {mode} | {'on' if ckpt else 'off'} | {' | '.join(cells)} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--check-frames", type=int, default=8)
    ap.add_argument("--check-px", type=int, default=384)
    ap.add_argument("--autocast-check", action="store_true")
    a = ap.parse_args(argv)
    rows = []
    with flash_attention():
        for lora in (False, True):
            unet = build("sd15", lora, "meta")
            torch.nn.Module.to(unet, dtype=torch.bfloat16)
            params = count_params(unet)
            largest = 0.0
            for mode in MODES:
                m = measure(unet, mode, a.frames, 256, torch.bfloat16, "meta")
                largest = max(largest, m["largest"])
                m["recompute"] = largest if mode == "motion" else 0.0
                c = measure(unet, mode, a.check_frames, a.check_px, torch.bfloat16, "meta")
                scale = (a.check_frames / a.frames) * (a.check_px / 256) ** 2
                rows.append((lora, mode, m, c, scale))
            del unet
    print(f"params (M): {', '.join(f'{k} {v:.1f}' for k, v in params.items())}")
    print("(VAE 83.7 M and CLIP-L text encoder 123.1 M from random_models' sd15 configs)")
    print("\nBatch 1, bf16, flash attention; GiB kept for backward per 16-frame 256 px clip")
    print(f"(measured at {a.frames} frames x 256 px, x{16 // a.frames}); check: measured at")
    print(f"{a.check_frames} frames x {a.check_px} px vs the 256 px figure scaled linearly.\n")
    print(
        "| mode | checkpointing | GiB / 16 f @256 | in motion modules | recompute peak "
        "| check measured / scaled |"
    )
    print("|---|---|---|---|---|---|")
    per16 = 16 / a.frames
    for lora, mode, m, c, scale in rows:
        scaled = m["total"] * scale
        print(
            f"| {'LoRA' if lora else 'full'} | {mode} | {m['total'] * per16:.2f} "
            f"| {100 * m['inside'] / max(m['total'], 1e-9):.0f} % "
            f"| {m['recompute'] * per16:.2f} | {c['total']:.3f} / {scaled:.3f} "
            f"({100 * (c['total'] / scaled - 1):+.1f} %) |"
        )
    print_estimates()
    if a.autocast_check:
        print(
            f"\nCPU bf16 autocast keeps {autocast_ratio():.2f}x what pure bf16 keeps (tiny model)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
