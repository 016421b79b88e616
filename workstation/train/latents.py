"""``--cache-latents``: every clip encoded by the VAE once before training, so the VAE's
memory and time are not spent on each step."""

from __future__ import annotations

import logging

from workstation.train.launch import TrainSettings

log = logging.getLogger("workstation.train")


def _cache_latents(clips, s: TrainSettings, encode_pixels):
    """Encode every clip once (first window, centre crop, no flip) and keep the latents."""
    import torch

    from workstation.train import data

    source = data.ClipDataset(clips, frames=s.frames, resolution=s.resolution, deterministic=True)
    latents: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for i in range(len(source)):
            item = source[i]
            if item["index"] in latents:
                continue
            latents[item["index"]] = encode_pixels(item["pixels"][None])[0].cpu()
    log.info("cached the latents of %d clips", len(latents))
    return CachedLatents(clips, latents, s.caption_dropout)


class CachedLatents:
    """Dataset over pre-encoded latents (caption dropout still applies)."""

    def __init__(self, clips, latents, caption_dropout: float) -> None:
        self.clips = clips
        self.latents = latents
        self.keys = sorted(latents)
        self.caption_dropout = caption_dropout

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> dict:
        import torch

        index = self.keys[i]
        caption = self.clips[index].caption
        if torch.rand(()).item() < self.caption_dropout:
            caption = ""
        return {"latents": self.latents[index], "caption": caption, "index": index}
