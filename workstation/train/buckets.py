"""Aspect-ratio and frame-count buckets: each clip trains at the size nearest its own shape and
with as many frames as it has, and a batch never mixes two buckets.

The size list is musubi-tuner's ``BucketSelector`` (and kohya's): widths from half the base
side up to the base side in steps of ``step`` pixels (64 for SD1.5: the UNet halves the 1/8
latent three times), each with the height that keeps the base area, and the same pairs turned
on their side; a clip takes the pair whose width/height is nearest its own.  The frame buckets
are the run's frame count, three quarters and half of it (multiples of 4): a clip too short
for the full count at the target frame rate goes to the longest one it fills
(``--short-clips shorter``) instead of being skipped (``skip``) or having its frames taken
closer together (``faster``, which changes the motion's speed).

No torch here: :class:`BucketBatches` is a plain batch sampler (a list of index lists per
epoch), and the window imports the summary.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator, Sequence

Bucket = tuple[int, int, int]  # (width, height, frames)


def aspect_buckets(resolution: int, step: int) -> list[tuple[int, int]]:
    """(width, height) pairs of about ``resolution``² pixels, sides multiples of ``step``,
    from 1:4 to 4:1 (musubi-tuner's list), sorted."""
    area = resolution * resolution
    low = max(step, resolution // 2 // step * step)
    sizes = set()
    for w in range(low, resolution + step, step):
        h = max(step, area // w // step * step)
        sizes.update({(w, h), (h, w)})
    return sorted(sizes)


def nearest_size(width: int, height: int, sizes: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The pair whose aspect ratio is nearest ``width / height`` (the first on a tie)."""
    ratio = width / height
    return min(sizes, key=lambda s: abs(s[0] / s[1] - ratio))


def frame_buckets(frames: int) -> list[int]:
    """The frame counts a clip may train with, longest first: ``frames``, then three quarters
    and half of it rounded down to multiples of 4 (16 -> 16, 12, 8)."""
    counts = [frames]
    for part in (frames * 3 // 4, frames // 2):
        n = part // 4 * 4
        if 4 <= n < counts[-1]:
            counts.append(n)
    return counts


def describe(buckets: Sequence[Bucket]) -> str:
    """``"64x64, 8 frames: 2 clips; 80x48, 4 frames: 1 clip"``, most clips first."""
    parts = []
    for (w, h, f), n in sorted(Counter(buckets).items(), key=lambda kv: (-kv[1], kv[0])):
        parts.append(f"{w}x{h}, {f} frames: {n} clip{'s' if n != 1 else ''}")
    return "; ".join(parts)


def counts(buckets: Sequence[Bucket]) -> dict[str, int]:
    """{"WxHxF": clips}, for the start event and the run's records."""
    return {f"{w}x{h}x{f}": n for (w, h, f), n in sorted(Counter(buckets).items())}


class BucketBatches:
    """Batch sampler: every batch is ``batch_size`` (or, a bucket's last, fewer) dataset
    indices of ONE bucket.  The order is a function of (seed, epoch) alone: each bucket
    shuffled, cut into batches, the batches shuffled; so a resumed run (same seed, epoch set
    by :meth:`set_epoch`, the batches already trained on skipped by accelerate) sees the same
    batches in the same order.

    It has no ``batch_size`` attribute on purpose: accelerate's multi-process sharding then
    treats batches as whole lists and, to even out the processes, repeats whole batches
    instead of topping one up with indices of another bucket.
    """

    def __init__(self, buckets: Sequence[Bucket], batch_size: int, seed: int) -> None:
        self.buckets = list(buckets)
        self.size = batch_size
        self.seed = seed
        self.epoch = 0
        self._groups: dict[Bucket, list[int]] = {}
        for i, b in enumerate(self.buckets):
            self._groups.setdefault(b, []).append(i)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        rng = random.Random(f"{self.seed}:{self.epoch}:buckets")
        out: list[list[int]] = []
        for key in sorted(self._groups):
            indices = list(self._groups[key])
            rng.shuffle(indices)
            out += [indices[i : i + self.size] for i in range(0, len(indices), self.size)]
        rng.shuffle(out)
        return out

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return sum(math.ceil(len(g) / self.size) for g in self._groups.values())
