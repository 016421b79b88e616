"""The Train tab's form as a person meets it: each field checked as it is typed, with the
problem beside it and Start held back until it is fixed; a folder that is not a model refused
at once; failed runs listed with their error and log; the form back after a restart; the run
folder opened; advanced settings with names and numbers people read."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFormLayout, QLabel
from train_fixtures import (
    MOTION_V2_KEYS,
    SD15_KEYS,
    SDXL_KEYS,
    fake_export,
    fake_sd_folder,
    open_view,
    safetensors_file,
)

from workstation.core.store import TRAIN_FORM, Project
from workstation.ui.train.history import EVENTS_FILE
from workstation.ui.train.view import TrainView

FAILING_CHILD = textwrap.dedent(
    """
    import json, sys
    print("loading the models...", file=sys.stderr, flush=True)
    mode, message = sys.argv[1], sys.argv[2]
    if mode == "error":
        print(json.dumps({"event": "error", "kind": "input", "message": message}), flush=True)
        sys.exit(1)
    print("Traceback: " + message, file=sys.stderr, flush=True)
    sys.exit(3)
    """
)


@pytest.fixture()
def project(tmp_path) -> Path:
    root = tmp_path / "proj"
    Project.create(root).close()
    return root


@pytest.fixture()
def view(qtbot, project, tmp_path):
    v, jobs, session = open_view(qtbot, project)
    yield v
    v.shutdown()
    jobs.shutdown()
    session.close()


def type_into(qtbot, view: TrainView, field, text: str) -> None:
    """Replace a path field's text key by key, as a person types; wait for the check."""
    field.edit.clear()
    with qtbot.waitSignal(view.validated, timeout=5000):
        qtbot.keyClicks(field.edit, text)


def note_of(field) -> str:
    return "" if field.note.isHidden() else field.note.text()


def invalid(widget) -> bool:
    """Marked: a red border on a text field, red digits in a spin box."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QAbstractSpinBox

    marked = bool(widget.property("invalid"))
    if isinstance(widget, QAbstractSpinBox):
        red = widget.palette().color(QPalette.ColorRole.Text).name() == "#e0484f"
        assert red == marked
    return marked


def fill_valid(view: TrainView, tmp_path: Path) -> None:
    view.dataset.setText(str(fake_export(tmp_path / "export", clips=3)))
    view.base_model.setText(str(fake_sd_folder(tmp_path / "sd15")))
    view.validate()


# -- 1. field-level checks as the person types ---------------------------------------------------
def test_each_path_field_says_what_is_wrong_beside_it_as_it_is_typed(qtbot, view, tmp_path):
    view.show()
    export = fake_export(tmp_path / "export", clips=3)
    type_into(qtbot, view, view.dataset, str(tmp_path / "nope"))
    assert note_of(view.dataset) == "dataset folder not found"
    assert invalid(view.dataset.edit) and view.dataset.note.foregroundRole().name == "WindowText"
    assert view.dataset.note.palette().color(view.dataset.note.foregroundRole()).name() == "#e0484f"
    assert not view.start_button.isEnabled()
    assert "Dataset: dataset folder not found" in view.start_button.toolTip()
    assert "Base model: choose an SD1.5 model" in view.start_button.toolTip()
    assert view.start_hint.isVisible()
    assert view.start_hint.text() == "Start needs: Dataset, Base model (see the red notes)"

    type_into(qtbot, view, view.dataset, str(export))
    assert note_of(view.dataset) == "pairs export (metadata.jsonl): 3 clips"
    assert not invalid(view.dataset.edit)
    assert "Dataset" not in view.start_button.toolTip()

    type_into(qtbot, view, view.base_model, str(fake_sd_folder(tmp_path / "sd15")))
    assert "diffusers folder (StableDiffusionPipeline" in note_of(view.base_model)
    assert view.start_button.isEnabled() and not view.start_hint.isVisible()


def test_a_webdataset_export_and_missing_clips_are_named(qtbot, view, tmp_path):
    shards = tmp_path / "wds"
    (shards / "train").mkdir(parents=True)
    (shards / "train" / "00000.tar").write_bytes(b"")
    type_into(qtbot, view, view.dataset, str(shards))
    assert "a WebDataset export (tar shards)" in note_of(view.dataset)
    export = fake_export(tmp_path / "export", clips=3)
    (export / "c1.mp4").unlink()
    type_into(qtbot, view, view.dataset, str(export))
    assert (
        note_of(view.dataset)
        == "pairs export (metadata.jsonl): 3 clips, 1 of them missing (skipped)"
    )
    assert not invalid(view.dataset.edit)


def test_an_output_inside_the_dataset_or_under_a_file_is_refused(qtbot, view, tmp_path):
    fill_valid(view, tmp_path)
    type_into(qtbot, view, view.output, str(tmp_path / "export" / "run"))
    assert "inside the dataset folder" in note_of(view.output) and invalid(view.output.edit)
    assert not view.start_button.isEnabled()
    (tmp_path / "a-file").write_text("x")
    type_into(qtbot, view, view.output, str(tmp_path / "a-file" / "run"))
    assert "is a file, not a folder" in note_of(view.output)
    type_into(qtbot, view, view.output, str(tmp_path / "runs" / "new"))
    assert note_of(view.output) == "a new folder" and view.start_button.isEnabled()


def test_numbers_out_of_range_are_marked_and_open_the_advanced_settings(qtbot, view, tmp_path):
    fill_valid(view, tmp_path)
    assert not view.advanced.isExpanded()
    with qtbot.waitSignal(view.validated, timeout=5000):
        view.fields["resolution"].setValue(250)
    note = view.advanced.notes["resolution"]
    assert note.text() == "must be a multiple of 8, >= 32" and not note.isHidden()
    assert invalid(view.fields["resolution"]) and view.advanced.isExpanded()
    assert "Resolution (px): must be a multiple of 8" in view.start_button.toolTip()
    assert not view.start()  # a click on a disabled button, or a call: the same refusal
    assert "Fix first: Resolution (px)" in view.status.text()
    with qtbot.waitSignal(view.validated, timeout=5000):
        view.fields["resolution"].setValue(256)
    assert note.isHidden() and not invalid(view.fields["resolution"])
    assert view.start_button.isEnabled()


# -- 2. a folder that is not a model is refused at once --------------------------------------------
def test_a_folder_that_is_not_a_model_is_refused_from_its_layout(qtbot, view, tmp_path):
    junk = tmp_path / "photos"
    junk.mkdir()
    (junk / "cat.jpg").write_bytes(b"\xff\xd8")
    type_into(qtbot, view, view.base_model, str(junk))
    assert note_of(view.base_model).startswith("not a model folder (no model_index.json")
    assert invalid(view.base_model.edit)

    motion = safetensors_file(tmp_path / "mm_sd_v15_v2.safetensors", MOTION_V2_KEYS)
    type_into(qtbot, view, view.base_model, str(motion))
    assert "an AnimateDiff motion module, not a base model" in note_of(view.base_model)
    type_into(qtbot, view, view.motion_module, str(motion))
    assert note_of(view.motion_module) == "AnimateDiff v2 motion module"

    xl = safetensors_file(tmp_path / "sdxl.safetensors", SDXL_KEYS)
    type_into(qtbot, view, view.base_model, str(xl))
    assert "an SDXL checkpoint" in note_of(view.base_model)
    junk_file = tmp_path / "junk.safetensors"
    junk_file.write_bytes(b"not a model at all")
    type_into(qtbot, view, view.base_model, str(junk_file))
    assert "not a .safetensors file" in note_of(view.base_model)

    sd15 = safetensors_file(tmp_path / "v1-5.safetensors", SD15_KEYS)
    type_into(qtbot, view, view.base_model, str(sd15))
    assert note_of(view.base_model) == "SD1.x checkpoint (3 tensors)"
    assert not invalid(view.base_model.edit)


# -- 3. failed runs are listed with their error and their log --------------------------------------
@pytest.fixture()
def failing_child(tmp_path) -> Path:
    p = tmp_path / "failing_child.py"
    p.write_text(FAILING_CHILD)
    return p


def run_to_failure(qtbot, view: TrainView, child: Path, *args: str) -> str:
    view._command_override = [sys.executable, str(child), *args]
    with qtbot.waitSignal(view.runFinished, timeout=20000) as done:
        assert view.start()
    assert done.args == [False]
    return Path(view.output.text()).name


def test_a_failed_run_is_listed_with_its_error_and_its_log(qtbot, view, tmp_path, failing_child):
    fill_valid(view, tmp_path)
    name = run_to_failure(qtbot, view, failing_child, "crash", "CUDA said no")
    item = view.history.item(0)
    assert (
        item.text()
        == f"{name} — failed: the training process exited with code 3: Traceback: CUDA said no"
    )
    assert item.foreground().color().name() == "#e0484f"
    assert view.history.currentItem() is item
    assert view.run_details.toPlainText().startswith("failed: the training process exited")
    with qtbot.waitExposed(view.runs.show_log()):
        pass
    log_text = view.runs.log_window.text.toPlainText()
    assert "loading the models..." in log_text and "Traceback: CUDA said no" in log_text
    # the run folder's JSON log says what was started and how it ended
    records = [json.loads(x) for x in (tmp_path / "proj" / "runs" / name / EVENTS_FILE).open()]
    assert records[0]["event"] == "launch" and records[0]["settings"]["dataset"]
    assert records[-1]["event"] == "failed"


def test_a_run_error_about_a_field_shows_beside_it_without_blocking(
    qtbot, view, tmp_path, failing_child
):
    fill_valid(view, tmp_path)
    dataset = view.dataset.text()
    message = f"{dataset}: none of the 3 clips can be used; --frames 16 needs 16 frames"
    run_to_failure(qtbot, view, failing_child, "error", message)
    assert note_of(view.dataset) == (
        "the last run failed: none of the 3 clips can be used; --frames 16 needs 16 frames"
    )
    assert view.start_button.isEnabled()  # the fix may lie in another field
    assert view.history.item(0).text().endswith(f"failed: {message}")
    with qtbot.waitSignal(view.validated, timeout=5000):
        view.fields["frames"].setValue(8)
    assert note_of(view.dataset) == "pairs export (metadata.jsonl): 3 clips"


def test_failed_runs_are_listed_again_after_a_restart(qtbot, project, tmp_path, failing_child):
    v, jobs, session = open_view(qtbot, project)
    fill_valid(v, tmp_path)
    name = run_to_failure(qtbot, v, failing_child, "error", "clips: none can be used")
    v.shutdown(), jobs.shutdown(), session.close()
    v2, jobs2, session2 = open_view(qtbot, project)
    try:
        assert v2.history.item(0).text() == f"{name} — failed: clips: none can be used"
        assert v2.use_settings_button.isEnabled()  # from the launch record of events.jsonl
        v2.use_settings_button.click()
        assert v2.output.text() == str(project / "runs" / name)
    finally:
        v2.shutdown(), jobs2.shutdown(), session2.close()


# -- 4. the form is remembered per project ---------------------------------------------------------
def test_the_form_is_back_after_the_window_restarts(qtbot, project, tmp_path):
    from workstation.core import settings as app_settings
    from workstation.ui.main_window import MainWindow

    export = fake_export(tmp_path / "export")
    sd = fake_sd_folder(tmp_path / "sd15")
    motion = safetensors_file(tmp_path / "mm.safetensors", MOTION_V2_KEYS)

    w = MainWindow(app_settings.load(), interactive=False)
    qtbot.addWidget(w)
    assert w.open_project(project)
    w.tabs.setCurrentIndex(w.train_tab)
    v = w.train_view
    v.preset.setCurrentText("Quick motion LoRA (256 px)")
    v.dataset.setText(str(export))
    v.base_model.setText(str(sd))
    v.motion_module.setText(str(motion))
    v.prompts.setPlainText("a dog runs")
    v.fields["lora_alpha"].setValue(8.0)
    v.fields["learning_rate"].setValue(2e-5)
    assert w.close()  # the window closes its project: nothing else saves the form

    w2 = MainWindow(app_settings.load(), interactive=False)
    qtbot.addWidget(w2)
    assert w2.open_project(project)
    w2.tabs.setCurrentIndex(w2.train_tab)
    v2 = w2.train_view
    assert v2 is not v
    assert (v2.dataset.text(), v2.base_model.text(), v2.motion_module.text()) == (
        str(export),
        str(sd),
        str(motion),
    )
    assert v2.preset.currentText() == "Quick motion LoRA (256 px)"
    s = v2.settings()
    assert s.mode == "lora" and s.lora_alpha == 8.0 and s.learning_rate == 2e-5
    assert s.sample_prompts == ["a dog runs"]
    assert Path(s.output).parent == Path(project) / "runs"  # a fresh run folder
    assert v2.start_button.isEnabled()
    w2.close()


def test_a_damaged_remembered_form_falls_back_to_the_preset(qtbot, project):
    with Project(project) as p:
        p.put(TRAIN_FORM, {"preset": "Full finetune (256 px)", "settings": {"max_steps": "many"}})
    v, jobs, session = open_view(qtbot, project)
    try:
        assert v.settings().max_steps == 1000  # the first preset, not a crash
    finally:
        v.shutdown(), jobs.shutdown(), session.close()


# -- 5. "Open output folder" ---------------------------------------------------------------------
def test_open_output_folder_opens_the_chosen_run_or_says_why_not(qtbot, view, monkeypatch):
    assert view.history.count() == 0 and not view.open_button.isEnabled()
    run = view.runs_root / "run-a"
    run.mkdir(parents=True)
    (run / EVENTS_FILE).write_text('{"event": "stopped", "step": 4}\n')
    view.refresh_history()
    assert view.history.item(0).text() == "run-a — stopped"
    assert view.open_button.isEnabled()  # the newest run is chosen
    opened: list[str] = []
    answer = [True]
    monkeypatch.setattr(
        "workstation.ui.train.history.QDesktopServices.openUrl",
        lambda url: opened.append(url.toLocalFile()) or answer[0],
    )
    view.open_button.click()
    assert opened == [str(run)] and f"opened {run}" in view.status.text()
    answer[0] = False
    view.open_button.click()
    assert "no file manager opened it" in view.status.text()
    assert QGuiApplication.clipboard().text() == str(run)


# -- 6. advanced settings people can read ------------------------------------------------------------
def label_for(view: TrainView, name: str) -> str:
    form = view.advanced.notes[name].parentWidget().parentWidget().layout()
    assert isinstance(form, QFormLayout)
    for row in range(form.rowCount()):
        field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
        if field is not None and field.widget() is view.advanced.notes[name].parentWidget():
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
            assert isinstance(label, QLabel)
            return label.text()
    raise AssertionError(name)


def test_advanced_settings_have_readable_names_numbers_and_tooltips(qtbot, view):
    assert label_for(view, "lora_alpha") == "LoRA alpha"
    assert label_for(view, "learning_rate") == "Learning rate"
    assert label_for(view, "gradient_checkpointing") == "Gradient checkpointing"
    labels = [label_for(view, n) for n in view.fields]
    assert not [x for x in labels if "_" in x or x == x.lower()]
    alpha, lr = view.fields["lora_alpha"], view.fields["learning_rate"]
    alpha.setValue(16.0)
    assert alpha.text() == "16"
    lr.setValue(1e-4)
    assert lr.text() == "1e-4"
    lr.setValue(0.0)
    assert lr.text() == "auto"
    lr.selectAll()
    qtbot.keyClicks(lr, "2.5e-5")
    qtbot.keyClick(lr, Qt.Key.Key_Return)
    assert lr.value() == pytest.approx(2.5e-5) and lr.text() == "2.5e-5"
    assert view.fields["caption_dropout"].text() == "0.1"
    assert "--lora-alpha" in alpha.toolTip() and "folded into the up weights" in alpha.toolTip()
    assert "recompute activations" in view.fields["gradient_checkpointing"].toolTip()
