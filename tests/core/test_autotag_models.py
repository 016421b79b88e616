"""The models on this machine without Qt: model folders kept in the project, the download stage."""

from __future__ import annotations

import pytest

from workstation.core.autotag import ModelError, models
from workstation.core.autotag.models import (
    add_model_folder,
    download_stage,
    list_models,
    model_folders,
    model_kind,
)
from workstation.core.progress import drive
from workstation.core.store import Project


def test_model_folders_are_kept_in_the_project(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "cached_models", lambda: [])  # this machine's HF cache aside
    junk = tmp_path / "junk"
    junk.mkdir()
    vlm = tmp_path / "vlm"
    vlm.mkdir()
    (vlm / "config.json").write_text("{}")
    tagger = tmp_path / "wd"
    tagger.mkdir()
    (tagger / "model.onnx").write_bytes(b"x")
    (tagger / "selected_tags.csv").write_text("tag_id,name,category,count\n")
    assert [model_kind(p) for p in (junk, vlm, tagger)] == ["?", "captioner", "tagger"]
    with Project.create(tmp_path / "p") as project:
        with pytest.raises(ModelError, match="holds no model"):
            add_model_folder(project, junk)
        with pytest.raises(ModelError, match="no such folder"):
            add_model_folder(project, tmp_path / "nowhere")
        assert add_model_folder(project, vlm) == str(vlm.resolve())
        assert add_model_folder(project, tagger) == str(tagger.resolve())
        assert add_model_folder(project, vlm) == str(vlm.resolve())  # no duplicate
        assert model_folders(project) == [str(vlm.resolve()), str(tagger.resolve())]
    (tagger / "model.onnx").unlink()
    (tagger / "selected_tags.csv").unlink()
    tagger.rmdir()
    with Project.open(tmp_path / "p") as project:
        entries = [(e.where, e.kind) for e in list_models(project)]
    assert entries == [("folder", "captioner"), ("folder (missing)", "?")]


def test_download_says_offline_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE is set"):
        drive(download_stage("someone/tiny"))
