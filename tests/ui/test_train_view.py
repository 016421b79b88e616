"""The Train view: a fake child's JSON lines drive the plot and the status through the same
QProcess path as real training; Stop ends the child's whole process group; the form round-trips
through the child's command line; earlier runs are listed; export-now and the main-window tab."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest
from clip_fixtures import make_clips, write_clip_source
from train_fixtures import fake_export, fake_sd_folder, open_view

from workstation.core import synth
from workstation.core.store import Project
from workstation.train.launch import (
    TrainSettings,
    add_arguments,
    build_command,
    save_settings,
    settings_from_args,
)
from workstation.ui.common.jobs import JobsController
from workstation.ui.session import ProjectSession
from workstation.ui.train.run import PRESETS, apply_preset, estimate_vram_gb
from workstation.ui.train.view import TrainView

FAKE_CHILD = textwrap.dedent(
    """
    import json, os, subprocess, sys, time
    mode = sys.argv[1]
    def emit(**kw):
        print(json.dumps(kw), flush=True)
    print("stray output that is not an event", flush=True)
    if mode == "ok":  # like the real child: the settings are written before "start"
        open("train_settings.json", "w").write(json.dumps({"version": 1, "settings": {}}))
    emit(event="start", step=0, max_steps=3, clips=2)
    if mode == "ok":
        for step, loss in ((1, 0.5), (2, 0.25), (3, 0.125)):
            emit(event="step", step=step, max_steps=3, loss=loss, eta_s=60.0 * (3 - step))
        emit(event="sample", step=3, path=sys.argv[2], prompt="a dog")
        emit(event="done", step=3, message="trained to step 3", path=os.getcwd())
    elif mode == "error":
        emit(event="error", kind="input", message="clips: none of the 2 clips can be used")
        sys.exit(1)
    elif mode == "crash":
        print("Traceback: something broke deep inside", file=sys.stderr, flush=True)
        sys.exit(3)
    elif mode == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open(sys.argv[2], "w").write(str(child.pid))
        emit(event="step", step=1, max_steps=3, loss=0.9)
        time.sleep(120)
    """
)


@pytest.fixture()
def fake_child(tmp_path) -> Path:
    p = tmp_path / "fake_child.py"
    p.write_text(FAKE_CHILD)
    return p


@pytest.fixture()
def view(qtbot, tmp_path):
    root = tmp_path / "proj"
    Project.create(root).close()
    v, jobs, session = open_view(qtbot, root)
    v.dataset.setText(str(fake_export(tmp_path / "export")))
    v.base_model.setText(str(fake_sd_folder(tmp_path / "sd15")))
    v.validate()
    yield v
    v.shutdown()
    jobs.shutdown()
    session.close()


def use_fake(view: TrainView, script: Path, *args: str) -> None:
    view._command_override = [sys.executable, str(script), *args]


def test_events_from_the_child_update_plot_status_and_samples(qtbot, view, fake_child, tmp_path):
    sample = tmp_path / "s.mp4"
    use_fake(view, fake_child, "ok", str(sample))
    with qtbot.waitSignal(view.runFinished, timeout=20000) as done:
        assert view.start()
        assert not view.start_button.isEnabled() and view.stop_button.isEnabled()
    assert done.args == [True]
    xs, ys = view.curve.getData()
    assert list(xs) == [1, 2, 3] and list(ys) == [0.5, 0.25, 0.125]
    _, smooth = view.smooth_curve.getData()
    assert smooth[0] == pytest.approx(0.5) and 0.125 < smooth[-1] < 0.5
    assert "trained to step 3" in view.status.text()
    assert view.samples.count() == 1 and view.samples.item(0).text() == "s.mp4"
    assert view.start_button.isEnabled() and not view.stop_button.isEnabled()
    assert "stray output" not in view.status.text()
    run_name = Path(view.output.text()).name
    labels = [view.history.item(i).text() for i in range(view.history.count())]
    assert labels == [f"{run_name} — done at step 3"]


def test_an_error_event_is_shown_with_the_run(qtbot, view, fake_child):
    use_fake(view, fake_child, "error")
    with qtbot.waitSignal(view.run.failed, timeout=20000) as failed:
        assert view.start()
    assert "none of the 2 clips can be used" in failed.args[0]
    assert str(view.output.text()) in failed.args[0]
    assert "none of the 2 clips" in view.status.text()


def test_a_crash_quotes_the_exit_code_and_the_log_tail(qtbot, view, fake_child):
    use_fake(view, fake_child, "crash")
    with qtbot.waitSignal(view.run.failed, timeout=20000) as failed:
        assert view.start()
    message = failed.args[0]
    assert "exited with code 3" in message and "something broke deep inside" in message
    assert "something broke deep inside" in view.status.text()
    log_file = Path(view.output.text()) / "train.log"
    assert "something broke" in log_file.read_text()


def test_stop_ends_the_child_and_its_process_group(qtbot, view, fake_child, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    use_fake(view, fake_child, "hang", str(pid_file))
    with qtbot.waitSignal(view.run.lossAdded, timeout=20000):
        assert view.start()
    qtbot.waitUntil(pid_file.exists, timeout=5000)
    grandchild = int(pid_file.read_text())
    with qtbot.waitSignal(view.runFinished, timeout=15000) as done:
        view.stop_button.click()
    assert done.args == [False]
    assert "stopped" in view.status.text()
    assert not view.run.is_running()

    def gone() -> bool:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            return True
        # a zombie waiting for init to reap it counts as gone
        stat = Path(f"/proc/{grandchild}/stat")
        return stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z"

    qtbot.waitUntil(gone, timeout=5000)


def test_closing_the_view_stops_a_running_child_at_once(qtbot, view, fake_child, tmp_path):
    use_fake(view, fake_child, "hang", str(tmp_path / "pid"))
    with qtbot.waitSignal(view.run.lossAdded, timeout=20000):
        assert view.start()
    view.shutdown()
    assert not view.run.is_running()


def test_form_settings_round_trip_through_the_child_command_line(view, tmp_path):
    view.preset.setCurrentText("Quick motion LoRA (256 px)")
    view.motion_module.setText(str(tmp_path / "mm_sd_v15_v2.ckpt"))
    view.prompts.setPlainText("a dog runs\n\na cat jumps\n")
    view.fields["max_steps"].setValue(123)
    view.fields["adam_8bit"].setChecked(True)
    view.fields["mixed_precision"].setCurrentText("bf16")
    view.fields["learning_rate"].setValue(3e-5)
    s = view.settings()
    assert s.mode == "lora" and s.resolution == 256 and s.max_steps == 123
    assert s.sample_prompts == ["a dog runs", "a cat jumps"]
    cmd = build_command(s, python="python")
    assert cmd[:3] == ["python", "-m", "workstation.train.run"]
    parser = argparse.ArgumentParser()
    add_arguments(parser, for_child=True)
    back = settings_from_args(parser.parse_args(cmd[3:]))
    assert (
        dataclasses.replace(back, launcher=s.launcher, accelerate_config=s.accelerate_config) == s
    )
    # and the form shows what it was given
    view.set_settings(TrainSettings())
    view.set_settings(s)
    assert view.settings() == s


def test_presets_and_the_memory_estimate():
    base = TrainSettings()
    gb = {name: estimate_vram_gb(apply_preset(base, name)) for name in PRESETS}
    lora, full256, full512 = gb.values()
    assert lora < full256 < full512 <= 24
    no_ckpt = dataclasses.replace(
        apply_preset(base, "Full finetune (256 px)"), gradient_checkpointing=False
    )
    assert estimate_vram_gb(no_ckpt) > full256


def test_history_lists_runs_with_their_settings_and_samples(qtbot, view, monkeypatch):
    run = view.runs_root / "run-old"
    s = apply_preset(
        TrainSettings(dataset="/data/x", base_model="/m/sd15", output=str(run)),
        "Full finetune (512 px, 24 GB)",
    )
    save_settings(s, run / "train_settings.json")
    (run / "checkpoint-500").mkdir()
    (run / "samples").mkdir()
    (run / "samples" / "step-000500-0.mp4").write_bytes(b"")
    (view.runs_root / "not-a-run").mkdir()
    view.refresh_history()
    assert [view.history.item(i).text() for i in range(view.history.count())] == ["run-old"]
    view.history.setCurrentRow(0)
    details = view.run_details.toPlainText()
    assert '"resolution": 512' in details and "checkpoint-500" in details
    assert view.samples.count() == 1
    view.use_settings_button.click()
    assert view.settings().resolution == 512 and view.output.text() == str(run)
    opened = []
    monkeypatch.setattr(
        "workstation.ui.train.history.QDesktopServices.openUrl",
        lambda url: opened.append(url.toLocalFile()) or True,
    )
    view.open_button.click()
    assert opened == [str(run)]


def test_resume_needs_a_checkpoint_and_passes_latest(qtbot, view, fake_child, tmp_path):
    out = tmp_path / "run"
    view.output.setText(str(out))
    assert not view.start(resume=True)
    assert "no checkpoint" in view.status.text()
    (out / "checkpoint-2").mkdir(parents=True)
    use_fake(view, fake_child, "ok", str(tmp_path / "s.mp4"))
    with qtbot.waitSignal(view.runFinished, timeout=20000):
        assert view.start(resume=True)
    assert view.run.settings.resume == "latest"
    assert view.run.settings.output == str(out)


def test_start_says_what_is_missing(view):
    view.dataset.setText("")
    assert not view.start()
    assert "Dataset" in view.status.text()


def test_export_now_opens_the_export_dialog_and_uses_its_folder(qtbot, tmp_path):
    src = write_clip_source(tmp_path, seed=5)
    root = tmp_path / "proj"
    with Project.create(root) as p:
        make_clips(p, src, 2, name="clip_{}.mp4")
    session = ProjectSession(root)
    jobs = JobsController(session)
    v = TrainView(session, jobs)
    qtbot.addWidget(v)
    try:
        v.dataset.setText(str(root / "exports" / "train"))
        dialog = v.export_now()  # the Export dialog, its folder the Dataset field's
        job = dialog.start_export()
        with qtbot.waitSignal(job.finished, timeout=60000):
            pass
        out = Path(v.dataset.text())
        assert out == root / "exports" / "train"
        assert (out / "metadata.jsonl").exists()
        lines = (out / "metadata.jsonl").read_text().splitlines()
        assert len(lines) == 2 and json.loads(lines[0])
        assert "exported 2 clips" in v.status.text()
    finally:
        jobs.shutdown()
        session.close()


def test_the_train_tab_builds_the_view_in_the_main_window(qtbot, demo_project):
    from workstation.core import settings as app_settings
    from workstation.ui.main_window import MainWindow

    w = MainWindow(app_settings.load(), interactive=False)
    qtbot.addWidget(w)
    assert w.open_project(demo_project.root)
    assert w.train_view is None
    w.tabs.setCurrentIndex(w.train_tab)
    assert isinstance(w.train_view, TrainView)
    assert w.tabs.tabText(w.train_tab) == "Train"
    assert w.close_project()
    assert w.train_view is None


def test_a_sample_plays_inline_and_loops(qtbot, view):
    """Needs a GL context: run under Xvfb (xvfb-run -a pytest)."""
    run = view.runs_root / "run-with-samples"
    save_settings(
        TrainSettings(dataset="d", base_model="b", output=str(run)), run / "train_settings.json"
    )
    (run / "samples").mkdir()
    synth.write_video(
        run / "samples" / "step-000010-0.mp4",
        synth.Sequence([synth.Shot("shapes", 16, seed=3)]),
        width=64,
        height=64,
        fps=8,
    )
    view.show()
    qtbot.waitExposed(view)
    view.refresh_history()
    view.history.setCurrentRow(0)
    assert view.samples.count() == 1
    with qtbot.waitSignal(view.samples.currentItemChanged, timeout=1000):
        view.samples.setCurrentRow(0)
    assert view.player is not None
    qtbot.waitUntil(lambda: view.player.is_ready, timeout=20000)
    qtbot.waitUntil(lambda: view.player.is_playing, timeout=20000)
    assert view.player.frame_count == 16 and view.player.fps == Fraction(8)
    assert view.player._ensure_mpv()["loop-file"] in ("inf", True)
    # it keeps playing past the end (16 frames at 8 fps = 2 s): the frame number wraps around
    seen = []
    view.player.frameChanged.connect(seen.append)
    wrapped = lambda: any(b < a for a, b in zip(seen, seen[1:], strict=False))  # noqa: E731
    qtbot.waitUntil(wrapped, timeout=10000)
    view.player.unload()


def test_the_start_line_and_the_run_details_say_which_bucket_the_clips_went_to(qtbot, tmp_path):
    from workstation.train.launch import parse_event
    from workstation.ui.train.history import describe, read_run
    from workstation.ui.train.run import TrainingRun

    run = TrainingRun()
    summary = "64x64, 16 frames: 3 clips; 80x48, 16 frames: 1 clip"
    line = json.dumps({"event": "start", "max_steps": 9, "bucket_summary": summary})
    with qtbot.waitSignal(run.statusChanged) as status:
        run._handle(parse_event(line))
    assert status.args == [f"run: started at step 0 of 9; {summary}"]
    (tmp_path / "events.jsonl").write_text(line + "\n")
    assert describe(read_run(tmp_path)).splitlines()[1] == f"buckets: {summary}"
