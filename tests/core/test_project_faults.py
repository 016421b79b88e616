"""A project that cannot be written or read as it should: read-only folders and mounts, damaged
or empty database files, a full disk, a locked database, and what the CLI says about each."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from workstation.cli import build_parser, main
from workstation.core.errors import WorkstationError
from workstation.core.progress import drive
from workstation.core.store import (
    DB_NAME,
    DamagedProjectError,
    Project,
    ReadOnlyProjectError,
    recover_project,
)
from workstation.core.store import database as database_module

READ_ONLY_MESSAGE = "is read-only ("


def _digest(folder: Path) -> dict[str, str]:
    """Every file's checksum, but SQLite's -shm/-wal (root's read-only open may make them)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(("-shm", "-wal"))
    }


def make_read_only(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Take write permission away from ``root`` and everything in it.

    root ignores permissions, so running as root the store is told what a person would meet
    (the folder is not writable); the read-only opening, the refused writes and the unchanged
    files are the same either way.
    """
    for p in [root, *root.rglob("*")]:
        p.chmod(p.stat().st_mode & ~0o222)
    if os.geteuid() == 0:
        real = database_module.read_only_reason

        def reason(folder: Path) -> str | None:
            return "its folder is not writable" if folder == root.resolve() else real(folder)

        monkeypatch.setattr(database_module, "read_only_reason", reason)


def make_writable(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)


@pytest.fixture()
def ro_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ro"
    Project.create(root).close()
    make_read_only(root, monkeypatch)
    yield root
    make_writable(root)


# -- read-only --------------------------------------------------------------------------------
def test_a_read_only_project_opens_read_only_and_refuses_writes(ro_project: Path) -> None:
    before = _digest(ro_project)
    with Project.open(ro_project) as p:
        assert p.read_only and "not writable" in (p.read_only_reason or "")
        assert p.videos() == []
        with (
            pytest.raises(ReadOnlyProjectError, match="copy it somewhere writable"),
            p.transaction(),
        ):
            p.db.execute("INSERT INTO tags(name) VALUES ('x')")
        with pytest.raises(ReadOnlyProjectError):
            p.db.execute("INSERT INTO tags(name) VALUES ('x')")  # outside a transaction too
        assert p.cache_dir != ro_project / "cache"  # thumbnails go to the user's cache
    assert _digest(ro_project) == before


def test_read_only_commands_work_and_writing_ones_say_so_once(ro_project: Path, tmp_path, capsys):
    assert main(["status", str(ro_project)]) == 0
    assert main(["clips", str(ro_project), "--json"]) == 0
    assert main(["tags", "list", str(ro_project)]) == 0
    capsys.readouterr()
    assert main(["tags", "add", str(ro_project), "x", "--filter", "all", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {ro_project.resolve()} is read-only")
    assert "this command changes the project" in err and "Traceback" not in err
    out = tmp_path / "out"
    assert main(["export", str(ro_project), "--out", str(out), "-q"]) == 0
    assert out.is_dir()


def test_an_old_schema_read_only_says_it_needs_a_writable_copy(tmp_path, monkeypatch) -> None:
    root = tmp_path / "old"
    Project.create(root).close()
    db = sqlite3.connect(root / DB_NAME)
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    make_read_only(root, monkeypatch)
    try:
        with pytest.raises(WorkstationError, match="older schema .* copy it somewhere writable"):
            Project.open(root)
    finally:
        make_writable(root)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes whatever the permissions say")
def test_a_read_only_folder_without_shm_opens_immutable(tmp_path, monkeypatch) -> None:
    root = tmp_path / "imm"
    with Project.create(root) as p:
        p.db.execute("INSERT INTO tags(name) VALUES ('kept')")
    make_read_only(root, monkeypatch)
    try:
        assert not (root / f"{DB_NAME}-shm").exists()
        with Project.open(root) as p:
            assert p.read_only
            assert [r[0] for r in p.db.execute("SELECT name FROM tags")] == ["kept"]
    finally:
        make_writable(root)


# -- damaged ----------------------------------------------------------------------------------
def _damage(db_file: Path, page: int = 3, pages: int = 3) -> None:
    with db_file.open("r+b") as f:
        f.seek(4096 * page)
        f.write(b"\xff" * 4096 * pages)


@pytest.mark.parametrize("kind", ["garbage", "empty", "pages"])
def test_a_damaged_database_is_never_opened_as_new_nor_overwritten(tmp_path, kind, capsys):
    root = tmp_path / kind
    with Project.create(root) as p:
        for i in range(2000):
            p.db.execute("INSERT INTO tags(name) VALUES (?)", (f"tag-{i:05d}" * 4,))
    db_file = root / DB_NAME
    if kind == "garbage":
        db_file.write_bytes(os.urandom(20000))
    elif kind == "empty":
        db_file.write_bytes(b"")
    else:
        _damage(db_file)
    before = db_file.read_bytes()
    with pytest.raises(DamagedProjectError, match=f"{db_file}: the project database is damaged"):
        Project.open(root)
    with pytest.raises(DamagedProjectError):
        Project(root, create=True)  # the GUI's "New project" on that folder
    assert main(["status", str(root)]) == 1
    err = capsys.readouterr().err
    assert "is damaged" in err and f"workstation recover {root.resolve()}" in err
    assert "Traceback" not in err
    assert db_file.read_bytes() == before


def test_recover_backs_up_then_rebuilds_what_can_be_read(tmp_path, capsys) -> None:
    root = tmp_path / "p"
    with Project.create(root) as p, p.transaction():
        for i in range(3000):
            p.db.execute("INSERT INTO tags(name) VALUES (?)", (f"tag-{i:05d}" * 4,))
    # A damaged stretch in the middle of the tags table's leaves.
    pages = sqlite3.connect(root / DB_NAME).execute("PRAGMA page_count").fetchone()[0]
    _damage(root / DB_NAME, page=pages // 2, pages=2)
    damaged = (root / DB_NAME).read_bytes()
    assert main(["recover", str(root), "--no-cli", "--json", "-q"]) == 0
    backups = sorted(root.glob(f"{DB_NAME}.damaged-*"))
    assert [b.name for b in backups if not b.name.endswith("-wal")][0].startswith(
        f"{DB_NAME}.damaged-2"
    )
    assert backups[0].read_bytes() == damaged  # the damaged file, kept as it was
    with Project.open(root) as p:
        n = p.db.execute("SELECT count(*) FROM tags").fetchone()[0]
        assert 2000 < n < 3000  # the rows before and after the damaged pages
        assert p.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    out = capsys.readouterr().out
    assert '"tags": ' in out and '"method": "row by row"' in out


def test_recover_of_garbage_keeps_the_file_and_says_nothing_could_be_read(tmp_path) -> None:
    root = tmp_path / "g"
    root.mkdir()
    (root / DB_NAME).write_bytes(b"not a database" * 1000)
    with pytest.raises(WorkstationError, match="nothing can be recovered"):
        drive(recover_project(root))
    assert (root / DB_NAME).read_bytes() == b"not a database" * 1000
    assert len(list(root.glob(f"{DB_NAME}.damaged-*"))) == 1


# -- faults while writing ---------------------------------------------------------------------
def test_a_full_disk_at_commit_names_the_database(project: Project) -> None:
    pages = project.db.execute("PRAGMA page_count").fetchone()[0]
    project.db.execute(f"PRAGMA max_page_count={pages}")  # SQLITE_FULL at the next new page
    with pytest.raises(WorkstationError) as caught, project.transaction():
        for i in range(2000):
            project.db.execute("INSERT INTO tags(name) VALUES (?)", (f"t{i}" * 20,))
    assert str(caught.value) == f"{project.root / DB_NAME}: cannot write: the disk is full"
    assert project.db.execute("SELECT count(*) FROM tags").fetchone()[0] == 0


def test_cli_turns_sqlite_and_os_errors_into_one_line(tmp_path, monkeypatch, capsys) -> None:
    root = tmp_path / "p"
    Project.create(root).close()

    def locked(self, *a, **k):
        exc = sqlite3.OperationalError("database is locked")
        exc.sqlite_errorcode = 5  # SQLITE_BUSY, as SQLite sets it
        raise exc

    monkeypatch.setattr(Project, "clip_counts", locked)
    assert main(["status", str(root)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"error: {root / DB_NAME}: the database is locked by another program (the app or "
        "another command still writing?); try again when it has finished\n"
    )

    def disk_io(self, *a, **k):
        raise OSError(5, "Input/output error", str(root / "clips" / "x.mp4"))

    monkeypatch.setattr(Project, "clip_counts", disk_io)
    assert main(["status", str(root)]) == 1
    assert capsys.readouterr().err == (
        f"error: {root / 'clips' / 'x.mp4'}: input/output error "
        "(a failing disk or a lost network mount)\n"
    )


def test_an_internal_error_is_one_line_and_a_log_file(tmp_path, monkeypatch, capsys) -> None:
    root = tmp_path / "p"
    Project.create(root).close()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    def bug(self, *a, **k):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(Project, "clip_counts", bug)
    assert main(["status", str(root)]) == 70
    err = capsys.readouterr().err
    log_file = tmp_path / "state" / "motion-dataset-workstation" / "internal-errors.log"
    assert err == (
        "internal error: RecursionError: maximum recursion depth exceeded "
        f"(details in {log_file})\n"
    )
    assert "Traceback" in log_file.read_text() and "clip_counts" not in err


def test_new_under_an_unwritable_parent_says_so(tmp_path, monkeypatch, capsys) -> None:
    parent = tmp_path / "locked"
    parent.mkdir()

    def refuse(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["new", str(parent / "proj")]) == 1
    assert capsys.readouterr().err == (
        f"error: {parent / 'proj'}: cannot create the project folder: permission denied\n"
    )


# -- -q anywhere ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["cuts", "export", "P", "v", "-q"],
        ["tags", "add", "P", "x", "--filter", "all", "-q"],
        ["-q", "tags", "list", "P"],
        ["split", "P", "-q"],
    ],
)
def test_quiet_is_accepted_after_nested_subcommands(argv) -> None:
    assert build_parser().parse_args(argv).quiet is True


def test_the_damaged_message_names_the_recover_command(tmp_path) -> None:
    exc = DamagedProjectError(tmp_path / DB_NAME, "file is not a database")
    assert str(exc) == (
        f"{tmp_path / DB_NAME}: the project database is damaged (file is not a database); "
        f"nothing was changed. `workstation recover {tmp_path}` backs it up and rebuilds it "
        "from what can still be read."
    )
