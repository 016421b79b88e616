"""Training data: the export folder's clips and captions, sampled as frame stacks.

Reads either layout the exporter writes: ``metadata.jsonl`` (``{"video_path", "caption"}`` per
line) or WebVid (``videos/<videoid>.mp4`` plus a CSV with ``videoid,...,name``), through
:func:`workstation.train.folders.read_export` (the Train tab counts clips with it).  Every clip is
opened once before training (:func:`scan_clips`) so broken or too-short clips are reported once
and left out, instead of failing (or retrying forever) in the middle of a run; the same pass
reads each clip's frame rate and frame timestamps (packets only, no decoding).  Frames are
taken by time (``--target-fps``), so every source moves at the same speed; a window is
decoded from the keyframe before it (a seek), not from frame 0; its start, crop and flip come
from (seed, epoch, index), so a resumed run with any number of workers sees the same crops.
"""

from __future__ import annotations

import logging
import math
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
    """A clip that can give ``frames`` frames ``stride`` source frames apart (maybe lower than
    asked).  ``step`` is the exact, maybe fractional, distance in source frames when the
    stride comes from a target frame rate (0: ``stride``); ``pts`` holds every frame's
    timestamp in presentation order (the loader seeks with them; empty: decode from 0)."""

    path: Path
    caption: str
    frame_count: int
    stride: int
    width: int
    height: int
    step: float = 0.0
    fps: float = 0.0
    pts: tuple[int, ...] = ()

    @property
    def distance(self) -> float:
        """Source frames between two taken frames."""
        return self.step or float(self.stride)


@dataclass(frozen=True)
class SkippedClip:
    path: Path
    problem: str


@dataclass(frozen=True)
class _Probe:
    frames: int
    width: int
    height: int
    fps: float
    pts: tuple[int, ...]


def _probe(path: Path) -> _Probe:
    """Frame count, size, frame rate and every frame's pts, from the packets (no decoding)."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError("has no video stream")
        stream = container.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        pts = sorted(p.pts for p in container.demux(stream) if p.size and p.pts is not None)
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        n = len(pts) or stream.frames
        return _Probe(n, w, h, fps, tuple(pts) if len(pts) == n else ())


def fit_stride(frame_count: int, frames: int, stride: int) -> int | None:
    """The largest stride <= ``stride`` giving ``frames`` frames from the clip, or None."""
    if frames <= 1:
        return stride if frame_count >= 1 else None
    best = (frame_count - 1) // (frames - 1)
    if best < 1:
        return None
    return min(stride, best)


def fit_step(frame_count: int, frames: int, step: float) -> float | None:
    """:func:`fit_stride` for a fractional step (source fps / target fps, at least 1)."""
    if frames <= 1:
        return step if frame_count >= 1 else None
    best = (frame_count - 1) / (frames - 1)
    if best < 1:
        return None
    return min(max(step, 1.0), best)


def frame_indices(start: int, frames: int, step: float) -> list[int]:
    """The source frames taken from ``start``: the frame nearest each ``k * step`` (k < frames)."""
    return [start + math.floor(k * step + 0.5) for k in range(frames)]


def scan_clips(
    entries: list[ClipEntry], frames: int, stride: int, target_fps: float = 0.0
) -> tuple[list[UsableClip], list[SkippedClip]]:
    """Open every clip once: keep those that give ``frames`` frames (lowering the stride when
    needed, logged), report the rest once (missing, unreadable, too short).

    With ``target_fps`` the frames are taken ``1 / target_fps`` seconds apart by each clip's
    own frame rate (a 60 fps and a 24 fps clip then move at the same speed); ``stride`` only
    counts source frames when ``target_fps`` is 0 or a clip's frame rate is unknown."""
    usable, skipped = [], []
    for e in entries:
        if not e.path.exists():
            skipped.append(SkippedClip(e.path, "file not found"))
            continue
        try:
            p = _probe(e.path)
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            skipped.append(SkippedClip(e.path, f"cannot be read ({exc})"))
            continue
        n = p.frames
        if target_fps > 0 and p.fps > 0:
            asked = p.fps / target_fps
            step = fit_step(n, frames, asked)
            if step is not None and step < max(asked, 1.0) - 1e-9:
                log.info(
                    "%s: %d frames at %.3g fps, %g fps raised to %.3g fps",
                    e.path.name,
                    n,
                    p.fps,
                    target_fps,
                    p.fps / step,
                )
            s = None if step is None else max(1, round(step))
        else:
            step = 0.0
            s = fit_stride(n, frames, stride)
            if s is not None and s < stride:
                log.info("%s: %d frames, stride lowered from %d to %d", e.path.name, n, stride, s)
        if s is None or step is None:
            skipped.append(SkippedClip(e.path, f"only {n} frames, {frames} needed"))
            continue
        usable.append(UsableClip(e.path, e.caption, n, s, p.width, p.height, step, p.fps, p.pts))
    for skip in skipped:
        log.warning("skipping %s: %s", skip.path, skip.problem)
    return usable, skipped


def window_rng(seed: int, epoch: int, index: int) -> random.Random:
    """The random draws of one sample (window start, crop, flip, caption dropout): a function
    of (seed, epoch, sample index) only, so any worker, and a resumed run, draw the same."""
    return random.Random(f"{seed}:{epoch}:{index}")


class ClipDataset(torch.utils.data.Dataset):
    """Random ``frames``-frame windows of the clips, cropped to ``resolution`` squared.

    Items are dicts: ``pixels`` (F, 3, R, R) in [-1, 1], ``caption`` (after dropout),
    ``index`` and ``window`` (start frame, crop x, crop y, flipped).  The draws come from
    :func:`window_rng` with the epoch set by :meth:`set_epoch` (before the loader's workers
    start: the loader must not keep persistent workers).  ``deterministic`` (latent caching)
    takes the first window, a centre crop and no flip.  A clip that fails to decode is
    logged once (per worker) and another clip is used instead.
    """

    def __init__(
        self,
        clips: list[UsableClip],
        *,
        frames: int,
        resolution: int,
        hflip: bool = False,
        caption_dropout: float = 0.0,
        deterministic: bool = False,
        seed: int = 0,
    ) -> None:
        if not clips:
            raise WorkstationError("no usable clips in the dataset")
        self.clips = clips
        self.frames = frames
        self.resolution = resolution
        self.hflip = hflip
        self.caption_dropout = caption_dropout
        self.deterministic = deterministic
        self.seed = seed
        self.epoch = 0
        self._broken: set[int] = set()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        rng = window_rng(self.seed, self.epoch, index)
        for attempt in range(len(self.clips)):
            i = (index + attempt) % len(self.clips)
            if i in self._broken:
                continue
            try:
                pixels, window = self._load(
                    self.clips[i], rng, centre=self.deterministic, flip=self.hflip
                )
            except Exception as exc:
                self._broken.add(i)
                log.warning("skipping %s: decoding failed (%s)", self.clips[i].path, exc)
                continue
            caption = self.clips[i].caption
            if not self.deterministic and rng.random() < self.caption_dropout:
                caption = ""
            return {
                "pixels": pixels,
                "caption": caption,
                "index": i,
                "window": torch.tensor(window),
            }
        raise WorkstationError("every clip in the dataset failed to decode")

    def fixed_window(self, index: int, window: int, key: str) -> tuple[torch.Tensor, list[int]]:
        """Cached window ``window`` of clip ``index`` (no flip): 0 is the first window with a
        centre crop, the others random ones drawn from (``key``, ``window``) alone."""
        rng = random.Random(f"{key}:{window}")
        return self._load(self.clips[index], rng, centre=window == 0, flip=False)

    def _load(
        self, clip: UsableClip, rng: random.Random, *, centre: bool, flip: bool
    ) -> tuple[torch.Tensor, list[int]]:
        last = frame_indices(0, self.frames, clip.distance)[-1]
        start = 0 if centre else rng.randint(0, clip.frame_count - 1 - last)
        wanted = frame_indices(start, self.frames, clip.distance)
        r = self.resolution
        scale = r / min(clip.width, clip.height)
        w = max(r, round(clip.width * scale / 2) * 2)
        h = max(r, round(clip.height * scale / 2) * 2)
        images = decode_frames(clip, wanted, w, h)
        if len(images) < self.frames:
            raise ValueError(f"decoded {len(images)} of {self.frames} frames")
        if centre:
            x0, y0 = (w - r) // 2, (h - r) // 2
            flip = False
        else:
            x0, y0 = rng.randint(0, w - r), rng.randint(0, h - r)
            flip = flip and rng.random() < 0.5
        stack = np.stack(images)[:, y0 : y0 + r, x0 : x0 + r]
        if flip:
            stack = stack[:, :, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(stack)).permute(0, 3, 1, 2).float()
        return t / 127.5 - 1.0, [start, x0, y0, int(flip)]


def decode_frames(clip: UsableClip, wanted: list[int], width: int, height: int) -> list[np.ndarray]:
    """The frames numbered ``wanted`` (presentation order from 0, as everywhere in the
    workstation), scaled by FFmpeg.  With the clip's pts known it seeks to the keyframe
    before the first one and picks frames by pts; else (or when the seek comes up short)
    it decodes from frame 0.  Frames in between are decoded but never converted."""
    if clip.pts and wanted[-1] < len(clip.pts):
        by_pts = {clip.pts[n]: n for n in wanted}
        images = _decode_seeking(clip.path, by_pts, width, height)
        if images is not None:
            return images
    return _decode(clip.path, set(wanted), wanted[-1] + 1, width, height)


def _decode_seeking(
    path: Path, by_pts: dict[int, int], width: int, height: int
) -> list[np.ndarray] | None:
    first, last = min(by_pts), max(by_pts)
    found: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(first, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts is None:
                return None
            if frame.pts in by_pts:
                found[frame.pts] = frame.to_ndarray(width=width, height=height, format="rgb24")
            if frame.pts >= last:
                break
    if len(found) < len(by_pts):
        return None
    return [found[p] for p in sorted(found)]


def _decode(path: Path, wanted: set[int], end: int, width: int, height: int) -> list[np.ndarray]:
    """Frames numbered in ``wanted``, decoding from frame 0."""
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
    """Stack the tensors (``pixels`` or cached ``latents``, ``window``), keep captions as a
    list."""
    out: dict = {
        "caption": [it["caption"] for it in items],
        "index": torch.tensor([it["index"] for it in items]),
    }
    for key in ("pixels", "latents", "window"):
        if key in items[0]:
            out[key] = torch.stack([it[key] for it in items])
    return out
