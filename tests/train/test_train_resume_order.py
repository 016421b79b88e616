"""A stopped-and-resumed run trains on the same data order as an uninterrupted one.

Checked on tiny random models: one run of 5 steps (3 clips, batch 1, gradient accumulation 2,
so an epoch is 2 steps), then runs resumed from its checkpoints mid-epoch and exactly at an
epoch's end. The timeline of batches (clip indices and windows: start frame, crop, flip) and
steps (with their losses) must match the original's tail, with and without loader workers.
"""

from __future__ import annotations

import pytest
from accelerate.state import AcceleratorState

from workstation.train.resume import resume_position
from workstation.train.run import train

pytestmark = pytest.mark.slow


def test_resume_position_counts_accumulation_and_the_short_last_group():
    # 3 batches an epoch, accumulation 2: steps sync after batch 2 and at the epoch's end.
    assert resume_position(0, 3, 2) == (0, 0)
    assert resume_position(1, 3, 2) == (0, 2)
    assert resume_position(2, 3, 2) == (1, 0)
    assert resume_position(3, 3, 2) == (1, 2)
    assert resume_position(7, 10, 1) == (0, 7)
    assert resume_position(10, 10, 1) == (1, 0)
    assert resume_position(3, 2, 4) == (3, 0)  # accumulation longer than an epoch


def _run(settings, **kw) -> list[tuple]:
    """("batch", clip indices, windows) and ("step", n, loss) in the order the loop did them."""
    timeline: list[tuple] = []

    def emit(event: dict) -> None:
        if event["event"] == "step":
            timeline.append(("step", event["step"], event["loss"]))

    AcceleratorState._reset_state(reset_partial_state=True)

    def on_batch(batch: dict) -> None:
        windows = tuple(tuple(w) for w in batch["window"])
        timeline.append(("batch", tuple(batch["index"]), windows))

    train(settings, emit, on_batch=on_batch)
    return timeline


def _after_step(timeline: list[tuple], step: int) -> list[tuple]:
    at = next(i for i, x in enumerate(timeline) if x[0] == "step" and x[1] == step)
    return timeline[at + 1 :]


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_continues_the_epochs_order(
    tiny_models, make_settings, tmp_path, fresh_accelerate, workers
):
    common = dict(
        num_workers=workers,
        motion_module=str(tiny_models["adapter"]),
        max_steps=5,
        grad_accum=2,
        gradient_checkpointing=False,
        sample_prompts=["red ball"],
    )
    whole = _run(
        make_settings(tmp_path / "whole", checkpoint_every=1, keep_checkpoints=5, **common)
    )
    batches = [x[1] for x in whole if x[0] == "batch"]
    assert [x[1] for x in whole if x[0] == "step"] == [1, 2, 3, 4, 5]
    # 3 usable clips: every epoch is a permutation of them (none repeated, none left out).
    # Step 5 is the first 2 batches of the third epoch.
    assert len(batches) == 8 and all(len(b) == 1 for b in batches)
    epochs = [[b[0] for b in batches[i : i + 3]] for i in (0, 3, 6)]
    assert sorted(epochs[0]) == sorted(epochs[1]) == [0, 1, 2], epochs
    assert len(set(epochs[2])) == 2, epochs

    # Exactly at an epoch's end, and mid-epoch (2 of the epoch's 3 batches done, then across
    # the next epoch's start).
    for stop in (2, 3):
        resumed = _run(
            make_settings(
                tmp_path / f"from-{stop}",
                resume=str(tmp_path / "whole" / f"checkpoint-{stop}"),
                **common,
            )
        )
        expected = _after_step(whole, stop)
        assert [x[:2] for x in resumed] == [x[:2] for x in expected], f"order, from {stop}"
        # The windows are drawn from (seed, epoch, index), not from any process's RNG: the
        # same crops in any worker; the restored RNG gives the same noise: the same losses.
        assert resumed == expected, f"resumed at {stop}"
