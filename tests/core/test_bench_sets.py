"""The benchmark's second generator (bench/sets/other_generator.py) makes what its labels say.

Small frames so it runs in seconds: the decoded frame count is the labelled one, every labelled
hard cut is a visible jump in the picture (far above the frame-to-frame change around it), a
long hold between two fades is black and is labelled as two fades, and the scorer counts a cut
off by one frame only at the +-1 tolerance.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from sets import other_generator, scoring

SIZE = (192, 108)


def _grey(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [
            f.reformat(64, 36, "gray").to_ndarray().astype(np.float32) for f in c.decode(video=0)
        ]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[np.ndarray], dict]]:
    folder = tmp_path_factory.mktemp("other")
    paths = other_generator.make_set(folder, SIZE, names=["cuts_0.mp4", "fades_0.mp4"])
    return {
        p.name: (_grey(p), json.loads(Path(str(p) + ".labels.json").read_text())) for p in paths
    }


def test_frame_counts_match_the_labels(made: dict[str, tuple[list[np.ndarray], dict]]) -> None:
    assert set(made) == {"cuts_0.mp4", "fades_0.mp4"}
    for grey, labels in made.values():
        assert len(grey) == labels["frames"]
        assert labels["size"] == list(SIZE)


def test_every_hard_cut_is_visibly_there(made: dict[str, tuple[list[np.ndarray], dict]]) -> None:
    grey, labels = made["cuts_0.mp4"]
    diff = [0.0] + [float(np.abs(a - b).mean()) for a, b in zip(grey[1:], grey[:-1], strict=True)]
    cuts = [e["frame"] for e in labels["events"] if e["kind"] == "cut"]
    assert len(cuts) == 8
    for f in cuts:
        around = [
            diff[k] for k in range(f - 3, f + 4) if k != f and 0 < k < len(diff) and k not in cuts
        ]
        assert diff[f] > 2 * max(around) + 2, (f, diff[f], around)


def test_a_long_hold_is_black_and_two_fades(made: dict[str, tuple[list[np.ndarray], dict]]) -> None:
    grey, labels = made["fades_0.mp4"]
    fades = [e for e in labels["events"] if e["kind"] == "fade"]
    pairs = [
        (a, b)
        for a, b in zip(fades, fades[1:], strict=False)
        if a["span"][1] < b["span"][0] and a["frame"] == a["span"][1]
    ]
    assert len(pairs) == 1  # the 1.0 s hold: fade out ends at the first black frame
    out, into = pairs[0]
    hold = range(out["span"][1], into["span"][0])
    assert len(hold) == 25  # 1.0 s at this video's 25 fps
    assert all(grey[k].mean() < 20 for k in hold)
    assert grey[into["span"][1]].mean() > 30  # the first clean frame after the fade in


def test_scoring_counts_an_off_by_one_cut_only_at_tolerance_one() -> None:
    labels = {
        "frames": 100,
        "events": [{"kind": "cut", "frame": 40, "span": [40, 40]}],
        "traps": [{"kind": "flash", "span": [70, 70]}],
    }
    tally = scoring.Tally()
    scoring.score(tally, "v", labels, {"cuts": [41, 70], "wall": 1.0, "cpu": 1.0, "rss_kb": 1})
    assert (tally.tp[0], tally.fp[0], tally.fn[0]) == (0, 2, 1)
    assert (tally.tp[1], tally.fp[1], tally.fn[1]) == (1, 1, 0)
    assert tally.trap_false["flash"] == 1
