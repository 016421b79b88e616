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
Each clip trains at its bucket (:mod:`workstation.train.buckets`): the size nearest its aspect
ratio and, when it is too short for the run's frame count, fewer frames.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, replace
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
    frames: int = 0  # frames this clip trains with (its frame bucket); 0: the run's
    size: tuple[int, int] = (0, 0)  # (width, height) it trains at; (0, 0): R x R

    @property
    def distance(self) -> float:
        """Source frames between two taken frames."""
        return self.step or float(self.stride)

    def bucket(self, frames: int, resolution: int) -> tuple[int, int, int]:
        """(width, height, frames) this clip trains at, given the run's frames and size."""
        w, h = self.size if self.size[0] else (resolution, resolution)
        return (w, h, self.frames or frames)


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


def _fits(frame_count: int, frames: int, step: float) -> bool:
    """Whether ``frames`` frames ``step`` source frames apart fit in the clip."""
    return frames >= 1 and frame_indices(0, frames, step)[-1] <= frame_count - 1


def scan_clips(
    entries: list[ClipEntry],
    frames: int,
    stride: int,
    target_fps: float = 0.0,
    short_clips: str = "shorter",
) -> tuple[list[UsableClip], list[SkippedClip]]:
    """Open every clip once: keep those that give ``frames`` frames, report the rest once
    (missing, unreadable, too short).

    With ``target_fps`` the frames are taken ``1 / target_fps`` seconds apart by each clip's
    own frame rate (a 60 fps and a 24 fps clip then move at the same speed); ``stride`` only
    counts source frames when ``target_fps`` is 0 or a clip's frame rate is unknown.  A clip
    too short for ``frames`` frames at that distance goes, by ``short_clips`` (the choices of
    ``TrainSettings.short_clips``), to the longest shorter frame bucket it
    fills ("shorter"), is left out ("skip"), or has its frames taken closer together
    ("faster": the distance lowered, logged)."""
    from workstation.train.buckets import frame_buckets

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
        by_time = target_fps > 0 and p.fps > 0
        asked = max(p.fps / target_fps, 1.0) if by_time else float(stride)
        taken = next((f for f in frame_buckets(frames) if _fits(n, f, asked)), 0)
        if taken == frames or (taken and short_clips == "shorter"):
            step = asked if by_time else 0.0
            clip = UsableClip(
                e.path, e.caption, n, max(1, round(asked)), p.width, p.height, step, p.fps, p.pts
            )
            usable.append(clip if taken == frames else replace(clip, frames=taken))
            continue
        fitted = None
        if short_clips == "faster":
            fitted = _fit_faster(e.path.name, n, frames, stride, target_fps, p.fps, by_time)
        if fitted is None:
            why = f"only {n} frames, {frames} needed"
            if short_clips != "faster" and by_time:
                why = f"only {n / p.fps:.2f} s, {frames} frames at {target_fps:g} fps needed"
            skipped.append(SkippedClip(e.path, why))
            continue
        s, step = fitted
        usable.append(UsableClip(e.path, e.caption, n, s, p.width, p.height, step, p.fps, p.pts))
    for skip in skipped:
        log.warning("skipping %s: %s", skip.path, skip.problem)
    return usable, skipped


def _fit_faster(
    name: str, n: int, frames: int, stride: int, target_fps: float, fps: float, by_time: bool
) -> tuple[int, float] | None:
    """``--short-clips faster``: (stride, step) that give ``frames`` frames from ``n`` by
    taking them closer together (logged), or None when the clip has fewer frames than that."""
    if by_time:
        step = fit_step(n, frames, fps / target_fps)
        if step is None:
            return None
        log.info(
            "%s: %d frames at %.3g fps, %g fps raised to %.3g fps",
            name,
            n,
            fps,
            target_fps,
            fps / step,
        )
        return max(1, round(step)), step
    s = fit_stride(n, frames, stride)
    if s is None:
        return None
    log.info("%s: %d frames, stride lowered from %d to %d", name, n, stride, s)
    return s, 0.0


def assign_sizes(
    clips: list[UsableClip], resolution: int, step: int, enabled: bool
) -> list[UsableClip]:
    """Each clip with the aspect bucket it trains at (:func:`workstation.train.buckets.
    aspect_buckets`); ``enabled`` False: all at ``resolution`` squared, as before buckets."""
    from workstation.train.buckets import aspect_buckets, nearest_size

    if not enabled:
        return [replace(c, size=(0, 0)) for c in clips]
    sizes = aspect_buckets(resolution, step)
    return [replace(c, size=nearest_size(c.width, c.height, sizes)) for c in clips]


def window_rng(seed: int, epoch: int, index: int) -> random.Random:
    """The random draws of one sample (window start, crop, flip, caption dropout): a function
    of (seed, epoch, sample index) only, so any worker, and a resumed run, draw the same."""
    return random.Random(f"{seed}:{epoch}:{index}")


class ClipDataset(torch.utils.data.Dataset):
    """Random windows of the clips: each clip's own bucket (:meth:`UsableClip.bucket`: its
    frame count and size; without buckets ``frames`` frames, ``resolution`` squared), scaled
    to cover it and cropped.

    Items are dicts: ``pixels`` (F, 3, H, W) in [-1, 1], ``caption`` (after dropout),
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

    def buckets(self) -> list[tuple[int, int, int]]:
        """(width, height, frames) of each item, for :class:`~workstation.train.buckets.
        BucketBatches`."""
        return [c.bucket(self.frames, self.resolution) for c in self.clips]

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

    def cache_windows(self, index: int, count: int, how: str, key: str) -> list[torch.Tensor]:
        """The windows ``--cache-latents`` encodes for clip ``index`` (none flipped), as
        musubi-tuner's ``frame_extraction``: "uniform" = ``count`` starts spread evenly from
        frame 0 to the last possible start, "slide" = up to ``count`` windows back to back from
        frame 0, "head" = the first window only, each with a centre crop; "random" = the first
        (centre crop), then random starts and crops drawn from (``key``, window) alone."""
        clip = self.clips[index]
        if how == "random":
            return [
                self._load(clip, random.Random(f"{key}:{w}"), centre=w == 0, flip=False)[0]
                for w in range(count)
            ]
        starts = window_starts(clip.frame_count, self._span(clip), count, how)
        rng = random.Random(0)  # not drawn from: fixed starts, centre crops
        return [self._load(clip, rng, centre=True, flip=False, start=n)[0] for n in starts]

    def _span(self, clip: UsableClip) -> int:
        """Source frames from a window's first frame to its last."""
        return frame_indices(0, clip.bucket(self.frames, self.resolution)[2], clip.distance)[-1]

    def _load(
        self,
        clip: UsableClip,
        rng: random.Random,
        *,
        centre: bool,
        flip: bool,
        start: int | None = None,
    ) -> tuple[torch.Tensor, list[int]]:
        bw, bh, frames = clip.bucket(self.frames, self.resolution)
        if start is None:
            start = 0 if centre else rng.randint(0, clip.frame_count - 1 - self._span(clip))
        wanted = frame_indices(start, frames, clip.distance)
        # Scaled to cover the bucket (the short side fits), then cropped to it.
        scale = max(bw / clip.width, bh / clip.height)
        w = max(bw, round(clip.width * scale / 2) * 2)
        h = max(bh, round(clip.height * scale / 2) * 2)
        images = decode_frames(clip, wanted, w, h)
        if len(images) < frames:
            raise ValueError(f"decoded {len(images)} of {frames} frames")
        if centre:
            x0, y0 = (w - bw) // 2, (h - bh) // 2
            flip = False
        else:
            x0, y0 = rng.randint(0, w - bw), rng.randint(0, h - bh)
            flip = flip and rng.random() < 0.5
        stack = np.stack(images)[:, y0 : y0 + bh, x0 : x0 + bw]
        if flip:
            stack = stack[:, :, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(stack)).permute(0, 3, 1, 2).float()
        return t / 127.5 - 1.0, [start, x0, y0, int(flip)]


def window_starts(frame_count: int, span: int, count: int, how: str) -> list[int]:
    """First frames of the cached windows (see :meth:`ClipDataset.cache_windows`) of a clip of
    ``frame_count`` frames whose windows reach ``span`` frames past their start; no start
    twice."""
    last = frame_count - 1 - span
    if how == "head" or count == 1 or last <= 0:
        return [0]
    if how == "slide":
        return list(range(0, last + 1, span + 1))[:count]
    return sorted({round(k * last / (count - 1)) for k in range(count)})  # uniform


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


def bucket_loader(dataset, batch_size: int, seed: int, workers: int):
    """(DataLoader, its :class:`~workstation.train.buckets.BucketBatches`) over ``dataset``
    (a ClipDataset or cached latents): batches of one bucket each, in an order drawn from
    (seed, epoch) alone, the same on every process and again after a resume."""
    from workstation.train.buckets import BucketBatches

    batches = BucketBatches(dataset.buckets(), batch_size, seed)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_sampler=batches,
        # Its own generator (the workers' base seed): creating an iterator (e.g. the resumed,
        # skipping one) then draws nothing from the global RNG, whose restored state drives
        # crops and noise.
        generator=torch.Generator().manual_seed(seed),
        num_workers=workers,
        collate_fn=collate,
        # Fresh workers each epoch: they take the dataset's epoch (set by the loop) with
        # them, and the crops are a function of (seed, epoch, index), not of a worker's RNG.
        persistent_workers=False,
    )
    return loader, batches


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
