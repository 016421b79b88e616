"""Cut detection: hard cases found at the exact frame, traps not cut, resumable, safe for edits."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction

import numpy as np
import pytest

from workstation.core import synth
from workstation.core.detect import segments, stage
from workstation.core.detect.decide import flash_mask
from workstation.core.detect.project_runs import detect_project, detect_video
from workstation.core.detect.stage import DetectSettings, detect_stage
from workstation.core.errors import MediaError
from workstation.core.progress import Progress, drive
from workstation.core.store import Cut

W, H = 256, 144


def _video(folder, name, seq, fps=25):
    path = folder / name
    truth = synth.write_video(path, seq, width=W, height=H, fps=fps)
    return path, truth


@pytest.fixture(scope="module")
def case_videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("detect-cases")
    S = synth.Shot
    hard = synth.Sequence(
        [
            S("shapes", 30, seed=1),
            S("texture", 24, seed=2),
            S("texture", 3, seed=3),  # a 3-frame shot
            S("gradient", 2, seed=4),  # a 2-frame shot
            S("shapes", 26, seed=5),
            S("shapes", 24, seed=5, t0=80),  # jump cut
            S("shapes", 24, seed=6, look=5),  # same colours, new layout
            S("anime", 36, seed=7),
            S("anime", 33, seed=8),
            S("dark", 30, seed=9),
            S("dark", 30, seed=10),
        ]
    )
    transitions = synth.Sequence(
        [
            S("shapes", 40, seed=11),
            S("texture", 40, seed=12),
            S("gradient", 40, seed=13),
            S("shapes", 40, seed=14),
        ],
        [
            synth.Transition(),
            synth.Transition("fade_black", 8, hold=3),
            synth.Transition("dissolve", 12),
            synth.Transition("fade_white", 6),
        ],
    )
    traps = synth.Sequence(
        [
            S("shapes", 60, seed=21, flashes=[15, 40, 41]),
            S("fast", 60, seed=22),
            S("texture", 50, seed=23, flashes=[20]),
        ]
    )
    return {
        "hard": _video(folder, "hard.mp4", hard, fps=Fraction(24000, 1001)),
        "transitions": _video(folder, "transitions.mp4", transitions, fps=30),
        "traps": _video(folder, "traps.mp4", traps, fps=60),
    }


def _run(path, settings: DetectSettings | None = None):
    return drive(detect_stage(path, settings or DetectSettings()))


def test_hard_jump_short_similar_anime_dark_cuts_at_exact_frame(case_videos):
    path, truth = case_videos["hard"]
    result = _run(path)
    assert [c.frame for c in result.cuts] == [c.frame for c in truth.cuts]
    assert all(c.kind == "cut" and c.source == "auto" for c in result.cuts)
    assert result.frames == truth.frames
    assert len(result.scores["score"]) == truth.frames
    assert all(v.dtype == np.float32 and len(v) == truth.frames for v in result.scores.values())
    # The threshold line is drawn over "score": every hard cut is above it.
    assert all(result.scores["score"][c.frame] >= result.threshold for c in result.cuts)


def test_fades_and_dissolves_are_one_cut_inside_the_transition(case_videos):
    path, truth = case_videos["transitions"]
    result = _run(path)
    assert len(result.cuts) == len(truth.cuts)
    for found, true in zip(result.cuts, truth.cuts, strict=True):
        a, b = true.span
        assert a <= found.frame <= b, (found, true)
        expected = "cut" if true.kind == "cut" else true.kind
        assert found.kind == expected
        if found.kind != "cut":
            assert (
                found.span_start is not None and found.span_start <= found.frame <= found.span_end
            )


def test_flashes_and_fast_motion_are_not_cut(case_videos):
    path, truth = case_videos["traps"]
    result = _run(path)
    assert [c.frame for c in result.cuts] == [c.frame for c in truth.cuts]


def test_flash_filter_marks_flash_frames_and_no_cut(case_videos):
    path, truth = case_videos["traps"]
    result = _run(path)
    flashed = flash_mask(result.scores)
    flashes = [t["span"][0] for t in truth.traps if t["kind"] == "flash"]
    assert all(flashed[f] for f in flashes)
    assert not any(flashed[c.frame] for c in truth.cuts)
    assert flashed.sum() <= 3 * len(flashes)


def test_progress_every_few_hundred_frames_with_live_cuts(case_videos, monkeypatch):
    monkeypatch.setattr(stage, "CHUNK", 64)
    monkeypatch.setattr(stage, "LIVE_CUTS_EVERY_S", 0.0)  # this short video takes < 1 s
    path, truth = case_videos["hard"]
    records: list[Progress] = []
    result = drive(detect_stage(path), records.append)
    done = [p.done for p in records if p.stage == "detect"]
    assert done[0] == 0 and done[-1] == truth.frames
    assert max(np.diff(done)) <= 64
    assert all("cuts" in p.data for p in records if p.stage == "detect")
    assert records[-1].data["cuts"] == [c.frame for c in result.cuts]
    live = [p for p in records[:-1] if p.stage == "detect"]
    assert any(p.data["cuts"] for p in live)  # cuts appear while the run goes


def _cancel_after(stage, frames):
    for p in stage:
        if p.stage == "detect" and p.done >= frames:
            stage.close()
            return p.done
    raise AssertionError("stage ended before it could be cancelled")


@pytest.mark.parametrize("workers", [1, 2])
def test_cancel_then_resume_equals_uninterrupted_run(demo_project, monkeypatch, workers):
    """In one process the run resumes where it was cancelled; split over processes
    (:mod:`workstation.core.detect.segments`) it resumes where the checked stretch from the
    start ended (the other ranges' frames are measured again)."""
    monkeypatch.setattr(stage, "CHUNK", 64)
    monkeypatch.setattr(segments, "available", lambda: True)
    monkeypatch.setattr(segments, "MIN_RANGE_PIXELS", 0)  # split even this short video
    video = next(v for v in demo_project.videos() if v.name == "demo_live.mp4")
    assert len(segments.plan(0, video.frame_count, demo_project.keyframes(video.id), 2)) == 2
    stopped = _cancel_after(
        detect_video(demo_project, video.id, workers=workers, kind="ensemble"), 150
    )
    assert stopped < video.frame_count
    run = demo_project.db.execute("SELECT * FROM detections ORDER BY id DESC").fetchone()
    assert run["state"] == "cancelled"
    if workers == 1:
        assert run["frames_done"] == stopped
    else:
        # Progress counts every range's frames; the saved stretch is the first range's. Until
        # the second range's child reports (late on a loaded machine) the two are equal.
        assert 0 < run["frames_done"] <= stopped
        stopped = run["frames_done"]
    assert demo_project.cuts(video.id) == []  # nothing half-decided was stored

    records: list[Progress] = []
    resumed = drive(
        detect_video(demo_project, video.id, workers=workers, kind="ensemble"), records.append
    )
    assert records[0].done == stopped and "resuming" in records[0].message
    assert resumed.detection_id == run["id"]

    fresh = drive(detect_video(demo_project, video.id, restart=True, kind="ensemble"))
    assert fresh.detection_id != run["id"]
    assert [(c.frame, c.kind) for c in resumed.cuts] == [(c.frame, c.kind) for c in fresh.cuts]
    for name, values in fresh.scores.items():
        assert np.array_equal(values, resumed.scores[name]), name
    # Stored scores are the whole curve, and the run is the video's current detection.
    latest = demo_project.latest_detection(video.id)
    assert latest["id"] == fresh.detection_id
    assert np.array_equal(demo_project.scores(latest["id"]), fresh.scores["score"])
    assert np.array_equal(demo_project.scores(run["id"], "d1"), fresh.scores["d1"])
    truth = synth.Truth.load(str(video.path) + ".truth.json")
    assert [c.frame for c in fresh.cuts if c.kind == "cut"][:3] == [c.frame for c in truth.cuts][:3]


def test_restart_ignores_saved_run_and_other_settings_do_not_resume(demo_project, monkeypatch):
    monkeypatch.setattr(stage, "CHUNK", 64)
    vid = demo_project.videos()[0].id
    _cancel_after(detect_video(demo_project, vid, kind="ensemble"), 64)
    records: list[Progress] = []
    drive(
        detect_video(demo_project, vid, DetectSettings(threshold=1.2), kind="ensemble"),
        records.append,
    )
    assert records[0].done == 0
    records.clear()
    drive(detect_video(demo_project, vid, restart=True, kind="ensemble"), records.append)
    assert records[0].done == 0


def test_manual_cuts_and_deleted_auto_cuts_survive_redetection(demo_project):
    video = next(v for v in demo_project.videos() if v.name == "demo_live.mp4")
    first = drive(detect_video(demo_project, video.id, kind="ensemble"))
    removed = first.cuts[0].frame
    demo_project.remove_cut(video.id, removed)  # leaves a tombstone
    demo_project.add_cut(video.id, Cut(20, "manual"))
    demo_project.add_cut(video.id, Cut(first.cuts[1].frame + 1, "manual"))  # a person's fix
    drive(detect_video(demo_project, video.id, restart=True, kind="ensemble"))
    cuts = {c.frame: c for c in demo_project.cuts(video.id)}
    assert cuts[20].source == "manual"
    assert cuts[first.cuts[1].frame + 1].source == "manual"
    assert first.cuts[1].frame not in cuts  # the auto cut next to the manual one is dropped
    assert removed not in cuts
    auto = [c for c in cuts.values() if c.source == "auto"]
    assert auto and all(c.detector and c.params["threshold"] == 1.0 for c in auto)


def test_bad_and_truncated_files_name_the_file(tmp_path, case_videos):
    junk = tmp_path / "notes.mp4"
    junk.write_text("not a video")
    with pytest.raises(MediaError) as err:
        _run(junk)
    assert "notes.mp4" in str(err.value)

    mkv = tmp_path / "long.mkv"
    synth.write_video(
        mkv, synth.Sequence([synth.Shot("texture", 120, seed=3)]), width=160, height=96
    )
    trunc = tmp_path / "trunc.mkv"
    trunc.write_bytes(mkv.read_bytes()[: int(mkv.stat().st_size * 0.6)])
    with pytest.raises(MediaError) as err:
        _run(trunc)
    assert "trunc.mkv" in str(err.value) and "truncated" in str(err.value)


def test_project_run_records_a_broken_video_and_goes_on(demo_project):
    videos = demo_project.videos()
    broken = videos[0]
    data = broken.path.read_bytes()
    broken.path.write_bytes(data[: len(data) // 3])  # damaged after it was added
    records: list[Progress] = []
    results = drive(
        detect_project(demo_project, [v.id for v in videos] + [999], kind="ensemble"),
        records.append,
    )
    assert set(results) == {v.id for v in videos} | {999}
    assert "no video with id 999" in results[999].error
    assert results[broken.id].error and broken.name in results[broken.id].error
    assert any(broken.name in p.message for p in records)
    for v in videos[1:]:
        assert results[v.id].error is None and results[v.id].cuts
        assert demo_project.cuts(v.id)


def test_settings_are_typed_and_round_trip_as_json():
    s = DetectSettings(threshold=1.5, min_shot_frames=3)
    params = json.loads(json.dumps(s.to_params()))
    assert DetectSettings.from_params(params) == s
    with pytest.raises(ValueError, match="threshold"):
        DetectSettings(threshold=0)
    with pytest.raises(ValueError, match="analysis_width"):
        DetectSettings(analysis_width=4)


def test_demo_videos_match_their_truth(demo_videos):
    """The demo project's own videos: every cut found, flashes and fast motion not cut."""
    for path in demo_videos:
        truth = synth.Truth.load(str(path) + ".truth.json")
        result = _run(path)
        found = [c.frame for c in result.cuts]
        for t in truth.cuts:
            a, b = t.span
            assert any(a <= f <= b for f in found), (path.name, t)
        traps = [t for t in truth.traps if t["kind"] in ("flash", "motion")]
        for f in found:
            assert not any(
                t["span"][0] <= f <= t["span"][1] and not any(c.frame == f for c in truth.cuts)
                for t in traps
            ), (path.name, f)


def test_copy_of_video_is_detected_like_the_original(tmp_path, case_videos):
    path, _ = case_videos["hard"]
    copy = tmp_path / "copy.mp4"
    shutil.copy(path, copy)
    assert [c.frame for c in _run(copy).cuts] == [c.frame for c in _run(path).cuts]


def test_resume_on_variable_frame_rate_mkv_numbers_frames_by_timestamp(
    project, tmp_path, monkeypatch
):
    """Resuming seeks by timestamp: on a VFR Matroska file too it lands on the right frames."""
    from workstation.core.ingest import add_paths

    monkeypatch.setattr(stage, "CHUNK", 32)
    mkv = tmp_path / "vfr.mkv"
    synth.write_vfr_video(mkv, [40 if (i // 25) % 2 else 20 for i in range(150)])
    drive(add_paths(project, [mkv]))
    video = project.videos()[0]
    assert video.vfr and video.frame_count == 150
    stopped = _cancel_after(detect_video(project, video.id, kind="ensemble"), 64)
    resumed = drive(detect_video(project, video.id, kind="ensemble"))
    fresh = drive(detect_video(project, video.id, restart=True, kind="ensemble"))
    assert 0 < stopped < 150 and resumed.frames == fresh.frames == 150
    for name, values in fresh.scores.items():
        assert np.array_equal(values, resumed.scores[name]), name


@pytest.mark.parametrize("first", ["anime", "fast"])
def test_a_clear_cut_into_fast_motion_is_not_a_dissolve(tmp_path, first):
    """Fast motion after a cut drifts the luma histogram as a dissolve does; the cut stays a
    cut at its frame (it was reported as a dissolve five frames later)."""
    S = synth.Shot
    seq = synth.Sequence([S(first, 20, seed=3), S("fast", 60, seed=4), S(first, 30, seed=5)])
    path = tmp_path / "into_fast.mp4"
    synth.write_video(path, seq, width=160, height=96, fps=30)
    found = drive(detect_stage(path, workers=1)).cuts
    assert [(c.frame, c.kind) for c in found][:1] == [(20, "cut")]
    assert not [c for c in found if c.kind == "dissolve"]
