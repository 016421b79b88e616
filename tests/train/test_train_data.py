"""The loader's frames: chosen by time (the same motion speed from any source frame rate),
decoded by seeking (the same frames as a full decode), cropped by (seed, epoch, index)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

from workstation.core import synth
from workstation.train import data


def _clip(tmp_path, name: str, frames: int, fps, *, gop: int = 10, width=48) -> data.ClipEntry:
    """A clip whose frames carry their numbers (square by default: a crop keeps the code)."""
    path = tmp_path / name
    synth.write_video(
        path,
        synth.Sequence([synth.Shot("shapes", frames, seed=frames)]),
        width=width,
        height=48,
        fps=fps,
        gop=gop,
    )
    return data.ClipEntry(path, name)


def _numbers(pixels: torch.Tensor) -> list[int | None]:
    images = ((pixels + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    return [synth.read_frame_number(img) for img in images]


def test_frames_are_taken_by_time_whatever_the_source_fps(tmp_path):
    entries = [_clip(tmp_path, "24.mp4", 48, 24), _clip(tmp_path, "60.mp4", 120, 60)]
    usable, skipped = data.scan_clips(entries, 8, 4, target_fps=8)
    assert not skipped
    assert [c.fps for c in usable] == [24, 60]
    assert [c.step for c in usable] == [3.0, 7.5]
    ds = data.ClipDataset(usable, frames=8, resolution=48, hflip=False, deterministic=True)
    times = []
    for i, clip in enumerate(usable):
        numbers = _numbers(ds[i]["pixels"])
        assert None not in numbers
        times.append([n / clip.fps for n in numbers])  # type: ignore[operator]
    for k in range(8):
        # Each frame is the source frame nearest k / 8 s: within half a source frame.
        assert abs(times[0][k] - k / 8) <= 0.5 / 24 + 1e-9
        assert abs(times[1][k] - k / 8) <= 0.5 / 60 + 1e-9
    # 0, 1/8, ... s at 24 fps is every 3rd frame; at 60 fps 7.5 frames apart, rounded.
    assert times[0] == [n / 24 for n in range(0, 24, 3)]


def test_a_short_clip_goes_to_a_shorter_bucket_or_is_skipped_or_sped_up(tmp_path):
    entry = _clip(tmp_path, "short.mp4", 36, 60)  # 0.6 s: 8 frames at 8 fps need 0.875 s
    # Default: the longest frame bucket it fills at the true speed (4 frames: 0.375 s).
    (clip,), _ = data.scan_clips([entry], 8, 4, target_fps=8)
    assert (clip.frames, clip.step) == (4, 7.5)
    assert clip.bucket(8, 48) == (48, 48, 4)
    ds = data.ClipDataset([clip], frames=8, resolution=48, deterministic=True)
    assert ds[0]["pixels"].shape == (4, 3, 48, 48)
    assert _numbers(ds[0]["pixels"]) == [0, 8, 15, 23]  # 7.5 source frames apart
    none, (skip,) = data.scan_clips([entry], 8, 4, target_fps=8, short_clips="skip")
    assert not none and skip.problem == "only 0.60 s, 8 frames at 8 fps needed"
    (fast,), _ = data.scan_clips([entry], 8, 4, target_fps=8, short_clips="faster")
    assert (fast.frames, fast.step) == (0, pytest.approx(5.0))  # (36 - 1) / (8 - 1)
    (old,), _ = data.scan_clips([entry], 8, 4, target_fps=0)
    assert (old.frames, old.step, old.stride) == (0, 0.0, 4)  # 8 x 4 frames fit in 36
    tiny = _clip(tmp_path, "tiny.mp4", 10, 60)  # fills no bucket at 8 fps: skipped
    assert data.scan_clips([tiny], 8, 4, target_fps=8)[0] == []


@pytest.mark.parametrize("fps", [24, Fraction(30000, 1001)])
def test_seeking_decode_gives_a_full_decodes_frames(tmp_path, fps):
    entry = _clip(tmp_path, "long.mp4", 90, fps, gop=12)
    (clip,), _ = data.scan_clips([entry], 8, 4, target_fps=0)
    assert len(clip.pts) == 90
    for start in (0, 5, 12, 37, 61):
        wanted = data.frame_indices(start, 8, 4)
        # Through the seek itself, not its fallback (a full decode).
        seeking = data._decode_seeking(clip.path, {clip.pts[n]: n for n in wanted}, 48, 48)
        assert seeking is not None
        full = data._decode(clip.path, set(wanted), wanted[-1] + 1, 48, 48)
        assert len(seeking) == len(full) == 8
        assert all((a == b).all() for a, b in zip(seeking, full, strict=True))
        assert [synth.read_frame_number(img) for img in seeking] == wanted


def test_windows_and_crops_follow_seed_epoch_and_index(tmp_path):
    entry = _clip(tmp_path, "a.mp4", 90, 24, width=64)
    (clip,), _ = data.scan_clips([entry], 8, 4, target_fps=8)
    ds = data.ClipDataset([clip], frames=8, resolution=32, seed=7)
    first = ds[0]["window"].tolist()
    assert data.ClipDataset([clip], frames=8, resolution=32, seed=7)[0]["window"].tolist() == first
    epochs = set()
    for epoch in range(6):
        ds.set_epoch(epoch)
        start, x0, y0, _flip = ds[0]["window"].tolist()
        epochs.add((start, x0, y0))
    assert len(epochs) > 1  # another epoch, another window


def test_cached_latents_live_on_disk_and_are_reused(tmp_path):
    import os

    from workstation.train.latents import CachedLatents, _cache_latents, cache_key
    from workstation.train.launch import TrainSettings

    entries = [_clip(tmp_path, f"{i}.mp4", 40 + 10 * i, 24, width=64) for i in range(3)]
    clips, _ = data.scan_clips(entries, 8, 4, target_fps=8)
    s = TrainSettings(
        dataset=str(tmp_path), base_model="sd", output=str(tmp_path / "out"), resolution=32
    )
    s.frames, s.cache_windows = 8, 3
    encoded: list[torch.Tensor] = []

    def encode(pixels: torch.Tensor) -> torch.Tensor:  # (1, F, 3, H, W) -> (1, 4, F, 4, 4)
        encoded.append(pixels)
        return pixels.mean(dim=(2, 3, 4))[:, None, :, None, None].expand(1, 4, 8, 4, 4) * 1.0

    first = _cache_latents(clips, s, encode)
    assert isinstance(first, CachedLatents) and len(encoded) == 9
    files = sorted((tmp_path / "out" / "latent-cache").glob("*.safetensors"))
    assert len(files) == 3 and first.latents[0].shape == (3, 4, 8, 4, 4)
    assert len({tuple(w[0, :, 0, 0].tolist()) for w in first.latents[0]}) == 3  # 3 windows

    encoded.clear()
    again = _cache_latents(clips, s, encode)  # another run: read back, nothing encoded
    assert not encoded
    assert all(torch.equal(first.latents[i], again.latents[i]) for i in range(3))

    st = clips[1].path.stat()
    os.utime(clips[1].path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the clip changed
    damaged = tmp_path / "out" / "latent-cache" / f"{cache_key(clips[0], s, 'float32')}.safetensors"
    damaged.write_bytes(b"not safetensors")  # and clip 0's cache file is damaged
    _cache_latents(clips, s, encode)
    assert len(encoded) == 6  # clip 1 (new key) and the damaged one, 3 windows each

    # Each epoch takes one window per clip, by (seed, epoch, index).
    taken = set()
    for epoch in range(8):
        again.set_epoch(epoch)
        taken.add(int(again[0]["window"][0]))
    assert taken == {0, 1, 2}


def test_cached_windows_sit_where_the_extraction_says(tmp_path):
    assert data.window_starts(40, 21, 3, "uniform") == [0, 9, 18]
    assert data.window_starts(100, 21, 4, "slide") == [0, 22, 44, 66]  # back to back
    assert data.window_starts(100, 21, 9, "slide") == [0, 22, 44, 66]  # no more fit
    assert data.window_starts(100, 21, 4, "head") == [0]
    assert data.window_starts(22, 21, 4, "uniform") == [0]  # exactly one window long
    assert data.window_starts(25, 21, 8, "uniform") == [0, 1, 2, 3]  # no start twice
    (clip,), _ = data.scan_clips([_clip(tmp_path, "c.mp4", 40, 24)], 8, 4, target_fps=8)
    ds = data.ClipDataset([clip], frames=8, resolution=48, deterministic=True)
    for how, firsts in (("uniform", [0, 9, 18]), ("slide", [0]), ("head", [0])):
        windows = ds.cache_windows(0, 3, how, "key")
        assert [_numbers(w)[0] for w in windows] == firsts, how
        assert _numbers(windows[-1]) == [firsts[-1] + 3 * k for k in range(8)]
    randoms = ds.cache_windows(0, 3, "random", "key")
    assert len(randoms) == 3 and _numbers(randoms[0])[0] == 0
    assert [w.tolist() for w in ds.cache_windows(0, 3, "random", "key")] == [
        w.tolist() for w in randoms
    ]  # drawn from the key alone
