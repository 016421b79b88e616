"""The OpenAI-compatible captioner against a tiny local server (http.server in a thread)."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from autotag_fixtures import add_clip, solid, write_clip
from PIL import Image

from workstation.core import synth
from workstation.core.autotag import CaptionServerError, CaptionSettings, caption_clips
from workstation.core.autotag.base import TagResult
from workstation.core.autotag.openai_captioner import OpenAICaptioner, api_base
from workstation.core.autotag.storage import store_auto_tags
from workstation.core.progress import drive


class FakeServer:
    """Answers /v1/models and /v1/chat/completions like LM Studio; records requests."""

    def __init__(self, models=("vlm-small",), mode="ok") -> None:
        self.models = list(models)
        self.mode = mode  # ok | error500 | garbage | hang
        self.requests: list[dict] = []
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, payload):
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/v1/models":
                    self._send(
                        200,
                        {
                            "object": "list",
                            "data": [{"id": m, "object": "model"} for m in fake.models],
                        },
                    )
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                if fake.mode == "hang":
                    fake.release.wait(5)
                    return self._send(200, {})
                if fake.mode == "error500":
                    return self._send(500, {"error": {"message": "out of memory"}})
                if fake.mode == "garbage":
                    return self._send(200, b"<html>hello</html>")
                if body["model"] not in fake.models:
                    return self._send(
                        404, {"error": {"message": f"model '{body['model']}' not found"}}
                    )
                n = sum(p["type"] == "image_url" for p in body["messages"][0]["content"])
                self._send(
                    200,
                    {
                        "choices": [
                            {
                                "message": {
                                    "role": "assistant",
                                    "content": f" A clip seen in {n} frames. ",
                                }
                            }
                        ]
                    },
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    # 48 frames at 24 fps: sampled at 1 fps -> frames 12 and 36.
    return write_clip(tmp_path_factory.mktemp("cap") / "blue.mp4", solid((20, 20, 230), n=48))


def test_api_base_forms():
    assert api_base("127.0.0.1:1234") == "http://127.0.0.1:1234/v1"
    assert api_base("http://h:11434/v1/") == "http://h:11434/v1"
    assert api_base("http://h/v1/chat/completions") == "http://h/v1"


def test_caption_clips_sends_frames_and_tags_and_stores(project, clip_file):
    a = add_clip(project, clip_file, 48)
    b = add_clip(project, clip_file.with_name("b.mp4"), 48)
    clip_file.with_name("b.mp4").write_bytes(clip_file.read_bytes())
    store_auto_tags(
        project, [(a, [TagResult("blue background", "general", 0.9, 0.35)])], "m", "mean", 0.35
    )
    with FakeServer() as server:
        settings = CaptionSettings(
            server=server.url, prompt="Tags: {tags}. Describe {it}.", api_key="secret"
        )
        summary = drive(caption_clips(project, None, settings))
        assert sorted(summary.captioned) == [a, b] and not summary.failed
        assert summary.model == f"openai:vlm-small@{server.url}/v1"  # the first model
        first = server.requests[0]
        assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer secret"
        texts = sorted(r["body"]["messages"][0]["content"][0]["text"] for r in server.requests)
        assert texts == ["Tags: blue background. Describe {it}.", "Tags: none. Describe {it}."]
        content = first["body"]["messages"][0]["content"]
        assert content[0]["type"] == "text"
        urls = [p["image_url"]["url"] for p in content[1:]]
        assert len(urls) == 2 and all(u.startswith("data:image/jpeg;base64,") for u in urls)
        images = [Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))) for u in urls]
        import numpy as np

        assert [synth.read_frame_number(np.asarray(i)) for i in images] == [12, 36]
        row = project.db.execute("SELECT * FROM captions WHERE clip_id=?", (a,)).fetchone()
        assert row["text"] == "A clip seen in 2 frames." and row["source"] == "auto"
        assert row["prompt"] == "Tags: blue background. Describe {it}."
        assert row["model"] == summary.model

        # Second run: skipped; a manual caption is never replaced, even with redo.
        project.db.execute("UPDATE captions SET text='mine', source='manual' WHERE clip_id=?", (b,))
        again = drive(caption_clips(project, None, settings))
        assert again.skipped == [a] and again.kept_manual == [b]
        redo = drive(
            caption_clips(
                project, None, CaptionSettings(server=server.url, redo=True, model="vlm-small")
            )
        )
        assert redo.captioned == [a] and redo.kept_manual == [b]
        assert (
            project.db.execute("SELECT text FROM captions WHERE clip_id=?", (b,)).fetchone()[0]
            == "mine"
        )


def test_server_down_is_one_clear_error(project, clip_file):
    add_clip(project, clip_file, 48)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(CaptionServerError, match=r"cannot reach the caption server .*is LM Studio"):
        drive(caption_clips(project, None, CaptionSettings(server=f"http://127.0.0.1:{port}")))


def test_missing_model_names_what_the_server_has(project, clip_file):
    add_clip(project, clip_file, 48)
    with FakeServer(models=["llava", "qwen2-vl"]) as server:
        with pytest.raises(
            CaptionServerError, match=r"has no model 'gpt-9' \(it offers: llava, qwen2-vl\)"
        ):
            drive(caption_clips(project, None, CaptionSettings(server=server.url, model="gpt-9")))
        # A server without a model list: the chat endpoint's 404 is reported clearly.
        cap = OpenAICaptioner(server.url, "gpt-9")
        with pytest.raises(CaptionServerError, match="model 'gpt-9' not found on the server"):
            cap.caption([], "hi")


def test_bad_answers_fail_clips_then_stop(project, clip_file, tmp_path):
    ids = []
    for k in range(4):
        path = tmp_path / f"c{k}.mp4"
        path.write_bytes(clip_file.read_bytes())
        ids.append(add_clip(project, path, 48))
    stop = "stopped after 3 failures in a row; last: .*HTTP 500 out of memory"
    with FakeServer(mode="error500") as server, pytest.raises(CaptionServerError, match=stop):
        drive(caption_clips(project, None, CaptionSettings(server=server.url)))
    with FakeServer(mode="garbage") as server:
        cap = OpenAICaptioner(server.url, "vlm-small")
        with pytest.raises(CaptionServerError, match="answer is not JSON"):
            cap.caption([], "hi")


def test_timeout(clip_file):
    with FakeServer(mode="hang") as server:
        cap = OpenAICaptioner(server.url, "vlm-small", timeout=0.3)
        with pytest.raises(CaptionServerError, match=r"no answer within 0.3 s"):
            cap.caption([], "hi")


def test_transformers_slot_names_a_missing_model_folder(tmp_path):
    from workstation.core.autotag import CaptionerKind, ModelError, create_captioner

    # The slot is filled (hf_captioner; tested in test_autotag_hf.py): a bad folder is named.
    with pytest.raises(ModelError, match="no such model folder"):
        create_captioner(
            CaptionSettings(backend=CaptionerKind.TRANSFORMERS, model=str(tmp_path / "nope"))
        )


def test_cancel_while_the_server_thinks(project, clip_file):
    from workstation.core.progress import Cancelled, CancelToken

    add_clip(project, clip_file, 48)
    token = CancelToken()

    def on_progress(p):
        if p.message == "waiting for the model":
            token.cancel()

    with FakeServer(mode="hang") as server:
        settings = CaptionSettings(server=server.url, model="vlm-small", timeout=10)
        with pytest.raises(Cancelled):
            drive(caption_clips(project, None, settings), on_progress, token)
        assert len(server.requests) == 1
    assert project.db.execute("SELECT COUNT(*) FROM captions").fetchone()[0] == 0
