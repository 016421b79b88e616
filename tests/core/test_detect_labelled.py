"""The labelled hard-case set is deterministic and covers every case and trap it promises."""

from __future__ import annotations

import json

from workstation.core import labelled, synth


def test_specs_are_deterministic_and_varied():
    a = labelled.labelled_specs(copies=2)
    b = labelled.labelled_specs(copies=2)
    assert [labelled._spec_key(s) for s in a] == [labelled._spec_key(s) for s in b]
    assert len({s["name"] for s in a}) == len(a) == 2 * len(labelled.THEMES)
    assert {s["fps"] for s in a} == set(labelled.FRAME_RATES)
    assert len({(s["width"], s["height"]) for s in a}) >= 3


def test_every_hard_case_and_trap_is_present():
    kinds: set[str] = set()
    traps: set[str] = set()
    short = similar = 0
    for spec in labelled.labelled_specs(copies=1):
        seq = spec["sequence"]
        gen = synth.render_sequence(seq, 32, 18)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            truth = stop.value
        kinds |= {c.kind for c in truth.cuts}
        traps |= {t["kind"] for t in truth.traps}
        short += sum(1 for s in seq.shots[1:-1] if s.frames <= 5)
        similar += sum(1 for s in seq.shots if s.look is not None)
        assert {s.kind for s in seq.shots} <= {
            "shapes",
            "texture",
            "gradient",
            "anime",
            "dark",
            "fast",
        }
    assert kinds == {"cut", "jump", "fade", "dissolve"}
    assert traps == {"flash", "brightness", "motion"}
    assert short >= 4 and similar >= 4


def test_make_labelled_set_writes_truth_and_reuses_unchanged_videos(tmp_path, monkeypatch):
    specs = labelled.labelled_specs(copies=1)[:1]
    monkeypatch.setattr(labelled, "labelled_specs", lambda copies=3: specs)
    written: list[str] = []
    paths = labelled.make_labelled_set(tmp_path, on_video=written.append)
    assert written == [specs[0]["name"]] and paths[0].exists()
    truth = json.loads((tmp_path / (specs[0]["name"] + ".truth.json")).read_text())
    assert truth["cuts"] and truth["frames"] > 100
    again: list[str] = []
    labelled.make_labelled_set(tmp_path, on_video=again.append)
    assert again == []  # unchanged spec: kept
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest[specs[0]["name"]]["theme"] == specs[0]["theme"]


def test_content_and_histogram_curves_are_pyscenedetects_metrics(tmp_path):
    """The ensemble's "content" and "hist" curves are PySceneDetect's own ContentDetector and
    HistogramDetector scores on the shared analysis frames (computed in the one pass)."""
    import cv2
    import numpy as np
    from scenedetect.detectors import ContentDetector, HistogramDetector

    from workstation.core.detect.features import CURVES, FeatureExtractor
    from workstation.core.detect.reader import FrameReader

    path = tmp_path / "v.mp4"
    seq = synth.Sequence([synth.Shot("shapes", 20, seed=1), synth.Shot("anime", 20, seed=2)])
    synth.write_video(path, seq, width=160, height=90)
    ours = FeatureExtractor()
    content = ContentDetector()
    last_hist = None
    ix = {name: i for i, name in enumerate(CURVES)}
    with FrameReader(path, 96) as reader:
        for n, small in reader:
            row = ours.push(small)
            theirs = content._calculate_frame_score(None, small)  # PySceneDetect 0.7.2
            hist = HistogramDetector.calculate_histogram(small, bins=64)
            assert abs(row[ix["content"]] - theirs) < 1e-3, n
            if last_hist is not None:
                corr = cv2.compareHist(last_hist, hist, cv2.HISTCMP_CORREL)
                assert abs(row[ix["hist"]] - (1.0 - corr)) < 1e-3, n
            last_hist = hist
    assert n == 39 and np.isfinite(row).all()
