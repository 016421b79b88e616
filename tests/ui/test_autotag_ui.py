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


def _final(qtbot, job):
    with qtbot.waitSignal(
        job.stateChanged, timeout=60000, check_params_cb=lambda s: s in JobState.FINAL
    ):
        pass
    return job


def test_models_dialog(qtbot, view, tmp_path, monkeypatch):
    v, _ids = view
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dialog = v.autotag.open_models()
    qtbot.addWidget(dialog)
    # empty: says what to add and why, instead of an empty table
    assert dialog.isVisible() and not dialog.entries
    assert dialog.empty_hint.isVisible() and not dialog.table.isVisible()
    hint = dialog.empty_hint.text()
    assert "WD14 ONNX folder" in hint and "video-language model" in hint and "server" in hint
    # known hub models with what they are for; their size is unknown offline
    hub = {dialog.hub_table.item(r, 0).text(): r for r in range(dialog.hub_table.rowCount())}
    row = hub["SmilingWolf/wd-vit-tagger-v3"]
    assert dialog.hub_table.item(row, 1).text() == "Tagging"
    assert dialog.hub_table.item(row, 2).text() == "unknown offline"
    # a folder without a model, and a 9-byte junk model.onnx, are refused when added, with why
    junk = tmp_path / "junk"
    junk.mkdir()
    assert _final(qtbot, dialog.add_folder(junk)).state == JobState.FAILED
    assert "holds no model" in dialog.message.text()
    fake = write_tiny_model(tmp_path / "fake-wd")
    (fake / "model.onnx").write_bytes(b"junk onnx")
    assert _final(qtbot, dialog.add_folder(fake)).state == JobState.FAILED
    assert dialog.message.text().startswith(f"Not added: {fake / 'model.onnx'}: not an ONNX model")
    assert dialog.entries == []
    tagger = write_tiny_model(tmp_path / "wd")
    vlm = tmp_path / "vlm"
    vlm.mkdir()
    (vlm / "config.json").write_text('{"model_type": "bert"}')
    (vlm / "model.safetensors").write_bytes(b"x" * 2048)
    for folder in (tagger, vlm):
        assert _final(qtbot, dialog.add_folder(folder)).state == JobState.DONE
    assert [(e.kind, e.where) for e in dialog.entries] == [
        ("tagger", "folder"),
        ("captioner", "folder"),
    ]
    assert dialog.table.isVisible() and not dialog.empty_hint.isVisible()
    assert [dialog.table.item(r, 1).text() for r in (0, 1)] == ["Tagging", "Captions"]
    assert dialog.table.item(1, 3).text() == "2.0 KB"
    # device choice is stored in the project's autotag settings
    dialog.device.setCurrentIndex(1)
    assert load_device(v.project) == "cpu"
    # use for tagging / for captions set the project's settings (the dialogs start from them)
    dialog.select_row(0)
    assert not dialog.use_button.isEnabled()
    assert dialog.use_selected_for_tagging()
    assert load_settings(v.project, TagSettings).model == str(tagger.resolve())
    dialog.select_row(1)
    assert not dialog.tag_button.isEnabled()
    assert dialog.use_selected_for_captions()
    cap = load_settings(v.project, CaptionSettings)
    assert cap.backend is CaptionerKind.TRANSFORMERS and cap.model == str(vlm.resolve())
    assert "Captions: local model" in dialog.in_use.text()
    assert f"Tagging uses {tagger.resolve()}" in dialog.in_use.text()
    # a model that cannot be loaded: a clear message naming it
    _final(qtbot, dialog.check_selected())
    assert "cannot load" in dialog.message.text() and "not a video-capable" in dialog.message.text()
    # the tagger loads
    dialog.select_row(0)
    _final(qtbot, dialog.check_selected())
    assert "loads on" in dialog.message.text()
    # offline: download says so at once, in plain words, no job
    assert dialog.download("Qwen/Qwen2.5-VL-3B-Instruct") is None
    assert dialog.message.text().startswith("You are offline: HF_HUB_OFFLINE is set")
    assert add_model_folder(v.project, vlm) == str(vlm.resolve())  # no duplicate
    assert len(list_models(v.project)) == 2


def test_models_dialog_download_asks_with_the_size_shows_progress(qtbot, view, monkeypatch):
    """Online (faked: the hub's metadata and the file fetch are stand-ins, nothing leaves the
    machine): sizes are listed, a download is confirmed with its size, progress shows."""
    from PySide6.QtWidgets import QMessageBox

    from workstation.core.autotag import downloads

    v, _ids = view
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    sizes = {"model.onnx": 300 * 2**20, "selected_tags.csv": 2**20}

    def plan(repo_id, timeout=15.0):
        if repo_id.startswith("SmilingWolf/"):
            return downloads.plan_files(repo_id, list(sizes.items()))
        return downloads.plan_files(repo_id, [("config.json", 10), ("m.safetensors", 7 * 2**30)])

    monkeypatch.setattr(downloads, "download_plan", plan)
    fetched = []

    def fetch(repo_id, filename, bar):
        with bar(total=sizes[filename]) as b:
            b.update(sizes[filename])
        fetched.append(filename)
        return f"/cache/{repo_id}/snapshots/1/{filename}"

    monkeypatch.setattr(downloads, "_hub_fetch", fetch)
    dialog = v.autotag.open_models()
    qtbot.addWidget(dialog)
    _final(qtbot, dialog._lookup_job)
    hub = {dialog.hub_table.item(r, 0).text(): r for r in range(dialog.hub_table.rowCount())}
    assert dialog.hub_table.item(hub["SmilingWolf/wd-vit-tagger-v3"], 2).text() == "301.0 MB"
    assert dialog.hub_table.item(hub["Qwen/Qwen2.5-VL-3B-Instruct"], 2).text() == "7.0 GB"
    asked = []

    def answer(yes):
        def question(parent, title, text, *args):
            asked.append(text)
            return QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No

        return question

    monkeypatch.setattr(QMessageBox, "question", answer(False))
    dialog.hub_table.selectRow(hub["SmilingWolf/wd-vit-tagger-v3"])
    assert dialog.hub_id.text() == "SmilingWolf/wd-vit-tagger-v3"
    assert dialog.download(dialog.hub_id.text()) is None  # said no: nothing downloaded
    assert "2 files, 301.0 MB" in asked[-1] and fetched == []
    monkeypatch.setattr(QMessageBox, "question", answer(True))
    job = dialog.download(dialog.hub_id.text())
    assert dialog.progress.isVisible() and dialog.cancel_button.isVisible()
    _final(qtbot, job)
    assert fetched == ["model.onnx", "selected_tags.csv"]
    assert dialog.message.text() == (
        "Downloaded SmilingWolf/wd-vit-tagger-v3 to /cache/SmilingWolf/wd-vit-tagger-v3/snapshots/1"
    )
    assert not dialog.progress.isVisible()


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
    _final(qtbot, dialog.add_folder(vlm))
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
