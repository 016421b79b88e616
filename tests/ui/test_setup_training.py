"""Help > Install training components…, driven like a person would, with a fake uv."""

from __future__ import annotations

import pytest
from fake_uv import calls, install_fake_uv

from workstation.core import training_env
from workstation.ui.common.jobs import JobsController
from workstation.ui.setup_training import SetupTrainingDialog


@pytest.fixture
def dialog(qtbot, tmp_path, monkeypatch):
    log = install_fake_uv(tmp_path, monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path / "no-nvidia-smi"))  # no driver: cpu detected
    jobs = JobsController()
    d = SetupTrainingDialog(jobs)
    qtbot.addWidget(d)
    d.show()
    yield d, log
    jobs.shutdown()


def test_install_builds_the_environment_and_shows_its_size(qtbot, dialog):
    d, log = dialog
    assert d.variant.currentData() == "cpu" and d.variant.currentText() == "cpu (detected)"
    assert d.state.text() == "no"
    d.variant.setCurrentIndex(training_env.VARIANTS.index("cu128"))
    with qtbot.waitSignal(d.jobs.jobFinished, timeout=30000):
        qtbot.mouseClick(d.install_button, qtbot_button())
    info = training_env.installed()
    assert info is not None and info.variant == "cu128"
    assert any("whl/cu128" in a for a in calls(log)[1])
    assert "torch 2.14.1+fake (cu128, CPU only)" in d.state.text()
    assert d.size_label.text().startswith("Size: ")
    assert d.install_button.text() == "Reinstall (repair)" and d.install_button.isEnabled()


def test_cancel_stops_the_install_and_keeps_nothing(qtbot, dialog, monkeypatch):
    d, log = dialog
    monkeypatch.setenv("FAKE_UV_HANG", "1")
    job = d.install()
    qtbot.waitUntil(lambda: len(calls(log)) == 2, timeout=30000)  # uv is installing torch
    assert not d.install_button.isEnabled()
    with qtbot.waitSignal(job.cancelled, timeout=30000):
        qtbot.mouseClick(d.cancel_button, qtbot_button())
    assert d.line.text() == "Cancelled: nothing was kept."
    assert not training_env.env_dir().exists() and training_env.installed() is None


def test_a_failed_install_says_why(qtbot, dialog, monkeypatch):
    d, _log = dialog
    monkeypatch.setenv("FAKE_UV_FAIL", "torch==")
    with qtbot.waitSignal(d.jobs.jobFinished, timeout=30000):
        d.install()
    assert "installing PyTorch (cpu): error: No solution found" in d.line.text()
    assert d.state.text() == "no" and d.install_button.isEnabled()


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
