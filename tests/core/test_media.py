"""Probing: exact frame counts and rates, VFR, and one clear message per bad file."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from workstation.core import media, synth
from workstation.core.errors import MediaError
from workstation.core.progress import drive


def _probe(path):
    return drive(media.probe(path))


def test_probe_demo_videos_exact(demo_videos):
    rates = {
        "demo_live.mp4": Fraction(24000, 1001),
        "demo_transitions.mp4": Fraction(25),
        "demo_anime.mp4": Fraction(30),
    }
    for path in demo_videos:
        info = _probe(path)
        truth = synth.Truth.load(str(path) + ".truth.json")
        assert info.frame_count == truth.frames
        assert info.fps == rates[path.name]
        assert not info.vfr
        assert (info.width, info.height) == (320, 180)
        assert info.keyframes[0] == 0 and 48 in info.keyframes
        assert abs(info.duration - truth.frames / float(info.fps)) < 1e-6


def test_iter_frames_numbers_match_barcodes_after_seek(demo_videos):
    path = demo_videos[0]
    info = _probe(path)
    for start in (0, 1, 47, 48, 49, 150, info.frame_count - 1):
        n, img = next(media.iter_frames(path, start=start, index=info.index))
        assert n == start
        assert synth.read_frame_number(img) == start


def test_vfr_file_is_flagged_and_indexed(tmp_path):
    durations = [33, 33, 50, 20, 40, 33, 33, 100, 33, 33]
    path = tmp_path / "vfr.mkv"
    synth.write_vfr_video(path, durations)
    info = _probe(path)
    assert info.vfr
    assert info.frame_count == 10
    starts = np.cumsum([0, *durations[:-1]])
    assert [round(info.index.time_of(i) * 1000) for i in range(10)] == list(starts)
    assert info.index.frame_at_time(0.120) == 3  # frame 3 starts at 116 ms
    for start in (3, 7, 9):
        n, img = next(media.iter_frames(path, start=start, index=info.index))
        assert n == start == synth.read_frame_number(img)


def _audio_only(path):
    c = av.open(str(path), "w")
    s = c.add_stream("aac", rate=44100)
    frame = av.AudioFrame.from_ndarray(
        np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
    )
    frame.sample_rate = 44100
    for _ in range(20):
        for pkt in s.encode(frame):
            c.mux(pkt)
    for pkt in s.encode():
        c.mux(pkt)
    c.close()


@pytest.mark.parametrize(
    "make,expect",
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("not a video at all\n" * 50), "not a video"),
        (_audio_only, "audio only"),
    ],
    ids=["zero-byte", "text", "audio-only"],
)
def test_bad_files_get_one_clear_message(tmp_path, make, expect):
    path = tmp_path / "bad.mp4" if expect != "audio only" else tmp_path / "bad.m4a"
    make(path)
    with pytest.raises(MediaError) as err:
        _probe(path)
    assert str(path) in str(err.value) and expect in str(err.value)


def test_truncated_mp4_and_mkv(tmp_path, demo_videos):
    src = demo_videos[1].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src[: len(src) // 2])  # moov at the end: unreadable
    with pytest.raises(MediaError) as err:
        _probe(cut)
    assert "cut.mp4" in str(err.value)

    mkv = tmp_path / "long.mkv"
    seq = synth.Sequence([synth.Shot("texture", 120, seed=3)])
    synth.write_video(mkv, seq, width=160, height=96)
    data = mkv.read_bytes()
    trunc = tmp_path / "trunc.mkv"
    trunc.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(MediaError) as err:
        _probe(trunc)
    assert "trunc.mkv" in str(err.value) and "truncated" in str(err.value)
    assert _probe(mkv).frame_count == 120


def test_find_videos_reports_missing_and_walks_folders(tmp_path, demo_videos):
    found, errors = media.find_videos([demo_videos[0].parent, tmp_path / "nope.mp4"])
    assert sorted(p.name for p in found) == sorted(p.name for p in demo_videos)
    assert len(errors) == 1 and "nope.mp4" in str(errors[0])


def test_barcode_survives_downscaling(demo_videos):
    for n, img in media.iter_frames(demo_videos[2], width=96, height=54, end=40):
        assert synth.read_frame_number(img) == n
