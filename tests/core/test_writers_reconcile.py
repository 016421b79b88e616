"""Writers under faults: a full disk at chosen points, a kill between a commit and the files that
mirror it, leftover temps, files a person changed in an export folder, reproducible bytes."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from workstation.cli import main
from workstation.core import atomic, review, slicing, synth
from workstation.core.errors import WorkstationError
from workstation.core.export import files as export_files
from workstation.core.export.manifest import MANIFEST
from workstation.core.export.settings import ExportSettings
from workstation.core.export.stage import export_dataset
from workstation.core.ingest import add_paths
from workstation.core.progress import drive
from workstation.core.slicing import SliceSettings, split_project, split_video
from workstation.core.store import Cut, Project

DEAD_PID = 4_194_999  # above Linux's largest pid: never a live process


def _disk_full() -> sqlite3.OperationalError:
    """What sqlite3 raises when a commit finds the disk full (SQLITE_FULL = 13)."""
    exc = sqlite3.OperationalError("database or disk is full")
    exc.sqlite_errorcode = 13
    return exc


def _cut(project: Project, name: str = "demo_transitions.mp4") -> int:
    video = next(v for v in project.videos() if v.name == name)
    for c in synth.Truth.load(str(video.path) + ".truth.json").cuts:
        project.add_cut(video.id, Cut(c.frame))
    return video.id


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if p.name.endswith((".tmp", ".part")))


def _full(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


# -- split: no finished clip without its row ---------------------------------------------------
def test_a_full_disk_at_the_clip_commit_keeps_no_clip_and_stops(demo_project, monkeypatch):
    vid = _cut(demo_project)

    def full_db(*_a, **_k):
        raise _disk_full()

    monkeypatch.setattr(demo_project, "upsert_clip", full_db)
    result = drive(split_video(demo_project, vid, workers=0))
    db = demo_project.root / "project.wsdb"
    assert result.errors == [
        f"demo_transitions_f000000-000054.mp4: not recorded ({db}: cannot write: the disk is "
        "full); the clip was not kept"
    ]
    assert len(result.clips) == 1  # the run stopped: the other clips would fail alike
    assert list(demo_project.clips_dir.rglob("*.mp4")) == []
    assert _leftovers(demo_project.clips_dir) == []


def test_a_run_stopped_after_the_rename_is_redone_not_reused(demo_project, monkeypatch):
    """The second commit (verified) fails: the clip is in place with a row that says it is
    unverified, so the next run encodes it again instead of trusting it."""
    vid = _cut(demo_project)
    real = demo_project.upsert_clip
    calls = []

    def second_fails(*a, **k):
        calls.append(k["verified"])
        if len(calls) == 2:
            raise _disk_full()
        return real(*a, **k)

    monkeypatch.setattr(demo_project, "upsert_clip", second_fails)
    result = drive(split_video(demo_project, vid, workers=0))
    assert calls == [False, True]
    assert "in place but recorded as unverified" in result.errors[0]
    (row,) = demo_project.clips(vid)
    assert row.verified is False and row.verify_error == slicing.PENDING
    assert {p for p in demo_project.clips_dir.rglob("*.mp4")} == {row.path}
    monkeypatch.undo()
    again = drive(split_video(demo_project, vid, workers=0))
    assert not again.errors and not again.reused and len(again.written) == 5
    on_disk = {p for p in demo_project.clips_dir.rglob("*.mp4")}
    assert on_disk == {c.path for c in demo_project.clips(vid)}
    assert all(c.verified for c in demo_project.clips(vid))


# -- derived files reconciled on the next run --------------------------------------------------
def test_rerunning_an_edit_or_a_split_repairs_stale_sidecars(demo_project):
    vid = _cut(demo_project)
    drive(split_video(demo_project, vid, workers=0))
    first = demo_project.clips(vid)[0]
    review.add_tags(demo_project, [first.id], "blue_sky")
    txt = first.path.with_suffix(".txt")
    assert txt.read_text() == "blue_sky"
    # Killed between the commit of the next edit and its sidecar writes:
    review.add_tags(demo_project, [first.id], "red_car")
    txt.write_text("blue_sky")
    root = demo_project.root
    demo_project.close()

    with Project.open(root) as again:  # a new run of the same command
        review.add_tags(again, [first.id], "red_car")  # nothing left to change in the database
        assert txt.read_text() == "blue_sky, red_car"
    txt.write_text("blue_sky")  # stale again: what the workstation wrote before
    with Project.open(root) as again:
        drive(split_video(again, vid, workers=0))
        assert txt.read_text() == "blue_sky, red_car"


def test_leftover_temps_of_every_writer_are_swept_and_nothing_else(demo_project, tmp_path):
    vid = _cut(demo_project)
    drive(split_video(demo_project, vid, workers=0))
    folder = demo_project.clips(vid)[0].path.parent
    out = tmp_path / "out"
    (out / "val").mkdir(parents=True)
    kept = [".notes.tmp", "a.123.tmp", ".x.mp4.ws-abc.tmp", f".live.txt.ws-{os.getpid()}x.tmp"]
    for where in (folder, out / "val"):
        for name in [f".c.mp4.ws-{DEAD_PID}.tmp", f".c.txt.{DEAD_PID}.tmp", *kept]:
            (where / name).write_text("x")
    drive(split_video(demo_project, vid, workers=0))
    drive(export_dataset(demo_project, out))
    for where in (folder, out / "val"):
        assert sorted(p.name for p in where.iterdir() if p.name.endswith(".tmp")) == sorted(kept)


# -- export: a full disk, files a person changed, reproducible bytes ---------------------------
@pytest.fixture(scope="module")
def sliced(tmp_path_factory, demo_videos):
    root = tmp_path_factory.mktemp("writers")
    for v in demo_videos:
        shutil.copy(v, root / v.name)
        shutil.copy(v.with_name(v.name + ".truth.json"), root / (v.name + ".truth.json"))
    p = Project.create(root / "proj")
    drive(add_paths(p, [root]))
    for v in p.videos():
        for c in synth.Truth.load(str(v.path) + ".truth.json").cuts:
            p.add_cut(v.id, Cut(c.frame))
    drive(split_project(p, None, SliceSettings(min_frames=4)))
    yield p
    p.close()


def _live_only(project: Project) -> ExportSettings:
    """Settings that export only the demo_live clips (marked reviewed, the others not)."""
    live = [c.id for c in project.clips() if "demo_live" in c.path.name]
    review.mark_reviewed(project, [c.id for c in project.clips()], False)
    review.mark_reviewed(project, live, True)
    return ExportSettings(selection="reviewed")


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_export_on_a_full_disk_names_the_file_and_keeps_the_old_manifest(
    sliced, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "out"
    drive(export_dataset(sliced, out, _live_only(sliced)))
    before = _hashes(out)
    monkeypatch.setattr(export_files.shutil, "copyfile", _full)  # every clip copy
    monkeypatch.setattr(atomic.os, "fsync", _full)  # every small file, the manifest included
    with pytest.raises(WorkstationError) as caught:
        drive(export_dataset(sliced, out))
    first = min(c.path.name for c in sliced.clips() if "demo_live" not in c.path.name)
    assert str(caught.value) == f"{out / first}: cannot write: the disk is full"
    assert _hashes(out) == before  # no half file, the earlier manifest whole
    assert _leftovers(out) == []

    code = main(["export", str(sliced.root), "--out", str(out)])
    assert code == 1
    assert f"error: {out / first}: cannot write: the disk is full" in capsys.readouterr().err


def test_export_deletes_only_unchanged_files_it_recorded(sliced, tmp_path):
    out = tmp_path / "out"
    drive(export_dataset(sliced, out))
    manifest = json.loads((out / MANIFEST).read_text())
    assert set(manifest["files"]) == set(_hashes(out)) - {MANIFEST}
    edited = next(p for p in sorted(out.glob("demo_anime*.txt")))
    edited.write_text("my own caption")
    result = drive(export_dataset(sliced, out, _live_only(sliced)))
    assert result.left == [f"{edited}: changed since the export wrote it; left it"]
    assert edited.read_text() == "my own caption"
    left = {p.name for p in out.glob("demo_anime*")} | {p.name for p in out.glob("demo_tr*")}
    assert left == {edited.name}
    assert len(result.clips) == len([c for c in sliced.clips() if "demo_live" in c.path.name])
    assert result.removed == len(sliced.clips()) - len(result.clips)


def test_an_older_manifest_without_checksums_deletes_nothing(sliced, tmp_path):
    out = tmp_path / "out"
    drive(export_dataset(sliced, out))
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["files"]
    (out / MANIFEST).write_text(json.dumps(manifest))
    before = set(_hashes(out))
    result = drive(export_dataset(sliced, out, _live_only(sliced)))
    assert result.removed == 0 and set(_hashes(out)) >= before - {MANIFEST}
    assert result.left and all("holds no checksum" in line for line in result.left)


@pytest.mark.parametrize(("short", "size"), [(144, (256, 144)), (128, (228, 128)), (36, (64, 36))])
def test_two_exports_with_a_resize_give_the_same_bytes(sliced, tmp_path, short, size):
    """At sizes that are multiples of 16 and at sizes that are not (x264's macroblock tree
    read uninitialised memory past the edge there; see slicing/encode.py)."""
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        result = drive(export_dataset(sliced, out, ExportSettings(size=short)))
        assert {(c.width, c.height) for c in result.clips} == {size}
    assert _hashes(a) == _hashes(b)
    assert len(_hashes(a)) == 2 * len(sliced.clips()) + 3
