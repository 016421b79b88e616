"""``--cache-latents``: windows of every clip encoded by the VAE once, so the VAE's memory and
time are not spent on each step.

Each clip gets up to ``cache_windows`` windows placed by ``cache_extraction`` (musubi-tuner's
``frame_extraction``: uniform, slide or head with centre crops; or random starts and crops
after a first centred one; none flipped, see :meth:`~workstation.train.data.ClipDataset.
cache_windows`), at the clip's bucket (size and frame count), stored as one
safetensors file per clip under the run's ``latent-cache/`` folder.  The file's name is a key
of what made it (the clip's path, size and modification time, its bucket, and every setting
that changes the pixels or the VAE), so a resumed or
repeated run reuses it and any change makes a new one.  Each epoch takes one of the windows,
drawn from (seed, epoch, index) like the uncached loader's crops.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from workstation.core import atomic
from workstation.core.errors import WorkstationError
from workstation.train.launch import TrainSettings

log = logging.getLogger("workstation.train")


def cache_key(clip, s: TrainSettings, dtype: str) -> str:
    """What the cached latents of ``clip`` depend on, hashed: change any, get another file."""
    st = clip.path.stat()
    made_of = {
        "clip": str(clip.path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "bucket": list(clip.bucket(s.frames, s.resolution)),
        "step": clip.distance,
        "windows": s.cache_windows,
        "extraction": s.cache_extraction,
        "base_model": str(Path(s.base_model).resolve()),
        "base_config": s.base_config,
        "dtype": dtype,
        "version": 2,
    }
    return hashlib.sha256(json.dumps(made_of, sort_keys=True).encode()).hexdigest()[:32]


def _cache_latents(clips, s: TrainSettings, encode_pixels, dtype: str = "float32"):
    """Encode (or read back) every clip's windows; returns the dataset over them."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    from safetensors.torch import save as safetensors_bytes

    from workstation.train import data

    folder = Path(s.output) / "latent-cache"
    folder.mkdir(parents=True, exist_ok=True)
    atomic.sweep_temps(folder)
    source = data.ClipDataset(clips, frames=s.frames, resolution=s.resolution, deterministic=True)
    latents: dict[int, torch.Tensor] = {}
    reused = 0
    with torch.no_grad():
        for i, clip in enumerate(clips):
            key = cache_key(clip, s, dtype)
            path = folder / f"{key}.safetensors"
            if path.exists():
                try:
                    latents[i] = load_file(str(path))["latents"]
                    reused += 1
                    continue
                except (SafetensorError, KeyError, OSError) as exc:
                    log.warning("%s: unreadable latent cache, encoding again (%s)", path, exc)
            try:
                windows = source.cache_windows(i, s.cache_windows, s.cache_extraction, key)
            except Exception as exc:
                log.warning("skipping %s: decoding failed (%s)", clip.path, exc)
                continue
            encoded = torch.cat([encode_pixels(w[None]) for w in windows]).float().cpu()
            latents[i] = encoded
            atomic.write_bytes(path, safetensors_bytes({"latents": encoded.contiguous()}))
    if not latents:
        raise WorkstationError("every clip in the dataset failed to decode")
    log.info(
        "latents of %d clips x %d windows: %d read from %s, %d encoded",
        len(latents),
        s.cache_windows,
        reused,
        folder,
        len(latents) - reused,
    )
    return CachedLatents(clips, latents, s.caption_dropout, s.seed, source.buckets())


class CachedLatents:
    """Dataset over pre-encoded latents: each epoch one of a clip's windows; caption dropout
    still applies.  Both are drawn like :class:`~workstation.train.data.ClipDataset`'s: from
    (seed, epoch, index)."""

    def __init__(self, clips, latents, caption_dropout: float, seed: int = 0, sizes=None) -> None:
        self.clips = clips
        self.latents = latents
        self.keys = sorted(latents)
        self._buckets = [sizes[i] for i in self.keys] if sizes else [(0, 0, 0)] * len(self.keys)
        self.caption_dropout = caption_dropout
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.keys)

    def buckets(self) -> list[tuple[int, int, int]]:
        """Each item's (width, height, frames): its latents' shape, one bucket per batch."""
        return self._buckets

    def __getitem__(self, i: int) -> dict:
        import torch

        from workstation.train.data import window_rng

        index = self.keys[i]
        rng = window_rng(self.seed, self.epoch, i)
        stack = self.latents[index]
        w = rng.randrange(len(stack))
        caption = self.clips[index].caption
        if rng.random() < self.caption_dropout:
            caption = ""
        return {
            "latents": stack[w],
            "caption": caption,
            "index": index,
            "window": torch.tensor([w, 0, 0, 0]),
        }
