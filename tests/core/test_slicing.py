"""Slicing: every clip holds exactly its source frames (checked with the frame barcodes)."""

from __future__ import annotations

import errno
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from workstation.core import slicing, synth
from workstation.core.errors import WorkstationError
from workstation.core.ingest import add_paths
from workstation.core.progress import drive
from workstation.core.slicing import SliceSettings, split_project, split_video, verify_clip
from workstation.core.store import Cut, Project


def _truth_cuts(project: Project) -> None:
    for v in project.videos():
        truth = synth.Truth.load(str(v.path) + ".truth.json")
        for c in truth.cuts:
            project.add_cut(v.id, Cut(c.frame))


def _barcodes(path: Path) -> list[int | None]:
    with av.open(str(path)) as c:
        return [synth.read_frame_number(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def _video(project: Project, name: str):
    return next(v for v in project.videos() if v.name == name)


def _no_temp_files(project: Project) -> bool:
    return not [
        p for p in project.clips_dir.rglob(".*") if p.name.endswith((slicing.PART_SUFFIX, ".tmp"))
    ]


def test_every_clip_is_frame_exact(demo_project):
    _truth_cuts(demo_project)
    demo_project.set_segment_keep(_video(demo_project, "demo_live.mp4").id, 60, False)
    records = []
    result = drive(split_project(demo_project, workers=0), records.append)
    assert not result.errors and not result.failed
    assert records and all(r.stage == "slice" for r in records)
    announced = [i for r in records for i in r.data.get("new_clip_ids", [])]
    assert sorted(announced) == sorted(c.clip_id for c in result.clips)
    starts = {(c.video_id, c.start) for c in result.clips}
    assert (_video(demo_project, "demo_live.mp4").id, 60) not in starts  # rejected
    # the 5-frame shot is below the default minimum of 8 frames
    assert [s.end - s.start for s in result.skipped] == [5]
    for clip in result.clips:
        assert _barcodes(clip.path) == list(range(clip.start, clip.end)), clip.path.name
        assert clip.path.parent.name.startswith(Path(clip.path.name).stem.split("_f")[0])
    stored = demo_project.clips()
    assert len(stored) == len(result.clips) == 16
    assert all(c.verified and c.verify_error is None for c in stored)
    assert _no_temp_files(demo_project)
    # most cuts are not on keyframes (GOP 48 without scene-cut keyframes)
    keys = set(demo_project.keyframes(_video(demo_project, "demo_live.mp4").id))
    assert sum(c.start not in keys for c in result.clips if c.start) >= 8


def test_process_pool_and_idempotent_rerun(demo_project):
    _truth_cuts(demo_project)
    vid = _video(demo_project, "demo_anime.mp4").id  # 30 fps
    first = drive(split_video(demo_project, vid, workers=2))
    assert len(first.written) == 6 and not first.errors
    for clip in first.clips:
        assert _barcodes(clip.path) == list(range(clip.start, clip.end))
    mtimes = {c.path: c.path.stat().st_mtime_ns for c in first.clips}
    again = drive(split_video(demo_project, vid, workers=2))
    assert len(again.reused) == 6 and not again.written
    assert {c.path: c.path.stat().st_mtime_ns for c in again.clips} == mtimes
    # other settings: encoded again, under the same names, rows updated in place
    other = drive(split_video(demo_project, vid, SliceSettings(crf=30), workers=0))
    assert len(other.written) == 6
    assert len(demo_project.clips(vid)) == 6
    # a cut moved: the clips of the changed segments are reported as stale, not deleted
    demo_project.move_cut(vid, 84, 90)
    moved = drive(split_video(demo_project, vid, SliceSettings(crf=30), workers=0))
    assert sorted(p.name for p in moved.stale) == [
        "demo_anime_f000048-000084.mp4",
        "demo_anime_f000084-000114.mp4",
    ]
    assert len(moved.written) == 2 and len(moved.reused) == 4


def test_ntsc_and_settings(demo_project):
    _truth_cuts(demo_project)
    video = _video(
        demo_project, "demo_live.mp4"
    )  # 24000/1001, 308 frames, cuts 60 108 168 173 223 268
    assert video.fps == Fraction(24000, 1001)
    settings = SliceSettings(max_side=160, min_frames=10, max_frames=25, trim=2)
    result = drive(split_video(demo_project, video.id, settings, workers=0))
    assert not result.errors
    ranges = sorted((c.start, c.end) for c in result.clips)
    # shot [0, 60): trimmed to [0, 58) (no trim at the video start) -> 25 + 25, remainder 8 skipped
    assert ranges[:2] == [(0, 25), (25, 50)]
    assert (50, 58) in {(s.start, s.end) for s in result.skipped}
    # shot [268, 308) -> [270, 308): 25 + 13
    assert ranges[-2:] == [(270, 295), (295, 308)]
    for clip in result.clips:
        assert _barcodes(clip.path) == list(range(clip.start, clip.end))
        with av.open(str(clip.path)) as c:
            s = c.streams.video[0]
            assert (s.codec_context.width, s.codec_context.height) == (160, 90)
            assert s.codec_context.pix_fmt == "yuv420p"
            assert s.average_rate == Fraction(24000, 1001)
    assert all(c.width == 160 and c.height == 90 for c in demo_project.clips(video.id))


def test_frame_rate_change_samples_by_time(demo_project):
    video = _video(demo_project, "demo_transitions.mp4")  # 25 fps, 254 frames
    demo_project.add_cut(video.id, Cut(100))
    result = drive(split_video(demo_project, video.id, SliceSettings(fps=10), workers=0))
    assert not result.errors
    clip = min(result.clips, key=lambda c: c.start)
    # output frame k shows the source frame on screen at k / 10 s: floor(k * 2.5)
    assert _barcodes(clip.path) == [int(k * 2.5) for k in range(40)]
    up = drive(split_video(demo_project, video.id, SliceSettings(fps=50), workers=0))
    clip = min(up.clips, key=lambda c: c.start)
    assert _barcodes(clip.path) == [k // 2 for k in range(200)]
    with av.open(str(clip.path)) as c:
        assert c.streams.video[0].average_rate == 50


def test_vfr_source(tmp_path):
    durations = ([40] * 12 + [80] * 6 + [20] * 10) * 2
    folder = tmp_path / "vfr"
    folder.mkdir()
    synth.write_vfr_video(folder / "vfr.mkv", durations)
    with Project.create(tmp_path / "p") as project:
        drive(add_paths(project, [folder]))
        video = project.videos()[0]
        assert video.vfr
        project.add_cut(video.id, Cut(15))
        project.add_cut(video.id, Cut(33))
        result = drive(split_video(project, video.id, workers=0))
        assert not result.errors and len(result.clips) == 3
        for clip in result.clips:
            assert _barcodes(clip.path) == list(range(clip.start, clip.end))
        # timestamps are kept: the clip of frames [15, 33) lasts as long as they do
        clip = next(c for c in result.clips if c.start == 15)
        with av.open(str(clip.path)) as c:
            pts = [float(f.pts * f.time_base) for f in c.decode(video=0)]
        want = [sum(durations[15:i]) / 1000 for i in range(15, 33)]
        assert pts == pytest.approx(want, abs=0.002)
        # resampled to 25 fps: frame shown at each 40 ms tick
        resampled = drive(split_video(project, video.id, SliceSettings(fps=25), workers=0))
        starts = [sum(durations[:i]) for i in range(len(durations))]
        for clip in resampled.clips:
            t0 = starts[clip.start]
            # the last frame counts as the median frame length (40 ms), as the probe assumes
            end_t = starts[clip.end] if clip.end < len(starts) else starts[-1] + 40
            expect = []
            t = t0
            while t < end_t:
                expect.append(max(i for i, s in enumerate(starts) if s <= t))
                t += 40
            assert _barcodes(clip.path) == expect


def test_cancel_leaves_no_partial_files(demo_project):
    _truth_cuts(demo_project)
    stage = split_project(demo_project, settings=SliceSettings(max_frames=8), workers=2)
    for record in stage:
        if record.total:  # the pool is running
            break
    stage.close()
    assert _no_temp_files(demo_project)
    on_disk = {p for p in demo_project.clips_dir.rglob("*.mp4")}
    stored = {c.path for c in demo_project.clips()}
    assert on_disk == stored  # every finished clip is recorded, nothing else is there
    assert all(c.verified for c in demo_project.clips())
    assert len(stored) < 80  # it really stopped early
    for path in on_disk:
        assert len(_barcodes(path)) == 8


def test_one_failing_segment_and_disk_full(demo_project, monkeypatch):
    _truth_cuts(demo_project)
    video = _video(demo_project, "demo_transitions.mp4")
    real = slicing._encode

    def flaky(plan, tmp, *rest):
        if plan.start == 54:
            raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
        if plan.start == 98:
            tmp.write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(plan, tmp, *rest)

    monkeypatch.setattr(slicing, "_encode", flaky)
    result = drive(split_video(demo_project, video.id, workers=0))
    # The bad segment is named and the next one goes on; the full disk stops the run (the
    # clips after it would fail alike).
    assert [c.start for c in result.written] == [0]
    assert sorted(c.start for c in result.failed) == [54, 98]
    assert 144 not in [c.start for c in result.clips]
    disk = next(e for e in result.errors if "_f000098" in e)
    assert disk.endswith("demo_transitions_f000098-000144.mp4: cannot write: the disk is full")
    assert any("_f000054" in e and "Invalid data" in e for e in result.errors)
    assert _no_temp_files(demo_project)
    assert len(demo_project.clips(video.id)) == 1


def test_verify_clip_catches_wrong_frames(demo_project):
    _truth_cuts(demo_project)
    video = _video(demo_project, "demo_anime.mp4")
    result = drive(split_video(demo_project, video.id, workers=0))
    clip = next(c for c in result.clips if c.start == 48)  # [48, 84)
    index = demo_project.frame_index(video.id)
    ok = verify_clip(clip.path, 36, video.path, 48, 84, index=index)
    assert ok.ok and ok.first_diff < 3 and ok.last_diff < 3
    off = verify_clip(clip.path, 36, video.path, 49, 85, index=index)
    assert not off.ok and "source frame 48" in off.error
    short = verify_clip(clip.path, 35, video.path, 48, 83, index=index)
    assert not short.ok and "36 frames, expected 35" in short.error


def test_missing_source_is_reported_and_others_go_on(demo_project):
    _truth_cuts(demo_project)
    gone = _video(demo_project, "demo_anime.mp4")
    gone.path.unlink()
    result = drive(split_project(demo_project, settings=SliceSettings(min_frames=40), workers=0))
    assert any("demo_anime.mp4" in e and "file not found" in e for e in result.errors)
    assert result.written and all(c.video_id != gone.id for c in result.clips)


def test_settings_validation_and_params():
    s = SliceSettings(fps="24000/1001", max_side=512, max_frames=64)
    params = s.to_params()
    assert params["fps"] == "24000/1001" and params["codec"] == "libx264"
    assert json.loads(json.dumps(params)) == params
    assert SliceSettings.from_params(params) == s
    with pytest.raises(ValueError, match="max_frames"):
        SliceSettings(min_frames=20, max_frames=10)
    with pytest.raises(ValueError, match="preset"):
        SliceSettings(preset="turbo")
    assert slicing.output_size(1920, 1080, 512) == (512, 288)
    assert slicing.output_size(321, 181, None) == (320, 180)


def _rotated_video(path: Path, degrees: int, frames: int, width=192, height=108) -> None:
    """A phone-style file: pixels stored turned, a display matrix that turns them back."""
    turns = slicing.quarter_turns(degrees)
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=24)
    stream.width, stream.height = (height, width) if turns % 2 else (width, height)
    stream.pix_fmt = "yuv420p"
    stream.options = {"g": "12", "sc_threshold": "0"}
    stream.set_display_rotation(degrees)
    for i in range(frames):
        upright = np.full((height, width, 3), (i * 23) % 200, np.uint8)
        upright[:20, -40:] = 250  # top-right marker
        synth.stamp(upright, i)
        coded = np.ascontiguousarray(np.rot90(upright, -turns))
        for packet in stream.encode(av.VideoFrame.from_ndarray(coded, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


@pytest.mark.parametrize("degrees", [90, -90, 180])
def test_rotated_source_gives_upright_clips(tmp_path, degrees):
    folder = tmp_path / "phone"
    folder.mkdir()
    _rotated_video(folder / "phone.mp4", degrees, 40)
    with Project.create(tmp_path / "p") as project:
        drive(add_paths(project, [folder]))
        video = project.videos()[0]
        assert video.rotation % 360 == degrees % 360
        project.add_cut(video.id, Cut(17))
        result = drive(split_video(project, video.id, workers=0))
        assert not result.errors and len(result.clips) == 2
        for clip in result.clips:
            assert _barcodes(clip.path) == list(range(clip.start, clip.end))
            with av.open(str(clip.path)) as c:
                frame = next(c.decode(video=0))
                assert (frame.width, frame.height) == (192, 108)
                assert not frame.rotation
                assert frame.to_ndarray(format="rgb24")[5:15, -35:-5].mean() > 200  # marker
        check = verify_clip(
            result.clips[1].path,
            23,
            video.path,
            17,
            40,
            index=project.frame_index(video.id),
            rotation=video.rotation,
        )
        assert check.ok, check.error


def test_cancel_interrupts_a_running_clip(demo_project):
    video = _video(demo_project, "demo_live.mp4")  # no cuts: one long clip
    stage = split_video(demo_project, video.id, SliceSettings(fps=120), workers=1)
    for record in stage:
        if record.total and record.done > 0:  # frames of the one clip are being encoded
            assert record.done < record.total
            break
    stage.close()
    assert _no_temp_files(demo_project)
    assert not list(demo_project.clips_dir.rglob("*.mp4"))
    assert demo_project.clips() == []


def test_frame_rate_setting_forms():
    assert SliceSettings(fps=23.976).fps == Fraction(24000, 1001)
    assert SliceSettings(fps="30000/1001").fps == Fraction(30000, 1001)
    assert SliceSettings(fps=12.5).fps == Fraction(25, 2)
    with pytest.raises(slicing.SliceSettingsError, match="fps: 'fast'"):
        SliceSettings(fps="fast")
    with pytest.raises(WorkstationError, match="fps: 0"):
        SliceSettings(fps=0)


def test_in_process_mode_reports_frames_and_cancels(demo_project):
    video = _video(demo_project, "demo_live.mp4")
    stage = split_video(demo_project, video.id, SliceSettings(fps=120), workers=0)
    for record in stage:
        if record.total and 0 < record.done < record.total:  # inside the one long clip
            break
    else:
        pytest.fail("no progress inside the clip")
    stage.close()
    assert _no_temp_files(demo_project)
    assert not list(demo_project.clips_dir.rglob("*.mp4"))


def test_clips_of_a_removed_cut_are_out_of_date_and_others_reused(demo_project):
    """Removing a cut joins two shots: both clips it bounded are out of date (they record the
    segment they were cut from), the other clips are not and a re-slice reuses them."""
    _truth_cuts(demo_project)
    vid = _video(demo_project, "demo_anime.mp4").id
    first = drive(split_video(demo_project, vid, workers=0))
    assert len(first.written) == 6 and demo_project.stale_clip_ids() == set()
    recipe = demo_project.clip_recipe(first.clips[1].path)
    assert recipe is not None and recipe[0]["segment"] == [first.clips[1].start, 84]
    demo_project.remove_cut(vid, 84)
    stale = {c.clip_id for c in first.clips if c.start == 84 or c.end == 84}
    assert len(stale) == 2 and demo_project.stale_clip_ids() == stale
    again = drive(split_video(demo_project, vid, workers=0))
    assert len(again.reused) == 4 and len(again.written) == 1
