"""Aspect-ratio and frame-count buckets: the size list, the batches (one bucket each, an order
from (seed, epoch) alone), the loader's shapes, and a run on a mixed export: no batch mixes
buckets, the cached latents are keyed by bucket, and a resume trains the same bucket order."""

from __future__ import annotations

import json

import pytest

from workstation.core import synth
from workstation.train import buckets, data
from workstation.train.buckets import BucketBatches


def test_sizes_are_musubi_tuners_list_and_the_nearest_ratio_wins():
    assert buckets.aspect_buckets(256, 64) == [
        (128, 512),
        (192, 320),
        (256, 256),
        (320, 192),
        (512, 128),
    ]
    sizes = buckets.aspect_buckets(512, 64)
    assert (448, 576) in sizes and all(w % 64 == 0 and h % 64 == 0 for w, h in sizes)
    assert all(w * h <= 512 * 512 for w, h in sizes)
    assert buckets.nearest_size(1920, 1080, sizes) == (640, 384)  # 16:9 -> 5:3
    assert buckets.nearest_size(1080, 1920, sizes) == (384, 640)
    assert buckets.nearest_size(720, 720, sizes) == (512, 512)
    assert buckets.frame_buckets(16) == [16, 12, 8]
    assert buckets.frame_buckets(8) == [8, 4]
    assert buckets.frame_buckets(24) == [24, 16, 12]
    assert buckets.frame_buckets(4) == [4]


def test_batches_hold_one_bucket_and_follow_seed_and_epoch():
    keys = [(64, 64, 8)] * 5 + [(80, 48, 8)] * 3 + [(64, 64, 4)] * 2
    sampler = BucketBatches(keys, 2, seed=3)
    assert len(sampler) == 3 + 2 + 1
    orders = []
    for epoch in range(4):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert sorted(i for b in batches for i in b) == list(range(10))  # each once
        assert all(len({keys[i] for i in b}) == 1 for b in batches)  # never mixed
        orders.append(batches)
    assert len({json.dumps(o) for o in orders}) > 1  # another epoch, another order
    again = BucketBatches(keys, 2, seed=3)
    again.set_epoch(2)
    assert list(again) == orders[2]  # a function of (seed, epoch) alone
    assert not hasattr(sampler, "batch_size")  # accelerate then never tops a batch up


@pytest.mark.parametrize("processes", [2, 3])
def test_accelerates_sharding_keeps_batches_whole(processes):
    """Multi-GPU: accelerate's BatchSamplerShard evens the processes out by repeating whole
    batches (the sampler has no batch_size), never by topping one up from another bucket."""
    from accelerate.data_loader import BatchSamplerShard

    keys = [(64, 64, 8)] * 5 + [(80, 48, 8)] * 3 + [(64, 64, 4)] * 1
    sampler = BucketBatches(keys, 2, seed=0)
    shards = [
        list(BatchSamplerShard(sampler, num_processes=processes, process_index=p))
        for p in range(processes)
    ]
    assert len({len(b) for b in shards}) == 1  # every process takes as many steps
    seen = [i for shard in shards for b in shard for i in b]
    assert set(seen) == set(range(len(keys)))
    for shard in shards:
        assert all(len({keys[i] for i in b}) == 1 for b in shard)
        assert all(b in sampler.batches() for b in shard)  # whole batches of this epoch


def _export(root, clips) -> None:
    lines = []
    for name, frames, width, height in clips:
        synth.write_video(
            root / name,
            synth.Sequence([synth.Shot("shapes", frames, seed=frames + width)]),
            width=width,
            height=height,
            gop=8,
        )
        lines.append({"video_path": name, "caption": name.split(".")[0]})
    (root / "metadata.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")


MIXED = [
    ("wide1.mp4", 40, 96, 48),
    ("wide2.mp4", 40, 96, 48),
    ("tall.mp4", 40, 48, 96),
    ("square1.mp4", 40, 64, 64),
    ("square2.mp4", 40, 64, 64),
    ("square3.mp4", 40, 64, 64),
    ("short.mp4", 15, 64, 64),  # 0.6 s: 8 frames at 8 fps need 0.9 s, 4 frames fit
]
WANT = {
    "wide1": (80, 48, 8),
    "wide2": (80, 48, 8),
    "tall": (48, 80, 8),
    "square1": (64, 64, 8),
    "square2": (64, 64, 8),
    "square3": (64, 64, 8),
    "short": (64, 64, 4),
}


@pytest.fixture(scope="module")
def mixed_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    _export(root, MIXED)
    return root


def test_each_clip_loads_at_its_bucket(mixed_export):
    usable, skipped = data.scan_clips(data.read_export(mixed_export), 8, 4, target_fps=8)
    assert not skipped
    usable = data.assign_sizes(usable, 64, 16, enabled=True)
    ds = data.ClipDataset(usable, frames=8, resolution=64, deterministic=True)
    assert dict(zip([c.caption for c in usable], ds.buckets(), strict=True)) == WANT
    for i, (w, h, f) in enumerate(ds.buckets()):
        assert ds[i]["pixels"].shape == (f, 3, h, w)
    square = data.assign_sizes(usable, 64, 16, enabled=False)
    ds = data.ClipDataset(square, frames=8, resolution=64, deterministic=True)
    assert {b[:2] for b in ds.buckets()} == {(64, 64)}  # --no-aspect-buckets: square crops
    assert ds[0]["pixels"].shape == (8, 3, 64, 64)


def _run(settings) -> tuple[dict, list[tuple]]:
    from accelerate.state import AcceleratorState

    from workstation.train.run import train

    AcceleratorState._reset_state(reset_partial_state=True)
    events: list[dict] = []
    timeline: list[tuple] = []

    def emit(event: dict) -> None:
        events.append(event)
        if event["event"] == "step":
            timeline.append(("step", event["step"], event["loss"]))

    def on_batch(batch: dict) -> None:
        windows = tuple(tuple(w) for w in batch["window"])
        timeline.append(("batch", tuple(batch["index"]), windows))

    train(settings, emit, on_batch=on_batch)
    return events[0], timeline


@pytest.mark.slow
def test_a_run_never_mixes_buckets_and_a_resume_keeps_their_order(
    tiny_models, make_settings, mixed_export, tmp_path, fresh_accelerate
):
    def settings(out, **kw):
        common = dict(
            dataset=str(mixed_export),
            motion_module=str(tiny_models["adapter"]),
            resolution=64,
            batch_size=2,
            max_steps=7,  # 5 batches an epoch: across an epoch's end
            gradient_checkpointing=False,
            sample_prompts=["a ball"],
        )
        return make_settings(tmp_path / out, **{**common, **kw})

    start, whole = _run(settings("whole", checkpoint_every=3, keep_checkpoints=3))
    names = [name.split(".")[0] for name, _, _, _ in MIXED]
    assert start["buckets"] == {"48x80x8": 1, "64x64x4": 1, "64x64x8": 3, "80x48x8": 2}
    assert start["bucket_summary"] == (
        "64x64, 8 frames: 3 clips; 80x48, 8 frames: 2 clips; 48x80, 8 frames: 1 clip; "
        "64x64, 4 frames: 1 clip"
    )
    batches = [x[1] for x in whole if x[0] == "batch"]
    assert len(batches) == 7
    for b in batches:
        assert len({WANT[names[i]] for i in b}) == 1, b
    first_epoch = sorted(i for b in batches[:5] for i in b)
    assert first_epoch == list(range(7))

    start, resumed = _run(settings("from-3", resume=str(tmp_path / "whole" / "checkpoint-3")))
    at = next(i for i, x in enumerate(whole) if x[0] == "step" and x[1] == 3)
    assert resumed == whole[at + 1 :]  # same batches, windows and losses

    # Cached latents: one file per clip at its bucket's shape; a change of buckets, new files.
    _run(settings("cached", cache_latents=True, cache_windows=2, max_steps=2))
    from safetensors.torch import load_file

    cache = tmp_path / "cached" / "latent-cache"
    shapes = sorted(tuple(load_file(str(p))["latents"].shape) for p in cache.iterdir())
    v = 2  # the tiny VAE halves the size once (SD1.5's: 8)
    assert shapes == sorted(
        [(2, 4, 8, 48 // v, 80 // v)] * 2
        + [(2, 4, 8, 80 // v, 48 // v)]
        + [(2, 4, 8, 64 // v, 64 // v)] * 3
        + [(2, 4, 4, 64 // v, 64 // v)]
    )
    before = {p.name for p in cache.iterdir()}
    s = settings("cached", cache_latents=True, cache_windows=2, max_steps=2)
    s.aspect_buckets = False
    _run(s)
    after = {p.name for p in cache.iterdir()}
    # The square clips keep their files (same bucket); the wide and tall ones get new ones.
    assert len(after - before) == 3 and before <= after
