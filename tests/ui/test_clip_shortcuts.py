"""The Clips view's keys in the shortcut registry: listed in the F1 overlay and the editor,
remapped live (the old key stops working), saved in the app settings next to the Cut view's
remapped keys, and still remapped after reopening."""

from __future__ import annotations

import contextlib
import logging

import pytest
from clip_fixtures import make_clips, opened_clips_view, write_clip_source
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QPushButton

from workstation.core import settings as app_settings
from workstation.core.store import Project
from workstation.ui.clips.view import ClipsView
from workstation.ui.common.shortcuts import (
    CLIP_SHORTCUTS,
    CUT_SHORTCUTS,
    ShortcutEditor,
    ShortcutMap,
    save_overrides,
)

# The keys the Clips view had before they were declared in the registry: they must not change.
EXPECTED = {
    "clips.next": ("Alt+Down", "Ctrl+J"),
    "clips.prev": ("Alt+Up", "Ctrl+K"),
    "clips.reviewed": ("Ctrl+Return",),
    "clips.unreviewed": ("Ctrl+Shift+Return",),
    "clips.focus_tags": ("Ctrl+T",),
    "clips.focus_caption": ("Ctrl+E",),
    "clips.accept_above": ("Ctrl+Shift+A",),
    "clips.reject": ("Del",),
    "clips.delete_files": ("Shift+Del",),
    "clips.focus_filter": ("Ctrl+F", "/"),
    "clips.undo": ("Ctrl+Z",),
    "clips.redo": ("Ctrl+Shift+Z", "Ctrl+Y"),
    "clips.help": ("F1",),
}


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    return write_clip_source(tmp_path_factory.mktemp("clipsrc"), seed=7)


@pytest.fixture()
def open_view(qtbot, tmp_path, clip_file):
    """Opens Clips views on one small project (as often as a test needs); closes them all."""
    root = tmp_path / "proj"
    with Project.create(root) as p:
        ids = make_clips(p, clip_file, 4)
    with contextlib.ExitStack() as opened:

        def open_() -> ClipsView:
            return opened.enter_context(opened_clips_view(qtbot, root))

        yield open_, ids


def reviewed(v: ClipsView, cid: int) -> bool:
    return bool(v.project.db.execute("SELECT reviewed FROM clips WHERE id=?", (cid,)).fetchone()[0])


def focus_grid(v: ClipsView, qtbot, cid: int) -> None:
    v.activateWindow()
    v.grid.setFocus()
    qtbot.waitUntil(v.grid.hasFocus)
    v.select_clips([cid])


def remap_in_editor(v: ClipsView, monkeypatch, sid: str, key: str) -> None:
    """What a person does: F1 → Change shortcuts… → record a key → OK."""

    def exec_(dialog: ShortcutEditor) -> int:
        dialog.edits[sid].setKeySequence(QKeySequence(key))
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(ShortcutEditor, "exec", exec_)
    v.help.toggle()
    [button] = [b for b in v.help.findChildren(QPushButton) if b.text() == "Change shortcuts…"]
    button.click()


def test_the_clips_group_lists_every_key(open_view, qtbot):
    open_, ids = open_view
    v = open_()
    assert {s.group for s in CLIP_SHORTCUTS} == {"Clips"}
    assert {s.id: s.keys for s in CLIP_SHORTCUTS} == EXPECTED
    assert list(v.shortcuts.groups()) == ["Clips"]
    assert set(v.binder.actions) == set(EXPECTED)  # every key the view binds is declared
    for sid, keys in EXPECTED.items():
        assert [s.toString() for s in v.action(sid).shortcuts()] == list(keys)
    assert v.shortcuts.conflicts() == {}
    # the F1 overlay lists them all (and none of the Cut view's)
    focus_grid(v, qtbot, ids[0])
    qtbot.keyClick(v.grid, Qt.Key.Key_F1)
    assert v.help.isVisible()
    text = v.help.body.text()
    for s in CLIP_SHORTCUTS:
        assert s.label in text
    assert "Clips" in text and "Nudge" not in text
    qtbot.keyClick(v.help, Qt.Key.Key_Escape)
    assert not v.help.isVisible()
    # the editor has one row per Clips key
    editor = ShortcutEditor(v.shortcuts, v)
    assert list(editor.edits) == list(EXPECTED)
    assert editor.table.rowCount() == len(EXPECTED)
    editor.deleteLater()
    # the tool button in the filter bar shows the overlay too
    v.shortcuts_button.click()
    assert v.help.isVisible()


def test_a_remapped_key_works_and_the_old_one_no_longer_does(open_view, qtbot, monkeypatch):
    open_, ids = open_view
    v = open_()
    focus_grid(v, qtbot, ids[0])
    remap_in_editor(v, monkeypatch, "clips.reviewed", "Ctrl+R")
    assert v.shortcuts.keys("clips.reviewed") == ("Ctrl+R",)
    assert v.action("clips.reviewed").toolTip().endswith("(Ctrl+R)")
    assert "Ctrl+R" in v.help.body.text()  # the overlay follows the change
    v.help.hide()
    focus_grid(v, qtbot, ids[0])
    qtbot.keyClick(v.grid, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not reviewed(v, ids[0])  # the old key does nothing now
    assert v.current_id() == ids[0]
    qtbot.keyClick(v.grid, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert reviewed(v, ids[0])
    assert v.current_id() == ids[1]  # marked and moved on, as with the old key
    # a key of a second default stays until it is changed
    qtbot.keyClick(v.grid, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
    assert v.current_id() == ids[2]


def test_the_editor_names_a_clash_and_keeps_the_keys(open_view, qtbot):
    open_, _ids = open_view
    v = open_()
    dialog = ShortcutEditor(v.shortcuts, v)
    dialog.edits["clips.reviewed"].setKeySequence(QKeySequence("Ctrl+T"))
    dialog.accept()
    assert "Ctrl+T is used twice" in dialog.problem.text()
    assert "Type tags" in dialog.problem.text() and "Mark reviewed" in dialog.problem.text()
    assert v.shortcuts.keys("clips.reviewed") == ("Ctrl+Return",)
    dialog.deleteLater()
    # a clash made in code is reported by the map as for the Cut view
    v.shortcuts.set_keys("clips.focus_caption", "Ctrl+T")
    assert v.shortcuts.conflicts() == {"Ctrl+T": ["clips.focus_tags", "clips.focus_caption"]}


def test_an_override_survives_reopening(open_view, qtbot, monkeypatch, caplog):
    open_, ids = open_view
    # a Cut view key remapped earlier
    cut = ShortcutMap.from_settings()
    cut.set_keys("cut.add", "N")
    save_overrides(cut)
    v = open_()
    remap_in_editor(v, monkeypatch, "clips.next", "Ctrl+Down")
    stored = app_settings.load().shortcuts
    assert stored == {"cut.add": ["N"], "clips.next": ["Ctrl+Down"]}  # both views' keys kept
    v.close()

    with caplog.at_level(logging.WARNING, logger="workstation"):
        again = open_()
        cut_again = ShortcutMap.from_settings()
    assert "unknown action" not in caplog.text  # each view takes its own keys quietly
    assert again.shortcuts.keys("clips.next") == ("Ctrl+Down",)
    assert cut_again.keys("cut.add") == ("N",)
    assert set(cut_again.specs) == {s.id for s in CUT_SHORTCUTS}
    focus_grid(again, qtbot, ids[0])
    qtbot.keyClick(again.grid, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert again.current_id() == ids[1]
    qtbot.keyClick(again.grid, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
    assert again.current_id() == ids[1]  # Ctrl+J went with the remapping

    # restoring the defaults in one view leaves the other view's keys alone
    again.shortcuts.reset()
    again.save_shortcuts()
    assert app_settings.load().shortcuts == {"cut.add": ["N"]}
    cut_again.set_keys("cut.delete", "X")
    save_overrides(cut_again)
    assert app_settings.load().shortcuts == {"cut.add": ["N"], "cut.delete": ["X"]}


def test_a_bad_stored_key_falls_back_to_the_defaults_with_one_message(qapp, caplog):
    app_settings.save_shortcuts({"clips.help": ["Ctrl+Nope+"], "cut.add": ["N"]})
    with caplog.at_level(logging.WARNING, logger="workstation"):
        clips = ShortcutMap.from_settings(specs=CLIP_SHORTCUTS)
    assert clips.keys("clips.help") == ("F1",)
    assert "clips.help" in caplog.text and "Ctrl+Nope+" in caplog.text
    assert ShortcutMap.from_settings().keys("cut.add") == ("N",)  # the Cut view is unaffected
