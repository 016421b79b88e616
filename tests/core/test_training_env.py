"""The managed training environment, built with a fake ``uv`` (tests/fake_uv.py: no downloads,
no torch)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from fake_uv import calls, install_fake_uv

from workstation.cli import main
from workstation.core import training_env
from workstation.core.errors import WorkstationError
from workstation.core.progress import drive


@pytest.fixture
def fake_uv(tmp_path, monkeypatch) -> Path:
    return install_fake_uv(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("driver", "variant"),
    [
        ("580.95.05", "cu130"),
        ("575.51.03", "cu128"),
        ("570.26", "cu128"),
        ("565.57.01", "cu126"),
        ("535.230.02", "cpu"),
        ("", "cpu"),
        ("NVIDIA-SMI has failed", "cpu"),
    ],
)
def test_the_driver_picks_the_newest_cuda_build_it_runs(driver, variant):
    assert training_env.variant_for_driver(training_env.parse_driver(driver)) == variant


def test_driver_detection_reads_nvidia_smi(tmp_path, monkeypatch):
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 572.16.01\necho 572.16.01\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert training_env.detect_driver() == (572, 16)
    assert training_env.choose_variant("auto") == "cu128"
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert training_env.detect_driver() is None
    assert training_env.choose_variant("auto") == "cpu"


def test_an_unknown_build_is_one_clear_message():
    with pytest.raises(WorkstationError, match="cu999"):
        training_env.choose_variant("cu999")


def test_build_installs_torch_from_the_variants_index_then_records_it(fake_uv, monkeypatch):
    monkeypatch.delenv("WORKSTATION_TORCH_INDEX", raising=False)
    folder = training_env.env_dir()
    records = []
    info = drive(training_env.build("cu126"), records.append)
    assert info.variant == "cu126" and info.torch == "2.14.1+fake"
    assert training_env.installed() == info
    assert training_env.training_python() == str(folder / "bin" / "python")
    venv, torch, libraries = calls(fake_uv)
    assert venv[0] == "venv" and venv[-1] == str(folder)
    assert "https://download.pytorch.org/whl/cu126" in torch and "torch==2.14.1" in torch
    assert any(a.startswith("diffusers") for a in libraries)
    messages = [r.message for r in records]
    assert "Installed 3 packages in 2ms" in messages and messages[-1] == "installed"
    assert records[-1].done == records[-1].total


def test_a_finished_environment_is_not_rebuilt_unless_repaired(fake_uv):
    drive(training_env.build("cpu"))
    assert len(calls(fake_uv)) == 3
    drive(training_env.build("cpu"))
    assert len(calls(fake_uv)) == 3
    drive(training_env.build("cpu", repair=True))
    assert len(calls(fake_uv)) == 6
    drive(training_env.build("cu128"))  # another build replaces it
    assert len(calls(fake_uv)) == 9 and training_env.installed().variant == "cu128"


def test_a_failed_step_says_which_and_leaves_nothing_half_built(fake_uv, monkeypatch):
    monkeypatch.setenv("FAKE_UV_FAIL", "diffusers")
    with pytest.raises(WorkstationError, match="training libraries: error: No solution found"):
        drive(training_env.build("cpu"))
    assert not training_env.env_dir().exists()
    assert training_env.installed() is None


def test_cancelling_stops_uv_and_removes_the_folder(fake_uv, monkeypatch):
    monkeypatch.setenv("FAKE_UV_HANG", "1")
    stage = training_env.build("cpu")
    for record in stage:
        if record.message.startswith("Resolved"):
            break
    assert training_env.env_dir().exists()
    stage.close()  # what drive() does on cancel
    assert not training_env.env_dir().exists()


def test_a_damaged_marker_counts_as_not_installed(fake_uv):
    drive(training_env.build("cpu"))
    (training_env.env_dir() / training_env.MARKER).write_text("{not json")
    assert training_env.installed() is None


def test_the_packaged_app_never_runs_itself_as_python(fake_uv, monkeypatch):
    from workstation.train.launch import TrainSettings, build_command, child_env

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(WorkstationError, match="setup-training"):
        training_env.training_python()
    drive(training_env.build("cpu"))
    cmd = build_command(TrainSettings(dataset="d", output="o", base_model="m"))
    assert cmd[:3] == [str(training_env.env_python()), "-m", "workstation.train.run"]
    assert training_env.child_pythonpath() is None
    monkeypatch.delattr(sys, "frozen")
    src = str(Path(training_env.__file__).resolve().parents[2])
    assert child_env({})["PYTHONPATH"] == src


def test_cli_dry_run_prints_the_commands_and_runs_nothing(fake_uv, capsys):
    assert main(["setup-training", "--cuda", "cpu", "--dry-run", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["variant"] == "cpu" and len(out["commands"]) == 3
    assert calls(fake_uv) == [] and not training_env.env_dir().exists()


def test_cli_builds_and_removes(fake_uv, capsys):
    assert main(["setup-training", "--cuda", "cpu", "-q", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["torch"] == "2.14.1+fake"
    assert main(["setup-training", "--remove"]) == 0
    assert not training_env.env_dir().exists()


def test_cli_bad_build_is_bad_usage(fake_uv):
    with pytest.raises(SystemExit) as exc:
        main(["setup-training", "--cuda", "rocm"])
    assert exc.value.code == 2
