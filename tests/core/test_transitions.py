"""Transitions are spans clips leave out: the hold post-pass (fade out, hold, fade in) on any
detector's cuts, the hold segment rejected, slicing without the transition frames (or with
them, as an option), and ``scenes --json``'s format."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction

import av
import numpy as np
import pytest

from workstation.cli import main
from workstation.core import synth
from workstation.core.detect import detect_video
from workstation.core.detect.transitions import (
    HOLD_PARAM,
    Hold,
    holds_in,
    refine,
    store_cuts,
)
from workstation.core.ingest import add_paths
from workstation.core.progress import drive
from workstation.core.slicing import SliceSettings, split_video
from workstation.core.store import Cut, Project

FPS = 24
SHOT_A, SHOT_B, SHOT_C = 48, 60, 40
FADE = 8  # frames of each fade half


def _fade_hold_fade(path, hold: int) -> synth.Truth:
    """Shot A, a fade out to black, ``hold`` black frames, a fade in to shot B; a hard cut to C."""
    seq = synth.Sequence(
        [synth.Shot("shapes", SHOT_A, seed=1), synth.Shot("texture", SHOT_B, seed=2)]
        + [synth.Shot("shapes", SHOT_C, seed=3)],
        [synth.Transition(), synth.Transition("fade_black", FADE, hold), synth.Transition("cut")],
    )
    return synth.write_video(path, seq, fps=FPS)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """{hold frames: (path, truth)}: 0.3 s and 1.0 s of black between the fades."""
    folder = tmp_path_factory.mktemp("fhf")
    return {h: (p, _fade_hold_fade(p, h)) for h in (7, 24) for p in [folder / f"fhf{h}.mp4"]}


def _project(tmp_path, path) -> tuple[Project, int]:
    project = Project.create(tmp_path / "proj")
    drive(add_paths(project, [path]))
    return project, project.videos()[0].id


def _barcodes(path) -> list[int | None]:
    with av.open(str(path)) as c:
        return [synth.read_frame_number(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


# -- the measures ----------------------------------------------------------------------------
def test_a_hold_is_no_change_whatever_covers_a_corner():
    rng = np.random.default_rng(0)
    picture = rng.uniform(40, 200, (36, 64)).astype(np.float32)
    frames = [picture * (1 - k / 6) for k in range(6)]  # fade out over 6 frames
    for k in range(10):  # black with a frame counter in a corner that changes every frame
        black = np.full((36, 64), 16.0, np.float32)
        black[:8, :12] = 235 if k % 2 else 20
        frames.append(black + rng.normal(0, 0.5, black.shape).astype(np.float32))
    frames += [picture * k / 6 for k in range(1, 7)]  # fade in
    holds = holds_in(np.stack(frames), 100)
    assert Hold(105, 116, True) in holds or Hold(106, 116, True) in holds
    assert max(h.length for h in holds) <= 11
    # A still picture held is a hold too, not a solid one.
    still = holds_in(np.stack([picture] * 5), 0)
    assert still == [Hold(0, 5, False)]
    # A slow fade (1 grey level per frame at the median pixel) never holds for long.
    slow = np.stack([np.full((8, 8), 128.0 - k, np.float32) for k in range(40)])
    assert max((h.length for h in holds_in(slow)), default=0) <= 3


def _reads(luma: np.ndarray):
    """A ReadLuma over a whole synthetic 'video' ``luma`` (frame i = luma[i]); logs reads."""
    seen: list[tuple[int, int]] = []

    def read(first: int, last: int) -> np.ndarray:
        seen.append((first, last))
        return luma[first : last + 1]

    return read, seen


def _luma_video(hold: int) -> np.ndarray:
    """Frames 0..39 a picture, a 10-frame fade to black, ``hold`` black, a 10-frame fade in."""
    rng = np.random.default_rng(1)
    a, b = (rng.uniform(60, 220, (18, 32)).astype(np.float32) for _ in range(2))
    frames = [a] * 40 + [a * (1 - k / 10) for k in range(1, 11)]
    frames += [np.zeros_like(a)] * hold + [b * k / 10 for k in range(1, 11)] + [b] * 40
    return np.stack(frames)


def test_two_fades_around_a_long_hold_keep_their_hold_segment_marked():
    """As a detector that reports the fade out and the fade in separately would give them."""
    read, _ = _reads(_luma_video(24))  # black: frames 50..73
    cuts = [
        Cut(45, "auto", "net", 0.9, "fade", 41, 49),
        Cut(79, "auto", "net", 0.8, "fade", 74, 83),
    ]
    out = drive(refine(cuts, read, Fraction(FPS)))
    assert [(c.frame, c.span_start, c.span_end) for c in out] == [(45, 41, 49), (79, 74, 83)]
    assert out[0].params[HOLD_PARAM] == [50, 74] and HOLD_PARAM not in out[1].params


def test_two_fades_around_a_short_hold_are_one_transition():
    read, _ = _reads(_luma_video(7))  # black: frames 50..56
    cuts = [
        Cut(45, "auto", "net", 0.9, "fade", 41, 49),
        Cut(62, "auto", "net", 0.7, "fade", 57, 66),
    ]
    (one,) = drive(refine(cuts, read, Fraction(FPS)))
    assert (one.frame, one.kind, one.span_start, one.span_end) == (53, "fade", 41, 66)
    assert one.score == 0.9 and HOLD_PARAM not in one.params


@pytest.mark.parametrize(("hold", "kinds"), [(0, "dissolve"), (7, "dissolve"), (0, "mixed")])
def test_two_transitions_around_black_are_one_fade_whatever_the_detector_called_them(hold, kinds):
    """TransNetV2 reports a fade's halves as dissolves when its output dips in the black."""
    read, _ = _reads(_luma_video(hold))
    a = Cut(45, "auto", "net", 0.9, "dissolve", 41, 48)  # black: 49..49+hold
    c = Cut(55 + hold, "auto", "net", 0.7, "dissolve", 50 + hold, 59 + hold)
    if kinds == "mixed":
        a = replace(a, kind="fade")
    (one,) = drive(refine([a, c], read, Fraction(FPS)))
    assert (one.kind, one.span_start, one.span_end) == ("fade", 41, 59 + hold)
    assert one.frame == (99 + hold) // 2 and HOLD_PARAM not in one.params


def test_two_dissolves_around_a_long_black_hold_are_two_fades_and_a_hold():
    read, _ = _reads(_luma_video(24))  # black: frames 50..73
    cuts = [
        Cut(45, "auto", "n", 0.9, "dissolve", 41, 49),
        Cut(79, "auto", "n", 0.8, "dissolve", 74, 83),
    ]
    out = drive(refine(cuts, read, Fraction(FPS)))
    assert [(c.frame, c.kind) for c in out] == [(45, "fade"), (79, "fade")]
    assert out[0].params[HOLD_PARAM] == [50, 74]


def test_two_dissolves_around_a_picture_stay_two_dissolves():
    luma = _luma_video(0)
    luma[50:60] = luma[20]  # a textured picture between them: a short shot
    read, _ = _reads(luma)
    cuts = [
        Cut(45, "auto", "n", 0.9, "dissolve", 41, 49),
        Cut(64, "auto", "n", 0.9, "dissolve", 60, 68),
    ]
    out = drive(refine(cuts, read, Fraction(FPS)))
    assert [(c.frame, c.kind) for c in out] == [(45, "dissolve"), (64, "dissolve")]


def test_hard_cuts_alone_read_nothing():
    read, seen = _reads(_luma_video(0))
    cuts = [Cut(30, "auto", "x", 2.0), Cut(10, "auto", "x", 3.0)]
    assert [c.frame for c in drive(refine(cuts, read, Fraction(FPS)))] == [10, 30]
    assert seen == []


def test_a_still_between_two_separate_fades_is_a_shot():
    """A photo held between a fade in and a fade out (a slideshow) is not a hold to reject."""
    luma = _luma_video(0)
    luma[50:80] = luma[20]  # the picture comes back and holds for 30 frames
    read, _ = _reads(luma)
    cuts = [Cut(45, "auto", "n", 0.9, "fade", 41, 49), Cut(84, "auto", "n", 0.9, "fade", 80, 88)]
    out = drive(refine(cuts, read, Fraction(FPS)))
    assert len(out) == 2 and not any(HOLD_PARAM in c.params for c in out)


# -- on encoded videos, with the ensemble ----------------------------------------------------
def test_short_hold_is_one_transition(videos, tmp_path):
    path, truth = videos[7]
    project, vid = _project(tmp_path, path)
    drive(detect_video(project, vid, kind="ensemble"))
    fades = [c for c in project.cuts(vid) if c.kind == "fade"]
    assert len(fades) == 1
    (fade,) = fades
    assert fade.span_start <= SHOT_A - FADE and fade.span_end >= SHOT_A + 7 + FADE - 1
    assert all(s.keep for s in project.segments(vid))
    project.close()


def test_long_hold_is_two_transitions_and_a_rejected_segment(videos, tmp_path):
    path, truth = videos[24]
    black = (SHOT_A, SHOT_A + 24)  # frames [48, 72)
    project, vid = _project(tmp_path, path)
    drive(detect_video(project, vid, kind="ensemble"))
    cuts = project.cuts(vid)
    fades = [c for c in cuts if c.kind == "fade"]
    assert len(fades) == 2, cuts
    out, into = fades
    # Each cut inside its own fade; the spans end and start at the black.
    assert out.span_start <= out.frame <= out.span_end == black[0] - 1
    assert black[1] == into.span_start <= into.frame <= into.span_end
    assert out.span_start >= SHOT_A - FADE - 2 and into.span_end <= black[1] + FADE + 1
    segments = {s.start: s for s in project.segments(vid)}
    assert segments[out.frame].end == into.frame and not segments[out.frame].keep
    assert sum(not s.keep for s in segments.values()) == 1
    # A person's choice stands: keep the hold, detect again, it stays kept.
    project.set_segment_keep(vid, out.frame, True)
    drive(detect_video(project, vid, restart=True, kind="ensemble"))
    assert project.segment_keep(vid, out.frame)
    project.close()


# -- slicing ---------------------------------------------------------------------------------
def test_slicing_leaves_transitions_out_frame_exact(videos, tmp_path):
    path, _ = videos[24]
    project, vid = _project(tmp_path, path)
    drive(detect_video(project, vid, kind="ensemble"))
    out, into = (c for c in project.cuts(vid) if c.kind == "fade")
    hard = next(c.frame for c in project.cuts(vid) if c.kind == "cut")
    result = drive(split_video(project, vid, workers=0))
    assert not result.errors
    ranges = sorted((c.start, c.end) for c in result.clips)
    assert ranges == [(0, out.span_start), (into.span_end + 1, hard), (hard, truth_frames(path))]
    for clip in result.clips:
        assert _barcodes(clip.path) == list(range(clip.start, clip.end)), clip.path.name
    # The option keeps them: the clips meet at the cuts, the hold segment is still rejected.
    kept = drive(split_video(project, vid, SliceSettings(keep_transitions=True), workers=0))
    ranges = sorted((c.start, c.end) for c in kept.clips)
    assert ranges == [(0, out.frame), (into.frame, hard), (hard, truth_frames(path))]
    for clip in kept.clips:
        assert _barcodes(clip.path) == list(range(clip.start, clip.end)), clip.path.name
    project.close()


def truth_frames(path) -> int:
    return synth.Truth.load(str(path) + ".truth.json").frames


def test_a_segment_inside_transitions_is_skipped_with_a_reason(videos, tmp_path):
    path, _ = videos[7]
    project, vid = _project(tmp_path, path)
    project.add_cut(vid, Cut(40, kind="dissolve", span_start=36, span_end=44))
    project.add_cut(vid, Cut(43, kind="dissolve", span_start=42, span_end=46))
    result = drive(split_video(project, vid, workers=0))
    (skip,) = [s for s in result.skipped if s.start == 40]
    assert skip.reason == "no frames left after leaving transitions out"
    assert (0, 36) in {(c.start, c.end) for c in result.clips}
    project.close()


def test_cli_split_takes_keep_transitions(videos, tmp_path, capsys):
    path, _ = videos[7]
    project, vid = _project(tmp_path, path)
    project.add_cut(vid, Cut(60, kind="dissolve", span_start=55, span_end=64))
    project.close()
    code = main(["-q", "split", str(tmp_path / "proj"), "--set", "keep_transitions=true"])
    assert code == 0, capsys.readouterr().err
    with Project.open(tmp_path / "proj") as project:
        assert sorted((c.start_frame, c.end_frame) for c in project.clips()) == [(0, 60), (60, 155)]


def test_scenes_json_lists_both_transitions_in_its_format(videos, capsys):
    path, _ = videos[24]
    assert main(["-q", "scenes", str(path), "--json", "--detector", "ensemble"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"video", "fps", "fps_exact", "frames", "cuts", "transitions", "detector"}
    fades = out["transitions"]
    assert [sorted(t) for t in fades] == [["frame", "kind", "span"]] * 2
    assert [t["kind"] for t in fades] == ["fade", "fade"]
    assert [t["frame"] for t in fades] == [c for c in out["cuts"] if c < 100]
    assert fades[0]["span"][1] == SHOT_A - 1 and fades[1]["span"][0] == SHOT_A + 24


def test_store_cuts_marks_only_a_hold_it_stored(tmp_path, videos):
    path, _ = videos[7]
    project, vid = _project(tmp_path, path)
    project.add_cut(vid, Cut(20))  # manual: an auto cut there is dropped, and no flag is set
    marked = Cut(20, "auto", "n", 1.0, "fade", 10, 30, params={HOLD_PARAM: [15, 25]})
    store_cuts(project, vid, [marked])
    assert project.segment_keep(vid, 20)
    project.close()
