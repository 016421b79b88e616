"""A fake ``uv`` for the training-environment tests (no downloads, no torch).

It logs each call, creates ``bin/python`` (a script answering the environment check) for
``uv venv`` and prints a few lines for ``uv pip install``; ``FAKE_UV_FAIL=WORD`` makes the
install whose arguments contain WORD fail, ``FAKE_UV_HANG=1`` makes installs wait until killed.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

FAKE_UV = r"""#!{python}
import json, os, sys, time
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_UV_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
if args[0] == "venv":
    py = Path(args[-1]) / "bin" / "python"
    py.parent.mkdir(parents=True)
    py.write_text("#!/bin/sh\necho '{{\"torch\": \"2.14.1+fake\", \"cuda\": false}}'\n")
    py.chmod(0o755)
    print("Creating virtual environment at:", args[-1])
    sys.exit(0)
print("Resolved 3 packages in 1ms", flush=True)
if os.environ.get("FAKE_UV_HANG"):
    time.sleep(600)
fail = os.environ.get("FAKE_UV_FAIL")
if fail and any(fail in a for a in args):
    print("error: No solution found when resolving dependencies", flush=True)
    print("hint: Consider enabling use of system TLS certificates", flush=True)
    sys.exit(1)
print("Installed 3 packages in 2ms")
"""


def install_fake_uv(tmp_path: Path, monkeypatch) -> Path:
    """Point the app at the fake uv and a temp environment folder; returns the call log."""
    uv = tmp_path / "bin" / "uv"
    uv.parent.mkdir()
    uv.write_text(FAKE_UV.format(python=sys.executable))
    uv.chmod(uv.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "uv.log"
    monkeypatch.setenv("WORKSTATION_UV", str(uv))
    monkeypatch.setenv("FAKE_UV_LOG", str(log))
    monkeypatch.setenv("WORKSTATION_TRAINING_ENV", str(tmp_path / "env"))
    monkeypatch.delenv("FAKE_UV_FAIL", raising=False)
    monkeypatch.delenv("FAKE_UV_HANG", raising=False)
    return log


def calls(log: Path) -> list[list[str]]:
    """The fake uv's calls so far, each as its argument list."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]
