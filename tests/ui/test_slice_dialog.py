"""The Slice dialog: every SliceSettings field in words with the core's defaults, the CLI's checks
(a bad value names its field), a preview from the planner, settings remembered per project, and
OK slicing the chosen videos; several selected videos are all sliced, one job each."""

from __future__ import annotations

from fractions import Fraction

import av
import pytest
from PySide6.QtCore import QPoint, Qt

from workstation.core import synth
from workstation.core.slicing import SliceSettings, plan_video
from workstation.core.store import SLICING, Cut, Project
from workstation.ui.common.jobs import JobsController
from workstation.ui.common.shortcuts import ShortcutMap
from workstation.ui.cut.slice_dialog import LABELS, SliceDialog, preview
from workstation.ui.cut.view import CutView
from workstation.ui.session import ProjectSession


def keep_only(project: Project, vid: int, starts: set[int]) -> None:
    for s in project.segments(vid):
        project.set_segment_keep(vid, s.start, s.start in starts)


@pytest.fixture()
def transitions(demo_project):
    """demo_transitions.mp4 with its true cuts (fades and a dissolve carry their spans); only
    the two segments around the dissolve at 98 (frames 92..104) are kept."""
    vid = demo_project.find_video("demo_transitions.mp4").id
    truth = synth.Truth.load(str(demo_project.video(vid).path) + ".truth.json")
    demo_project.replace_auto_cuts(
        vid,
        [
            Cut(c.frame, "auto", "test", 0.9, c.kind, *(c.span if c.kind != "cut" else (None,) * 2))
            for c in truth.cuts
        ],
    )
    keep_only(demo_project, vid, {54, 98})
    return demo_project, vid


@pytest.fixture()
def view(qtbot, transitions):
    project, vid = transitions
    session = ProjectSession(project.root)
    jobs = JobsController(session)
    v = CutView(session, jobs, shortcuts=ShortcutMap())
    qtbot.addWidget(v)
    v.resize(1000, 700)
    v.show()
    qtbot.waitExposed(v)
    with qtbot.waitSignal(v.player.firstFrameShown, timeout=20000):
        v.show_video(vid)
    yield v, session, vid
    v.close()
    jobs.shutdown()
    session.close()


def type_into(qtbot, combo, text: str) -> None:
    edit = combo.lineEdit()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def test_fields_are_in_words_with_the_cores_defaults(qtbot, transitions):
    project, vid = transitions
    d = SliceDialog(project, [vid])
    qtbot.addWidget(d)
    assert d.settings() == SliceSettings()  # nothing remembered yet: the core's defaults
    assert set(d.fields) == set(SliceSettings.__dataclass_fields__)  # every field is there
    for key, widget in d.fields.items():
        assert widget.toolTip(), key
        assert LABELS[key] != key and "_" not in LABELS[key]
    assert d.fields["max_side"].text() == "Original size"
    assert d.fields["max_frames"].text() == "No limit"
    assert d.fields["min_frames"].suffix() == " frames"


def test_a_bad_value_names_the_field_and_blocks_ok(qtbot, transitions):
    project, vid = transitions
    d = SliceDialog(project, [vid])
    qtbot.addWidget(d)
    type_into(qtbot, d.fields["fps"], "fast")
    d.update_preview()
    assert d.error.text() == "Frame rate (fps): 'fast' is not a frame rate"
    assert not d.ok_button.isEnabled()
    type_into(qtbot, d.fields["fps"], "24")
    d.fields["max_side"].setValue(8)
    d.update_preview()
    assert d.error.text() == "Longest side: 8 is too small (at least 16)"
    d.fields["max_side"].setValue(0)
    d.fields["max_frames"].setValue(4)
    d.update_preview()
    assert d.error.text() == "Longest clip: 4 is below Shortest clip (8)"
    d.accept()  # refused: stays open, nothing remembered
    assert d.chosen is None and project.get(SLICING) == {}
    d.fields["max_frames"].setValue(0)
    d.update_preview()
    assert d.error.isHidden() and d.ok_button.isEnabled()


def test_preview_counts_what_the_planner_plans(qtbot, transitions):
    project, vid = transitions
    d = SliceDialog(project, [vid])
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.preview_label.text() == "2 clips from 1 video")
    d.fields["min_frames"].setValue(30)  # the kept parts are 27 and 29 frames long
    with qtbot.waitSignal(d.previewReady):
        d.update_preview()
    plans, skipped = plan_video(project, project.video(vid), SliceSettings(min_frames=30))
    assert (len(plans), len(skipped)) == (0, 2)
    assert d.preview_label.text() == "0 clips from 1 video (2 segments too short)"
    assert preview(project, [vid], SliceSettings(max_frames=10)).clips == 5


def test_the_preview_is_planned_off_the_gui_thread_and_arrives_by_signal(
    qtbot, transitions, monkeypatch
):
    """The planner reads frame indexes (long videos: a while): it runs on a worker thread's
    own connection; a newer request supersedes an older one still running."""
    import threading

    from workstation.ui.cut import slice_dialog

    project, vid = transitions
    threads = []
    real = slice_dialog.preview

    def spy(p, ids, settings):
        threads.append((threading.get_ident(), p is project))
        return real(p, ids, settings)

    monkeypatch.setattr(slice_dialog, "preview", spy)
    d = SliceDialog(project, [vid])
    qtbot.addWidget(d)
    d.fields["min_frames"].setValue(30)
    with qtbot.waitSignal(d.previewReady) as ready:
        d.update_preview()
        d.fields["min_frames"].setValue(8)
        d.update_preview()  # supersedes the one before
    qtbot.waitUntil(lambda: not d._reader.busy())
    assert d.preview_label.text() == "2 clips from 1 video"
    assert ready.args == ["2 clips from 1 video"]  # never the superseded "0 clips" answer
    assert threads and all(t != threading.get_ident() and not same for t, same in threads)


def test_dialog_sets_fps_and_keep_transitions_and_the_clips_match(qtbot, view):
    v, session, vid = view
    p = session.project
    d = v.slice()
    qtbot.waitExposed(d)
    type_into(qtbot, d.fields["fps"], "12")
    box = d.fields["keep_transitions"]
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert d.fields["keep_transitions"].isChecked()
    chosen = SliceSettings(fps=Fraction(12), keep_transitions=True)
    assert d.settings() == chosen
    with qtbot.waitSignal(v.video_jobs.batchFinished, timeout=60000) as blocker:
        d.ok_button.click()
    assert blocker.args[0].done == [vid]
    plans, _ = plan_video(p, p.video(vid), chosen)
    clips = p.clips(vid)
    # With the transitions kept, each clip runs to the cut: the dissolve's frames are in them.
    assert [(c.start_frame, c.end_frame) for c in clips] == [(54, 98), (98, 144)]
    assert [(c.start_frame, c.end_frame, c.frame_count) for c in clips] == [
        (pl.start, pl.end, len(pl.src)) for pl in plans
    ]
    for clip in clips:
        assert clip.fps == 12 and clip.verified
        with av.open(str(clip.path)) as f:
            stream = f.streams.video[0]
            assert stream.average_rate == 12
            assert sum(1 for _ in f.decode(stream)) == clip.frame_count
    # Remembered for this project: the next dialog opens with them.
    assert SliceSettings.from_params(dict(p.get(SLICING))) == chosen
    again = v.slice()
    assert again.settings() == chosen
    assert again.fields["fps"].currentText() == "12"
    again.reject()


def test_transitions_are_left_out_by_default(qtbot, view):
    v, session, vid = view
    d = v.slice()
    assert not d.fields["keep_transitions"].isChecked()
    with qtbot.waitSignal(v.video_jobs.batchFinished, timeout=60000):
        d.ok_button.click()
    clips = session.project.clips(vid)
    # The fade into 54 ends at 64, the dissolve spans 92..104, the fade out starts at 134.
    assert [(c.start_frame, c.end_frame) for c in clips] == [(65, 92), (105, 134)]


def test_several_selected_videos_are_all_sliced_one_job_each(qtbot, demo_project):
    from workstation.core import settings as app_settings
    from workstation.ui.main_window import MainWindow

    ids = []
    for name in ("demo_anime.mp4", "demo_live.mp4"):
        vid = demo_project.find_video(name).id
        demo_project.add_cut(vid, Cut(12))
        demo_project.add_cut(vid, Cut(24))
        keep_only(demo_project, vid, {12})
        ids.append(vid)
    w = MainWindow(app_settings.load(), interactive=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    assert w.open_project(demo_project.root)
    table = w.video_list.table
    for i, vid in enumerate(ids):
        row = w.video_list.proxy.mapFromSource(
            w.video_list.model.index(w.video_list.model.row_of(vid), 0)
        )
        mods = Qt.KeyboardModifier.ControlModifier if i else Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(
            table.viewport(), Qt.MouseButton.LeftButton, mods, table.visualRect(row).center()
        )
    assert sorted(w.video_list.selected_video_ids()) == sorted(ids)
    w.menus.slice_action.trigger()
    d = w.cut_view.findChild(SliceDialog)
    assert d is not None and d.windowTitle() == "Slice 2 videos"
    qtbot.waitUntil(lambda: d.preview_label.text() == "2 clips from 2 videos")
    with qtbot.waitSignal(w.cut_view.video_jobs.batchFinished, timeout=120000) as blocker:
        d.ok_button.click()
    batch = blocker.args[0]
    assert sorted(batch.done) == sorted(ids) and not batch.failed
    titles = sorted(job.title for job in batch.jobs.values())
    assert titles == ["Slice 1 of 2: demo_anime.mp4", "Slice 2 of 2: demo_live.mp4"]
    for job in batch.jobs.values():
        assert w.jobs_panel.row_for(job).status.text().startswith("done")
    for vid in ids:
        assert [(c.start_frame, c.end_frame) for c in w.session.project.clips(vid)] == [(12, 24)]
    assert w.cut_view.status.text() == "Sliced 2 videos: 2 clips written."
    w.close()
