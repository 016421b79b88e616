"""The window on a project it cannot change: a read-only one (banner, edits refused in words)
and a damaged one (the CLI's message and the offer to back it up and recover it)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from workstation.core import settings as app_settings
from workstation.core.store import DB_NAME, Project
from workstation.core.store import database as database_module
from workstation.ui.main_window import READ_ONLY_BANNER, MainWindow


def _make_read_only(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod a-w the project; as root (who writes anyway) the store is told so as well."""
    for p in [root, *root.rglob("*")]:
        p.chmod(p.stat().st_mode & ~0o222)
    if os.geteuid() == 0:
        real = database_module.read_only_reason
        monkeypatch.setattr(
            database_module,
            "read_only_reason",
            lambda folder: "its folder is not writable" if folder == root else real(folder),
        )


def _make_writable(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)


def _window(qtbot, *, interactive: bool) -> MainWindow:
    w = MainWindow(app_settings.load(), interactive=interactive, persist=False)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_a_read_only_project_shows_the_banner_and_refuses_edits_in_words(
    qtbot, demo_project, monkeypatch
):
    root = demo_project.root
    demo_project.close()
    db_before = hashlib.sha256((root / DB_NAME).read_bytes()).hexdigest()
    _make_read_only(root, monkeypatch)
    window = _window(qtbot, interactive=False)
    try:
        with qtbot.waitSignal(window.videoShown, timeout=10000):
            assert window.open_project(root)
        assert window.read_only_banner.isVisible()
        assert window.read_only_banner.text() == READ_ONLY_BANNER
        assert "not writable" in window.read_only_banner.toolTip()
        view = window.cut_view
        assert view is not None and view.video_id is not None
        cuts_before = [c.frame for c in window.session.project.cuts(view.video_id)]
        frame = next(f for f in range(5, 200) if f not in cuts_before)
        with qtbot.waitSignal(view.message, timeout=5000) as said:
            view.add_cut(frame)  # refused in words, no exception
        assert "is read-only" in said.args[0]
        assert [c.frame for c in window.session.project.cuts(view.video_id)] == cuts_before
        hydrus = window.hydrus  # linking, syncing and resolving would write the project
        assert not any(a.isEnabled() for a in hydrus.writing_actions())
        assert hydrus.open_action.isEnabled()  # only reads the project
        window.close_project()
        assert not window.read_only_banner.isVisible()
    finally:
        window.close()
        _make_writable(root)
    assert hashlib.sha256((root / DB_NAME).read_bytes()).hexdigest() == db_before


def _damaged(tmp_path: Path) -> Path:
    root = tmp_path / "damaged"
    with Project.create(root) as p, p.transaction():
        for i in range(3000):
            p.db.execute("INSERT INTO tags(name) VALUES (?)", (f"tag-{i:05d}" * 4,))
    db = root / DB_NAME
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek(size // 2 - size // 2 % 4096)
        f.write(b"\xff" * 8192)
    return root


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_a_damaged_project_gets_the_message_and_the_offer_to_recover(
    qtbot, tmp_path, monkeypatch, answer
):
    root = _damaged(tmp_path)
    damaged = (root / DB_NAME).read_bytes()
    asked: list[str] = []
    told: list[str] = []

    def question(parent, title, text, *a, **k):
        asked.append(text)
        yes = answer == "yes"
        return QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "information", lambda p, t, text: told.append(text))
    monkeypatch.setattr(QMessageBox, "warning", lambda p, t, text: told.append(text))
    window = _window(qtbot, interactive=True)
    try:
        opened = window.open_project(root)
        assert len(asked) == 1
        assert f"{root / DB_NAME}: the project database is damaged" in asked[0]
        backups = list(root.glob(f"{DB_NAME}.damaged-*"))
        if answer == "yes":
            assert opened and window.session is not None
            assert len(told) == 1 and "tags:" in told[0]
            assert [b for b in backups if b.read_bytes() == damaged]
        else:
            assert not opened and window.session is None
            assert told == [] and backups == []
            assert (root / DB_NAME).read_bytes() == damaged
    finally:
        window.close()
