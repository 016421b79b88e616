"""The Detect dialog with a project: the choice is remembered per project (another project
keeps its own), and "Detect" runs the chosen detector with its settings through the Cut view's
job queue on the selected or on all videos; the detections recorded say what ran."""

from __future__ import annotations

import json

import pytest

from workstation.core.detect import DetectSettings
from workstation.core.detect.registry import DetectorKind, load_choice
from workstation.core.store import DETECT, Project
from workstation.ui.common.jobs import JobsController
from workstation.ui.common.shortcuts import ShortcutMap
from workstation.ui.cut.detect_settings import DetectSettingsDialog
from workstation.ui.cut.stages import project_detect_choice
from workstation.ui.cut.view import CutView
from workstation.ui.session import ProjectSession


def test_the_choice_is_remembered_per_project(qtbot, tmp_path):
    a = Project.create(tmp_path / "a")
    b = Project.create(tmp_path / "b")
    d = DetectSettingsDialog(project=a)
    qtbot.addWidget(d)
    assert not d.detect_button.isVisible() and d.scope.count() == 0  # nothing to run on
    d.detector.setCurrentEnum(DetectorKind.ENSEMBLE)
    d.threshold.setValue(1.7)
    d.fades.setChecked(False)
    d.save_button.click()
    assert d.result() == d.DialogCode.Accepted and d.run_on == []
    assert project_detect_choice(a) == (
        "ensemble",
        {
            k: v
            for k, v in DetectSettings(threshold=1.7, fades=False).to_params().items()
            if k != "version"
        },
    )
    # The other project has no choice of its own: it opens on the app settings' (the last
    # saved anywhere), and saving there does not change project a's.
    assert project_detect_choice(b) is None
    other = DetectSettingsDialog(project=b)
    qtbot.addWidget(other)
    assert other.kind() is DetectorKind.ENSEMBLE and other.threshold.value() == 1.7
    other.detector.setCurrentEnum(DetectorKind.CONTENT)
    other.threshold.setValue(2.5)
    other.accept()
    assert project_detect_choice(b)[0] == "content"
    assert load_choice()[0] is DetectorKind.CONTENT
    again = DetectSettingsDialog(project=a)
    qtbot.addWidget(again)
    assert again.kind() is DetectorKind.ENSEMBLE and again.threshold.value() == 1.7
    assert not again.fades.isChecked()


def test_a_damaged_project_choice_falls_back_to_the_app_settings(qtbot, tmp_path):
    p = Project.create(tmp_path / "p")
    p.put(DETECT, {"detector": 7})
    assert project_detect_choice(p) is None
    d = DetectSettingsDialog(project=p)
    qtbot.addWidget(d)
    assert d.kind() is load_choice()[0] or d.kind() is DetectorKind.ENSEMBLE


@pytest.fixture()
def cut_view(qtbot, demo_project):
    session = ProjectSession(demo_project.root)
    jobs = JobsController(session)
    view = CutView(session, jobs, shortcuts=ShortcutMap())
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    qtbot.waitExposed(view)
    with qtbot.waitSignal(view.player.firstFrameShown, timeout=20000):
        view.show_video(demo_project.find_video("demo_live.mp4").id)
    yield view, session
    view.close()
    jobs.shutdown()
    session.close()


def _answer(kind: DetectorKind, threshold: float, scope: int):
    def person(dialog: DetectSettingsDialog) -> int:  # chooses, then presses Detect
        dialog.detector.setCurrentEnum(kind)
        dialog.threshold.setValue(threshold)
        dialog.scope.setCurrentIndex(scope)
        dialog.detect_button.click()
        return int(dialog.result())

    return person


def test_detect_runs_the_chosen_detector_on_all_videos(qtbot, cut_view, monkeypatch):
    view, session = cut_view
    p = session.project
    every = [v.id for v in p.videos()]
    assert len(every) == 3
    monkeypatch.setattr(DetectSettingsDialog, "exec", _answer(DetectorKind.ENSEMBLE, 1.3, scope=1))
    with qtbot.waitSignal(view.video_jobs.batchFinished, timeout=180000) as finished:
        assert view.edit_detection_settings()
    batch = finished.args[0]
    assert sorted(batch.done) == sorted(every), batch.failed
    assert project_detect_choice(p)[0] == "ensemble"
    for vid in every:
        run = p.latest_detection(vid)
        assert run is not None and run["detector"] == "ensemble"
        assert json.loads(run["params"])["threshold"] == 1.3
    assert any(p.cuts(vid) for vid in every)


def test_detect_on_the_selected_video_only(qtbot, cut_view, monkeypatch):
    view, session = cut_view
    p = session.project
    shown = view.selected_video_ids()
    assert len(shown) == 1
    monkeypatch.setattr(DetectSettingsDialog, "exec", _answer(DetectorKind.ENSEMBLE, 1.1, scope=0))
    dialog_texts = []
    real_init = DetectSettingsDialog.__init__

    def spy(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        dialog_texts.extend(self.scope.itemText(i) for i in range(self.scope.count()))

    monkeypatch.setattr(DetectSettingsDialog, "__init__", spy)
    with qtbot.waitSignal(view.video_jobs.batchFinished, timeout=180000) as finished:
        assert view.edit_detection_settings()
    assert finished.args[0].done == shown
    assert dialog_texts == ["The selected video", "All videos (3)"]
    others = [v.id for v in p.videos() if v.id not in shown]
    assert all(p.latest_detection(v) is None for v in others)
