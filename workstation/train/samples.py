"""Validation videos: fixed prompts and seed through AnimateDiff's pipeline, written as MP4.

MP4 (H.264 via PyAV), not GIF: a person compares motion frame by frame, and GIF's 256-colour
palette hides exactly the flicker a motion module is trained to remove.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from workstation.core import atomic


def write_mp4(frames: np.ndarray, path: str | Path, fps: float = 8) -> Path:
    """Write (F, H, W, 3) uint8 frames as an H.264 MP4, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(frames)
    f, h, w = frames.shape[:3]
    h2, w2 = h - h % 2, w - w % 2  # yuv420p needs even sizes
    with atomic.replacing(path) as tmp, av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w2, h2, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for img in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:h2, :w2]), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """(F, 3, H, W) in [-1, 1] -> (F, H, W, 3) uint8."""
    x = ((pixels.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def slug(text: str, n: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:n] or "empty"


@torch.no_grad()
def render_validation(
    unet,
    vae,
    text_encoder,
    tokenizer,
    prompts: list[str],
    *,
    frames: int,
    resolution: int,
    steps: int,
    seed: int,
    device: torch.device,
    folder: Path,
    step: int,
    fps: float = 8,
) -> list[tuple[str, Path]]:
    """One MP4 per prompt with the current weights; the same seed every time; played at
    ``fps`` (the training frame rate, so the motion plays at the speed it was learnt)."""
    # From the defining modules, for the type checker (see models.py).
    from diffusers.pipelines.animatediff.pipeline_animatediff import AnimateDiffPipeline
    from diffusers.schedulers.scheduling_ddim import DDIMScheduler

    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="linear",
        clip_sample=False,
        timestep_spacing="linspace",
        steps_offset=1,
    )
    pipe = AnimateDiffPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        # The UNet already holds the motion modules; diffusers takes None here untyped.
        motion_adapter=None,  # type: ignore[arg-type]
        scheduler=scheduler,
    )
    pipe.set_progress_bar_config(disable=True)
    written = []
    was_training = unet.training
    unet.eval()
    try:
        for i, prompt in enumerate(prompts):
            generator = torch.Generator(device="cpu").manual_seed(seed + i)
            out = pipe(
                prompt=prompt,
                num_frames=frames,
                height=resolution,
                width=resolution,
                num_inference_steps=steps,
                guidance_scale=7.5,
                generator=generator,
                output_type="np",
            )
            video = (np.clip(out.frames[0], 0, 1) * 255).round().astype(np.uint8)
            path = write_mp4(video, folder / f"step-{step:06d}-{i}-{slug(prompt)}.mp4", fps)
            written.append((prompt, path))
    finally:
        unet.train(was_training)
    return written


def write_sanity(batch, latents, vae, folder: Path, event, fps: float) -> None:
    """The first training clip as the model gets it (after crop/flip): from the input frames,
    or decoded from cached latents (then it also shows what the VAE keeps)."""
    if "pixels" in batch:
        pixels, source = batch["pixels"][0], "input frames"
    else:
        with torch.no_grad():
            lat = latents[:1].permute(0, 2, 1, 3, 4).flatten(0, 1) / vae.config.scaling_factor
            pixels, source = vae.decode(lat).sample.float(), "decoded from cached latents"
    path = write_mp4(to_uint8(pixels), folder / "step-000000-batch.mp4", fps)
    event(
        "sample",
        step=0,
        path=str(path),
        prompt=batch["caption"][0],
        source=source,
        message=f"first training clip ({source})",
    )
