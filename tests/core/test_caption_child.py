"""The local captioner in a child process (issue 17): a real subprocess of this Python runs
``workstation.core.autotag.caption_child`` with the stand-in captioner below (``--factory``), so
no torch model is needed; and the choice between in-process and child with the managed
environment's functions monkeypatched."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from autotag_fixtures import add_clip, solid, write_clip

from workstation.core import training_env
from workstation.core.autotag import CaptionerKind, CaptionSettings, create_captioner
from workstation.core.autotag import caption_child as cc
from workstation.core.autotag.base import CaptionOutOfMemory, CaptionServerError, ModelError
from workstation.core.autotag.frames import SampledFrames
from workstation.core.errors import WorkstationError
from workstation.core.progress import Cancelled, CancelToken, drive

FACTORY = f"{Path(__file__).stem}:stand_in"


class StandIn:
    """Answers from what it was sent (frame count, shape, timing) so the test sees it crossed."""

    def __init__(self, model: str, **options: object) -> None:
        self.model_id = f"stand-in:{model}"
        self.options = options

    def caption_many(self, items):
        out = []
        for frames, prompt in items:
            if prompt == "fail":
                raise CaptionServerError(f"{self.model_id}: no caption for this one")
            if prompt == "oom":
                raise CaptionOutOfMemory(f"{self.model_id}: out of GPU memory on a batch")
            if prompt == "crash":
                raise RuntimeError("index 7 is out of bounds\nmore detail")
            if prompt == "die":
                print("dying on purpose", file=sys.stderr, flush=True)
                os._exit(3)
            if prompt == "options":
                out.append(repr(sorted(self.options.items())))
                continue
            print("chatty library output", flush=True)  # must not break the protocol
            numbers = getattr(frames, "numbers", None)
            fps = getattr(frames, "fps", None)
            shape = tuple(np.asarray(frames[0]).shape)
            out.append(f"{prompt}|{len(frames)}|{shape}|{numbers}|{fps}|{int(frames[-1][0, 0, 0])}")
        return out


def stand_in(model: str, **options: object) -> StandIn:
    if model == "bad":
        raise ModelError(model, "no such model folder")
    return StandIn(model, **options)


@pytest.fixture()
def child_path(monkeypatch):
    """The child imports this test module: its folder goes on the child's PYTHONPATH."""
    here = str(Path(__file__).parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    )


def start(model: str = "tiny", **options: object) -> cc.ChildCaptioner:
    return cc.ChildCaptioner.start(model, factory=FACTORY, python=sys.executable, **options)


def frames(n: int, value: int) -> list[np.ndarray]:
    return [np.full((4, 6, 3), value, dtype=np.uint8) for _ in range(n)]


def test_captions_come_back_in_order_with_frames_and_timing(child_path):
    timed = SampledFrames(frames(3, 9), [0, 12, 24], fps=24.0, frame_count=48)
    with start() as cap:
        assert cap.model_id == "stand-in:tiny"
        texts = cap.caption_many([(frames(2, 5), "a"), (timed, "b"), (frames(1, 200), "c")])
        assert texts == [
            "a|2|(4, 6, 3)|None|None|5",
            "b|3|(4, 6, 3)|[0, 12, 24]|24.0|9",
            "c|1|(4, 6, 3)|None|None|200",
        ]
        # a second batch on the same child
        assert cap.caption(frames(1, 1), "again") == "again|1|(4, 6, 3)|None|None|1"


def test_load_options_reach_the_child(child_path):
    with start(device="cpu", max_tokens=7, temperature=0.0, sample_fps=2.5) as cap:
        (text,) = cap.caption_many([(frames(1, 0), "options")])
    assert text == repr(
        sorted({"device": "cpu", "max_tokens": 7, "temperature": 0.0, "sample_fps": 2.5}.items())
    )


def test_error_sentences_cross_and_the_child_goes_on(child_path):
    with start() as cap:
        with pytest.raises(CaptionServerError, match="stand-in:tiny: no caption") as err:
            cap.caption_many([(frames(1, 0), "fail")])
        assert not err.value.unreachable  # one clip fails; the run goes on
        with pytest.raises(CaptionOutOfMemory, match="out of GPU memory"):
            cap.caption_many([(frames(1, 0), "oom")])
        with pytest.raises(WorkstationError) as crash:
            cap.caption_many([(frames(1, 0), "crash")])
        assert str(crash.value) == "stand-in:tiny: captioning failed: index 7 is out of bounds"
        assert cap.caption(frames(1, 3), "fine").startswith("fine|")


def test_a_model_that_cannot_load_is_one_sentence(child_path):
    with pytest.raises(WorkstationError) as err:
        start("bad")
    assert str(err.value) == "bad: no such model folder"


def test_a_killed_child_gives_one_sentence_naming_the_model(child_path):
    cap = start("owner/vlm")
    cap.proc.kill()
    cap.proc.wait()
    with pytest.raises(CaptionServerError) as err:
        cap.caption_many([(frames(1, 0), "a")])
    assert err.value.unreachable  # stops the run: every clip would fail alike
    assert str(err.value).startswith("owner/vlm: the captioning process stopped unexpectedly")
    cap.close()


def test_a_child_that_dies_mid_batch_names_its_last_words(child_path):
    with start("owner/vlm") as cap, pytest.raises(CaptionServerError) as err:
        cap.caption_many([(frames(1, 0), "die")])
    assert "exit code 3" in str(err.value) and "dying on purpose" in str(err.value)
    assert "Traceback" not in str(err.value)


def test_close_ends_the_child(child_path):
    cap = start()
    cap.close()
    assert cap.proc.poll() == 0


# -- the stage: cancel between batches ends the child -------------------------------------------
@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("capc") / "green.mp4", solid((20, 200, 20), n=48))


def test_stage_through_the_child_and_cancel_between_batches(
    project, clip_file, tmp_path, child_path, monkeypatch
):
    from workstation.core.autotag.hf_captioner import caption_and_free

    ids = []
    for k in range(6):
        path = tmp_path / f"c{k}.mp4"
        path.write_bytes(clip_file.read_bytes())
        ids.append(add_clip(project, path, 48))
    started: list[cc.ChildCaptioner] = []

    def child(model, **options):
        started.append(start(model, **options))
        return started[-1]

    monkeypatch.setattr(cc, "local_captioner", child)
    token = CancelToken()

    def on_progress(p):
        if p.message == "done" and p.done == 2:
            token.cancel()

    settings = CaptionSettings(backend=CaptionerKind.TRANSFORMERS, model="m", batch_size=2)
    with pytest.raises(Cancelled):
        drive(caption_and_free(project, None, settings, device="cpu"), on_progress, token)
    rows = project.db.execute("SELECT clip_id, text FROM captions ORDER BY clip_id").fetchall()
    assert [r["clip_id"] for r in rows] == ids[:2]
    _, count, _, numbers, fps, _ = rows[0]["text"].rsplit("|", 5)
    assert count == "2" and numbers != "None" and fps == "24.0"  # the clip's timing crossed
    (cap,) = started
    assert cap.proc.poll() is not None  # the child ended with the stage


# -- which captioner: in process, child, or a sentence saying what to install ------------------
class Env:
    variant = "cpu"


@pytest.fixture()
def choice(monkeypatch):
    made: list[str] = []

    def fake_start(model, **options):
        made.append("child")
        return "child captioner"

    def fake_load(model, **options):
        made.append("here")
        return "in-process captioner"

    from workstation.core.autotag.hf_captioner import HFCaptioner

    monkeypatch.setattr(cc.ChildCaptioner, "start", staticmethod(fake_start))
    monkeypatch.setattr(HFCaptioner, "load", staticmethod(fake_load))

    def set_state(*, frozen: bool, env: bool, torch: bool) -> None:
        monkeypatch.setattr(training_env, "is_frozen", lambda: frozen)
        monkeypatch.setattr(training_env, "installed", lambda folder=None: Env() if env else None)
        monkeypatch.setattr(cc, "missing_here", lambda: [] if torch else ["torch", "transformers"])

    set_state.made = made  # type: ignore[attr-defined]
    return set_state


@pytest.mark.parametrize(
    ("frozen", "env", "torch", "where"),
    [
        (False, False, True, "here"),  # development set-up: unchanged
        (False, True, True, "here"),
        (False, True, False, "child"),  # torch only in the managed environment
        (True, True, False, "child"),  # the packaged app
        (True, True, True, "child"),  # frozen never imports torch itself
    ],
)
def test_where_the_model_runs(choice, frozen, env, torch, where):
    choice(frozen=frozen, env=env, torch=torch)
    settings = CaptionSettings(backend=CaptionerKind.TRANSFORMERS, model="owner/vlm")
    create_captioner(settings)
    assert choice.made == [where]


def test_packaged_app_without_the_environment_says_how_to_install(choice):
    choice(frozen=True, env=False, torch=False)
    with pytest.raises(ModelError) as err:
        create_captioner(CaptionSettings(backend=CaptionerKind.TRANSFORMERS, model="owner/vlm"))
    text = str(err.value)
    assert text.startswith("owner/vlm: needs the training components")
    assert "Install training components… (Help menu)" in text
    assert "`workstation setup-training`" in text and "pip install" not in text
    assert choice.made == []


def test_development_without_torch_or_environment_says_both_ways(choice):
    choice(frozen=False, env=False, torch=False)
    with pytest.raises(ModelError, match=r"needs torch and transformers.*setup-training"):
        create_captioner(CaptionSettings(backend=CaptionerKind.TRANSFORMERS, model="owner/vlm"))
    assert choice.made == []


def test_checking_a_local_captioner_in_the_packaged_app_goes_through_the_child(
    child_path, monkeypatch
):
    """The Models dialog's "Check it loads" runs where captioning will run: in the packaged
    app, the training components' Python (here the stand-in through a real child)."""
    from workstation.core.autotag.models import check_stage

    monkeypatch.setattr(training_env, "is_frozen", lambda: True)
    monkeypatch.setattr(training_env, "installed", lambda folder=None: Env())
    real = cc.ChildCaptioner.start

    def with_stand_in(model, **options):
        return real(model, factory=FACTORY, python=sys.executable, **options)

    monkeypatch.setattr(cc.ChildCaptioner, "start", staticmethod(with_stand_in))
    said = drive(check_stage("owner/vlm", "captioner", "cpu"))
    assert said == "owner/vlm loads on cpu in the training components' Python"
