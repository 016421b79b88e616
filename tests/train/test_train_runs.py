"""Training runs on tiny random models: 2 steps, resume to 4, outputs reload; LoRA; launcher."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess

import av
import pytest
import torch
from safetensors.torch import load_file

from workstation.train import launch
from workstation.train.resume import checkpoints
from workstation.train.run import train

pytestmark = pytest.mark.slow

ORIGINAL_KEY = re.compile(
    r"^(down_blocks|up_blocks)\.\d+\.motion_modules\.\d+\.temporal_transformer\."
    r"(norm|proj_in|proj_out|transformer_blocks\.\d+\.(attention_blocks\.[01]\."
    r"(to_q|to_k|to_v|to_out\.0|pos_encoder)|norms\.[01]|ff_norm|ff\.net\.(0\.proj|2)))"
    r"\.(weight|bias|pe)$"
)
LORA_KEY = re.compile(
    r"^(down_blocks|up_blocks)\.\d+\.motion_modules\.\d+\.temporal_transformer\."
    r"transformer_blocks\.\d+\.attention_blocks\.[01]\.processor\."
    r"(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$"
)


def test_train_two_steps_then_resume_to_four(
    tiny_models, make_settings, tmp_path, caplog, fresh_accelerate
):
    out = tmp_path / "run"
    events: list[dict] = []
    first = make_settings(
        out,
        motion_module=str(tiny_models["adapter"]),
        max_steps=2,
        sample_prompts=["red ball"],
        target_fps=6.0,
    )
    with caplog.at_level(logging.INFO, logger="workstation.train"):
        train(first, events.append)
    kinds = [e["event"] for e in events]
    assert kinds == ["start", "sample", "step", "step", "checkpoint", "sample", "done"]
    start = events[0]
    assert start["clips"] == 3 and {os.path.basename(s["path"]) for s in start["skipped"]} == {
        "d.mp4",
        "broken.mp4",
    }
    assert sum("broken.mp4" in r.getMessage() for r in caplog.records) == 1  # logged once
    sanity = events[1]
    assert sanity["step"] == 0 and sanity["source"] == "input frames"
    assert [c.name for c in checkpoints(out)] == ["checkpoint-2"]
    assert launch.load_settings(out / "train_settings.json") == first
    assert all(json.loads(json.dumps(e)) == e for e in events)  # JSON-safe as emitted
    # Samples play at the training frame rate (not a fixed 8 fps).
    for e in events:
        if e["event"] == "sample":
            with av.open(e["path"]) as video:
                assert video.streams.video[0].average_rate == 6, e["path"]
    # The loss goes to TensorBoard too (accelerate's tracker), one scalar a step.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert start["tensorboard"] == str(out / "logs" / "train")
    board = EventAccumulator(start["tensorboard"])
    board.Reload()
    assert [x.step for x in board.Scalars("loss")] == [1, 2]
    steps = [e for e in events if e["event"] == "step"]
    assert [round(x.value, 4) for x in board.Scalars("loss")] == [
        round(e["loss"], 4) for e in steps
    ]

    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    resumed: list[dict] = []
    second = make_settings(
        out,
        motion_module=str(tiny_models["adapter"]),
        max_steps=4,
        resume="latest",
        sample_prompts=["red ball"],
    )
    done = train(second, resumed.append)
    assert resumed[0]["resumed_from"].endswith("checkpoint-2") and resumed[0]["step"] == 2
    assert [e["step"] for e in resumed if e["event"] == "step"] == [3, 4]
    assert "batch" not in " ".join(e.get("path", "") for e in resumed if e["event"] == "sample")
    ckpt = [e for e in resumed if e["event"] == "checkpoint"]
    assert ckpt[-1]["step"] == 4 and ckpt[-1]["removed"][0].endswith("checkpoint-2")
    assert [c.name for c in checkpoints(out)] == ["checkpoint-4"]  # pruned to the last one

    # The outputs: original keys, both pe buffers, no mid block (v3 layout), and they reload.
    from diffusers import MotionAdapter

    mm_path = out / "motion_module.safetensors"
    assert done["motion_module"] == str(mm_path)
    mm = load_file(str(mm_path))
    assert all(ORIGINAL_KEY.match(k) for k in mm), [k for k in mm if not ORIGINAL_KEY.match(k)]
    assert not any(k.startswith(("module.", "mid_block.")) for k in mm)
    pe = [k for k in mm if k.endswith("pos_encoder.pe")]
    assert len(pe) == 2 * (2 * 2 + 2 * 3)  # 2 attention blocks x (down 2x2 + up 2x3 modules)
    reloaded = MotionAdapter.from_single_file(
        str(mm_path), config=str(out / "motion_adapter"), local_files_only=True
    )
    folder = MotionAdapter.from_pretrained(out / "motion_adapter", local_files_only=True)
    trained = load_file(str(out / "checkpoint-4" / "trainable.safetensors"))
    original = MotionAdapter.from_pretrained(tiny_models["adapter"], local_files_only=True)
    r_sd, f_sd, o_sd = reloaded.state_dict(), folder.state_dict(), original.state_dict()
    assert r_sd.keys() == f_sd.keys()
    assert all(torch.equal(r_sd[k], f_sd[k]) for k in r_sd)
    assert all(torch.equal(f_sd[k], trained[k]) for k in trained)
    assert any(not torch.equal(f_sd[k], o_sd[k]) for k in trained)  # training changed it


def test_lora_from_an_original_file_with_cached_latents(
    tiny_models, make_settings, tmp_path, fresh_accelerate
):
    out = tmp_path / "lora"
    events: list[dict] = []
    s = make_settings(
        out,
        motion_module=str(tiny_models["motion_file"]),
        mode="lora",
        lora_rank=4,
        lora_alpha=2.0,
        max_steps=2,
        grad_accum=2,
        cache_latents=True,
        gradient_checkpointing=False,
        sample_prompts=["camera pans right"],
    )
    done = train(s, events.append)
    start = events[0]
    assert start["motion_module"] == "AnimateDiff v3 motion module mm_tiny_v3.safetensors"
    assert start["mode"] == "lora" and start["trainable_params"] > 0
    assert events[1]["source"] == "decoded from cached latents"
    assert [e["step"] for e in events if e["event"] == "step"] == [
        1,
        2,
    ]  # 3 batches: accum 2, then the epoch's end syncs

    lora = load_file(done["motion_lora"])
    assert lora and all(LORA_KEY.match(k) for k in lora), [k for k in lora if not LORA_KEY.match(k)]
    assert len(lora) == 10 * 2 * 4 * 2  # modules x attention blocks x q/k/v/out x down/up
    trained = load_file(str(out / "checkpoint-2" / "trainable.safetensors"))
    key = "down_blocks.0.motion_modules.0.transformer_blocks.0.attn1.to_q.lora_B.default.weight"
    orig = (
        "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0."
        "attention_blocks.0.processor.to_q_lora.up.weight"
    )
    assert torch.allclose(lora[orig], trained[key] * 0.5)  # alpha / rank folded in
    assert lora[orig].abs().sum() > 0

    # The merged module: base + scale * up @ down for that projection.
    base = load_file(str(tiny_models["motion_file"]))
    mm = load_file(done["motion_module"])
    q = (
        "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0."
        "attention_blocks.0.to_q.weight"
    )
    down = lora[orig.replace("up.weight", "down.weight")]
    assert torch.allclose(mm[q], base[q] + lora[orig] @ down, atol=1e-6)


def test_json_lines_through_accelerate_launch(make_settings, tmp_path):
    out = tmp_path / "launched"
    s = make_settings(
        out,
        max_steps=1,
        checkpoint_every=0,
        gradient_checkpointing=False,
        sample_prompts=["zoom"],
        fresh_version="v2",
        launcher="accelerate",
    )
    cmd = launch.build_command(s)
    assert "accelerate.commands.launch" in cmd
    env = launch.child_env({**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [launch.parse_event(line) for line in lines]
    assert all(events), f"stdout has non-event lines: {lines}"
    assert [e.kind for e in events] == ["start", "sample", "step", "checkpoint", "sample", "done"]
    assert events[0].data["motion_module"] == "fresh v2 motion module"
    assert "INFO" in proc.stderr  # logs went to stderr
    mm = load_file(events[-1].data["motion_module"])
    assert any(k.startswith("mid_block.motion_modules.0.temporal_transformer.") for k in mm)


def test_train_stage_reports_a_clear_error(tiny_export, tmp_path):
    s = launch.TrainSettings(
        dataset=str(tiny_export),
        base_model=str(tmp_path / "nope"),
        output=str(tmp_path / "out"),
        max_steps=1,
        num_workers=0,
    )
    from workstation.core.errors import WorkstationError
    from workstation.core.progress import drive

    with pytest.raises(WorkstationError, match=r"nope: base model not found"):
        drive(launch.train_stage(s))
    assert (tmp_path / "out" / "train.log").exists()  # the child's stderr goes there
