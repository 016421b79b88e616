"""An in-process fake Hydrus client: a real HTTP server on 127.0.0.1 (an ephemeral port) in a
thread, following what a real client (v682, Client API 95) was measured to do (issue 16):

- 401 without a key, 403 for a wrong key or a missing permission, 503 on every endpoint while
  ``busy``, connection refused while stopped, 409 from ``/request_new_permissions`` unless the
  dialog is open;
- tags cleaned (lower case, whitespace collapsed and none around the namespace colon, control
  characters deleted, leading ``-`` and ``system:`` stripped, 1024 characters, underscores
  kept); ``clean_tags`` answers a sorted set; storage tags vs display tags with siblings and
  parents; add and delete of one tag in one call ends deleted; deletes leave a record; sending
  both tag forms drops the first;
- notes one file per call, byte for byte, names case-sensitive, "" deletes, ``merge_cleverly``
  makes "caption (1)";
- writes are in memory until a commit (every 30 s of the fake's clock, or ``force_commit``);
  :meth:`FakeHydrus.crash` drops what was not committed and stops the server;
- at most 256 hashes per metadata request (more: the connection is dropped, no status);
- ``add_file`` by path: status 1 new, 2 known, 3 deleted, 4 failed (no ffmpeg), 7 vetoed.

Failure switches: ``stop()``/``start()`` (down), ``busy`` (503), a wrong key (403), ``slow_s``,
``kill_after_writes`` (crash on the next write after that many).  It cleans tags with its own
code on purpose: it is the test's model of Hydrus, not the workstation's.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TAG_KEY = "6c6f63616c2074616773"  # "my tags"
DL_KEY = "646f776e6c6f61646572"  # "downloader tags"
FILE_KEY = "6d792066696c6573"  # "my files"
KEY = "a" * 64
ALL_PERMISSIONS = frozenset(range(13))
WRITES = ("/add_files/add_file", "/add_tags/add_tags", "/add_notes/set_notes")
_PERMISSION = {
    "/add_files/add_file": 1,
    "/add_tags/add_tags": 2,
    "/add_tags/clean_tags": 2,
    "/get_files/file_metadata": 3,
    "/manage_pages/get_pages": 4,
    "/manage_pages/add_files": 4,
    "/manage_pages/focus_page": 4,
    "/manage_database/force_commit": 6,
    "/add_notes/set_notes": 7,
}


def hydrus_clean(tag: str) -> str:
    text = re.sub(r"[\x00-\x1f\x7f-\x9f]", "", tag).lower()
    text = " ".join(text.split())
    changed = True
    while changed:
        before = text
        text = text.lstrip("-").strip()
        if text.startswith("system:"):
            text = text[7:].strip()
        changed = text != before
    if ":" in text:
        ns, sub = text.split(":", 1)
        text = f"{ns.strip()}:{sub.strip()}" if ns.strip() else sub.strip()
    return text[:1024]


@dataclass
class State:
    files: dict[str, str] = field(default_factory=dict)  # sha256 -> path
    deleted: set[str] = field(default_factory=set)  # sha256 of deleted files
    tags: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (sha, service)
    deleted_tags: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    notes: dict[str, dict[str, str]] = field(default_factory=dict)


class FakeHydrus:
    def __init__(self, key: str = KEY, permissions: frozenset[int] = ALL_PERMISSIONS) -> None:
        self.keys: dict[str, frozenset[int]] = {key: permissions}
        self.live = State()
        self.committed = State()
        self.lock = threading.RLock()
        self.busy = False
        self.slow_s = 0.0
        self.kill_after_writes: int | None = None
        self.commit_before_kill = False  # its 30 s timer ran just before the kill
        self.writes = 0
        self.ffmpeg = True
        self.vetoed: set[str] = set()
        self.dialog_open = False
        self.siblings = {"kitty": "cat"}
        self.parents = {"cat": ["animal"]}
        self.requests: list[tuple[str, str]] = []
        self.bodies: list[dict[str, Any]] = []
        self.pages: dict[str, list[str]] = {"p1": []}
        self.services: dict[str, dict[str, Any]] = {
            TAG_KEY: {"name": "my tags", "type": 5, "type_pretty": "local tag service"},
            DL_KEY: {"name": "downloader tags", "type": 5, "type_pretty": "local tag service"},
            FILE_KEY: {"name": "my files", "type": 2, "type_pretty": "local file domain"},
        }
        self.focused: str | None = None
        self.clock_offset = 0.0
        self.last_commit = self._now()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    # -- the server --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeHydrus:
        fake = self

        class Handler(_Handler):
            hydrus = fake

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    @property
    def running(self) -> bool:
        return self._server is not None

    def crash(self) -> None:
        """Killed: everything not committed is lost, and the port is closed."""
        with self.lock:
            self.live = copy.deepcopy(self.committed)
        self.stop()

    # -- the database ------------------------------------------------------------------------
    def _now(self) -> float:
        return time.monotonic() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on (its 30 s commit counts on it)."""
        self.clock_offset += seconds

    def commit(self) -> None:
        with self.lock:
            self.committed = copy.deepcopy(self.live)
            self.last_commit = self._now()

    def storage_tags(self, sha: str, service: str = TAG_KEY) -> set[str]:
        return set(self.live.tags.get((sha, service), set()))

    def display_tags(self, sha: str, service: str = TAG_KEY) -> set[str]:
        out: set[str] = set()
        for tag in self.storage_tags(sha, service):
            shown = self.siblings.get(tag, tag)
            out.add(shown)
            out.update(self.parents.get(shown, []))
        return out

    def note(self, sha: str, name: str = "caption") -> str | None:
        return self.live.notes.get(sha, {}).get(name)

    def set_tags_as_person(self, sha: str, add: list[str] = (), delete: list[str] = ()) -> None:  # type: ignore[assignment]
        """An edit a person makes in Hydrus's tag dialog (committed at once)."""
        with self.lock:
            have = self.live.tags.setdefault((sha, TAG_KEY), set())
            have.update(hydrus_clean(t) for t in add)
            have.difference_update(hydrus_clean(t) for t in delete)
        self.commit()

    def set_note_as_person(self, sha: str, text: str, name: str = "caption") -> None:
        """The note editor strips each line."""
        with self.lock:
            stripped = "\n".join(line.strip() for line in text.splitlines())
            self.live.notes.setdefault(sha, {})[name] = stripped
        self.commit()

    # -- the endpoints -----------------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: dict[str, Any], body: dict[str, Any], key: str | None
    ) -> tuple[int, Any]:
        with self.lock:
            self.requests.append((method, path))
            self.bodies.append(body)
            if self._now() - self.last_commit >= 30:
                self.commit()
            if self.busy:
                return 503, "The database is locked."
            if path == "/api_version":
                return 200, {"version": 95, "hydrus_version": 682}
            if path == "/request_new_permissions":
                if not self.dialog_open:
                    return 409, "The permission registration dialog is not open."
                new = hashlib.sha256(str(len(self.keys)).encode()).hexdigest()
                self.keys[new] = frozenset(query.get("basic_permissions", []))
                return 200, {"access_key": new}
            if not key:
                return 401, "No access key."
            if key not in self.keys:
                return 403, "Invalid access key."
            need = _PERMISSION.get(path)
            if need is not None and need not in self.keys[key]:
                return 403, "The access key lacks a permission."
            return self._route(path, query, body, key)

    def _route(
        self, path: str, q: dict[str, Any], body: dict[str, Any], key: str
    ) -> tuple[int, Any]:
        if path == "/verify_access_key":
            perms = sorted(self.keys[key])
            return 200, {
                "name": "workstation",
                "human_description": "workstation",
                "basic_permissions": perms,
                "permits_everything": False,
            }
        if path == "/get_services":
            return 200, {"services": copy.deepcopy(self.services)}
        if path in WRITES and self.kill_after_writes is not None:
            if self.writes >= self.kill_after_writes:
                self.kill_after_writes = None
                raise _Crash
            self.writes += 1
        handlers = {
            "/add_files/add_file": self._add_file,
            "/add_tags/add_tags": self._add_tags,
            "/add_tags/clean_tags": self._clean_tags,
            "/add_notes/set_notes": self._set_notes,
            "/get_files/file_metadata": self._metadata,
            "/manage_database/force_commit": self._force_commit,
            "/manage_pages/get_pages": self._get_pages,
            "/manage_pages/add_files": self._page_add,
            "/manage_pages/focus_page": self._page_focus,
        }
        if path not in handlers:
            return 404, f"no endpoint {path}"
        return handlers[path](body or q)

    def _add_file(self, body: dict[str, Any]) -> tuple[int, Any]:
        path = str(body.get("path", ""))
        try:
            with open(path, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
        except OSError:
            return 200, {"status": 4, "hash": None, "note": f"could not read {path}"}
        if sha in self.live.deleted:
            return 200, {"status": 3, "hash": sha, "note": "deleted"}
        if path in self.vetoed:
            return 200, {"status": 7, "hash": sha, "note": "vetoed by file import options"}
        if not self.ffmpeg:
            return 200, {"status": 4, "hash": sha, "note": "Cannot find ffmpeg!\nTraceback..."}
        if sha in self.live.files:
            return 200, {"status": 2, "hash": sha, "note": ""}
        self.live.files[sha] = path
        return 200, {"status": 1, "hash": sha, "note": ""}

    def _add_tags(self, body: dict[str, Any]) -> tuple[int, Any]:
        hashes = body.get("hashes") or [body.get("hash")]
        actions: dict[str, dict[str, list[str]]] = {}
        if "service_keys_to_actions_to_tags" in body:  # the other form is dropped silently
            actions = body["service_keys_to_actions_to_tags"]
        elif "service_keys_to_tags" in body:
            actions = {k: {"0": v} for k, v in body["service_keys_to_tags"].items()}
        for sha in hashes:
            for service, acts in actions.items():
                have = self.live.tags.setdefault((sha, service), set())
                gone = self.live.deleted_tags.setdefault((sha, service), set())
                for tag in map(hydrus_clean, acts.get("0", [])):
                    if tag:
                        have.add(tag)
                        gone.discard(tag)
                for tag in map(hydrus_clean, acts.get("1", [])):
                    if tag:
                        have.discard(tag)
                        gone.add(tag)
        return 200, None

    def _clean_tags(self, q: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"tags": sorted({hydrus_clean(t) for t in q.get("tags", [])} - {""})}

    def _set_notes(self, body: dict[str, Any]) -> tuple[int, Any]:
        if "hash" not in body:
            return 400, "set_notes takes one hash"
        sha = body["hash"]
        if sha not in self.live.files:
            return 404, "no such file"
        notes = self.live.notes.setdefault(sha, {})
        for name, text in body.get("notes", {}).items():
            if text == "":
                notes.pop(name, None)
            elif body.get("merge_cleverly") and name in notes and notes[name] != text:
                notes[f"{name} (1)"] = text
            else:
                notes[name] = text
        return 200, {"notes": dict(notes)}

    def _metadata(self, q: dict[str, Any]) -> tuple[int, Any]:
        hashes = q.get("hashes", [])
        if len(hashes) > 256:
            raise _Crash(drop_only=True)
        out = []
        for sha in hashes:
            if sha not in self.live.files:
                out.append({"file_id": None, "hash": sha})
                continue
            tags = {}
            for (h, service), stored in self.live.tags.items():
                if h == sha:
                    tags[service] = {
                        "storage_tags": {"0": sorted(stored)},
                        "display_tags": {"0": sorted(self.display_tags(sha, service))},
                    }
            entry: dict[str, Any] = {
                "file_id": list(self.live.files).index(sha) + 1,
                "hash": sha,
                "is_deleted": False,
                "is_trashed": False,
                "tags": tags,
            }
            if q.get("include_notes"):
                entry["notes"] = dict(self.live.notes.get(sha, {}))
            out.append(entry)
        return 200, {"metadata": out}

    def _force_commit(self, _body: dict[str, Any]) -> tuple[int, Any]:
        self.commit()
        return 200, None

    def _get_pages(self, _q: dict[str, Any]) -> tuple[int, Any]:
        return 200, {
            "pages": {
                "name": "top pages notebook",
                "page_key": "top",
                "is_media_page": False,
                "pages": [
                    {
                        "name": "files",
                        "page_key": "p1",
                        "is_media_page": True,
                        "focused": False,
                        "selected": True,
                    }
                ],
            }
        }

    def _page_add(self, body: dict[str, Any]) -> tuple[int, Any]:
        self.pages.setdefault(body["page_key"], []).extend(body.get("hashes", []))
        return 200, None

    def _page_focus(self, body: dict[str, Any]) -> tuple[int, Any]:
        self.focused = body["page_key"]
        return 200, None


class _Crash(Exception):
    def __init__(self, drop_only: bool = False) -> None:
        self.drop_only = drop_only


class _Handler(BaseHTTPRequestHandler):
    hydrus: FakeHydrus

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self, method: str) -> None:
        fake = self.hydrus
        if fake.slow_s:
            time.sleep(fake.slow_s)
        parsed = urlparse(self.path)
        query: dict[str, Any] = {}
        for k, v in parse_qs(parsed.query).items():
            try:
                query[k] = json.loads(v[0])
            except ValueError:
                query[k] = v[0]
        body: dict[str, Any] = {}
        size = int(self.headers.get("Content-Length") or 0)
        if size:
            body = json.loads(self.rfile.read(size))
        key = self.headers.get("Hydrus-Client-API-Access-Key") or query.get(
            "Hydrus-Client-API-Access-Key"
        )
        try:
            code, answer = fake.handle(method, parsed.path, query, body, key)
        except _Crash as crash:
            if not crash.drop_only:
                if fake.commit_before_kill:
                    fake.commit()
                with fake.lock:
                    fake.live = copy.deepcopy(fake.committed)
                fake.stop()
            self.close_connection = True
            return  # no answer at all: the connection just drops
        data = (json.dumps(answer) if code == 200 else str(answer)).encode()
        if code == 200 and answer is None:
            data = b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if code == 200 else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")


class _Persistent(FakeHydrus):
    """The fake as its own process: what it commits is kept in a file, so killing the
    process (SIGKILL) loses only what was not committed, as with a real client."""

    def __init__(self, state_file: str) -> None:
        super().__init__()
        self.state_file = state_file
        try:
            with open(state_file, "rb") as f:
                self.committed = pickle.load(f)
            self.live = copy.deepcopy(self.committed)
        except FileNotFoundError:
            pass

    def commit(self) -> None:
        super().commit()
        with open(self.state_file + ".tmp", "wb") as f:
            pickle.dump(self.committed, f)
        os.replace(self.state_file + ".tmp", self.state_file)


if __name__ == "__main__":  # python -m tests.core.hydrus_fake [PORT [STATE_FILE]]: try the CLI
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 45869
    server = _Persistent(sys.argv[2]) if len(sys.argv) > 2 else FakeHydrus()
    server.port = port
    server.start()
    print(f"fake Hydrus at {server.url}, access key {KEY}", flush=True)
    threading.Event().wait()
