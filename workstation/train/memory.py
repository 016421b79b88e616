"""Peak GPU memory of a training run, from counted parameters and measured activations.

Every figure says where it came from.  "bench" is ``bench/train_memory.py``: the real SD1.5 UNet
and a fresh v3 motion module built from their configs on PyTorch's meta device, one training
forward (batch 1, bf16, flash attention), autograd's saved tensors counted per storage.  Its
linear frames x pixels scaling was checked at a second point (8 frames, 384 px: within 0.6 %).
No figure here has been measured on a GPU yet; CONTEXT_GIB and VAE_ENCODE_GIB are guesses.
Pure Python (no torch): the Train view imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workstation.train.launch import TrainSettings

# -- parameters, millions (counted from the configs by bench/train_memory.py) ---------------
UNET2D_M = 859.5  # SD1.5 UNet2DConditionModel (frozen)
VAE_M = 83.7  # SD1.5 AutoencoderKL (frozen)
TEXT_M = 123.1  # CLIP-L text encoder (frozen)
MOTION_PARAMS_M = 417.1  # a fresh v3 MotionAdapter (models.fresh_adapter; v2 adds a mid block)
LORA_M_PER_RANK = 4.5 / 16  # motion LoRA on attn q/k/v/out: 4.5 M at rank 16

# -- activations, GiB kept for backward by one 16-frame 256 px clip (bench; 4 frames x 4) ----
# checkpointing on = diffusers' resnets + every motion module (workstation/train/checkpointing)
ACT_GIB_256 = {
    ("full", False): 5.56,
    ("full", True): 0.64,
    ("lora", False): 4.95,
    ("lora", True): 0.64,
}
# the largest checkpointed call, recomputed whole during backward (bench: one motion module)
RECOMPUTE_GIB_256 = {"full": 0.32, "lora": 0.26}
# bf16 autocast keeps norms and softmax in fp32: 1.18x pure bf16 (bench --autocast-check, tiny
# model under CPU autocast; CUDA fp16 autocast keeps the same op families in fp32)
AUTOCAST = 1.18

# -- the rest -------------------------------------------------------------------------------
CONTEXT_GIB = 1.0  # CUDA context, allocator slack, cuDNN workspaces (a guess)
VAE_ENCODE_GIB = 0.3  # the VAE encoder pass when latents are not cached (a guess)
HALF = 2  # bytes of a frozen weight (fp16/bf16)


def estimate_vram_gb(s: TrainSettings) -> float:
    """Peak GPU memory of a run in GiB (a "24 GB" card holds 24 GiB), to pick a preset.

    frozen UNet + VAE + text encoder (2 bytes each) + motion module + activations + context:

    * motion (full) = 417 M x (4 weight + 4 grad + 8 AdamW, or 2 with 8-bit AdamW) bytes;
      motion (lora) = 417 M x 2 bytes frozen + the LoRA (0.28 M per rank) x 16 bytes;
    * activations = (kept + recomputed) per 16-frame 256 px clip x batch x frames/16 x
      (resolution/256)^2 x 1.18 for autocast, counted at SD1.5 shapes on the meta device
      (bench/train_memory.py); checkpointing covers the resnets and the motion modules.

    Counted and measured on a CPU, not yet checked against a GPU run.
    """
    mode = "lora" if s.mode == "lora" else "full"
    frozen = (UNET2D_M + VAE_M + TEXT_M) * 1e6 * HALF
    params = MOTION_PARAMS_M * 1e6
    if mode == "lora":
        motion = params * HALF + LORA_M_PER_RANK * s.lora_rank * 1e6 * 16
    else:
        motion = params * (4 + 4 + (2 if s.adam_8bit else 8))
    ckpt = bool(s.gradient_checkpointing)
    per_clip = ACT_GIB_256[(mode, ckpt)] + (RECOMPUTE_GIB_256[mode] if ckpt else 0.0)
    act = per_clip * AUTOCAST * s.batch_size * (s.frames / 16) * (s.resolution / 256) ** 2
    total = (frozen + motion) / 2**30 + act + CONTEXT_GIB
    if not s.cache_latents:
        total += VAE_ENCODE_GIB
    return round(total, 1)
