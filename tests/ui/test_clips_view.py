"""The Clips view end to end: filter bar, side-panel edits on one and several clips, the
all-tags panel's project-wide and bulk edits, exact undo/redo, the keyboard review flow,
persistence after reopening, sidecars, gridShown, and the looping preview (Xvfb)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clip_fixtures import make_clips, opened_clips_view, write_clip_source
from PySide6.QtCore import Qt

from workstation.core import cliptext, review
from workstation.core.store import Project
from workstation.ui.clips import edits as clip_edits
from workstation.ui.clips.all_tags_panel import BulkOp, Scope, tag_query
from workstation.ui.clips.model import ThumbRole
from workstation.ui.clips.view import ClipsView
from workstation.ui.common.jobs import JobsController
from workstation.ui.session import ProjectSession


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> Path:
    return write_clip_source(tmp_path_factory.mktemp("clipsrc"), seed=5)


@pytest.fixture()
def root(tmp_path, clip_file) -> tuple[Path, list[int]]:
    r = tmp_path / "proj"
    with Project.create(r) as p:
        ids = make_clips(p, clip_file, 6)
        review.add_tags(p, ids[:3], "dog")
        review.set_auto_tags(
            p, ids[0], {"cat": 0.9, "rain": 0.3, "1girl": 0.7}, model="wd14", threshold=0.25
        )
        review.set_caption(p, [ids[1]], "A dog runs on the beach")
    return r, ids


@pytest.fixture()
def view(qtbot, root):
    r, ids = root
    with opened_clips_view(qtbot, r, (1100, 650)) as v:
        yield v, ids


def rows(project: Project) -> tuple[list, list, list]:
    """Everything an edit can touch, exactly as stored."""
    q = project.db.execute
    return (
        [tuple(r) for r in q("SELECT * FROM clip_tags ORDER BY clip_id, tag_id")],
        [tuple(r)[:3] for r in q("SELECT * FROM captions ORDER BY clip_id")],
        [tuple(r) for r in q("SELECT id, reviewed FROM clips ORDER BY id")],
    )


def names(project: Project, cid: int) -> list[str]:
    return [t.name for t in review.clip_tags(project, cid)]


def test_grid_shows_every_clip_with_thumbnails(view):
    v, ids = view
    assert v.model.rowCount() == 6
    assert v.count_label.text() == "6 clips"
    assert v.visible_rows() == list(range(6))
    assert v.model.pending_covers(range(6)) == []  # gridShown came after the covers
    assert v.tag_panel.clip_ids == [ids[0]]  # the first clip is selected for review
    img = v.grab().toImage()
    assert not img.isNull()


def test_filter_bar_applies_queries_and_shows_errors_inline(view, qtbot):
    v, ids = view
    assert v.set_filter("tag:dog -tag:cat") is None
    assert v.model.clip_ids() == ids[1:3]
    assert v.count_label.text() == "2 of 6 clips"
    assert not v.filter_error.isVisible()
    err = v.set_filter('tag:dog caption:"unclosed')
    assert err is not None and err.position == 16
    assert v.filter_error.isVisible()
    assert "unclosed quote" in v.query_error and "character 17" in v.query_error
    assert v.model.clip_ids() == ids[1:3]  # the grid keeps the last good result
    # typing applies after a short pause
    v.filter_edit.setText("")
    qtbot.keyClicks(v.filter_edit, "tags=0")
    qtbot.waitUntil(lambda: v.model.clip_ids() == ids[3:], timeout=3000)
    assert not v.filter_error.isVisible()


def test_side_panel_edits_one_clip(view, qtbot):
    v, ids = view
    p, panel = v.project, v.tag_panel
    v.select_clips([ids[0]])
    qtbot.waitUntil(lambda: panel.clip_ids == [ids[0]])
    assert set(panel.chips) == {"dog", "cat", "1girl", "rain"}
    assert panel.chips["dog"].kind == "manual"
    assert panel.chips["cat"].kind == "auto" and "0.90" in panel.chips["cat"].label.text()
    assert "wd14 (threshold 0.25)" in panel.chips["cat"].toolTip()
    assert "confidence 0.90" in panel.chips["cat"].toolTip()
    # add with the tag box (comma-separated), autocomplete offers project tags with counts
    v.activateWindow()
    panel.tag_box.setFocus()
    qtbot.waitUntil(panel.tag_box.hasFocus)
    qtbot.keyClicks(panel.tag_box, "long hair, do")
    assert panel.completion_names()[0] == "dog"
    popup = panel.completer.popup()
    qtbot.waitUntil(popup.isVisible)
    popup.setCurrentIndex(panel.completer.completionModel().index(0, 0))
    qtbot.keyClick(popup, Qt.Key.Key_Return)  # the choice replaces only the word being typed
    assert panel.tag_box.text() == "long hair, dog"
    qtbot.keyClicks(panel.tag_box, ", beach, ca")  # Enter while "cat" is only offered: typed text
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(panel.tag_box, Qt.Key.Key_Return)
    assert names(p, ids[0])[-3:] == ["long hair", "beach", "ca"]
    panel.remove_tag("ca")
    assert v.model.clip(ids[0]).tags == 6
    # accept an auto tag, reject another, move a tag left
    panel.chips["cat"].buttons["accept"].click()
    assert panel.chips["cat"].kind == "accepted"
    panel.chips["rain"].buttons["remove"].click()
    assert "rain" not in panel.chips and "rain" not in names(p, ids[0])
    before = names(p, ids[0])
    panel.chips["beach"].buttons["left"].click()
    after = names(p, ids[0])
    i = before.index("beach")
    assert after[i - 1] == "beach" and after[i] == before[i - 1]
    # the caption has its own editor: commas stay in it, it is never split into tags
    panel.caption.setFocus()
    qtbot.keyClicks(panel.caption, "A cat, a dog, and rain")
    assert panel.token_label.text().startswith("≈ ")
    panel.commit_caption()
    assert review.caption(p, ids[0]).text == "A cat, a dog, and rain"
    assert "A cat, a dog" not in names(p, ids[0])
    # every edit reached the clip's .txt at once
    txt = cliptext.sidecar_path(v.model.clip(ids[0]).path).read_text()
    assert "beach" in txt and "A cat, a dog, and rain" in txt


def test_several_clips_common_and_partial_tags(view, qtbot):
    v, ids = view
    p, panel = v.project, v.tag_panel
    review.add_tags(p, [ids[1]], "cat")
    v.select_clips(ids[1:4])
    qtbot.waitUntil(lambda: panel.clip_ids == ids[1:4])
    assert panel.heading.text() == "3 clips selected"
    assert panel.chips["dog"].kind == "partial" and "2/3" in panel.chips["dog"].label.text()
    assert panel.chips["cat"].kind == "partial" and "1/3" in panel.chips["cat"].label.text()
    panel.chips["dog"].buttons["add"].click()  # add to every selected clip
    assert panel.chips["dog"].kind == "manual"
    assert all("dog" in names(p, c) for c in ids[1:4])
    panel.add_tag("sunset")
    panel.chips["cat"].buttons["remove"].click()
    assert all("sunset" in names(p, c) and "cat" not in names(p, c) for c in ids[1:4])
    # differing captions: typing replaces all of them
    assert "different captions" in panel.caption.placeholderText()
    panel.caption.setPlainText("Evening light")
    panel.commit_caption()
    assert {review.caption(p, c).text for c in ids[1:4]} == {"Evening light"}


def test_undo_redo_restore_the_store_exactly(view):
    v, ids = view
    p, panel = v.project, v.tag_panel
    states = [rows(p)]
    v.select_clips([ids[0]])
    v._apply_selection()
    panel.add_tag("beach")
    states.append(rows(p))
    panel.remove_tag("cat")  # an auto tag: becomes a rejected tombstone
    states.append(rows(p))
    panel.accept_above(0.5)
    states.append(rows(p))
    v.mark_reviewed(True)
    states.append(rows(p))
    v.all_tags.rename("dog", "puppy")
    states.append(rows(p))
    assert v.undo_stack.count() == 5
    for expected in reversed(states[:-1]):
        v.undo()
        assert rows(p) == expected
    assert "dog" in panel.chips  # the panel follows undo
    for expected in states[1:]:
        v.redo()
        assert rows(p) == expected
    assert v.model.clip(ids[0]).reviewed


def test_all_tags_panel_filter_rename_merge_delete(view, qtbot):
    v, ids = view
    p, tags = v.project, v.all_tags
    assert tags.counts()["dog"] == 3
    src = tags.proxy.index(0, 0)  # most used first
    assert src.data() == "dog"
    with qtbot.waitSignal(tags.filterRequested) as sig:
        tags.table.clicked.emit(src)
    assert sig.args == ["tag:dog"]
    assert v.model.clip_ids() == ids[:3] and v.filter_edit.text() == "tag:dog"
    assert tag_query("long hair") == 'tag:"long hair"'
    tags.rename("dog", "canine")  # project-wide; the filter is re-run
    assert tags.counts().get("canine") == 3 and "dog" not in tags.counts()
    assert v.model.clip_ids() == []  # tag:dog matches nothing now
    v.set_filter("")
    review.add_tags(p, [ids[4]], "puppy")
    tags.rename("puppy", "canine")  # onto an existing tag: merged
    assert tags.counts()["canine"] == 4
    tags.delete("canine")
    assert "canine" not in tags.counts()
    assert all("canine" not in names(p, c) for c in ids)


def test_bulk_edits_over_selected_filtered_and_all(view):
    v, ids = view
    p, tags = v.project, v.all_tags
    v.select_clips(ids[4:6])
    tags.bulk(BulkOp.ADD, Scope.SELECTED, "outdoor")
    assert [c for c in ids if "outdoor" in names(p, c)] == ids[4:6]
    v.set_filter("tag:dog")
    tags.bulk(BulkOp.REPLACE, Scope.FILTERED, "dog", "hound")
    assert all(names(p, c)[0] == "hound" for c in ids[1:3])  # same place in the order
    assert "hound" in names(p, ids[0])
    v.set_filter("")
    tags.bulk(BulkOp.ADD, Scope.ALL, "video")
    assert all("video" in names(p, c) for c in ids)
    tags.bulk(BulkOp.REMOVE, Scope.ALL, "video")
    assert not any("video" in names(p, c) for c in ids)
    v.undo()
    assert all("video" in names(p, c) for c in ids)


def test_bulk_sidecars_are_rewritten_in_a_job(view, qtbot, monkeypatch):
    v, ids = view
    monkeypatch.setattr(clip_edits, "SYNC_SIDECARS_MAX", 2)
    with qtbot.waitSignal(v.jobs.jobFinished, timeout=20000):
        v.all_tags.bulk(BulkOp.ADD, Scope.ALL, "bulkword")
    for c in ids:
        assert "bulkword" in cliptext.sidecar_path(v.model.clip(c).path).read_text()


def test_keyboard_review_flow(view, qtbot):
    v, ids = view
    p = v.project
    v.activateWindow()
    v.grid.setFocus()
    qtbot.waitUntil(v.grid.hasFocus)
    v.select_clips([ids[0]])
    qtbot.keyClick(v.grid, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert v.current_id() == ids[1]
    qtbot.keyClick(v.grid, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert p.db.execute("SELECT reviewed FROM clips WHERE id=?", (ids[1],)).fetchone()[0] == 1
    assert v.current_id() == ids[2]  # marked and moved on
    qtbot.waitUntil(lambda: v.tag_panel.clip_ids == [ids[2]])
    qtbot.keyClick(v.grid, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(v.grid, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert v.current_id() == ids[0]
    qtbot.waitUntil(lambda: v.tag_panel.clip_ids == [ids[0]])
    qtbot.keyClick(
        v.grid,
        Qt.Key.Key_A,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )  # accept auto tags >= 0.5
    states = {t.name: t.state for t in review.clip_tags(p, ids[0])}
    assert states["cat"] == states["1girl"] == "accepted" and states["rain"] == "active"
    qtbot.keyClick(v.grid, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert v.tag_panel.tag_box.hasFocus()
    qtbot.keyClicks(v.tag_panel.tag_box, "windy")
    qtbot.keyClick(v.tag_panel.tag_box, Qt.Key.Key_Return)
    assert "windy" in names(p, ids[0])
    v.grid.setFocus()  # in a text box Ctrl+Z undoes typing; elsewhere it undoes the edit
    qtbot.keyClick(v.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "windy" not in names(p, ids[0])
    v.set_filter("reviewed:yes")
    assert v.model.clip_ids() == [ids[1]]


def test_edits_persist_after_reopening(view, root):
    v, ids = view
    panel = v.tag_panel
    v.select_clips([ids[3]])
    v._apply_selection()
    panel.add_tag(["kept", "forever"])
    panel.caption.setPlainText("Saved at once")
    panel.caption_editor._caption_typed()
    panel.commit_caption()
    v.mark_reviewed(True)
    v.session.close()
    with Project.open(root[0]) as p:
        assert names(p, ids[3]) == ["kept", "forever"]
        assert review.caption(p, ids[3]).text == "Saved at once"
        assert p.db.execute("SELECT reviewed FROM clips WHERE id=?", (ids[3],)).fetchone()[0]


def test_reload_on_clips_changed(view, qtbot, clip_file):
    v, ids = view
    new = make_clips(v.project, clip_file, 8)[6:]
    reloads = []
    real = v.model.reload
    v.model.reload = lambda: reloads.append(1) or real()
    with qtbot.waitSignal(v.gridShown, timeout=20000):
        for _ in range(5):  # slicing announces clips one by one
            v.session.clipsChanged.emit()
    assert v.model.rowCount() == 8 and v.model.row_of(new[-1]) == 7
    assert len(reloads) == 1


def test_sidecar_settings_from_the_panel(view, qtbot):
    v, ids = view
    panel = v.tag_panel
    v.select_clips([ids[0]])
    v._apply_selection()
    panel.trigger.setText("mystyle")
    panel.keep_first.setValue(1)
    with qtbot.waitSignal(v.jobs.jobFinished, timeout=20000):
        panel._save_sidecar_settings()
    s = cliptext.load_settings(v.project)
    assert (s.trigger, s.keep_first_tags) == ("mystyle", 1)
    txt = cliptext.sidecar_path(v.model.clip(ids[0]).path).read_text()
    assert txt.startswith("mystyle, dog")
    assert "cat" not in txt
    assert "not written" in panel.chips["cat"].toolTip()


def test_preview_loops_the_current_clip(qtbot, root):
    """Needs Xvfb: the player renders through OpenGL."""
    r, ids = root
    session = ProjectSession(r)
    jobs = JobsController(session)
    v = ClipsView(session, jobs)
    qtbot.addWidget(v)
    v.resize(1000, 600)
    with qtbot.waitSignal(v.player.firstFrameShown, timeout=20000):
        v.show()
    seen: list[int] = []
    v.player.frameChanged.connect(seen.append)
    # the 12-frame clip plays to its end and starts again
    qtbot.waitUntil(lambda: any(b < a for a, b in zip(seen, seen[1:], strict=False)), timeout=15000)
    assert v.player.is_playing
    v._scrolled(0)  # scrolling the grid pauses the preview, which then plays on
    qtbot.waitUntil(lambda: not v.player.is_playing, timeout=3000)
    qtbot.waitUntil(lambda: v.player.is_playing, timeout=5000)
    v.hide()  # another tab: the loop stops, and starts again when the view is back
    qtbot.waitUntil(lambda: not v.player.is_playing, timeout=3000)
    v.show()
    qtbot.waitUntil(lambda: v.player.is_playing, timeout=5000)
    with qtbot.waitSignal(v.player.firstFrameShown, timeout=20000):
        v.step(1)
    assert v.player.path.name == "clip_01.mp4"
    v.player.unload()
    jobs.shutdown()
    v.close()
    session.close()


def test_hover_animates_a_few_frames(view, qtbot):
    v, ids = view
    rect = v.grid.visualRect(v.model.index(2))
    qtbot.mouseMove(v.grid.viewport(), rect.center())
    shown: set[int] = set()

    def frames_shown():
        if v.model._hover is not None and v.model._hover[0] == ids[2]:
            shown.add(v.model._hover[1])
        return len(shown) >= 3

    qtbot.waitUntil(frames_shown, timeout=10000)
    assert v.model.index(2).data(ThumbRole) is not None
    qtbot.mouseMove(v.grid.viewport(), v.grid.viewport().rect().bottomRight())
    qtbot.waitUntil(lambda: v.model._hover is None, timeout=3000)


def test_shortcut_help_lists_the_review_keys(view, qtbot):
    v, _ids = view
    v.help.toggle()
    assert v.help.isVisible()
    text = v.help.body.text()
    assert "Mark reviewed" in text and "Accept the auto tags" in text
    qtbot.keyClick(v.help, Qt.Key.Key_Escape)
    assert not v.help.isVisible()


def test_empty_project_and_a_missing_clip_file(qtbot, tmp_path, clip_file):
    r = tmp_path / "p2"
    Project.create(r).close()
    session = ProjectSession(r)
    jobs = JobsController(session)
    v = ClipsView(session, jobs, with_player=False)
    qtbot.addWidget(v)
    with qtbot.waitSignal(v.gridShown, timeout=5000):  # nothing to draw: shown at once
        v.show()
    assert v.model.rowCount() == 0 and v.tag_panel.heading.text() == "No clip selected"
    make_clips(session.project, clip_file, 3)
    (session.project.root / "clips" / "clip_01.mp4").unlink()
    with qtbot.waitSignal(v.gridShown, timeout=20000):  # a missing file keeps its placeholder
        session.clipsChanged.emit()
    assert v.model.rowCount() == 3
    assert v.model.index(1).data(ThumbRole) is None
    assert v.model.index(0).data(ThumbRole) is not None
    jobs.shutdown()
    v.close()
    session.close()


def test_typing_a_caption_survives_other_edits(view, qtbot):
    v, ids = view
    panel = v.tag_panel
    v.select_clips([ids[0]])
    qtbot.waitUntil(lambda: panel.clip_ids == [ids[0]])
    panel.caption.setFocus()
    qtbot.keyClicks(panel.caption, "Half typed")
    panel.chips["cat"].buttons["accept"].click()  # a tool button: the caption keeps focus
    assert panel.caption.toPlainText() == "Half typed"
    assert review.caption(v.project, ids[0]).text == "Half typed"  # saved before the accept
    assert [c.text() for c in (v.undo_stack.command(i) for i in range(2))] == [
        "set caption",
        "accept tags",
    ]


def test_select_all_shows_the_most_common_tags(view, qtbot, monkeypatch):
    from workstation.ui.clips import tag_panel

    v, ids = view
    monkeypatch.setattr(tag_panel, "MAX_CHIPS", 2)
    v.grid.selectAll()
    qtbot.waitUntil(lambda: v.tag_panel.clip_ids == ids)
    panel = v.tag_panel
    assert list(panel.chips) == ["dog", "1girl"]  # by clip count, then name
    assert panel.chips["dog"].kind == "partial" and "3/6" in panel.chips["dog"].label.text()
    assert panel.more_label.isVisibleTo(panel) and "2 more tags" in panel.more_label.text()
    assert "different captions" in panel.caption.placeholderText()


def test_closing_the_session_stops_the_view(view, qtbot):
    v, ids = view
    v.session.clipsChanged.emit()  # a reload is pending ...
    v.session.close()  # ... when the project closes: nothing may read the closed database
    assert not v.isEnabled() and not v._reload_timer.isActive()
    assert not v._counts_timer.isActive() and not v.model.asking


def test_drag_a_chip_before_another(view, qtbot):
    from PySide6.QtCore import QMimeData, QPointF
    from PySide6.QtGui import QDropEvent

    v, ids = view
    p, panel = v.project, v.tag_panel
    v.select_clips([ids[0]])
    qtbot.waitUntil(lambda: panel.clip_ids == [ids[0]])
    assert names(p, ids[0])[0] == "dog" and "rain" in names(p, ids[0])
    target = panel.chips["dog"]
    group = target.parentWidget()
    qtbot.waitUntil(lambda: group.childAt(target.geometry().center()) is not None)
    mime = QMimeData()
    mime.setData("application/x-workstation-tag", b"rain")
    drop = QDropEvent(
        QPointF(target.geometry().center()),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    group.dropEvent(drop)
    assert names(p, ids[0])[:2] == ["rain", "dog"]
    v.undo()
    assert names(p, ids[0])[0] == "dog"
