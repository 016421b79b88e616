"""Bad input through the CLI, one row per case (the table in docs/reliability.md): each gets one
message that names the file or field, the exit code says what happened, never a traceback.

Covers the filter language (``--filter``), video files that can't be used (``add``), a video
too short to give a clip (``split``) and secrets in the caption server's address (``caption``).
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import numpy as np
import pytest

from workstation.cli import main
from workstation.core import synth

PASSWORD = "pw-Zq81secret"
API_KEY = "sk-Kx9apikeysecret"


# -- the inputs ------------------------------------------------------------------------------
def _audio_only(path: Path) -> None:
    c = av.open(str(path), "w")
    s = c.add_stream("aac", rate=44100)
    frame = av.AudioFrame.from_ndarray(
        np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
    )
    frame.sample_rate = 44100
    for _ in range(20):
        for pkt in s.encode(frame):
            c.mux(pkt)
    for pkt in s.encode():
        c.mux(pkt)
    c.close()


def _faststart(src: Path, dst: Path) -> None:
    """``src`` remuxed with its index (moov) first, as web videos are."""
    with av.open(str(src)) as i, av.open(str(dst), "w", options={"movflags": "faststart"}) as o:
        out = o.add_stream_from_template(i.streams.video[0])
        for packet in i.demux(i.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                o.mux(packet)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EchoServer:
    """Answers every request 401 with the Authorization header it got (a careless server)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps(
                    {"error": {"message": f"bad credentials {self.headers['Authorization']}"}}
                ).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Paths every case may use: ``proj`` (an empty project), ``one`` (a project whose only
    video has 1 frame, cuts detected), bad video files, and caption server addresses."""
    root = tmp_path_factory.mktemp("bad")
    good = root / "good.mp4"
    synth.write_video(
        good, synth.Sequence([synth.Shot("texture", 48, seed=2)]), width=64, height=48
    )
    data = good.read_bytes()
    (root / "cut.mp4").write_bytes(data[: len(data) // 2])  # the index (moov) is at the end
    _faststart(good, root / "web.mp4")
    web = (root / "web.mp4").read_bytes()
    (root / "cut-web.mp4").write_bytes(web[: len(web) * 6 // 10])
    (root / "empty.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("not a video at all\n" * 50)
    (root / "zeros.mp4").write_bytes(b"\0" * 65536)
    (root / "noise.mp4").write_bytes(bytes(range(256)) * 64)
    _audio_only(root / "song.m4a")
    one_video = root / "one.mp4"
    synth.write_video(
        one_video, synth.Sequence([synth.Shot("texture", 1, seed=1)]), width=64, height=48
    )
    assert main(["-q", "new", str(root / "proj")]) == 0
    assert main(["-q", "new", str(root / "one")]) == 0
    assert main(["-q", "add", str(root / "one"), str(one_video)]) == 0
    assert main(["-q", "detect", str(root / "one")]) == 0
    echo = EchoServer()
    paths = {"root": str(root), "proj": str(root / "proj"), "one": str(root / "one")}
    paths["closed"] = f"http://user:{PASSWORD}@127.0.0.1:{_free_port()}"
    paths["echo"] = f"http://user:{PASSWORD}@127.0.0.1:{echo.port}"
    paths["echo-plain"] = f"http://127.0.0.1:{echo.port}"
    yield paths
    echo.close()
    shutil.rmtree(root, ignore_errors=True)


# -- the table -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    argv: Callable[[dict[str, str]], list[str]]
    code: int
    says: tuple[str, ...]  # each must appear in the output (stdout + stderr), {root} filled in


def _filter(query: str, command: str = "clips") -> Callable[[dict[str, str]], list[str]]:
    def argv(env: dict[str, str]) -> list[str]:
        if command == "tags add":
            return ["-q", "tags", "add", env["proj"], "dog", "--filter", query]
        return ["-q", command, env["proj"], "--filter", query]

    return argv


def _add(name: str) -> Callable[[dict[str, str]], list[str]]:
    return lambda env: ["-q", "add", env["proj"], str(Path(env["root"]) / name)]


def _caption(server: str, *extra: str) -> Callable[[dict[str, str]], list[str]]:
    return lambda env: ["-q", "caption", env["proj"], "--server", env.get(server, server), *extra]


NESTED = "(" * 300 + "dog" + ")" * 300
CASES = {
    # --filter: bad usage (exit 2), the query quoted, the problem and where it is
    "filter '-' (a lone NOT)": Case(
        _filter("-"), 2, ("--filter '-':", "'-' (NOT) needs a search term right after it")
    ),
    "filter '\"\"' (empty quotes)": Case(
        _filter('""'), 2, ("--filter '\"\"':", "empty quotes search for nothing")
    ),
    'filter "\'" (a lone apostrophe)': Case(
        _filter("'"), 2, ('--filter "\'":', "a lone ' is not a search term")
    ),
    "filter \"'dog'\" (single quotes)": Case(
        _filter("'dog'"), 2, ("single quotes don't quote in a filter", 'write "dog"')
    ),
    "filter with 300 nested parentheses": Case(
        _filter(NESTED), 2, ("nesting deeper than 16 parentheses (at character 17)",)
    ),
    "filter with 257 terms": Case(
        _filter(" ".join(["dog"] * 257)), 2, ("more than 256 search terms",)
    ),
    "filter 'tag:' (no value)": Case(_filter("tag:"), 2, ("'tag:' needs a value",)),
    "filter with an unclosed quote": Case(
        _filter('caption:"open'), 2, ("unclosed quote", "(at character 9)")
    ),
    "filter '()' (empty parentheses)": Case(_filter("()"), 2, ("empty parentheses",)),
    "filter 'AND' (a lone operator)": Case(_filter("AND"), 2, ("expected a search term, not AND",)),
    "filter 'dog ||' (nothing after OR)": Case(
        _filter("dog ||"), 2, ("expected a search term after OR ('||')",)
    ),
    "filter 'frames>=nan'": Case(
        _filter("frames>=nan"), 2, ("'frames' needs a number, not 'nan'",)
    ),
    "filter 'colour:red' (unknown field)": Case(
        _filter("colour:red"), 2, ("unknown field 'colour'",)
    ),
    "filter with an undecodable byte": Case(
        _filter("dog \udcff"), 2, ("is not text", "(at character 5)")
    ),
    "filter '-' on tags add": Case(_filter("-", "tags add"), 2, ("--filter '-':",)),
    "filter '-' on motion (auto-tag)": Case(_filter("-", "motion"), 2, ("--filter '-':",)),
    # add: the file is named, the others would go on (exit 1)
    "add an MP4 cut before its index (moov at the end)": Case(
        _add("cut.mp4"),
        1,
        (
            "cut.mp4: truncated or incomplete file (the MP4 index is missing; was the download "
            "or recording interrupted?)",
        ),
    ),
    "add an MP4 cut after its index (moov first)": Case(
        _add("cut-web.mp4"),
        1,
        ("cut-web.mp4: truncated or incomplete file (its index lists 48 frames but the file",),
    ),
    "add a 0-byte file": Case(_add("empty.mp4"), 1, ("empty.mp4: file is empty (0 bytes)",)),
    "add a text file named .mp4": Case(
        _add("notes.mp4"), 1, ("notes.mp4: not a video file: it holds text",)
    ),
    "add a file of zero bytes (never written)": Case(
        _add("zeros.mp4"), 1, ("zeros.mp4: not a video file: it holds only zero bytes",)
    ),
    "add a file of random bytes": Case(
        _add("noise.mp4"), 1, ("noise.mp4: not a video file (FFmpeg does not recognise",)
    ),
    "add an audio-only file": Case(
        _add("song.m4a"), 1, ("song.m4a: has no video stream (audio only)",)
    ),
    "add a missing file": Case(_add("nowhere.mp4"), 1, ("nowhere.mp4: file not found",)),
    # split: a video too short for a clip is skipped with its reason in text mode too
    "split a 1-frame video": Case(
        lambda env: ["-q", "split", env["one"]],
        0,
        ("skipped one.mp4 [0, 1): 1 frames, shorter than the minimum of", "skipped: 1"),
    ),
    # caption: the server's address is shown without its password
    "caption, password in --server, nothing listening": Case(
        _caption("closed"), 1, ("http://127.0.0.1:", "cannot reach the caption server")
    ),
    "caption, password in --server, a bad port": Case(
        _caption(f"http://user:{PASSWORD}@127.0.0.1:abc"),
        1,
        ("http://127.0.0.1:abc/v1/models: not a server address", "nonnumeric port"),
    ),
    "caption, password in --server, server echoes the credentials": Case(
        _caption("echo"), 1, ("/v1/models: HTTP 401 bad credentials Basic ***",)
    ),
    "caption, --api-key, server echoes it": Case(
        _caption("echo-plain", "--api-key", API_KEY), 1, ("HTTP 401 bad credentials Bearer ***",)
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_input_gets_one_clear_message(env, case, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    code = main(case.argv(env))
    out, err = capsys.readouterr()
    shown = out + err
    assert code == case.code, shown
    assert "Traceback" not in shown
    for text in case.says:
        assert text.format(root=env["root"]) in shown, shown
    if case.code:
        assert err.startswith("error: "), err  # one message, said as an error
    basic = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, API_KEY, basic):
        assert secret not in shown and secret not in caplog.text


def test_a_password_in_the_address_is_sent_not_dropped(env):
    """The password the messages hide still reaches the server (as Basic authentication)."""
    from workstation.core.autotag.base import CaptionServerError
    from workstation.core.autotag.openai_captioner import OpenAICaptioner, redact_url

    captioner = OpenAICaptioner(env["echo"], "m")
    assert PASSWORD not in captioner.base + captioner.model_id
    with pytest.raises(CaptionServerError) as caught:
        captioner.models()
    assert caught.value.status == 401 and PASSWORD not in str(caught.value)
    assert captioner._basic == "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    assert redact_url(f"see {env['echo']}/v1") == f"see {env['echo']}/v1".replace(PASSWORD, "***")
