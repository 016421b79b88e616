"""The first sidecar pass over every clip runs on a worker thread's own connection, not on the
GUI thread at the first edit; its result arrives by a signal; a clip edited while it
ran is written again when it ends.  (The Slice dialog's preview: see test_slice_dialog.)"""

from __future__ import annotations

import threading

from tests.core.autotag_fixtures import add_clip
from workstation.core import cliptext, review
from workstation.core.store import Project
from workstation.ui.clips.view import ClipsView
from workstation.ui.common.jobs import JobsController
from workstation.ui.session import ProjectSession


def _project(root):
    p = Project.create(root)
    ids = []
    for i in range(3):
        path = p.clips_dir / f"c{i}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"clip")
        ids.append(add_clip(p, path, 24, w=64, h=64))
    review.add_tags(p, ids, "dog")  # writes the sidecars
    with cliptext.deferred(p):  # committed, its sidecar not written: a killed run's state
        review.add_tags(p, ids[:1], "cat")
    p.close()
    return ids


def test_the_first_sidecar_pass_runs_in_a_worker_and_reports_by_signal(
    qtbot, tmp_path, monkeypatch
):
    root = tmp_path / "p"
    ids = _project(root)
    sidecar = root / "clips" / "c0.txt"
    assert "cat" not in sidecar.read_text()
    seen = []
    real_pass = cliptext.reconcile_all

    def spy(project):
        seen.append(threading.get_ident())
        return (yield from real_pass(project))

    full_on_gui = []
    real_texts = cliptext.sidecar_texts

    def texts(project, clip_ids, settings):
        if clip_ids is None and threading.get_ident() == threading.main_thread().ident:
            full_on_gui.append(1)
        return real_texts(project, clip_ids, settings)

    monkeypatch.setattr(cliptext, "reconcile_all", spy)
    monkeypatch.setattr(cliptext, "sidecar_texts", texts)
    session = ProjectSession(root)
    jobs = JobsController(session)
    view = ClipsView(session, jobs, with_player=False)
    qtbot.addWidget(view)
    worker = view.editor.reconcile
    assert worker is not None and jobs.jobs == []  # quiet: not listed as a job
    with qtbot.waitSignal(worker.ready, timeout=20000) as done:
        # an edit while the pass runs (or before it starts): written now, and again after
        view.editor.apply_edit(lambda p: review.add_tags(p, ids[1:2], "owl"))
    assert done.args == [1]  # c0.txt repaired (c1.txt was written by the edit itself)
    assert seen and seen[0] != threading.get_ident()
    assert "cat" in sidecar.read_text() and "owl" in (root / "clips" / "c1.txt").read_text()
    assert full_on_gui == []  # the edit did not do the pass on the GUI thread
    jobs.shutdown()
    session.close()
