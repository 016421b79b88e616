"""Thumbnails: right frames (checked by barcode), cached on disk atomically, cheap decode runs."""

from __future__ import annotations

import pytest

from workstation.core import synth, thumbs
from workstation.core.errors import MediaError
from workstation.core.thumbs import ThumbCache, ThumbSource, load_thumbnails, plan_runs


@pytest.fixture()
def source(demo_project) -> ThumbSource:
    vid = demo_project.find_video("demo_live.mp4").id
    return ThumbSource.from_project(demo_project, vid)


def test_thumbnails_show_the_requested_frames(demo_project, source):
    cache = ThumbCache(demo_project.cache_dir)
    wanted = [0, 1, 59, 60, 61, 150, source.frame_count - 1]
    got = dict(load_thumbnails(cache, source, wanted, 72))
    assert sorted(got) == wanted
    for frame, image in got.items():
        assert image.shape == (72, 128, 3)
        assert synth.read_frame_number(image) == frame
        assert cache.path(source.content_id, frame, 72).exists()


def test_second_load_comes_from_the_cache(demo_project, source, monkeypatch):
    cache = ThumbCache(demo_project.cache_dir)
    list(load_thumbnails(cache, source, [10, 20], 54))

    def no_decode(*a, **k):
        raise AssertionError("decoded again although cached")

    monkeypatch.setattr(thumbs, "decode_thumbnails", no_decode)
    got = dict(load_thumbnails(cache, source, [10, 20], 54))
    assert [synth.read_frame_number(got[f]) for f in (10, 20)] == [10, 20]
    # No temp files are left behind by the atomic writes.
    assert not list(cache.root.rglob(".tmp-*"))


def test_damaged_cache_file_is_decoded_again(demo_project, source):
    cache = ThumbCache(demo_project.cache_dir)
    list(load_thumbnails(cache, source, [5], 54))
    cache.path(source.content_id, 5, 54).write_bytes(b"not a jpeg")
    got = dict(load_thumbnails(cache, source, [5], 54))
    assert synth.read_frame_number(got[5]) == 5


def test_out_of_range_frames_are_skipped(demo_project, source):
    cache = ThumbCache(demo_project.cache_dir)
    got = dict(load_thumbnails(cache, source, [-1, 3, source.frame_count + 5], 54))
    assert list(got) == [3]


def test_missing_video_names_the_file(demo_project, source, tmp_path):
    gone = ThumbSource(tmp_path / "gone.mp4", "abc", 320, 180, 100)
    with pytest.raises(MediaError, match="gone.mp4"):
        list(load_thumbnails(ThumbCache(demo_project.cache_dir), gone, [1], 54))


def test_plan_runs_seeks_only_across_keyframes():
    keys = (0, 48, 96, 144)
    assert plan_runs([5, 10, 47], keys) == [(5, 48)]
    assert plan_runs([5, 50, 100], keys) == [(5, 6), (50, 51), (100, 101)]
    assert plan_runs([100, 97, 98], keys) == [(97, 101)]
    assert plan_runs([], keys) == []


def test_cancel_stops_between_frames(demo_project, source):
    cache = ThumbCache(demo_project.cache_dir)
    seen = []
    for f, _ in load_thumbnails(cache, source, range(0, 40, 4), 54, cancelled=lambda: bool(seen)):
        seen.append(f)
    assert seen == [0]


def test_without_a_frame_index_frames_are_counted(demo_project, source):
    import dataclasses

    plain = dataclasses.replace(source, index=None, content_id=source.content_id + "-noindex")
    got = dict(load_thumbnails(ThumbCache(demo_project.cache_dir), plain, [3, 40], 54))
    assert {f: synth.read_frame_number(img) for f, img in got.items()} == {3: 3, 40: 40}
