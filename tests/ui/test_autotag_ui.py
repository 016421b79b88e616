"""Auto-tagging from the Clips view (jobs with progress, cancel, summary, grid refresh) and the
Models dialog (folders, HF cache, device choice, offline download, load errors).  Offscreen:
the view is built without a player."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workstation.core import review
from workstation.core.autotag import CAPTIONERS, CaptionerKind, CaptionSettings, TagSettings
from workstation.core.autotag.base import load_settings, save_settings
from workstation.core.autotag.hf_captioner import load_device
from workstation.core.autotag.models import add_model_folder, cached_models, list_models
from workstation.core.store import Project
from workstation.ui.clips.all_tags_panel import Scope
from workstation.ui.clips.autotag_actions import AutoJob
from workstation.ui.clips.view import ClipsView
from workstation.ui.common.jobs import JobsController, JobState
from workstation.ui.session import ProjectSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from autotag_fixtures import write_tiny_model
from clip_fixtures import make_clips, opened_clips_view, write_clip_source


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> Path:
    return write_clip_source(tmp_path_factory.mktemp("autotag-src"), seed=3)


@pytest.fixture()
def view(qtbot, tmp_path, clip_file, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # an empty HF cache
    root = tmp_path / "proj"
    with Project.create(root) as p:
        ids = make_clips(p, clip_file, 4, name="c{}.mp4")
        review.set_caption(p, [ids[3]], "written by hand")
    with opened_clips_view(qtbot, root) as v:
        yield v, ids


def _run(qtbot, v, kind, scope, redo=False):
    job = v.autotag.start(kind, scope, redo)
    assert job is not None
    with qtbot.waitSignal(
        job.stateChanged, timeout=60000, check_params_cb=lambda s: s in JobState.FINAL
    ):
        pass
    return job


def test_motion_score_for_selected_clips_updates_summary_and_grid(qtbot, view):
    v, ids = view
    v.select_clips(ids[:2])
    with qtbot.waitSignal(v.session.clipsChanged, timeout=60000):
        job = v.autotag.start(AutoJob.MOTION, Scope.SELECTED)
    assert job.state == JobState.DONE
    assert v.autotag.status.text().startswith("scored the motion of 2 clips")
    # again: already scored clips are skipped unless redo
    _run(qtbot, v, AutoJob.MOTION, Scope.ALL)
    assert "scored the motion of 2 clips, skipped 2 already scored" in v.autotag.last_summary
    _run(qtbot, v, AutoJob.MOTION, Scope.ALL, redo=True)
    assert "scored the motion of 4 clips, skipped 0" in v.autotag.last_summary


def test_tag_job_uses_saved_settings_and_refreshes_grid(qtbot, view, tmp_path):
    v, ids = view
    model = write_tiny_model(tmp_path / "tiny-wd14")
    save_settings(v.project, TagSettings(model=str(model), frames=2))
    v.set_filter("")
    _run(qtbot, v, AutoJob.TAG, Scope.FILTERED)
    assert v.autotag.last_summary.startswith("tagged 4 clips")
    qtbot.waitUntil(lambda: review.clip_tags(v.project, ids[0]) != [], timeout=5000)
    assert any(t.source == "auto" for t in review.clip_tags(v.project, ids[0]))


def test_caption_job_keeps_manual_and_cancel_is_reported(qtbot, view, monkeypatch):
    v, ids = view
    import threading

    release = threading.Event()

    class Fake:
        model_id = "fake:vlm"

        def caption(self, frames, prompt):
            if not release.is_set():
                release.wait(10)
            return f"{len(frames)} frames"

    monkeypatch.setitem(CAPTIONERS, CaptionerKind.OPENAI, lambda s: Fake())
    release.set()
    _run(qtbot, v, AutoJob.CAPTION, Scope.ALL)
    assert "captioned 3 clips with fake:vlm" in v.autotag.last_summary
    assert "kept 1 manual" in v.autotag.last_summary
    assert review.caption(v.project, ids[3]).text == "written by hand"
    assert review.caption(v.project, ids[0]).source == "auto"
    # cancel while the "server" thinks: the job ends cancelled and says so
    release.clear()
    job = v.autotag.start(AutoJob.CAPTION, Scope.ALL, True)
    qtbot.waitUntil(lambda: job.last_progress is not None, timeout=10000)
    with qtbot.waitSignal(job.cancelled, timeout=10000):
        job.cancel()
    release.set()
    assert v.autotag.last_summary == "Caption cancelled"


def test_nothing_selected_says_so(view):
    v, _ids = view
    v.grid.clearSelection()
    v.select_clips([])
    assert v.autotag.start(AutoJob.TAG, Scope.SELECTED) is None
    assert "no clips" in v.autotag.last_summary


def test_caption_job_with_a_missing_local_model_fails_clearly(qtbot, view, tmp_path):
    v, _ids = view
    save_settings(
        v.project,
        CaptionSettings(backend=CaptionerKind.TRANSFORMERS, model=str(tmp_path / "no-vlm")),
    )
    job = _run(qtbot, v, AutoJob.CAPTION, Scope.ALL)
    assert job.state == JobState.FAILED
    assert "no such model folder" in v.autotag.last_summary


def test_models_dialog(qtbot, view, tmp_path, monkeypatch):
    v, _ids = view
    dialog = v.autotag.open_models()
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and dialog.table.rowCount() == 0
    # a folder without a model is refused with why
    junk = tmp_path / "junk"
    junk.mkdir()
    assert not dialog.add_folder(junk)
    assert "holds no model" in dialog.message.text()
    tagger = write_tiny_model(tmp_path / "wd")
    vlm = tmp_path / "vlm"
    vlm.mkdir()
    (vlm / "config.json").write_text('{"model_type": "bert"}')
    (vlm / "model.safetensors").write_bytes(b"x" * 2048)
    assert dialog.add_folder(tagger) and dialog.add_folder(vlm)
    assert [(e.kind, e.where) for e in dialog.entries] == [
        ("tagger", "folder"),
        ("captioner", "folder"),
    ]
    assert dialog.table.item(1, 3).text() == "2.0 KB"
    # device choice is stored in the project's autotag settings
    dialog.device.setCurrentIndex(1)
    assert load_device(v.project) == "cpu"
    # choosing the captioner; the Caption job reads it
    dialog.select_row(1)
    assert dialog.use_selected_for_captions()
    cap = load_settings(v.project, CaptionSettings)
    assert cap.backend is CaptionerKind.TRANSFORMERS and cap.model == str(vlm)
    assert "local model" in dialog.captioner_label.text()
    # a model that cannot be loaded: a clear message naming it
    job = dialog.check_selected()
    with qtbot.waitSignal(
        job.stateChanged, timeout=60000, check_params_cb=lambda s: s in JobState.FINAL
    ):
        pass
    assert "cannot load" in dialog.message.text() and "not a video-capable" in dialog.message.text()
    # the tagger loads
    dialog.select_row(0)
    job = dialog.check_selected()
    with qtbot.waitSignal(
        job.stateChanged, timeout=60000, check_params_cb=lambda s: s in JobState.FINAL
    ):
        pass
    assert "loads on" in dialog.message.text()
    # offline: download says so at once, no job
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert dialog.download("Qwen/Qwen2.5-VL-3B-Instruct") is None
    assert "offline" in dialog.message.text()
    assert add_model_folder(v.project, vlm) == str(vlm.resolve())  # no duplicate
    assert len(list_models(v.project)) == 2


def test_hf_cache_models_are_listed(tmp_path):
    hub = tmp_path / "hf" / "hub"
    snap = hub / "models--someone--tiny" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    blob = hub / "models--someone--tiny" / "blobs" / "b1"
    blob.parent.mkdir(parents=True)
    blob.write_text("{}")
    (snap / "config.json").symlink_to(blob)
    (hub / "models--someone--tiny" / "refs").mkdir()
    (hub / "models--someone--tiny" / "refs" / "main").write_text("abc123")
    entries = cached_models(hub)
    assert [(e.name, e.where, e.kind) for e in entries] == [
        ("someone/tiny", "HF cache", "captioner")
    ]
    assert entries[0].size == 2 and entries[0].path == str(snap)
    assert cached_models(tmp_path / "no-cache") == []


def test_main_window_menu_opens_models_for_the_open_project(qtbot, demo_project):
    from workstation.core import settings as app_settings
    from workstation.ui.main_window import MainWindow

    w = MainWindow(app_settings.load(), interactive=False)
    qtbot.addWidget(w)
    assert w.menus.open_models() is None  # no project yet: says so in the status bar
    assert "Open a project first" in w.statusBar().currentMessage()
    assert w.open_project(demo_project.root)
    dialog = w.menus.open_models()
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and dialog.session is w.session
    assert w.menus.models_action.text() == "Auto-tagging &models…"
    dialog.close()
    assert w.close_project()
    w.close()


def test_local_video_model_captions_from_the_gui_with_the_player_open(
    qtbot, tmp_path, clip_file, monkeypatch
):
    """The real app's path: a GL player is open (with Mesa that maps libLLVM, which used to
    crash when triton loaded), the Models dialog picks a local VLM, Caption runs it."""
    import subprocess

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vlm = tmp_path / "tiny-vlm"
    # Built in a child process so this one loads transformers (and triton) only in the job,
    # after the player's GL context exists, as in the app.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from test_autotag_hf import build_tiny_vlm; build_tiny_vlm(Path(sys.argv[1]))",
            str(vlm),
        ],
        cwd=Path(__file__).resolve().parents[1] / "core",
        check=True,
        capture_output=True,
    )
    root = tmp_path / "proj"
    with Project.create(root) as p:
        (cid,) = make_clips(p, clip_file, 1, name="c.mp4")
    session = ProjectSession(root)
    jobs = JobsController(session)
    v = ClipsView(session, jobs, with_player=True)
    qtbot.addWidget(v)
    v.resize(900, 600)
    with qtbot.waitSignal(v.player.firstFrameShown, timeout=20000):
        v.show()
    dialog = v.autotag.open_models()
    qtbot.addWidget(dialog)
    assert dialog.add_folder(vlm)
    dialog.select_row(0)
    dialog.device.setCurrentIndex(1)  # CPU
    assert dialog.use_selected_for_captions()
    job = v.autotag.start(AutoJob.CAPTION, Scope.ALL)
    with qtbot.waitSignal(
        job.stateChanged, timeout=60000, check_params_cb=lambda s: s in JobState.FINAL
    ):
        pass
    assert job.state == JobState.DONE, v.autotag.last_summary
    assert v.autotag.last_summary.startswith("captioned 1 clips with transformers:")
    assert review.caption(v.project, cid).source == "auto"
    jobs.shutdown()
    v.close()
    session.close()
