"""The cut detector's labelled hard-case set: generated, deterministic, exact ground truth.

Every hard case the detector must handle (cuts between similar-looking shots, 2-5 frame shots,
anime with held drawings, jump cuts, dark grainy footage, fades through black or white,
cross-dissolves) and every trap it must not cut on (camera flashes, lights coming on, fast
motion) appears several times with different seeds, frame rates and frame sizes.  The set is
rebuilt bit for bit from this file, so a benchmark figure always refers to the same footage.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TypedDict

import numpy as np

from workstation.core import synth
from workstation.core.synth import Sequence, Shot, ShotRenderer, Transition, write_video

FRAME_RATES: tuple[Fraction, ...] = (
    Fraction(24000, 1001),
    Fraction(25),
    Fraction(30),
    Fraction(60),
)
SIZES: tuple[tuple[int, int], ...] = ((320, 180), (256, 144), (480, 270), (320, 240))
PLAIN = ("shapes", "texture", "gradient")


def _jump_t0(rng: np.random.Generator, before: Shot, lo: int = 30, hi: int = 90) -> int:
    """A clock jump that is visible: of 8 drawn candidates, the one whose first frame differs
    most from the previous shot's last frame, relative to the shot's own frame-to-frame change
    (a jump that lands on a look-alike pose is no cut a person could see either)."""
    r = ShotRenderer(before, 96, 54)
    tail = [r.frame(before.frames - 1 - k) for k in range(4)][::-1]
    own = max(float(np.abs(a - b).mean()) for a, b in zip(tail, tail[1:], strict=False)) + 1.0
    best, best_ratio = lo, -1.0
    for t0 in rng.integers(before.t0 + before.frames + lo, before.t0 + before.frames + hi, 8):
        after = Shot(before.kind, 2, seed=before.seed, t0=int(t0), look=before.look)
        ratio = float(np.abs(ShotRenderer(after, 96, 54).frame(0) - tail[-1]).mean()) / own
        if ratio > best_ratio:
            best, best_ratio = int(t0), ratio
    return best


def _live(rng: np.random.Generator, s: int) -> Sequence:
    kinds = rng.choice(PLAIN, 9)
    return Sequence(
        [Shot(str(k), int(rng.integers(20, 60)), seed=s + i) for i, k in enumerate(kinds)]
    )


def _similar(rng: np.random.Generator, s: int) -> Sequence:
    """Pairs of shots with the same colours/texture and a different layout."""
    shots = []
    for i in range(4):
        kind = str(rng.choice(("shapes", "texture", "anime", "gradient", "dark")))
        for j in range(2):
            shots.append(
                Shot(kind, int(rng.integers(20, 50)), seed=s + 2 * i + j, look=s + 100 + i)
            )
    return Sequence(shots)


def _short(rng: np.random.Generator, s: int) -> Sequence:
    shots = []
    for i in range(10):
        length = int(rng.integers(2, 6)) if i % 2 else int(rng.integers(20, 40))
        shots.append(Shot(str(rng.choice((*PLAIN, "anime"))), length, seed=s + i))
    return Sequence(shots)


def _anime(rng: np.random.Generator, s: int) -> Sequence:
    shots = [Shot("anime", int(rng.integers(24, 60)), seed=s + i) for i in range(7)]
    shots.insert(4, Shot("anime", 30, seed=shots[3].seed, t0=_jump_t0(rng, shots[3])))
    return Sequence(shots)


def _jump(rng: np.random.Generator, s: int) -> Sequence:
    shots = []
    for i, kind in enumerate(("shapes", "texture", "dark", "anime")):
        first = Shot(kind, int(rng.integers(25, 45)), seed=s + i)
        second = Shot(kind, int(rng.integers(25, 45)), seed=s + i, t0=_jump_t0(rng, first))
        shots += [first, second]
    return Sequence(shots)


def _dark(rng: np.random.Generator, s: int) -> Sequence:
    shots = [Shot("dark", int(rng.integers(25, 60)), seed=s + i) for i in range(7)]
    shots.insert(3, Shot("dark", 30, seed=shots[2].seed, t0=_jump_t0(rng, shots[2])))
    return Sequence(shots)


def _transitions(rng: np.random.Generator, s: int) -> Sequence:
    shots = [Shot(str(rng.choice(PLAIN)), int(rng.integers(45, 70)), seed=s + i) for i in range(7)]
    transitions = [Transition()]
    kinds = ["fade_black", "dissolve", "fade_white", "dissolve", "cut", "fade_black"]
    rng.shuffle(kinds)
    for kind in kinds:
        if kind == "dissolve":
            transitions.append(Transition("dissolve", int(rng.integers(6, 25))))
        elif kind.startswith("fade"):
            transitions.append(
                Transition(kind, int(rng.integers(4, 16)), hold=int(rng.integers(0, 7)))
            )
        else:
            transitions.append(Transition())
    return Sequence(shots, transitions)


def _traps(rng: np.random.Generator, s: int) -> Sequence:
    shots = []
    for i in range(6):
        kind = str(rng.choice(("shapes", "texture", "anime", "dark")))
        length = int(rng.integers(50, 80))
        flashes = [int(rng.integers(8, 20))]
        if i % 2:
            second = int(rng.integers(30, 40))
            flashes += [second, second + 1]  # a two-frame flash
        brighten = int(rng.integers(42, 48)) if i % 3 == 0 else None
        shots.append(Shot(kind, length, seed=s + i, flashes=flashes, brighten_at=brighten))
        if i % 2 == 0:
            shots.append(
                Shot(
                    "fast",
                    int(rng.integers(40, 70)),
                    seed=s + 50 + i,
                    speed=float(rng.uniform(0.8, 1.5)),
                )
            )
    return Sequence(shots)


THEMES: dict[str, Callable[[np.random.Generator, int], Sequence]] = {
    "live": _live,
    "similar": _similar,
    "short": _short,
    "anime": _anime,
    "jump": _jump,
    "dark": _dark,
    "transitions": _transitions,
    "traps": _traps,
}


class LabelledSpec(TypedDict):
    """One video of the set: its file name, theme and what :func:`write_video` is given."""

    name: str
    theme: str
    sequence: Sequence
    fps: Fraction
    width: int
    height: int


class _ManifestEntry(TypedDict):
    key: str  # of the spec the file was written from (:func:`_spec_key`)
    theme: str
    fps: str
    size: list[int]


def labelled_specs(copies: int = 3) -> list[LabelledSpec]:
    """Name, sequence, frame rate and size of every video in the set (no files written)."""
    specs: list[LabelledSpec] = []
    for c in range(copies):
        for t, (theme, build) in enumerate(THEMES.items()):
            seed = 1000 * (c + 1) + 37 * t
            rng = np.random.default_rng(seed)
            width, height = SIZES[(c + t) % len(SIZES)]
            fps = FRAME_RATES[(c * 3 + t) % len(FRAME_RATES)]
            specs.append(
                {
                    "name": f"{theme}_{c}.mp4",
                    "theme": theme,
                    "sequence": build(rng, seed),
                    "fps": fps,
                    "width": width,
                    "height": height,
                }
            )
    return specs


def _spec_key(spec: LabelledSpec) -> str:
    text = repr(
        (spec["sequence"], str(spec["fps"]), spec["width"], spec["height"], synth.ENCODER_THREADS)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_labelled_set(
    folder: str | Path, *, copies: int = 3, on_video: Callable[[str], None] | None = None
) -> list[Path]:
    """Write the set (videos + ``<video>.truth.json``) and ``manifest.json``; returns the paths.

    Videos whose spec is unchanged since the last run are kept, so re-running is cheap.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest: dict[str, _ManifestEntry] = {}
    paths = []
    for spec in labelled_specs(copies):
        path = folder / spec["name"]
        key = _spec_key(spec)
        truth = path.with_name(path.name + ".truth.json")
        if old.get(spec["name"], {}).get("key") != key or not path.exists() or not truth.exists():
            if on_video:
                on_video(spec["name"])
            tmp = path.with_name(".tmp-" + path.name)
            write_video(
                tmp, spec["sequence"], width=spec["width"], height=spec["height"], fps=spec["fps"]
            )
            os.replace(tmp.with_name(tmp.name + ".truth.json"), truth)
            os.replace(tmp, path)
        manifest[spec["name"]] = {
            "key": key,
            "theme": spec["theme"],
            "fps": str(spec["fps"]),
            "size": [spec["width"], spec["height"]],
        }
        paths.append(path)
    tmp_manifest = manifest_path.with_name(".manifest.json.tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp_manifest, manifest_path)
    return paths
