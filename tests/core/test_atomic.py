"""The shared atomic writer: modes kept, temps swept only when their writer is gone."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys

import pytest

from workstation.core import atomic


def test_write_keeps_existing_mode_and_gives_new_files_the_umask_mode(tmp_path):
    old = tmp_path / "a.txt"
    old.write_text("old")
    os.chmod(old, 0o664)
    atomic.write_text(old, "new")
    assert old.read_text() == "new"
    assert stat.S_IMODE(old.stat().st_mode) == 0o664

    fresh = tmp_path / "b.txt"
    atomic.write_text(fresh, "x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~atomic._UMASK

    secret = tmp_path / "key"
    atomic.write_text(secret, "s", mode=0o600)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "key"]


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"kept")
    with pytest.raises(RuntimeError), atomic.replacing(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("encoder died")
    assert target.read_bytes() == b"kept"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_write_text_if_changed(tmp_path):
    p = tmp_path / "c.txt"
    assert atomic.write_text_if_changed(p, "a")
    assert not atomic.write_text_if_changed(p, "a")
    assert atomic.write_text_if_changed(p, "b")


def test_sweep_removes_dead_writers_temps_only(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    left = tmp_path / f".clip.mp4.ws-{dead_pid}.tmp"
    left.write_bytes(b"x")
    live = tmp_path / f".clip.mp4.ws-{os.getppid()}.tmp"  # a live process that is not us
    live.write_bytes(b"x")
    mine = atomic.temp_path(tmp_path / "other.txt")
    mine.write_bytes(b"x")
    foreign = tmp_path / ".notes.tmp"  # not our naming: never touched
    foreign.write_bytes(b"x")
    sub = tmp_path / "sub"
    sub.mkdir()
    deep = sub / f".x.ws-{dead_pid}.tmp"
    deep.write_bytes(b"x")

    removed = atomic.sweep_temps(tmp_path)
    assert sorted(removed) == sorted([left, mine])
    assert live.exists() and foreign.exists() and deep.exists()
    assert atomic.sweep_temps(tmp_path, recursive=True) == [deep]
    assert atomic.sweep_temps(tmp_path / "missing") == []


def test_write_error_names_the_target_not_the_temp(tmp_path):
    target = tmp_path / "export.json"
    exc = OSError(errno.ENOSPC, "No space left on device", str(atomic.temp_path(target)))
    assert str(atomic.write_error(target, exc)) == f"{target}: cannot write: the disk is full"
