"""The window's Hydrus pieces against the in-process fake Hydrus (issue 16): the Preferences
page, the status indicator, Sync now and the debounced sync after edits, the conflicts dialog
and "Open in Hydrus" from the Clips view's context menu."""

from __future__ import annotations

import stat

import pytest

from tests.core.hydrus_fake import KEY, TAG_KEY, FakeHydrus
from tests.core.hydrus_fixtures import FAST, make_clips
from workstation.core import hydrus, review
from workstation.core import settings as app_settings
from workstation.core.store import Project
from workstation.ui.main_window import MainWindow


@pytest.fixture()
def window(qtbot, tmp_path):
    root = tmp_path / "proj"
    with Project.create(root) as p:
        ids = make_clips(p)
        review.add_tags(p, ids, ["Blue Sky"])
        review.set_caption(p, [ids[0]], "A girl under a blue sky.")
    w = MainWindow(app_settings.load(), interactive=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    assert w.open_project(root)
    w.hydrus.mirror.options = FAST
    yield w, ids
    w.jobs.shutdown()
    w.close()


def _connect(window, fake):
    hydrus.connect(window.session.project, fake.url, KEY)
    window.hydrus.mirror.refresh()


def _sync(qtbot, mirror):
    with qtbot.waitSignal(mirror.synced, timeout=20000) as blocker:
        assert mirror.sync_now() is not None
    return blocker.args[0]


def test_preferences_page_verifies_lists_permissions_and_saves_the_key(qtbot, window, fake, caplog):
    w, _ids = window
    assert w.hydrus.mirror.label.text() == "Hydrus: not connected"
    dialog = w.hydrus.open_preferences()
    page = dialog.hydrus
    page.url.setText(fake.url)
    page.key.setText(KEY)
    assert page.key.echoMode() == page.key.EchoMode.Password
    with qtbot.waitSignal(page.answered, timeout=10000):
        page.verify_button.click()
    assert "✔ edit file tags" in page.answer.text() and "✘" not in page.answer.text()
    names = [page.tag_service.itemText(i) for i in range(page.tag_service.count())]
    assert any(n.startswith("my tags") for n in names)
    page.tag_service.setCurrentIndex(page.tag_service.findData(TAG_KEY))
    page.note_name.setText("description")
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        page.save(dialog.accept)
    link = hydrus.load_link(w.session.project)
    assert link is not None and link.tag_service_key == TAG_KEY and link.note_name == "description"
    mode = stat.S_IMODE(hydrus.key_path(w.session.project).stat().st_mode)
    assert mode == 0o600
    text = w.hydrus.mirror.label.text()  # connected; the clips wait for the first sync
    assert text.startswith("Hydrus: connected · ") and "pending change" in text
    assert KEY not in caplog.text


def test_verify_names_what_the_key_lacks_and_request_access_names_the_dialog(qtbot, window):
    w, _ids = window
    lacking = FakeHydrus(permissions=frozenset({1, 2, 3})).start()
    try:
        page = w.hydrus.open_preferences().hydrus
        page.url.setText(lacking.url)
        page.key.setText(KEY)
        with qtbot.waitSignal(page.answered, timeout=10000):
            page.verify_button.click()
        text = page.answer.text()
        assert "✘ manage database — missing" in text and "✘ edit file notes" in text
        assert "missing permissions" in text
        with qtbot.waitSignal(page.answered, timeout=10000):
            page.request_button.click()
        assert "review services" in page.answer.text() and "from api request" in page.answer.text()
    finally:
        lacking.stop()


def test_sync_now_mirrors_and_the_indicator_answers_while_hydrus_is_down(qtbot, window, fake):
    w, ids = window
    _connect(w, fake)
    mirror = w.hydrus.mirror
    result = _sync(qtbot, mirror)
    assert result.files_added == len(ids) and result.pending == 0
    assert mirror.label.text() == "Hydrus: connected"
    fake.stop()
    review.add_tags(w.session.project, [ids[1]], ["sunset"])
    texts = []
    mirror.changed.connect(texts.append)
    result = _sync(qtbot, mirror)
    assert result.stopped and result.pending > 0
    assert any("retrying in" in t for t in texts), texts
    assert mirror.label.text().startswith("Hydrus: down · ")
    assert "pending change" in mirror.label.text()
    last_error = hydrus.status(w.session.project)["last_error"]
    assert last_error and str(last_error) in mirror.label.toolTip()


def test_an_edit_in_the_clips_view_syncs_after_the_debounce(qtbot, window, fake):
    w, ids = window
    _connect(w, fake)
    mirror = w.hydrus.mirror
    _sync(qtbot, mirror)
    w.tabs.setCurrentIndex(w.clips_tab)
    view = w.ensure_clips_view()
    mirror.timer.setInterval(50)
    with qtbot.waitSignal(mirror.synced, timeout=20000):
        view.editor.apply_edit(lambda p: review.add_tags(p, [ids[2]], ["outdoors"]))
        assert mirror.timer.isActive()
    sha = w.session.project.hydrus_clip_rows()[ids[2]]["sha256"]
    assert "outdoors" in fake.committed.tags[(sha, TAG_KEY)]
    assert hydrus.status(w.session.project)["pending"] == 0


def test_conflicts_dialog_shows_both_sides_and_keeps_hydrus(qtbot, window, fake):
    w, ids = window
    _connect(w, fake)
    mirror = w.hydrus.mirror
    _sync(qtbot, mirror)
    project = w.session.project
    sha = project.hydrus_clip_rows()[ids[0]]["sha256"]
    fake.set_note_as_person(sha, "Theirs.")
    review.set_caption(project, [ids[0]], "Ours.")
    assert _sync(qtbot, mirror).new_conflicts == 1
    assert "1 conflict" in mirror.label.text()
    dialog = w.hydrus.open_conflicts()
    [row] = dialog.rows.values()
    assert (row.ours.toPlainText(), row.theirs.toPlainText()) == ("Ours.", "Theirs.")
    with qtbot.waitSignal(dialog.resolved):
        row.keep_hydrus.click()
    assert dialog.rows == {} and "No conflicts" in dialog.summary.text()
    assert project.caption_texts([ids[0]])[ids[0]] == "Theirs."
    dialog.close()
    _sync(qtbot, mirror)
    assert hydrus.conflicts(project) == [] and "conflict" not in mirror.label.text()


def test_open_in_hydrus_from_the_clips_context_menu(qtbot, window, fake):
    w, ids = window
    _connect(w, fake)
    _sync(qtbot, w.hydrus.mirror)
    w.tabs.setCurrentIndex(w.clips_tab)
    view = w.ensure_clips_view()
    assert w.hydrus.open_action in view.grid.actions()
    view.select_clips([ids[1]])
    assert view.selected_ids() == [ids[1]]
    with qtbot.waitSignal(w.hydrus.mirror.opened, timeout=10000) as blocker:
        w.hydrus.open_action.trigger()
    assert blocker.args[0].sha256 == w.session.project.hydrus_clip_rows()[ids[1]]["sha256"]


def test_a_pull_refreshes_the_views_without_starting_another_sync(qtbot, window, fake):
    w, ids = window
    _connect(w, fake)
    mirror = w.hydrus.mirror
    _sync(qtbot, mirror)
    sha = w.session.project.hydrus_clip_rows()[ids[1]]["sha256"]
    fake.set_tags_as_person(sha, add=["sunset"])
    with qtbot.waitSignal(w.session.clipsChanged):
        assert _sync(qtbot, mirror).pulled_tags
    assert not mirror.timer.isActive()
    tags = {t.name for t in w.session.project.clip_tags_many([ids[1]])[ids[1]]}
    assert "sunset" in tags
    w.session.clipsChanged.emit()  # e.g. new clips sliced in the Cut view
    assert mirror.timer.isActive()


def test_another_project_gets_its_own_indicator(qtbot, window, fake, tmp_path):
    w, _ids = window
    _connect(w, fake)
    first = w.hydrus.mirror
    assert first.label.text().startswith("Hydrus: ")
    assert first.label.text() != "Hydrus: not connected"
    assert w.open_project(tmp_path / "other", create=True)
    second = w.hydrus.mirror
    assert second is not first and second.label.text() == "Hydrus: not connected"
    labels = [lab.text() for lab in w.statusBar().findChildren(type(second.label))]
    assert labels.count("Hydrus: not connected") == 1
    assert w.close_project() and w.hydrus.mirror is None
    assert not w.hydrus.sync_action.isEnabled()
