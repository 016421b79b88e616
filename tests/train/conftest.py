"""Tiny random models and a tiny dataset export, built in code, loaded like real ones."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

from workstation.core import synth
from workstation.train.launch import TrainSettings


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """``sd``: diffusers folder; ``adapter``: MotionAdapter folder (v3 layout);
    ``motion_file``: the same module in the original AnimateDiff format."""
    from workstation.train.convert import save_safetensors, to_original
    from workstation.train.random_models import build_adapter_folder, build_sd_folder

    root = tmp_path_factory.mktemp("tiny-models")
    sd = build_sd_folder(root, "tiny")
    adapter = build_adapter_folder(root / "adapter", "tiny")
    motion_file = save_safetensors(
        to_original(adapter.state_dict()), root / "mm_tiny_v3.safetensors"
    )
    return {"sd": sd, "adapter": root / "adapter", "motion_file": motion_file}


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory) -> Path:
    """metadata.jsonl export: 2 good clips (70 and 40 frames), one of 20 frames (stride gets
    lowered), one of 5 frames (too short) and a broken file."""
    root = tmp_path_factory.mktemp("export")
    clips = root / "clips"
    lines = []
    for name, frames, kind, caption in [
        ("a.mp4", 70, "shapes", "red ball moves left"),
        ("b.mp4", 40, "fast", "camera pans right"),
        ("c.mp4", 20, "texture", "slow zoom"),
        ("d.mp4", 5, "shapes", "too short"),
    ]:
        synth.write_video(
            clips / name,
            synth.Sequence([synth.Shot(kind, frames, seed=frames)]),
            width=64,
            height=48,
            gop=10,
        )
        lines.append({"video_path": f"clips/{name}", "caption": caption})
    (clips / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 10)
    lines.append({"video_path": "clips/broken.mp4", "caption": "broken"})
    (root / "metadata.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return root


@pytest.fixture()
def make_settings(tiny_models, tiny_export):
    """``make_settings(output, **overrides)``: the fast recipe on the tiny models and export."""

    def make(output: Path, **kw) -> TrainSettings:
        return tiny_settings(tiny_models, tiny_export, output, **kw)

    return make


def tiny_settings(models: dict[str, Path], export: Path, output: Path, **kw) -> TrainSettings:
    """The fast recipe: 32 px (buckets in steps of 16), 8 frames at stride 4, no workers, no
    warm-up, 2 sample steps."""
    base = dict(
        dataset=str(export),
        base_model=str(models["sd"]),
        output=str(output),
        resolution=32,
        bucket_step=16,
        frames=8,
        stride=4,
        max_steps=4,
        checkpoint_every=2,
        keep_checkpoints=1,
        sample_every=0,
        sample_steps=2,
        num_workers=0,
        lr_warmup_steps=0,
        learning_rate=1e-3,
    )
    base.update(kw)
    return TrainSettings(**base)


@pytest.fixture()
def fresh_accelerate():
    """accelerate keeps process-wide state; each in-process run starts from a clean one."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


# Two cores shared with other jobs: one intra-op thread each is several times faster than
# OpenMP threads spinning against each other (measured: ~20 s vs ~1 s per tiny step).
torch.set_num_threads(1)
