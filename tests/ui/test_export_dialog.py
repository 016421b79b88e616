"""The Export dialog driven like a person: fields, Export, the job, the result page."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from workstation.core import synth
from workstation.core.export import ExportSettings
from workstation.core.export.trainers import trainer_report
from workstation.core.ingest import add_paths
from workstation.core.progress import drive
from workstation.core.slicing import SliceSettings, split_project
from workstation.core.store import EXPORT_DIALOG, Cut, Project
from workstation.ui.common.jobs import JobsController
from workstation.ui.export import ExportDialog
from workstation.ui.session import ProjectSession


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory, demo_videos):
    """The demo project cut at its true cuts and sliced (clips of 4 frames and more)."""
    root = tmp_path_factory.mktemp("export-ui")
    src = root / "videos"
    src.mkdir()
    for v in demo_videos:
        shutil.copy(v, src / v.name)
    with Project.create(root / "proj") as p:
        drive(add_paths(p, [src]))
        for v in p.videos():
            truth = synth.Truth.load(str(demo_videos[0].parent / (v.path.name + ".truth.json")))
            for c in truth.cuts:
                p.add_cut(v.id, Cut(c.frame, "manual"))
        drive(split_project(p, None, SliceSettings(min_frames=4)))
        assert len(p.clips()) > 4
    return root / "proj"


@pytest.fixture()
def dialog(qtbot, demo_root):
    session = ProjectSession(demo_root)
    jobs = JobsController(session)
    shown: list[str] = []
    d = ExportDialog(session, jobs, show_clips=shown.append)
    d.shown_filters = shown
    qtbot.addWidget(d)
    d.show()
    yield d
    jobs.shutdown()
    session.project.put(EXPORT_DIALOG, {})
    session.close()


def _export(qtbot, d):
    job = d.start_export()
    assert job is not None, d.problem_label.text()
    with qtbot.waitSignal(job.finished, timeout=120000):
        pass
    assert d.pages.currentWidget() is d.result_page
    return d.export_result


def _report_counts(d):
    """{(trainer, effect): n} as the result page shows them (its labels and buttons)."""
    return {(g.trainer, g.effect.value): len(g.clips) for g in d.result_page.groups}


def test_defaults_come_from_export_settings(dialog):
    assert dialog.form.settings() == ExportSettings()
    assert "diffusion-pipe" in dialog.form.format_reader.text()


@pytest.mark.parametrize("fmt", ["pairs", "webvid"])
def test_export_in_each_format_and_the_trainer_report(qtbot, dialog, tmp_path, fmt):
    d = dialog
    out = tmp_path / "dataset"
    d.out_edit.setText(str(out))
    d.form.format.setCurrentIndex(d.form.format.findData(fmt))
    d.form.trigger.setText("mystyle")
    result = _export(qtbot, d)
    n = len(Project(d.session.root).clips())
    assert len(result.clips) == n and not result.errors
    if fmt == "pairs":
        lines = (out / "metadata.jsonl").read_text().splitlines()
        assert len(lines) == n and all(
            json.loads(x)["caption"].startswith("mystyle") for x in lines
        )
    else:
        rows = list(csv.DictReader((out / "train.csv").open()))
        assert len(rows) == n and all((out / r["contentUrl"]).exists() for r in rows)
    # the page's counts are the core's (and report.json's)
    core = {(g.trainer, g.effect.value): len(g.clips) for g in trainer_report(result.clips)}
    summary = json.loads((out / "report.json").read_text())["summary"]
    assert _report_counts(d) == core
    assert {(t, e): k for t, v in summary.items() for e, k in v.items()} == core
    short = sum(k for (t, e), k in core.items() if t == "animatediff" and e != "fits")
    assert short > 0  # the demo clips are shorter than AnimateDiff's 61 frames
    texts = [
        d.result_page.report_grid.itemAt(i).widget().text()
        for i in range(d.result_page.report_grid.count())
    ]
    for (trainer, effect), k in core.items():
        if effect != "fits":
            assert any(t.startswith(f"{k} clip") for t in texts), (trainer, effect, texts)


def test_show_these_clips_filters_the_clips_view_or_lists_them(qtbot, dialog, tmp_path):
    d = dialog
    d.out_edit.setText(str(tmp_path / "out"))
    d.form.reviewed.setChecked(False)
    result = _export(qtbot, d)
    groups = {(g.trainer, g.effect.value): g for g in d.result_page.groups}
    stretched = groups.get(("animatediff", "stretch")) or groups[("animatediff", "repeat")]
    query = d.result_page.show_group(stretched)
    assert query is not None and d.shown_filters == [query]
    from workstation.core.review import filter_clip_ids

    assert set(filter_clip_ids(d.session.project, query)) == {c.clip_id for c in stretched.clips}
    dropped = groups[("4n+1", "drop")]  # no filter term: the page lists them
    assert d.result_page.show_group(dropped) is None
    assert d.result_page.names.count() == len(dropped.clips)
    assert d.result_page.names.item(0).text().startswith(f"{dropped.clips[0].key}.mp4")
    assert len(result.clips) >= len(dropped.clips)


def test_open_folder_opens_the_export(qtbot, dialog, tmp_path, monkeypatch):
    from workstation.ui.export import result_page

    opened = []
    monkeypatch.setattr(
        result_page.QDesktopServices, "openUrl", lambda url: opened.append(url) or True
    )
    dialog.out_edit.setText(str(tmp_path / "o"))
    _export(qtbot, dialog)
    assert dialog.result_page.open_folder()
    assert [u.toLocalFile() for u in opened] == [str((tmp_path / "o").resolve())]


def test_a_bad_filter_is_shown_and_nothing_runs(qtbot, dialog, tmp_path):
    d = dialog
    d.out_edit.setText(str(tmp_path / "x"))
    d.form.filter.setText("frames>>2")
    d.refresh()
    assert "at character" in d.count_label.text()
    assert d.start_export() is None and "filter" in d.problem_label.text()
    assert not (tmp_path / "x").exists()
    d.form.filter.setText("frames>=8")
    d.refresh()
    want = sum(c.frame_count >= 8 for c in d.session.project.clips())
    assert f"{want} clip" in d.count_label.text()


def test_a_persons_file_in_the_folder_is_warned_about_and_refused(qtbot, dialog, tmp_path):
    d = dialog
    out = tmp_path / "mine"
    out.mkdir()
    first = sorted(c.path.stem for c in d.session.project.clips())[0]
    (out / f"{first}.mp4").write_bytes(b"my video")
    d.out_edit.setText(str(out))
    d.refresh()
    assert d.folder_note.isVisible() and f"{first}.mp4" in d.folder_note.text()
    job = d.start_export()
    with qtbot.waitSignal(job.failed, timeout=60000):
        pass
    assert "exists and was not written by an export" in d.problem_label.text()
    assert (out / f"{first}.mp4").read_bytes() == b"my video"
    assert d.pages.currentIndex() == 0 and d.export_button.isEnabled()


def test_values_are_remembered_per_project(qtbot, dialog, tmp_path):
    d = dialog
    d.out_edit.setText(str(tmp_path / "r"))
    d.form.format.setCurrentIndex(d.form.format.findData("webvid"))
    d.form.short_side.setValue(64)
    d.form.crop.setEditText("1:1")
    d.form.fps.setEditText("8")
    d.form.val_percent.setValue(34)
    d.form.filter.setText("frames>=8")
    d.form.reviewed.setChecked(True)
    want = d.form.settings()
    assert want.selection == "reviewed:yes (frames>=8)" and want.val_fraction == 0.34
    job = d.start_export()
    with qtbot.waitSignal(job.finished, timeout=120000):
        pass
    again = ExportDialog(d.session, d.jobs)
    qtbot.addWidget(again)
    assert again.form.settings() == want
    assert again.out_edit.text() == str(tmp_path / "r")


def test_a_bad_field_is_named(dialog):
    dialog.form.fps.setEditText("fast")
    assert dialog.start_export() is None
    assert dialog.problem_label.text().startswith("Frame rate:")
    dialog.form.fps.setEditText("keep")
    dialog.form.short_side.setValue(8)
    assert dialog.start_export() is None and "'size'" in dialog.problem_label.text()
