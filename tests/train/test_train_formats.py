"""Fast tests: key conversion both ways, version detection, dataset reading, settings, events."""

from __future__ import annotations

import argparse
import json
import logging

import pytest
import torch

from workstation.core.errors import WorkstationError
from workstation.train import convert, data, launch, models
from workstation.train.checks import error_event, oom_message


def _adapter_state(mid: bool, max_len: int = 32):
    from diffusers import MotionAdapter

    torch.manual_seed(0)
    a = MotionAdapter(
        block_out_channels=(32, 64),
        motion_layers_per_block=2,
        motion_norm_num_groups=2,
        motion_max_seq_length=max_len,
        use_motion_mid_block=mid,
    )
    return a.state_dict()


@pytest.mark.parametrize("mid", [False, True])
def test_to_original_is_the_inverse_of_diffusers_conversion(mid):
    from diffusers.loaders.single_file_utils import convert_animatediff_checkpoint_to_diffusers

    state = _adapter_state(mid)
    original = convert.to_original(state)
    assert all(".temporal_transformer." in k and not k.startswith("module.") for k in original)
    assert any(k.startswith("mid_block.") for k in original) == mid
    back = convert_animatediff_checkpoint_to_diffusers(original)
    expected = {k: v for k, v in state.items() if ".pos_embed." not in k}
    assert back.keys() == expected.keys()
    assert all(torch.equal(back[k], expected[k]) for k in expected)
    # Both attention blocks of every transformer block carry the sinusoidal table.
    blocks = {k.rsplit(".attention_blocks.", 1)[0] for k in original if ".attention_blocks." in k}
    for b in blocks:
        pe0 = original[f"{b}.attention_blocks.0.pos_encoder.pe"]
        pe1 = original[f"{b}.attention_blocks.1.pos_encoder.pe"]
        assert pe0.shape[:2] == (1, 32) and torch.equal(pe0, pe1)
        assert torch.allclose(pe0[0, 1, 1], torch.cos(torch.tensor(1.0)))


def test_version_detection_and_config_from_keys():
    v3 = convert.to_original(_adapter_state(False))
    v2 = convert.to_original(_adapter_state(True))
    v1 = convert.to_original(_adapter_state(False, max_len=24))
    assert [models.detect_version(x) for x in (v1, v2, v3)] == ["v1", "v2", "v3"]
    cfg = models.adapter_config_from_keys(v2, norm_groups=2)
    assert cfg["block_out_channels"] == [32, 64] and cfg["motion_layers_per_block"] == 2
    assert cfg["use_motion_mid_block"] and cfg["motion_max_seq_length"] == 32
    with pytest.raises(ValueError, match="no AnimateDiff"):
        models.detect_version({"foo.weight": torch.zeros(1)})


def test_lora_keys_fold_alpha_into_up():
    state = {
        "down_blocks.0.motion_modules.1.transformer_blocks.0.attn2.to_out.0.lora_A.default.weight": torch.ones(
            4, 32
        ),
        "down_blocks.0.motion_modules.1.transformer_blocks.0.attn2.to_out.0.lora_B.default.weight": torch.ones(
            32, 4
        ),
        "down_blocks.0.motion_modules.1.transformer_blocks.0.attn2.to_out.0.base_layer.weight": torch.zeros(
            32, 32
        ),
    }
    out = convert.lora_to_original(state, 0.5)
    stem = (
        "down_blocks.0.motion_modules.1.temporal_transformer.transformer_blocks.0."
        "attention_blocks.1.processor.to_out_lora"
    )
    assert set(out) == {f"{stem}.down.weight", f"{stem}.up.weight"}
    assert torch.equal(out[f"{stem}.up.weight"], torch.full((32, 4), 0.5))
    merged = convert.merge_lora(state, 0.5)
    key = "down_blocks.0.motion_modules.1.transformer_blocks.0.attn2.to_out.0.weight"
    assert list(merged) == [key] and torch.equal(merged[key], torch.full((32, 32), 2.0))


def test_fit_stride():
    assert data.fit_stride(61, 16, 4) == 4
    assert data.fit_stride(40, 16, 4) == 2  # lowered, not padded
    assert data.fit_stride(16, 16, 4) == 1
    assert data.fit_stride(15, 16, 4) is None


def test_scan_reports_each_bad_clip_once(tiny_export, caplog):
    entries = data.read_export(tiny_export)
    assert len(entries) == 5 and entries[0].caption == "red ball moves left"
    with caplog.at_level(logging.INFO, logger="workstation.train"):
        usable, skipped = data.scan_clips(entries, 8, 4, short_clips="faster")
    assert [c.path.name for c in usable] == ["a.mp4", "b.mp4", "c.mp4"]
    assert [c.stride for c in usable] == [4, 4, 2]
    problems = {s.path.name: s.problem for s in skipped}
    assert problems["d.mp4"] == "only 5 frames, 8 needed"
    assert problems["broken.mp4"].startswith("cannot be read")
    assert sum("broken.mp4" in r.getMessage() for r in caplog.records) == 1
    assert any("stride lowered from 4 to 2" in r.getMessage() for r in caplog.records)
    # By default the 20-frame clip keeps stride 4 and trains with 4 frames (13 of 20).
    shorter, _ = data.scan_clips(entries, 8, 4)
    assert [(c.stride, c.frames) for c in shorter] == [(4, 0), (4, 0), (4, 4)]


def test_clip_dataset_takes_every_stride_th_frame(tmp_path):
    from workstation.core import synth

    path = tmp_path / "square.mp4"
    synth.write_video(
        path, synth.Sequence([synth.Shot("shapes", 30, seed=3)]), width=64, height=64, gop=8
    )
    usable, _ = data.scan_clips([data.ClipEntry(path, "a cat")], 8, 4)
    assert usable[0].stride == 4  # 30 frames hold 8 at stride 4 (29 frames)
    ds = data.ClipDataset(usable, frames=8, resolution=64, hflip=False, deterministic=True)
    item = ds[0]
    assert item["pixels"].shape == (8, 3, 64, 64) and item["caption"] == "a cat"
    assert item["pixels"].min() >= -1.0 and item["pixels"].max() <= 1.0
    images = ((item["pixels"] + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    assert [synth.read_frame_number(img) for img in images] == list(range(0, 29, 4))
    entry = data.ClipEntry(path, "a cat")
    short = data.scan_clips([entry], 8, 8, short_clips="faster")[0][0]
    assert short.stride == 4  # asked 8, lowered to what the clip allows
    short = data.scan_clips([entry], 8, 8)[0][0]
    assert (short.stride, short.frames) == (8, 4)  # or kept, with 4 frames (25 of 30)


def test_read_export_webvid_and_bad_lines(tmp_path):
    (tmp_path / "videos").mkdir()
    (tmp_path / "results.csv").write_text(
        "videoid,contentUrl,duration,page_dir,name\n12,,PT00H00M05S,,a dog runs\n"
    )
    [entry] = data.read_export(tmp_path)
    assert entry.path == tmp_path / "videos" / "12.mp4" and entry.caption == "a dog runs"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "metadata.jsonl").write_text('{"video_path": "a.mp4", "caption": "x"}\n{oops\n')
    with pytest.raises(WorkstationError, match=r"metadata.jsonl, line 2: not valid JSON"):
        data.read_export(bad)
    with pytest.raises(WorkstationError, match="not a dataset export"):
        data.read_export(tmp_path / "videos")


def test_settings_round_trip_through_the_child_command_line():
    s = launch.TrainSettings(
        dataset="d",
        base_model="b",
        output="o",
        mode="lora",
        max_steps=7,
        hflip=False,
        sample_prompts=["a cat", "b"],
        learning_rate=3e-5,
        accelerate_config="multi.yaml",
    )
    cmd = launch.build_command(s, python="py")
    assert cmd[:3] == ["py", "-m", "accelerate.commands.launch"]
    assert cmd[cmd.index("--config_file") + 1] == "multi.yaml"
    child = cmd[cmd.index("workstation.train.run") + 1 :]
    parser = argparse.ArgumentParser()
    launch.add_arguments(parser, for_child=True)
    back = launch.settings_from_args(parser.parse_args(child))
    assert back == launch.TrainSettings(
        **{**s.__dict__, "accelerate_config": "", "launcher": "auto"}
    )
    plain = launch.build_command(
        launch.TrainSettings(dataset="d", base_model="b", output="o"), python="py"
    )
    assert plain[:3] == ["py", "-m", "workstation.train.run"]


def test_parse_event_ignores_everything_but_events():
    assert launch.parse_event("Loading weights: 100%") is None
    assert launch.parse_event('{"not": "an event"}') is None
    assert launch.parse_event("{broken") is None
    e = launch.parse_event(json.dumps({"event": "step", "step": 3, "loss": 0.5}) + "\n")
    assert e.kind == "step" and e.step == 3 and e.data["loss"] == 0.5


def test_error_events_say_what_to_do():
    s = launch.TrainSettings(resolution=512, frames=24, batch_size=2)
    oom = error_event(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), s)
    assert oom["kind"] == "oom" and oom["message"] == oom_message(s)
    for knob in (
        "512 px",
        "24 frames",
        "batch 2",
        "--resolution",
        "--frames",
        "--batch-size",
        "--gradient-checkpointing",
        "--adam-8bit",
    ):
        assert knob in oom["message"]
    assert error_event(WorkstationError("x.mp4: bad"), s) == {
        "event": "error",
        "kind": "input",
        "message": "x.mp4: bad",
    }
    assert error_event(RuntimeError("boom"), s)["kind"] == "internal"


def test_cli_has_the_train_command():
    from workstation.cli import build_parser

    args = build_parser().parse_args(
        [
            "train",
            "--dataset",
            "d",
            "--base-model",
            "b",
            "--output",
            "o",
            "--mode",
            "lora",
            "--resume",
            "latest",
            "--max-steps",
            "10",
            "--resolution",
            "384",
        ]
    )
    s = launch.settings_from_args(args)
    assert (s.mode, s.resume, s.max_steps, s.resolution) == ("lora", "latest", 10, 384)


def test_launch_module_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, workstation.train, workstation.cli.train; "
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers', 'accelerate') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_preflight_fails_fast_on_paths_and_missing_bitsandbytes(tiny_models, tiny_export, tmp_path):
    import importlib.util

    from workstation.train.checks import _preflight

    ok = dict(dataset=str(tiny_export), base_model=str(tiny_models["sd"]), output=str(tmp_path))
    with pytest.raises(WorkstationError, match=r"--motion-module .*mm\.safetensors: not found"):
        _preflight(launch.TrainSettings(**ok, motion_module=str(tmp_path / "mm.safetensors")))
    with pytest.raises(WorkstationError, match="dataset folder not found"):
        _preflight(launch.TrainSettings(**{**ok, "dataset": str(tmp_path / "nope")}))
    _preflight(launch.TrainSettings(**ok, resume="latest"))
    if importlib.util.find_spec("bitsandbytes") is None:
        with pytest.raises(WorkstationError, match="--adam-8bit needs the bitsandbytes package"):
            _preflight(launch.TrainSettings(**ok, adam_8bit=True))


def test_a_clip_that_fails_while_training_is_logged_once_and_skipped(tmp_path, caplog):
    from workstation.core import synth

    good = tmp_path / "good.mp4"
    synth.write_video(good, synth.Sequence([synth.Shot("shapes", 12, seed=1)]), width=64, height=64)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(good.read_bytes()[:-400])  # cut off: decodes fewer frames than it claims
    clips = [
        data.UsableClip(bad, "bad", 200, 1, 64, 64),
        data.UsableClip(good, "good", 12, 1, 64, 64),
    ]
    ds = data.ClipDataset(clips, frames=8, resolution=32)
    with caplog.at_level(logging.WARNING, logger="workstation.train"):
        items = [ds[0] for _ in range(3)]
    assert [it["index"] for it in items] == [1, 1, 1]
    assert sum("bad.mp4" in r.getMessage() for r in caplog.records) == 1


def test_settings_save_and_load(tmp_path):
    s = launch.TrainSettings(
        dataset="d",
        base_model="b",
        output="o",
        sample_prompts=["x"],
        learning_rate=1e-5,
        hflip=False,
    )
    path = launch.save_settings(s, tmp_path / "train_settings.json")
    assert launch.load_settings(path) == s
    path.write_text(json.dumps({"version": 1, "settings": {"max_steps": "ten"}}))
    with pytest.raises(WorkstationError, match="'max_steps' must be int"):
        launch.load_settings(path)
    path.write_text(json.dumps({"version": 1, "settings": {"resolutoin": 512}}))
    with pytest.raises(WorkstationError, match="unknown training setting 'resolutoin'"):
        launch.load_settings(path)


def _fake_python(tmp_path, body: str):
    """A stand-in for the child's interpreter: a shell script that prints canned events."""
    script = tmp_path / "fake-python"
    script.write_text('#!/bin/sh\necho $$ > "$(dirname "$0")/pid"\n' + body)
    script.chmod(0o755)
    return str(script)


def test_train_stage_reads_events_and_stops_the_child_on_cancel(tmp_path):
    import os

    python = _fake_python(
        tmp_path,
        (
            "echo 'Loading weights 100%' >&2\n"
            'echo \'{"event": "start", "step": 0, "max_steps": 5}\'\n'
            "echo 'stray print'\n"
            'echo \'{"event": "step", "step": 1, "loss": 0.25, "eta_s": 120}\'\n'
            "exec sleep 300\n"
        ),
    )
    s = launch.TrainSettings(dataset="d", base_model="b", output=str(tmp_path / "out"))
    stage = launch.train_stage(s, python=python)
    records = [next(stage) for _ in range(3)]
    assert [(r.done, r.total) for r in records] == [(0, 2000), (0, 5), (1, 5)]
    assert records[2].message == "loss 0.2500, 2 min left"
    pid = int((tmp_path / "pid").read_text())
    stage.close()  # cancel: the child is terminated and reaped
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_train_stage_quotes_the_log_when_the_child_dies(tmp_path):
    from workstation.core.progress import drive

    python = _fake_python(tmp_path, "echo 'Traceback: something broke' >&2\nexit 3\n")
    s = launch.TrainSettings(dataset="d", base_model="b", output=str(tmp_path / "out"))
    with pytest.raises(WorkstationError, match=r"exited with code 3(.|\n)*something broke"):
        drive(launch.train_stage(s, python=python))
    assert "something broke" in (tmp_path / "out" / "train.log").read_text()


def test_training_code_never_imports_qt():
    import ast
    from pathlib import Path

    import workstation.train

    folder = Path(workstation.train.__file__).parent
    for path in [*folder.glob("*.py"), folder.parent / "cli" / "train.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [
                n
                for n in names
                if n.split(".")[0] in ("PySide6", "workstation")
                and (n.startswith("PySide6") or n.startswith("workstation.ui"))
            ], path


def test_child_prints_only_an_error_event_for_a_bad_path(tmp_path):
    import subprocess
    import sys

    s = launch.TrainSettings(
        dataset=str(tmp_path / "missing"), base_model="b", output=str(tmp_path / "out")
    )
    proc = subprocess.run(
        launch.build_command(s, python=sys.executable),
        capture_output=True,
        text=True,
        env=launch.child_env(),
        timeout=120,
    )
    assert proc.returncode == 1
    [line] = proc.stdout.splitlines()
    event = launch.parse_event(line)
    assert event.kind == "error" and event.data["kind"] == "input"
    assert event.message == f"{tmp_path / 'missing'}: dataset folder not found"


def test_horizontal_flip_is_off_unless_asked_for():
    """A flip turns a pan right into a pan left: off by default and in every preset."""
    from workstation.ui.train.run import PRESETS, apply_preset

    assert launch.TrainSettings().hflip is False
    for name in PRESETS:
        assert apply_preset(launch.TrainSettings(), name).hflip is False, name
    parser = argparse.ArgumentParser()
    launch.add_arguments(parser)
    paths = ["--dataset", "d", "--base-model", "b", "--output", "o"]
    assert launch.settings_from_args(parser.parse_args(paths)).hflip is False
    assert launch.settings_from_args(parser.parse_args([*paths, "--hflip"])).hflip is True
