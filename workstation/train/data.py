"""Training data: the export folder's clips and captions, sampled as frame stacks.

Reads either layout the exporter writes: ``metadata.jsonl`` (``{"video_path", "caption"}`` per
line) or WebVid (``videos/<videoid>.mp4`` plus a CSV with ``videoid,...,name``), through
:func:`workstation.train.folders.read_export` (the Train tab counts clips with it).  Every clip is
opened once before training (:func:`scan_clips`) so broken or too-short clips are reported once
and left out, instead of failing (or retrying forever) in the middle of a run.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch

from workstation.core.errors import WorkstationError

# Re-exported: the export reader lives with the quick folder checks (no torch there).
from workstation.train.folders import ClipEntry as ClipEntry
from workstation.train.folders import read_export as read_export

log = logging.getLogger("workstation.train")


@dataclass(frozen=True)
class UsableClip:
    """A clip that can give ``frames`` frames at ``stride`` (maybe lower than asked)."""

    path: Path
    caption: str
    frame_count: int
    stride: int
    width: int
    height: int


@dataclass(frozen=True)
class SkippedClip:
    path: Path
    problem: str


def _count_frames(path: Path) -> tuple[int, int, int]:
    """(frames, width, height) from the container; counts packets when the header has no count."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError("has no video stream")
        stream = container.streams.video[0]
        n = stream.frames
        w, h = stream.codec_context.width, stream.codec_context.height
        if n <= 0:
            n = sum(1 for p in container.demux(stream) if p.size)
        return n, w, h


def fit_stride(frame_count: int, frames: int, stride: int) -> int | None:
    """The largest stride <= ``stride`` giving ``frames`` frames from the clip, or None."""
    if frames <= 1:
        return stride if frame_count >= 1 else None
    best = (frame_count - 1) // (frames - 1)
    if best < 1:
        return None
    return min(stride, best)


def scan_clips(
    entries: list[ClipEntry], frames: int, stride: int
) -> tuple[list[UsableClip], list[SkippedClip]]:
    """Open every clip once: keep those that give ``frames`` frames (lowering the stride when
    needed, logged), report the rest once (missing, unreadable, too short)."""
    usable, skipped = [], []
    for e in entries:
        if not e.path.exists():
            skipped.append(SkippedClip(e.path, "file not found"))
            continue
        try:
            n, w, h = _count_frames(e.path)
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            skipped.append(SkippedClip(e.path, f"cannot be read ({exc})"))
            continue
        s = fit_stride(n, frames, stride)
        if s is None:
            skipped.append(SkippedClip(e.path, f"only {n} frames, {frames} needed"))
            continue
        if s < stride:
            log.info("%s: %d frames, stride lowered from %d to %d", e.path.name, n, stride, s)
        usable.append(UsableClip(e.path, e.caption, n, s, w, h))
    for skip in skipped:
        log.warning("skipping %s: %s", skip.path, skip.problem)
    return usable, skipped


class ClipDataset(torch.utils.data.Dataset):
    """Random ``frames``-frame windows of the clips, cropped to ``resolution`` squared.

    Items are dicts: ``pixels`` (F, 3, R, R) in [-1, 1], ``caption`` (after dropout), ``index``.
    ``deterministic`` (latent caching) takes the first window, a centre crop and no flip.
    A clip that fails to decode is logged once (per worker) and another clip is used instead.
    """

    def __init__(
        self,
        clips: list[UsableClip],
        *,
        frames: int,
        resolution: int,
        hflip: bool = True,
        caption_dropout: float = 0.0,
        deterministic: bool = False,
    ) -> None:
        if not clips:
            raise WorkstationError("no usable clips in the dataset")
        self.clips = clips
        self.frames = frames
        self.resolution = resolution
        self.hflip = hflip
        self.caption_dropout = caption_dropout
        self.deterministic = deterministic
        self._broken: set[int] = set()

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        rng = random.Random() if not self.deterministic else random.Random(index)
        if not self.deterministic:
            rng.seed(torch.randint(0, 2**62, ()).item())  # follows torch's per-worker seeding
        for attempt in range(len(self.clips)):
            i = (index + attempt) % len(self.clips)
            if i in self._broken:
                continue
            try:
                pixels = self._load(self.clips[i], rng)
            except Exception as exc:
                self._broken.add(i)
                log.warning("skipping %s: decoding failed (%s)", self.clips[i].path, exc)
                continue
            caption = self.clips[i].caption
            if not self.deterministic and rng.random() < self.caption_dropout:
                caption = ""
            return {"pixels": pixels, "caption": caption, "index": i}
        raise WorkstationError("every clip in the dataset failed to decode")

    def _load(self, clip: UsableClip, rng: random.Random) -> torch.Tensor:
        span = (self.frames - 1) * clip.stride + 1
        start = 0 if self.deterministic else rng.randint(0, clip.frame_count - span)
        wanted = set(range(start, start + span, clip.stride))
        r = self.resolution
        scale = r / min(clip.width, clip.height)
        w = max(r, round(clip.width * scale / 2) * 2)
        h = max(r, round(clip.height * scale / 2) * 2)
        images = _decode(clip.path, wanted, start + span, w, h)
        if len(images) < self.frames:
            raise ValueError(f"decoded {len(images)} of {self.frames} frames")
        if self.deterministic:
            x0, y0 = (w - r) // 2, (h - r) // 2
            flip = False
        else:
            x0, y0 = rng.randint(0, w - r), rng.randint(0, h - r)
            flip = self.hflip and rng.random() < 0.5
        stack = np.stack(images)[:, y0 : y0 + r, x0 : x0 + r]
        if flip:
            stack = stack[:, :, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(stack)).permute(0, 3, 1, 2).float()
        return t / 127.5 - 1.0


def _decode(path: Path, wanted: set[int], end: int, width: int, height: int) -> list[np.ndarray]:
    """Frames numbered in ``wanted`` (decode order from 0, as everywhere in the workstation),
    scaled by FFmpeg; frames in between are decoded but never converted."""
    images = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for n, frame in enumerate(container.decode(stream)):
            if n >= end:
                break
            if n in wanted:
                images.append(frame.to_ndarray(width=width, height=height, format="rgb24"))
    return images


def collate(items: list[dict]) -> dict:
    """Stack the tensors (``pixels`` or cached ``latents``), keep captions as a list."""
    out: dict = {
        "caption": [it["caption"] for it in items],
        "index": torch.tensor([it["index"] for it in items]),
    }
    for key in ("pixels", "latents"):
        if key in items[0]:
            out[key] = torch.stack([it[key] for it in items])
    return out
