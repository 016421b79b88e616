"""The tag panel's parts on their own: the caption editor (load, save on a pause or focus-out,
one undo step per save, the token count), the tag entry (Enter emits the typed tags, the
completer offers prefix matches first) and the chip area (groups, the "more" line)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clip_fixtures import make_clips, write_clip_source
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from workstation.core import review
from workstation.core.store import Project
from workstation.ui.clips.caption_editor import CaptionEditor
from workstation.ui.clips.edits import ClipEditor
from workstation.ui.clips.tag_chips import ChipArea, TagChip
from workstation.ui.clips.tag_entry import TagEntry
from workstation.ui.common.jobs import JobsController
from workstation.ui.session import ProjectSession


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> Path:
    return write_clip_source(tmp_path_factory.mktemp("clipsrc"), seed=7)


@pytest.fixture()
def editor(qtbot, tmp_path, clip_file):
    r = tmp_path / "proj"
    with Project.create(r) as p:
        ids = make_clips(p, clip_file, 3)
        review.set_caption(p, [ids[0]], "A dog")
        review.add_tags(p, ids, ["dog", "dune", "hound dog"])
    session = ProjectSession(r)
    jobs = JobsController(session)
    try:
        yield ClipEditor(session, jobs), ids
    finally:
        jobs.shutdown()
        session.close()


def shown(qtbot, part: QWidget) -> tuple[QWidget, QLineEdit]:
    """``part`` in a shown window next to another box (to move the focus to); keep the window."""
    window = QWidget()
    qtbot.addWidget(window)
    lay = QVBoxLayout(window)
    lay.addWidget(part)
    other = QLineEdit()
    lay.addWidget(other)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window, other


def test_caption_editor_saves_on_a_pause_one_undo_step_each(qtbot, editor):
    ed, ids = editor
    part = CaptionEditor(ed)
    _window = shown(qtbot, part)
    part.show_clips([ids[0]])
    assert part.caption.toPlainText() == "A dog" and part.caption_source.text() == "manual"
    assert part.token_label.text() == "≈ 4 / 77 tokens" and not part.dirty
    part.caption.setFocus()
    qtbot.waitUntil(part.caption.hasFocus)
    part.caption.moveCursor(part.caption.textCursor().MoveOperation.End)
    qtbot.keyClicks(part.caption, " runs")
    assert part.dirty and review.caption(ed.project, ids[0]).text == "A dog"  # not yet
    assert ed.undo_stack.count() == 0
    qtbot.waitUntil(lambda: not part.dirty, timeout=3000)  # the pause saves
    assert review.caption(ed.project, ids[0]).text == "A dog runs"
    assert ed.undo_stack.count() == 1
    part.show_clips([ids[0]])  # reloading after the save keeps the text and is not an edit
    assert part.caption.toPlainText() == "A dog runs" and not part.dirty
    assert ed.undo_stack.count() == 1


def test_caption_editor_saves_on_focus_out_and_keeps_what_is_typed(qtbot, editor):
    ed, ids = editor
    part = CaptionEditor(ed)
    _window, other = shown(qtbot, part)
    part.show_clips([ids[1]])
    assert part.caption.toPlainText() == "" and part.caption_source.text() == ""
    part.caption.setFocus()
    qtbot.waitUntil(part.caption.hasFocus)
    qtbot.keyClicks(part.caption, "Sand")
    part.show_clips([ids[1]])  # a refresh while typing never overwrites the text
    assert part.caption.toPlainText() == "Sand" and part.dirty
    other.setFocus()  # leaving the box saves at once
    qtbot.waitUntil(lambda: not part.dirty, timeout=1000)
    assert review.caption(ed.project, ids[1]).text == "Sand"
    assert [ed.undo_stack.command(i).text() for i in range(ed.undo_stack.count())] == [
        "set caption"
    ]
    part.commit_caption()  # nothing typed since: no second step
    assert ed.undo_stack.count() == 1
    ed.undo_stack.undo()
    assert review.caption(ed.project, ids[1]) is None


def test_caption_editor_over_several_clips_and_the_token_limit(qtbot, editor):
    ed, ids = editor
    part = CaptionEditor(ed)
    part.show_clips(ids[:2])  # "A dog" and none: they differ
    assert part.caption.toPlainText() == ""
    assert "The 2 clips have different captions" in part.caption.placeholderText()
    part.caption.setPlainText(" ".join(["word"] * 80))
    assert "#e05050" in part.token_label.styleSheet()  # over CLIP's 77 tokens
    part.commit_caption()
    assert {review.caption(ed.project, c).text for c in ids[:2]} == {" ".join(["word"] * 80)}
    assert ed.undo_stack.count() == 1
    part.stop()
    part.show_clips([])
    assert part.caption.placeholderText().startswith("A sentence describing the clip")


def test_tag_entry_emits_the_typed_tags_and_completes_prefixes_first(qtbot, editor):
    ed, _ids = editor
    entry = TagEntry(lambda: ed.project)
    _window = shown(qtbot, entry)
    entry.focus()
    qtbot.waitUntil(entry.tag_box.hasFocus)
    qtbot.keyClicks(entry.tag_box, "cat, do")
    assert entry.completion_names() == ["dog", "hound dog"]
    entry.completer.popup().hide()
    with qtbot.waitSignal(entry.tagsEntered) as sig:
        qtbot.keyClick(entry.tag_box, Qt.Key.Key_Return)
    assert sig.args == [["cat", "do"]] and entry.tag_box.text() == ""
    review.add_tags(ed.project, [_ids[0]], "donkey")
    qtbot.keyClicks(entry.tag_box, "do")
    assert "donkey" not in entry.completion_names()  # counts are read once per edit
    entry.forget_counts()
    qtbot.keyClicks(entry.tag_box, "n")
    assert entry.completion_names() == ["donkey"]


def test_chip_area_groups_chips_and_counts_the_rest(qtbot):
    area = ChipArea()
    _window = shown(qtbot, area)
    chips = [
        (TagChip("dog", "manual"), "general"),
        (TagChip("1girl", "auto", "0.70"), "character"),
        (TagChip("odd", "manual"), "no such category"),
    ]
    area.show_chips(chips, 3)
    assert list(area.chips) == ["dog", "1girl", "odd"]
    assert area.chips["odd"].parentWidget() is area.chips["dog"].parentWidget()  # general
    assert area.more_label.isVisible() and "3 more tags" in area.more_label.text()
    removed = []
    area.removeClicked.connect(removed.append)
    area.chips["dog"].buttons["remove"].click()
    assert removed == ["dog"]
    area.show_chips([(TagChip("rain", "manual"), "meta")], 0)
    assert list(area.chips) == ["rain"] and not area.more_label.isVisible()
    area.clear()
    assert area.chips == {} and not area.more_label.isVisible()


def test_the_undo_history_forgets_the_oldest_beyond_its_limit(editor):
    """The history is bounded (core/review/edits.py's UNDO_LIMIT): the newest edits stay."""
    ed, ids = editor
    assert ed.undo_stack.undoLimit() == review.UNDO_LIMIT
    ed.undo_stack.clear()
    ed.undo_stack.setUndoLimit(3)  # the same mechanism at a size a test can fill
    for n in range(5):
        ed.apply_edit(lambda p, n=n: review.add_tags(p, ids[:1], [f"t{n}"]))
    assert ed.undo_stack.count() == 3
    while ed.undo_stack.canUndo():
        ed.undo_stack.undo()
    tags = {t.name for t in review.clip_tags(ed.project, ids[0])}
    assert {"t0", "t1"} <= tags and not {"t2", "t3", "t4"} & tags
