"""The captioning stage in batches: fakes record what they were asked; a tiny Qwen2.5-VL runs the
real batched ``generate`` (built by test_autotag_hf's helper, offline)."""

from __future__ import annotations

import json
import logging

import pytest
from autotag_fixtures import add_clip, solid, write_clip

from workstation import cli
from workstation.core import review
from workstation.core.autotag import CaptionerKind, CaptionServerError, CaptionSettings
from workstation.core.autotag.base import CaptionOutOfMemory
from workstation.core.autotag.captioning import caption_clips, is_out_of_memory
from workstation.core.progress import Cancelled, CancelToken, drive


class FakeCaptioner:
    """Answers without a model; records every call (batch sizes, single calls, frame counts)."""

    model_id = "fake:vlm"

    def __init__(self, fail_batches: list[Exception] | None = None) -> None:
        self.batches: list[int] = []
        self.singles = 0
        self.frames: list[int] = []
        self.fail_batches = list(fail_batches or [])

    def caption(self, frames, prompt):
        self.singles += 1
        self.frames.append(len(frames))
        return f"one: {prompt}"

    def caption_many(self, items):
        self.batches.append(len(items))
        if self.fail_batches:
            raise self.fail_batches.pop(0)
        self.frames += [len(frames) for frames, _ in items]
        return [f" many: {prompt} " for _, prompt in items]


class ServerLikeCaptioner:
    """Like the OpenAI-compatible captioner: no ``caption_many``."""

    model_id = "openai:fake"

    def __init__(self) -> None:
        self.calls = 0

    def caption(self, frames, prompt):
        self.calls += 1
        return "from the server"


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    # 48 frames at 24 fps, sampled at 1 fps -> 2 frames per clip
    return write_clip(tmp_path_factory.mktemp("capb") / "green.mp4", solid((20, 200, 20), n=48))


def clips(project, clip_file, tmp_path, n: int) -> list[int]:
    ids = []
    for k in range(n):
        path = tmp_path / f"c{k}.mp4"
        path.write_bytes(clip_file.read_bytes())
        ids.append(add_clip(project, path, 48))
    return ids


def stored(project) -> dict[int, tuple[str, str]]:
    rows = project.db.execute("SELECT clip_id, text, source FROM captions").fetchall()
    return {r["clip_id"]: (r["text"], r["source"]) for r in rows}


def test_batches_of_the_setting_size_and_same_storage(project, clip_file, tmp_path):
    ids = clips(project, clip_file, tmp_path, 5)
    fake = FakeCaptioner()
    settings = CaptionSettings(batch_size=2, prompt="P {tags}")
    summary = drive(caption_clips(project, None, settings, captioner=fake))
    # 5 clips in batches of 2: [2, 2, 1]; a batch of one asks caption() (HFCaptioner's
    # caption() is caption_many of one item plus the empty-answer check)
    assert fake.batches == [2, 2] and fake.singles == 1
    assert fake.frames == [2] * 5
    assert summary.captioned == ids and not summary.failed
    row = project.db.execute("SELECT * FROM captions WHERE clip_id=?", (ids[0],)).fetchone()
    assert (row["text"], row["source"], row["model"], row["prompt"]) == (
        "many: P none",
        "auto",
        "fake:vlm",
        "P none",
    )
    # skip / redo unchanged; a manual caption is never replaced, not even with redo
    review.set_caption(project, [ids[1]], "mine")
    again = FakeCaptioner()
    summary = drive(caption_clips(project, None, settings, captioner=again))
    assert again.batches == [] and summary.kept_manual == [ids[1]] and len(summary.skipped) == 4
    redo = FakeCaptioner()
    summary = drive(
        caption_clips(project, None, CaptionSettings(redo=True, batch_size=3), captioner=redo)
    )
    assert redo.batches == [3] and redo.singles == 1
    assert summary.captioned == [ids[0], *ids[2:]] and summary.kept_manual == [ids[1]]
    assert stored(project)[ids[1]] == ("mine", "manual")


def test_batch_size_one_and_captioners_without_batches(project, clip_file, tmp_path):
    ids = clips(project, clip_file, tmp_path, 3)
    fake = FakeCaptioner()
    summary = drive(caption_clips(project, None, CaptionSettings(), captioner=fake, batch_size=1))
    assert fake.batches == [] and fake.singles == 3 and summary.captioned == ids
    server = ServerLikeCaptioner()
    settings = CaptionSettings(redo=True, batch_size=8)
    summary = drive(caption_clips(project, None, settings, captioner=server))
    assert server.calls == 3 and summary.captioned == ids
    with pytest.raises(Exception, match=r"batch_size: must be at least 1 \(got 0\)"):
        CaptionSettings(batch_size=0)


def test_a_bad_clip_fails_alone_and_its_batch_is_captioned(project, clip_file, tmp_path):
    ids = clips(project, clip_file, tmp_path, 4)
    (tmp_path / "c1.mp4").write_bytes(b"not a video")
    fake = FakeCaptioner()
    summary = drive(caption_clips(project, None, CaptionSettings(batch_size=4), captioner=fake))
    assert fake.batches == [3]
    assert summary.captioned == [ids[0], ids[2], ids[3]]
    assert list(summary.failed) == [ids[1]] and "c1.mp4" in summary.failed[ids[1]]
    assert ids[1] not in stored(project)


@pytest.mark.parametrize(
    "oom",
    [
        RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        CaptionOutOfMemory("transformers:x: out of GPU memory on a batch of 3 clips"),
    ],
)
def test_out_of_memory_batch_is_retried_one_clip_at_a_time(
    project, clip_file, tmp_path, caplog, oom
):
    ids = clips(project, clip_file, tmp_path, 5)
    fake = FakeCaptioner(fail_batches=[oom])
    with caplog.at_level(logging.WARNING, logger="workstation.core.autotag.captioning"):
        summary = drive(caption_clips(project, None, CaptionSettings(batch_size=3), captioner=fake))
    assert fake.batches == [3, 2] and fake.singles == 3  # the failed batch, one by one
    assert summary.captioned == ids and not summary.failed
    assert [stored(project)[i][0][:4] for i in ids] == ["one:"] * 3 + ["many"] * 2
    assert "out of memory with a batch of 3 clips (c0.mp4, c1.mp4, c2.mp4)" in caplog.text
    assert "one at a time" in caplog.text


def test_is_out_of_memory():
    import torch

    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA error"))
    assert is_out_of_memory(RuntimeError("[enforce fail] DefaultCPUAllocator: out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(CaptionServerError("HTTP 500"))


def test_other_batch_errors_and_empty_answers(project, clip_file, tmp_path, caplog):
    ids = clips(project, clip_file, tmp_path, 2)
    fake = FakeCaptioner(fail_batches=[ValueError("processor cannot pad")])
    with caplog.at_level(logging.WARNING, logger="workstation.core.autotag.captioning"):
        summary = drive(caption_clips(project, None, CaptionSettings(), captioner=fake))
    assert summary.captioned == ids and fake.singles == 2
    assert "failed (processor cannot pad); captioning them one at a time" in caplog.text

    class Quiet(FakeCaptioner):
        def caption_many(self, items):
            return ["", " said something "][: len(items)]

    summary = drive(caption_clips(project, None, CaptionSettings(redo=True), captioner=Quiet()))
    assert summary.captioned == [ids[1]] and "empty caption" in summary.failed[ids[0]]
    assert stored(project)[ids[1]][0] == "said something"


def test_cancel_between_batches_keeps_finished_clips(project, clip_file, tmp_path):
    ids = clips(project, clip_file, tmp_path, 6)
    fake = FakeCaptioner()
    token = CancelToken()

    def on_progress(p):
        if p.message == "done" and p.done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        drive(
            caption_clips(project, None, CaptionSettings(batch_size=2), captioner=fake),
            on_progress,
            token,
        )
    assert fake.batches == [2] and sorted(stored(project)) == ids[:2]


# -- the real batched generate on a tiny random Qwen2.5-VL ------------------------------------
@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory):
    from test_autotag_hf import build_tiny_vlm

    return build_tiny_vlm(tmp_path_factory.mktemp("tiny-qwen25vl-batch"))


@pytest.fixture()
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


@pytest.fixture(scope="module")
def vlm_clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("vlm-clips")
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (90, 90, 90)]
    # different lengths -> different frame counts in one batch (the processor pads them)
    return [
        write_clip(d / f"v{k}.mp4", solid(c, n=12 + 6 * k, w=160, h=96))
        for k, c in enumerate(colours)
    ]


def test_tiny_vlm_batched_and_unbatched(project, tiny_vlm, vlm_clips, offline, monkeypatch):
    from workstation.core.autotag.hf_captioner import HFCaptioner, caption_and_free

    ids = [add_clip(project, p, 12 + 6 * k) for k, p in enumerate(vlm_clips)]
    review.set_caption(project, [ids[2]], "hand written")
    sizes: list[int] = []
    real = HFCaptioner.caption_many

    def spy(self, items):
        sizes.append(len(items))
        return real(self, items)

    monkeypatch.setattr(HFCaptioner, "caption_many", spy)
    base = dict(
        backend=CaptionerKind.TRANSFORMERS,
        model=str(tiny_vlm),
        server="",
        sample_fps=8,
        max_frames=4,
        max_tokens=6,
        temperature=0,
        prompt="Describe. Tags: {tags}",
    )
    one = drive(
        caption_and_free(project, None, CaptionSettings(**base, batch_size=1), device="cpu")
    )
    assert sizes == [1, 1, 1, 1] and one.kept_manual == [ids[2]]
    assert one.captioned == [i for i in ids if i != ids[2]] and not one.failed
    unbatched = {i: t for i, (t, _) in stored(project).items()}

    sizes.clear()
    settings = CaptionSettings(**base, batch_size=3, redo=True)
    many = drive(caption_and_free(project, None, settings, device="cpu"))
    assert sizes == [3, 1] and many.captioned == one.captioned and many.kept_manual == [ids[2]]
    rows = stored(project)
    assert rows[ids[2]] == ("hand written", "manual")
    assert all(rows[i][1] == "auto" and rows[i][0] for i in many.captioned)
    # greedy decoding: a left-padded batch row says what the clip alone says
    assert {i: t for i, (t, _) in rows.items()} == unbatched


def test_cli_batch_size(project, tiny_vlm, vlm_clips, offline, monkeypatch, capsys):
    from workstation.core.autotag.hf_captioner import HFCaptioner

    ids = [add_clip(project, p, 12 + 6 * k) for k, p in enumerate(vlm_clips[:3])]
    sizes: list[int] = []
    real = HFCaptioner.caption_many
    monkeypatch.setattr(
        HFCaptioner,
        "caption_many",
        lambda self, items: sizes.append(len(items)) or real(self, items),
    )
    args = ["-q", "caption", str(project.root), "--model", str(tiny_vlm), "--device", "cpu"]
    rc = cli.main([*args, "--max-frames", "2", "--batch-size", "3", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and out["captioned"] == ids and sizes == [3]


class SmallCardCaptioner(FakeCaptioner):
    """Runs out of memory with more than two clips at once."""

    def caption_many(self, items):
        if len(items) > 2:
            self.batches.append(len(items))
            raise CaptionOutOfMemory("fake:vlm: CUDA out of memory")
        return super().caption_many(items)


def test_after_out_of_memory_the_rest_of_the_run_uses_smaller_batches(
    project, clip_file, tmp_path, caplog
):
    ids = clips(project, clip_file, tmp_path, 7)
    fake = SmallCardCaptioner()
    with caplog.at_level(logging.WARNING, logger="workstation.core.autotag.captioning"):
        summary = drive(caption_clips(project, None, CaptionSettings(batch_size=4), captioner=fake))
    # 4 fails -> those 4 one by one, then batches of 2: [2], and the last clip alone.
    assert fake.batches == [4, 2] and fake.singles == 5
    assert summary.captioned == ids and not summary.failed
    assert "batch size lowered to 2 for the rest of this run" in caplog.text
