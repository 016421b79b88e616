"""The Detect dialog: lists every detector, disables those that can't run (saying why),
saves the choice, and the Cut view's detection job runs what was saved.  No player: offscreen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from workstation.core.detect import DetectSettings, neural, transnet_onnx
from workstation.core.detect.registry import (
    DEFAULT,
    DETECTORS,
    DetectorKind,
    load_choice,
    save_choice,
)
from workstation.ui.cut.detect_settings import DetectSettingsDialog


@pytest.fixture()
def dialog(qtbot):
    def make() -> DetectSettingsDialog:
        d = DetectSettingsDialog()
        qtbot.addWidget(d)
        return d

    return make


def test_lists_every_detector_by_label(dialog):
    d = dialog()
    combo = d.detector
    assert [combo.itemText(i) for i in range(combo.count())] == [
        DETECTORS[k].label for k in DetectorKind
    ]
    runnable = DETECTORS[DEFAULT].why_unavailable() is None
    assert d.kind() is (DEFAULT if runnable else DetectorKind.ENSEMBLE)
    assert d.settings() == DetectSettings()
    content = list(DetectorKind).index(DetectorKind.CONTENT)
    assert (
        combo.itemData(content, Qt.ItemDataRole.ToolTipRole)
        == DETECTORS[DetectorKind.CONTENT].description
    )


def test_unavailable_detector_is_disabled_with_its_reason(dialog, monkeypatch, tmp_path):
    monkeypatch.setattr(transnet_onnx, "SHIPPED", tmp_path / "none.onnx")  # no set-up ran
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(neural, "available", lambda: False)
    save_choice(DetectorKind.TRANSNETV2, DetectSettings())  # chosen while it was installed
    d = dialog()
    combo = d.detector
    i = list(DetectorKind).index(DetectorKind.TRANSNETV2)
    assert not combo.model().item(i).isEnabled()
    tip = combo.itemData(i, Qt.ItemDataRole.ToolTipRole)
    assert "TransNetV2's model is missing" in tip and "scripts/setup.sh" in tip
    assert combo.is_enabled(DetectorKind.CONTENT)
    # The saved choice can't run: the ensemble is selected and the dialog says why.
    assert d.kind() is DetectorKind.ENSEMBLE
    assert not d.note.isHidden() and "cannot run here" in d.note.text()


def test_saves_and_reloads_the_choice(dialog):
    d = dialog()
    d.detector.setCurrentEnum(DetectorKind.CONTENT)
    assert not d.ensemble_box.isEnabled()  # PySceneDetect runs with its own defaults
    assert "with its defaults" in d.description.text() and "ensemble's" in d.description.text()
    d.threshold.setValue(1.6)
    d.analysis_width.setValue(128)
    d.dissolves.setChecked(False)
    d.accept()
    assert d.result() == d.DialogCode.Accepted
    saved = DetectSettings(threshold=1.6, analysis_width=128, dissolves=False)
    assert load_choice() == (DetectorKind.CONTENT, saved)

    again = dialog()
    assert again.kind() is DetectorKind.CONTENT and again.settings() == saved
    assert again.detector.currentText() == DETECTORS[DetectorKind.CONTENT].label
    again.restore_defaults()
    assert again.kind() is DEFAULT and again.settings() == DetectSettings()
    again.reject()
    assert load_choice() == (DetectorKind.CONTENT, saved)  # cancel keeps what was saved


def test_detection_job_runs_the_saved_choice(monkeypatch, tmp_path):
    """The Cut view's (and main window's) detection_stage hands the saved choice to the child."""
    import workstation.core.isolate as isolate
    from workstation.ui.cut.view import detection_stage

    seen = {}

    def fake_child(func, *args, **kwargs):
        seen["call"] = (func, args, kwargs)
        return iter(())

    monkeypatch.setattr(isolate, "in_child_process", fake_child)
    save_choice(DetectorKind.ADAPTIVE, DetectSettings(threshold=2.0))

    class FakeProject:
        root = tmp_path

        def get(self, setting):
            return setting.default  # no choice of its own: the app settings' is used

    detection_stage(FakeProject(), 7, restart=True)
    func, args, kwargs = seen["call"]
    assert func is isolate.project_stage
    assert args[1:4] == ("workstation.core.detect.registry", "detect_video_as_saved", 7)
    assert args[4] == "adaptive" and args[5]["threshold"] == 2.0
    assert kwargs == {"restart": True}
