"""The models on this machine without Qt: model folders kept in the project (checked on add),
the download plan, the download stage (progress, cancel, offline), the server's model list."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workstation.core.autotag import ModelError, downloads, models
from workstation.core.autotag.downloads import (
    DownloadPlan,
    OfflineError,
    download_plan,
    download_stage,
    hub_problem,
    plan_files,
    plans_stage,
)
from workstation.core.autotag.models import (
    add_model_folder,
    check_folder,
    list_models,
    model_folders,
    model_kind,
    tagger_problem,
)
from workstation.core.progress import drive
from workstation.core.store import Project

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autotag_fixtures import write_tiny_model


def test_model_folders_are_kept_in_the_project(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "cached_models", lambda: [])  # this machine's HF cache aside
    junk = tmp_path / "junk"
    junk.mkdir()
    vlm = tmp_path / "vlm"
    vlm.mkdir()
    (vlm / "config.json").write_text('{"model_type": "bert"}')
    (vlm / "model.safetensors").write_bytes(b"x" * 16)
    tagger = write_tiny_model(tmp_path / "wd")
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


def test_a_junk_model_is_refused_when_added_with_the_reason(tmp_path):
    """A 9-byte model.onnx looks like a tagger by its files; loading it (the real path, as
    the tag job would) refuses it before it is listed."""
    junk = tmp_path / "junk-wd"
    write_tiny_model(junk)
    (junk / "model.onnx").write_bytes(b"not onnx!")
    assert model_kind(junk) == "tagger"
    with Project.create(tmp_path / "p") as project:
        with pytest.raises(ModelError, match=r"model\.onnx: not an ONNX model onnxruntime can"):
            add_model_folder(project, junk)
        assert model_folders(project) == []
        weightless = tmp_path / "vlm"
        weightless.mkdir()
        (weightless / "config.json").write_text("{}")
        with pytest.raises(ModelError, match="has no weights"):
            add_model_folder(project, weightless)
        (weightless / "model.safetensors").write_bytes(b"x")
        with pytest.raises(ModelError, match="config.json is not one transformers can read"):
            add_model_folder(project, weightless)
    assert check_folder(write_tiny_model(tmp_path / "good")) == "tagger"


def test_tagger_problem_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "cached_models", lambda: [])
    assert tagger_problem(str(write_tiny_model(tmp_path / "wd"))) is None
    (tmp_path / "half").mkdir()
    assert "no model.onnx or selected_tags.csv" in tagger_problem(str(tmp_path / "half"))
    assert "no such folder" in tagger_problem(str(tmp_path / "gone"))
    assert "not on this machine yet: download it in Models" in tagger_problem("someone/tagger")


def test_download_says_offline_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    plan = DownloadPlan("someone/tiny", "tagger", (("model.onnx", 10),))
    with pytest.raises(OfflineError, match="^You are offline: HF_HUB_OFFLINE is set, so "):
        drive(download_stage(plan))
    with pytest.raises(OfflineError, match="^You are offline"):
        download_plan("someone/tiny")
    answer = drive(plans_stage(["a/b", "c/d"]))
    assert all(v.startswith("You are offline") for v in answer.values()) and len(answer) == 2


def test_a_connection_error_reads_as_offline(monkeypatch):
    """What httpx raises without network becomes one plain sentence, never a ConnectError."""

    class ConnectError(Exception):  # named like httpx's; matched by its class name
        pass

    try:
        try:
            raise ConnectError("[Errno -3] Temporary failure in name resolution")
        except ConnectError as inner:
            raise RuntimeError("request failed") from inner
    except RuntimeError as exc:
        problem = hub_problem("someone/tiny", exc)
    assert isinstance(problem, OfflineError)
    assert str(problem).startswith("You are offline: huggingface.co cannot be reached, so ")
    assert "ConnectError" not in str(problem) and "Errno" not in str(problem)
    assert "the hub answered with an error: boom" in str(hub_problem("a/b", ValueError("boom")))

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    from huggingface_hub import HfApi

    def no_network(self, repo_id, **kwargs):
        raise ConnectError("All connection attempts failed")

    monkeypatch.setattr(HfApi, "model_info", no_network)
    with pytest.raises(OfflineError, match="^You are offline: huggingface.co cannot be reached"):
        download_plan("SmilingWolf/wd-vit-tagger-v3")


def test_plan_files_picks_what_the_workstation_loads():
    tagger = plan_files(
        "sw/wd",
        [("model.onnx", 400), ("selected_tags.csv", 5), ("README.md", 1), ("sample.png", 9)],
    )
    assert tagger.kind == "tagger" and tagger.size == 405
    assert [n for n, _ in tagger.files] == ["model.onnx", "selected_tags.csv"]
    vlm = plan_files(
        "q/vl",
        [
            ("config.json", 2),
            ("model-00001.safetensors", 100),
            ("pytorch_model.bin", 100),
            ("onnx/model.onnx", 50),
            ("model.gguf", 70),
            ("tokenizer.json", 3),
        ],
    )
    assert vlm.kind == "captioner" and vlm.size == 105
    with pytest.raises(ModelError, match="neither a WD14 tagger"):
        plan_files("x/y", [("weights.gguf", 1)])


def _fake_fetch(root: Path, chunks: int, chunk_s: float = 0.0):
    """A stand-in for hf_hub_download: reports bytes through the given progress bar."""
    import threading

    def fetch(repo_id, filename, bar):
        size, slow = 100, threading.Event()
        with bar(total=size, initial=0) as b:
            for _ in range(chunks):
                slow.wait(chunk_s)  # a slow network
                b.update(size // chunks)
        path = root / "snapshots" / "abc" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
        return str(path)

    return fetch


def test_download_stage_counts_bytes_and_returns_the_snapshot(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    plan = DownloadPlan("sw/wd", "tagger", (("model.onnx", 100), ("selected_tags.csv", 100)))
    seen = []
    folder = drive(download_stage(plan, _fake_fetch(tmp_path, 4)), seen.append)
    assert folder == str(tmp_path / "snapshots" / "abc")
    assert seen[-1].done == seen[-1].total == 200
    assert all(a.done <= b.done for a, b in zip(seen, seen[1:], strict=False))


def test_cancel_stops_a_download_in_mid_file(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    plan = DownloadPlan("q/vl", "captioner", (("model.safetensors", 100),))
    stage = download_stage(plan, _fake_fetch(tmp_path, 100, chunk_s=0.05))  # 5 s in all
    next(stage)
    while next(stage).done < 3:  # some bytes are in
        pass
    # What the job does on cancel: close() waits for the fetch thread (up to 30 s); it must
    # end at its next chunk, before the file is complete.
    stage.close()
    assert not (tmp_path / "snapshots" / "abc" / "model.safetensors").exists()


def test_download_errors_read_plainly(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def fail(repo_id, filename, bar):
        raise OSError(28, "No space left on device")

    plan = DownloadPlan("q/vl", "captioner", (("config.json", 1),))
    with pytest.raises(ModelError, match="q/vl: the hub answered with an error: .*No space left"):
        drive(download_stage(plan, fail))
    assert downloads.is_connection_error(OSError()) is False
