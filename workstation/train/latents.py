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
    return CachedLatents(clips, latents, s.caption_dropout, s.seed)


class CachedLatents:
    """Dataset over pre-encoded latents (caption dropout still applies, drawn like
    :class:`~workstation.train.data.ClipDataset`'s: from (seed, epoch, index))."""

    def __init__(self, clips, latents, caption_dropout: float, seed: int = 0) -> None:
        self.clips = clips
        self.latents = latents
        self.keys = sorted(latents)
        self.caption_dropout = caption_dropout
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> dict:
        from workstation.train.data import window_rng

        index = self.keys[i]
        caption = self.clips[index].caption
        if window_rng(self.seed, self.epoch, i).random() < self.caption_dropout:
            caption = ""
        return {"latents": self.latents[index], "caption": caption, "index": index}
