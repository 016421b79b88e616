"""Bulk edits act on exactly what the grid shows, covers survive edits, rejecting clips and the
project bin (undoable), the empty grid's message and plural forms (Xvfb)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clip_fixtures import make_clips, opened_clips_view, write_clip_source
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

from workstation.core import review
from workstation.core.store import Project
from workstation.ui.clips.all_tags_panel import BulkOp, Scope
from workstation.ui.clips.model import ThumbRole
from workstation.ui.clips.view import ClipsView
from workstation.ui.clips.wording import n_clips


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> Path:
    return write_clip_source(tmp_path_factory.mktemp("clipsrc"), seed=7)


def project_with(tmp_path: Path, clip_file: Path, n: int) -> tuple[Path, list[int]]:
    root = tmp_path / "proj"
    with Project.create(root) as p:
        ids = make_clips(p, clip_file, n)
    return root, ids


@pytest.fixture()
def sixteen(qtbot, tmp_path, clip_file):
    root, ids = project_with(tmp_path, clip_file, 16)
    with opened_clips_view(qtbot, root, (1280, 800)) as v:
        yield v, ids


def focus_grid(v: ClipsView, qtbot) -> None:
    v.activateWindow()
    v.grid.setFocus()
    qtbot.waitUntil(v.grid.hasFocus)


def answer_yes(monkeypatch) -> list[str]:
    """QMessageBox.question answers Yes; the questions asked are returned."""
    asked: list[str] = []

    def question(_parent, _title, text, *_a, **_k):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def tagged_with(p: Project, tag: str) -> set[int]:
    return {
        r[0]
        for r in p.db.execute(
            "SELECT clip_id FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id WHERE t.name = ?",
            (tag,),
        )
    }


def test_bulk_add_on_filtered_changes_only_the_clips_shown(sixteen, qtbot, monkeypatch):
    """The reported sequence: reviewed:no shows 16, two are marked reviewed, then Add tag on
    Filtered clips must change the 14 the grid shows, and say so before it does."""
    v, ids = sixteen
    p = v.project
    v.set_filter("reviewed:no")
    assert v.count_label.text() == "16 clips"
    focus_grid(v, qtbot)
    v.select_clips(ids[3:5])
    qtbot.keyClick(v.grid, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert {r[0] for r in p.db.execute("SELECT id FROM clips WHERE reviewed=1")} == set(ids[3:5])
    assert v.model.rowCount() == 14  # the grid, the count and the target agree
    assert v.count_label.text() == "14 of 16 clips"
    shown = set(v.model.clip_ids())
    assert shown == set(ids) - set(ids[3:5])

    asked = answer_yes(monkeypatch)
    tags = v.all_tags
    v.tabs.setCurrentWidget(tags)
    tags.op.setCurrentIndex(tags.op.findData(BulkOp.ADD))
    tags.scope.setCurrentIndex(tags.scope.findData(Scope.FILTERED))
    qtbot.keyClicks(tags.bulk_tag, "dusk")
    [apply_b] = [b for b in tags.findChildren(QPushButton) if b.text() == "Apply"]
    qtbot.mouseClick(apply_b, Qt.MouseButton.LeftButton)
    assert asked == ["Add tag “dusk” to 14 clips?"]
    assert tagged_with(p, "dusk") == shown
    assert tags.status.text() == "Add tag dusk: 14 clips changed"
    v.undo()
    assert tagged_with(p, "dusk") == set()


def test_a_declined_bulk_edit_changes_nothing(sixteen, qtbot, monkeypatch):
    v, _ids = sixteen
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.No)
    v.all_tags.bulk_tag.setText("dusk")
    v.all_tags._bulk_clicked()
    assert tagged_with(v.project, "dusk") == set()


def covers_loaded(v: ClipsView) -> list[bool]:
    """Whether each visible cell has its cover now (without waiting for anything)."""
    return [v.model.index(r).data(ThumbRole) is not None for r in v.visible_rows()]


def test_edits_keep_the_covers_loaded(sixteen, qtbot):
    v, ids = sixteen
    assert covers_loaded(v) and all(covers_loaded(v))
    v.all_tags.bulk(BulkOp.ADD, Scope.ALL, "dusk")  # a project-wide edit
    assert all(covers_loaded(v))
    v.select_clips([ids[0]])
    v._apply_selection()
    v.tag_panel.add_tag(["night"])  # a clip-panel edit
    assert all(covers_loaded(v))
    v.set_filter("tag:night")
    v.undo()  # the clip leaves the filter, then comes back
    v.redo()
    assert all(covers_loaded(v))
    v.show_project()  # a reload (after slicing) too
    assert all(covers_loaded(v))


def test_a_clip_that_stops_matching_leaves_the_grid_but_not_the_panel(sixteen, qtbot):
    v, ids = sixteen
    v.set_filter("tags=0")
    v.select_clips([ids[2]])
    v._apply_selection()
    v.tag_panel.add_tag(["dog"])
    assert v.model.row_of(ids[2]) is None and v.count_label.text() == "15 of 16 clips"
    assert "clip_02.mp4 no longer matches the filter" in v.message.text()
    qtbot.wait_until(lambda: not v._selection_pending)
    assert v.tag_panel.clip_ids == [ids[2]]  # still editable
    v.tag_panel.add_tag(["cat"])
    assert [t.name for t in review.clip_tags(v.project, ids[2])] == ["dog", "cat"]
    v.step(1)  # on to the clip that took its place
    assert v.current_id() == ids[3]
    qtbot.wait_until(lambda: v.tag_panel.clip_ids == [ids[3]])


def test_mark_reviewed_goes_on_to_the_next_unreviewed_clip(sixteen, qtbot):
    v, ids = sixteen
    v.set_filter("reviewed:no")
    focus_grid(v, qtbot)
    v.select_clips([ids[0]])
    for expected in ids[1:4]:
        qtbot.keyClick(v.grid, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert v.current_id() == expected
    assert v.model.clip_ids() == ids[3:]


def files_under(root: Path, folder: str) -> list[str]:
    return sorted(p.name for p in (root / folder).glob("*.mp4"))


def test_reject_with_delete_hides_clips_and_undo_brings_them_back(sixteen, qtbot):
    v, ids = sixteen
    p = v.project
    focus_grid(v, qtbot)
    v.select_clips(ids[:2])
    qtbot.keyClick(v.grid, Qt.Key.Key_Delete)
    assert v.model.clip_ids() == ids[2:]
    assert v.count_label.text() == "14 clips · 2 rejected"
    assert v.current_id() == ids[2]  # on to the next clip
    assert "Rejected 2 clips" in v.message.text()
    assert p.clip_ids(include_rejected=False) == ids[2:]
    assert v.scope_ids(Scope.ALL) == ids[2:]  # auto-tagging and bulk "All" leave them out
    v.set_filter("rejected:yes")
    assert v.model.clip_ids() == ids[:2]
    v.select_clips(ids[:1])
    qtbot.keyClick(v.grid, Qt.Key.Key_Delete)  # Delete on a rejected clip restores it
    assert v.model.clip_ids() == ids[1:2]
    v.set_filter("")
    qtbot.keyClick(v.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(v.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert v.model.clip_ids() == ids and v.count_label.text() == "16 clips"


def test_delete_clip_files_moves_them_to_the_bin_and_undo_moves_them_back(
    sixteen, qtbot, monkeypatch
):
    v, ids = sixteen
    root = v.project.root
    asked = answer_yes(monkeypatch)
    focus_grid(v, qtbot)
    v.select_clips(ids[5:8])
    qtbot.keyClick(v.grid, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert asked and asked[0].startswith("Move the files of 3 clips to the project's bin")
    assert files_under(root, "bin/clips") == ["clip_05.mp4", "clip_06.mp4", "clip_07.mp4"]
    assert len(files_under(root, "clips")) == 13
    assert v.model.rowCount() == 13
    v.set_filter("rejected:yes")  # still there, with their covers, from the bin
    assert v.model.clip_ids() == ids[5:8]
    assert v.model.clip(ids[5]).path == root / "bin/clips/clip_05.mp4"
    assert v.model.source(ids[5]).path == root / "bin/clips/clip_05.mp4"  # hover frames
    v.undo()
    assert files_under(root, "bin/clips") == []
    assert len(files_under(root, "clips")) == 16
    assert v.model.clip_ids() == []
    assert v.grid.empty_text == "No clips match “rejected:yes”"
    v.redo()
    assert files_under(root, "bin/clips") == ["clip_05.mp4", "clip_06.mp4", "clip_07.mp4"]


def test_an_empty_grid_says_why(qtbot, tmp_path, clip_file):
    root = tmp_path / "empty"
    Project.create(root).close()
    with opened_clips_view(qtbot, root) as v:
        assert v.grid.empty_text == "No clips yet: slice a video in Cut"
        assert v.count_label.text() == "0 clips"
        v.grid.grab().save(str(tmp_path / "empty.png"))  # paints without an error
    root2, ids = project_with(tmp_path / "one", clip_file, 2)
    with opened_clips_view(qtbot, root2) as v:
        assert v.grid.empty_text == ""
        assert v.set_filter("tag:nothing") is None
        assert v.grid.empty_text == "No clips match “tag:nothing”"
        v.set_filter("path:clip_01")
        assert v.count_label.text() == "1 of 2 clips"
        v.removal.reject(ids)
        v.set_filter("")
        assert v.grid.empty_text == "All 2 clips are rejected: filter rejected:yes to see them"


def test_plural_forms():
    assert [n_clips(n) for n in (0, 1, 2, 10_000)] == [
        "0 clips",
        "1 clip",
        "2 clips",
        "10,000 clips",
    ]
