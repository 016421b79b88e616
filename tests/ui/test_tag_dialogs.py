"""The Tag and Caption dialogs, driven like a person: fields set, OK clicked, the job waited
for, the database checked.  A tiny WD14 tagger folder tags; a fake OpenAI-compatible server
(http.server in a thread) captions; nothing is downloaded."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from workstation.core import review
from workstation.core.autotag.base import CaptionSettings, TagSettings, load_settings
from workstation.core.store import AUTOTAG_CAPTION, Project
from workstation.ui.clips.all_tags_panel import Scope

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from autotag_fixtures import write_tiny_model
from clip_fixtures import make_clips, opened_clips_view, write_clip_source


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> Path:
    return write_clip_source(tmp_path_factory.mktemp("tagdlg-src"), seed=5)


@pytest.fixture()
def view(qtbot, tmp_path, clip_file, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # an empty HF cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = tmp_path / "proj"
    with Project.create(root) as p:
        ids = make_clips(p, clip_file, 4, name="c{}.mp4")
        review.set_caption(p, [ids[3]], "written by hand")
    with opened_clips_view(qtbot, root) as v:
        yield v, ids


def _click_ok_and_wait(qtbot, v, dialog):
    with qtbot.waitSignal(v.autotag.jobStarted, timeout=5000) as started:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    job = started.args[0]
    with qtbot.waitSignal(job.finished, timeout=60000):
        pass
    return job


def _auto_tags(project, clip_id) -> list[str]:
    return [t.name for t in review.clip_tags(project, clip_id) if t.source == "auto"]


def test_tag_dialog_tags_the_chosen_clips_with_a_local_tagger(qtbot, view, tmp_path):
    v, ids = view
    tagger = write_tiny_model(tmp_path / "tiny-wd14")
    v.select_clips(ids[1:3])
    dialog = v.autotag.open_tag_dialog()
    qtbot.addWidget(dialog)
    d = TagSettings()
    assert (dialog.frames.value(), dialog.general.value()) == (d.frames, d.general_threshold)
    assert (
        dialog.scope.scope is Scope.SELECTED
        and "(2)" in dialog.scope.buttons[Scope.SELECTED].text()
    )
    dialog.model.set_value(str(tagger))  # what the folder picker does
    dialog.frames.setValue(2)
    dialog.character.setValue(0.4)  # lets the always-0.5 "maybe someone" in
    dialog.exclude.setText("simple background")
    assert dialog.ok_button.isEnabled() and dialog.ok_button.text() == "Tag 2 clips"
    _click_ok_and_wait(qtbot, v, dialog)
    assert v.autotag.last_summary.startswith("tagged 2 clips (4 frames")
    assert _auto_tags(v.project, ids[0]) == [] and _auto_tags(v.project, ids[3]) == []
    tags = _auto_tags(v.project, ids[1])
    assert "maybe someone" in tags and "simple background" not in tags and "^_^" in tags
    # remembered in the project: the next dialog starts from what was run
    saved = load_settings(v.project, TagSettings)
    assert (saved.model, saved.frames, saved.exclude) == (str(tagger), 2, ("simple background",))
    again = v.autotag.open_tag_dialog()
    qtbot.addWidget(again)
    assert again.model.value() == str(tagger) and again.character.value() == 0.4


def test_tag_dialog_on_filtered_clips_tags_exactly_what_the_grid_shows(qtbot, view, tmp_path):
    v, ids = view
    tagger = write_tiny_model(tmp_path / "tiny-wd14")
    v.set_filter('caption:"by hand"')
    assert v.model.clip_ids() == [ids[3]]
    dialog = v.autotag.open_tag_dialog()
    qtbot.addWidget(dialog)
    assert dialog.scope.scope is Scope.FILTERED  # nothing selected: the next choice with clips
    dialog.model.set_value(str(tagger))
    _click_ok_and_wait(qtbot, v, dialog)
    assert _auto_tags(v.project, ids[3]) and not _auto_tags(v.project, ids[0])


def test_tag_dialog_offline_without_a_tagger_points_to_models(qtbot, view, tmp_path):
    v, _ids = view
    dialog = v.autotag.open_tag_dialog()
    qtbot.addWidget(dialog)
    text = dialog.model_problem.text()
    assert text.startswith("No tagger on this machine yet") and "Models…" in text
    assert "Traceback" not in text and not dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.models_button, Qt.MouseButton.LeftButton)
    models = v.autotag._dialog
    qtbot.addWidget(models)
    assert models.isVisible()
    job = models.add_folder(write_tiny_model(tmp_path / "wd"))
    with qtbot.waitSignal(job.finished, timeout=30000):
        pass
    # the Tag dialog picks the new tagger up at once
    assert dialog.model.value() == str((tmp_path / "wd").resolve())
    assert dialog.model_problem.isHidden() and dialog.ok_button.isEnabled()


class _FakeServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible server with one model; remembers what it was asked."""

    seen: list[dict] = []

    def _send(self, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
        self._send({"object": "list", "data": [{"id": "fake-vlm", "object": "model"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        self._send({"choices": [{"message": {"role": "assistant", "content": "A clip moving."}}]})

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture()
def server():
    _FakeServer.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _FakeServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], _FakeServer.seen
    httpd.shutdown()
    httpd.server_close()


def test_caption_dialog_captions_a_clip_through_a_local_server(qtbot, view, server):
    v, ids = view
    port, seen = server
    v.select_clips([ids[0]])
    dialog = v.autotag.open_caption_dialog()
    qtbot.addWidget(dialog)
    dialog.use_server.setChecked(True)
    dialog.server.clear()
    qtbot.keyClicks(dialog.server, f"http://me:s3cret@127.0.0.1:{port}")
    with qtbot.waitSignal(dialog.connectionTested, timeout=10000) as tested:
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.server.text() == f"http://127.0.0.1:{port}"  # the password is taken out
    assert tested.args[0] == "Connected: the server offers fake-vlm"
    assert dialog.server_model.currentText() == "fake-vlm"
    dialog.prompt.setPlainText("Describe the motion. Tags: {tags}")
    dialog.fps.setValue(4.0)
    dialog.max_frames.setValue(3)
    assert dialog.ok_button.text() == "Caption 1 clip"
    _click_ok_and_wait(qtbot, v, dialog)
    assert review.caption(v.project, ids[0]).text == "A clip moving."
    assert review.caption(v.project, ids[1]) is None
    asked = [s for s in seen if s["path"] == "/v1/chat/completions"]
    assert len(asked) == 1 and asked[0]["model"] == "fake-vlm"
    parts = asked[0]["messages"][0]["content"]
    assert parts[0]["text"] == "Describe the motion. Tags: none"
    assert 1 <= len(parts) - 1 <= 3  # at most 3 frames
    assert all(s["auth"] and s["auth"].startswith("Basic ") for s in seen)  # the sign-in went
    # remembered per project, and the password nowhere in it
    stored = json.dumps(v.project.get(AUTOTAG_CAPTION))
    assert "s3cret" not in stored and "me:" not in stored
    saved = load_settings(v.project, CaptionSettings)
    assert (saved.model, saved.max_frames, saved.sample_fps) == ("fake-vlm", 3, 4.0)
    again = v.autotag.open_caption_dialog()
    qtbot.addWidget(again)
    assert again.server.text() == f"http://127.0.0.1:{port}"
    assert again.prompt.toPlainText() == "Describe the motion. Tags: {tags}"
    assert "s3cret" not in again.test_result.text() + again.server.text()


def test_caption_dialog_test_connection_shows_the_plain_error(qtbot, view):
    v, _ids = view
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dialog = v.autotag.open_caption_dialog()
    qtbot.addWidget(dialog)
    dialog.server.setText(f"http://u:pw9@127.0.0.1:{port}")
    with qtbot.waitSignal(dialog.connectionTested, timeout=15000) as tested:
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    text = tested.args[0]
    assert "cannot reach the caption server" in text and "pw9" not in text
    assert "Traceback" not in text and "URLError" not in text


def test_caption_dialog_local_model_not_downloaded_is_said_before_ok(qtbot, view, tmp_path):
    v, ids = view
    dialog = v.autotag.open_caption_dialog()
    qtbot.addWidget(dialog)
    dialog.use_local.setChecked(True)
    assert dialog.local_model.value() == "Qwen/Qwen2.5-VL-3B-Instruct"
    assert "is not on this machine yet: download it in Models" in dialog.local_problem.text()
    assert not dialog.ok_button.isEnabled()
    vlm = tmp_path / "vlm"
    vlm.mkdir()
    (vlm / "config.json").write_text('{"model_type": "qwen2_5_vl"}')
    (vlm / "model.safetensors").write_bytes(b"x" * 64)
    dialog.local_model.set_value(str(vlm))  # what the folder picker does
    assert dialog.local_problem.isHidden() and dialog.ok_button.isEnabled()
    dialog.device.setCurrentIndex(1)
    dialog.runRequested.disconnect()  # this fake model would only fail to load in the job
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    saved = load_settings(v.project, CaptionSettings)
    assert (saved.backend.value, saved.model, saved.server) == ("transformers", str(vlm), "")
    from workstation.core.autotag.hf_captioner import load_device

    assert load_device(v.project) == "cpu"
