"""The clip grid's model: rows, SQL filtering (each query form), sorting, thumbnails that are
never decoded on the GUI thread, and the token estimate of the caption editor."""

from __future__ import annotations

import threading
from pathlib import Path

import clip_fixtures
import pytest
from clip_fixtures import write_clip_source
from PySide6.QtCore import Qt

from workstation.core import review, thumbs
from workstation.core.review import QueryError
from workstation.core.store import Project
from workstation.ui.clips.model import ClipIdRole, ClipModel, SortKey, ThumbRole, hover_frames
from workstation.ui.clips.tag_panel import approx_clip_tokens
from workstation.ui.common.thumb_loader import ThumbLoader


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> Path:
    return write_clip_source(tmp_path_factory.mktemp("clipsrc"), seed=3)


def make_clips(project: Project, src: Path, n: int) -> list[int]:
    """``n`` clip rows (copies of one tiny clip); frame counts 12, 13, ... so sorts differ."""
    return clip_fixtures.make_clips(project, src, n, frame_count=lambda i: 12 + i)


@pytest.fixture()
def tagged(project, clip_file):
    ids = make_clips(project, clip_file, 6)
    review.add_tags(project, ids[:3], "dog")
    review.add_tags(project, ids[2:4], ["cat", "blue sky"])
    review.set_caption(project, [ids[4]], "A dog runs on the beach")
    review.set_auto_tags(project, ids[5], {"rain": 0.3, "night": 0.9}, model="wd14", threshold=0.2)
    review.mark_reviewed(project, [ids[0], ids[1]])
    return project, ids


@pytest.fixture()
def model(qtbot, tagged):
    project, ids = tagged
    loader = ThumbLoader(project.cache_dir, threads=1)
    m = ClipModel(project, loader)
    m.reload()
    m.fill_counts()  # the grid reads counts a moment after the rows
    yield m, ids
    loader.shutdown()


def visible(m: ClipModel) -> list[int]:
    return [m.index(r).data(ClipIdRole) for r in range(m.rowCount())]


def test_rows_and_roles(model):
    m, ids = model
    assert m.rowCount() == 6
    assert visible(m) == ids  # sorted by name
    row = m.clip(ids[2])
    assert (row.tags, row.reviewed, row.frame_count) == (3, False, 14)
    assert m.clip(ids[5]).unreviewed_auto == 2
    assert m.clip(ids[4]).has_caption
    assert "blue sky" not in m.index(0).data()  # display = file name
    assert m.index(0).data() == "clip_00.mp4"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tag:dog", [0, 1, 2]),
        ("tag:dog -tag:cat", [0, 1]),
        ("tag:blue*", [2, 3]),
        ('tag:"blue sky" OR caption:beach', [2, 3, 4]),
        ("(tag:cat OR tag:night) AND NOT tag:dog", [3, 5]),
        ("frames>=15", [3, 4, 5]),
        ("tags=0", [4]),
        ("reviewed:yes", [0, 1]),
        ("reviewed:no source:auto", [5]),
        ("confidence<0.5", [5]),
        ("dog", [0, 1, 2, 4]),  # a bare word: tag or caption
        ("path:clip_01", [1]),
        ("", [0, 1, 2, 3, 4, 5]),
    ],
)
def test_each_query_form_reaches_the_model(model, query, expected):
    m, ids = model
    assert m.set_query(query) is None
    assert visible(m) == [ids[i] for i in expected]


def test_bad_query_is_returned_and_keeps_the_rows(model):
    m, ids = model
    m.set_query("tag:dog")
    err = m.set_query("tag:dog AND (")
    assert isinstance(err, QueryError)
    assert err.position == 12
    assert visible(m) == ids[:3]  # unchanged
    assert m.query == "tag:dog"


def test_sorting(model, qtbot):
    m, ids = model
    m.set_sort(SortKey.FRAMES, descending=True)
    assert visible(m) == ids[::-1]
    m.set_sort(SortKey.TAGS, descending=True)
    assert visible(m)[0] == ids[2]
    m.set_sort(SortKey.REVIEWED)
    assert visible(m)[:2] == ids[:2]


def test_refresh_clips_keeps_filter_membership(model):
    m, ids = model
    m.set_query("tag:dog")
    review.remove_tags(m.project, [ids[0]], "dog")
    m.refresh_clips([ids[0]])
    assert visible(m) == ids[:3]  # the clip under review does not vanish
    assert m.clip(ids[0]).tags == 0


def test_data_never_decodes_on_the_gui_thread(model, qtbot, monkeypatch):
    m, ids = model
    decode_threads: list[threading.Thread] = []
    real = thumbs.decode_thumbnails

    def spy(*a, **k):
        decode_threads.append(threading.current_thread())
        yield from real(*a, **k)

    monkeypatch.setattr(thumbs, "decode_thumbnails", spy)
    for r in range(m.rowCount()):
        assert m.index(r).data(ThumbRole) is None  # nothing cached yet: a placeholder
    assert decode_threads == []  # data() asked, it did not decode
    with qtbot.waitSignals([m.loader.thumbReady] * 6, timeout=20000):
        pass
    assert decode_threads and all(t is not threading.main_thread() for t in decode_threads)
    assert all(m.index(r).data(ThumbRole) is not None for r in range(m.rowCount()))
    assert len(list((m.project.cache_dir / "thumbs").rglob("*.jpg"))) == 6  # disk cache


def test_hover_frames():
    assert hover_frames(1) == [0]
    assert hover_frames(3) == [0, 1, 2]
    f = hover_frames(100)
    assert f[0] == 0 and f[-1] == 99 and len(f) == 8


def test_token_estimate_is_near_clip():
    assert approx_clip_tokens("") == 2
    # CLIP: "a dog runs on the beach ." -> 7 tokens + start/end
    assert approx_clip_tokens("a dog runs on the beach.") == 9
    long = ", ".join(["a cinematic shot of a woman walking"] * 12)
    assert approx_clip_tokens(long) > 77


def test_tag_counts_follow_the_rows(model, qtbot):
    m, ids = model
    m.reload()  # rows now, counts in the next event-loop turn
    qtbot.waitUntil(lambda: m.clip(ids[2]).tags == 3, timeout=3000)
    assert m.clip(ids[5]).unreviewed_auto == 2 and m.clip(ids[4]).has_caption
    m.reload()
    m.set_sort(SortKey.TAGS, descending=True)  # sorting by tags reads them at once
    assert visible(m)[0] == ids[2]


def test_out_of_date_clips_follow_cut_edits(model):
    m, ids = model
    from fake_media import add_fake_video

    from workstation.core.store import Cut

    p = m.project
    vid = add_fake_video(p, "/footage/a.mp4", content_id="a", width=96, height=54)
    p.db.execute(
        "UPDATE clips SET video_id=?, start_frame=0, end_frame=100 WHERE id=?", (vid, ids[1])
    )
    m.reload()
    assert not m.clip(ids[1]).stale
    p.add_cut(vid, Cut(40))
    m.refresh_stale()
    assert m.clip(ids[1]).stale and not m.clip(ids[0]).stale
    assert "out of date" in m.index(m.row_of(ids[1])).data(Qt.ItemDataRole.ToolTipRole)
    m.set_query("stale:yes")
    assert visible(m) == [ids[1]]
