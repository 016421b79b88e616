"""What the target trainers will do with an exported clip of N frames, and the totals a person
reads after an export (:func:`trainer_report`).

* **AnimateDiff** (its ``WebVid10M`` loader, 16 frames at stride 4): it takes
  ``min(frames, 61)`` frames and spreads its 16 samples over them with ``np.linspace``.  A clip
  of 61 frames or more fits; a shorter one is *stretched* (the 16 samples are closer together
  than stride 4, so the motion it learns is slower than the clip's); one of fewer than 16
  frames gets frames *repeated*.
* **4N+1 trainers** (Wan, HunyuanVideo through musubi-tuner or diffusion-pipe): their video
  VAEs take 4N+1 frames, so the last ``(frames - 1) % 4`` frames are *dropped*.

Each :class:`~.settings.TrainerNote` carries an :class:`Effect`, so a window or a script counts
clips by what happens to them instead of reading the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from workstation.core.export.settings import ExportedClip, TrainerNote

# AnimateDiff's default sampling: 16 frames at stride 4 spans 61 source frames.
ANIMATEDIFF_FRAMES = 16
ANIMATEDIFF_STRIDE = 4
ANIMATEDIFF_SPAN = (ANIMATEDIFF_FRAMES - 1) * ANIMATEDIFF_STRIDE + 1

ANIMATEDIFF = "animatediff"
FOUR_N_PLUS_ONE = "4n+1"

#: The trainers the notes speak of, as people call them.
TRAINER_LABELS = {
    ANIMATEDIFF: f"AnimateDiff ({ANIMATEDIFF_FRAMES} frames at stride {ANIMATEDIFF_STRIDE}, "
    f"a {ANIMATEDIFF_SPAN}-frame span)",
    FOUR_N_PLUS_ONE: "4N+1 trainers (Wan, HunyuanVideo)",
}


class Effect(StrEnum):
    """What a trainer's loader does to a clip."""

    FITS = "fits"
    STRETCH = "stretch"  # fewer frames than the span: the samples come closer, motion slows
    REPEAT = "repeat"  # fewer frames than samples: some frames are used twice
    DROP = "drop"  # frames past the last 4N+1 are not used


def trainer_notes(frames: int) -> list[TrainerNote]:
    """How AnimateDiff and 4N+1 trainers (Wan, HunyuanVideo) will read a clip of ``frames``."""
    return [_animatediff(frames), _four_n_plus_one(frames)]


def _animatediff(frames: int) -> TrainerNote:
    n, span = ANIMATEDIFF_FRAMES, ANIMATEDIFF_SPAN
    if frames >= span:
        return TrainerNote(ANIMATEDIFF, True, f"{n} frames at stride {ANIMATEDIFF_STRIDE} fit")
    if frames >= n:
        stride = (frames - 1) // (n - 1)
        return TrainerNote(
            ANIMATEDIFF,
            False,
            f"{frames} frames < {span}: the official loader spreads its {n} samples over "
            f"{frames} frames (stride {(frames - 1) / (n - 1):.1f} instead of "
            f"{ANIMATEDIFF_STRIDE}), so the motion plays {(span - 1) / (frames - 1):.1f}x slower; "
            f"stride {stride} would fit (the workstation trainer uses it)",
            Effect.STRETCH,
        )
    return TrainerNote(
        ANIMATEDIFF,
        False,
        f"{frames} frames < {n}: too short for a {n}-frame sample; the official loader "
        "repeats frames",
        Effect.REPEAT,
    )


def _four_n_plus_one(frames: int) -> TrainerNote:
    usable = frames - (frames - 1) % 4 if frames >= 1 else 0
    if usable == frames:
        return TrainerNote(FOUR_N_PLUS_ONE, True, f"{frames} = 4N+1 frames")
    return TrainerNote(
        FOUR_N_PLUS_ONE,
        False,
        f"{frames} frames is not 4N+1: trimmed to {usable} (the last {frames - usable} dropped)",
        Effect.DROP,
    )


_SAYS = {
    (ANIMATEDIFF, Effect.STRETCH): "shorter than {span} frames: stretched (the motion it "
    "learns is slower than the clip's)",
    (ANIMATEDIFF, Effect.REPEAT): "shorter than {n} frames: frames repeated",
    (FOUR_N_PLUS_ONE, Effect.DROP): "not 4N+1 frames long: the last 1 to 3 frames dropped",
}


@dataclass
class TrainerGroup:
    """The exported clips one trainer treats one way (``effect``)."""

    trainer: str
    effect: Effect
    clips: list[ExportedClip] = field(default_factory=list)

    @property
    def label(self) -> str:
        return TRAINER_LABELS.get(self.trainer, self.trainer)

    def sentence(self) -> str:
        """E.g. "12 clips shorter than 61 frames: stretched (…)" ("1 clip …" for one)."""
        n = len(self.clips)
        noun = "clip" if n == 1 else "clips"
        if self.effect is Effect.FITS:
            return f"{n} {noun} fit as they are"
        said = _SAYS.get((self.trainer, self.effect), self.effect.value)
        return f"{n} {noun} {said.format(span=ANIMATEDIFF_SPAN, n=ANIMATEDIFF_FRAMES)}"


def trainer_report(clips: Iterable[ExportedClip]) -> list[TrainerGroup]:
    """Per trainer (AnimateDiff first), one group per effect, the clips that fit first; a
    group only when a clip is in it (none at all for no clips)."""
    groups: dict[tuple[str, Effect], TrainerGroup] = {}
    for c in sorted(clips, key=lambda c: c.key):
        for note in c.notes:
            effect = Effect(note.effect)
            groups.setdefault((note.trainer, effect), TrainerGroup(note.trainer, effect))
            groups[(note.trainer, effect)].clips.append(c)
    order = list(TRAINER_LABELS)
    effects = list(Effect)
    return [
        groups[k]
        for k in sorted(
            groups,
            key=lambda k: (order.index(k[0]) if k[0] in order else len(order), effects.index(k[1])),
        )
    ]
