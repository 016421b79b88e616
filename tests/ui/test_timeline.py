"""The timeline widget: zoom/scroll geometry, mouse editing signals, thumbnails off the GUI thread,
and painting cost that does not grow with the video's length."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from workstation.core import synth, thumbs
from workstation.core.store import Cut, Segment
from workstation.core.thumbs import ThumbSource
from workstation.ui.common.thumb_loader import ThumbLoader
from workstation.ui.cut.timeline.widget import CURVE_H, RULER_H, THUMB_H, Timeline

Y_CURVE = RULER_H + THUMB_H + CURVE_H // 2


@pytest.fixture()
def timeline(qtbot):
    tl = Timeline()
    qtbot.addWidget(tl)
    tl.resize(1000, tl.minimumHeight())
    tl.show()
    qtbot.waitExposed(tl)
    tl.set_video(400, Fraction(25))
    return tl


def wheel(widget, x: float, dy: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    pos = QPointF(x, Y_CURVE)
    event = QWheelEvent(
        pos,
        widget.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, dy),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def mouse(
    widget,
    kind,
    x: float,
    button=Qt.MouseButton.LeftButton,
    modifiers=Qt.KeyboardModifier.NoModifier,
) -> None:
    pos = QPointF(x, Y_CURVE)
    buttons = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def test_ctrl_wheel_zoom_keeps_the_frame_under_the_mouse(timeline):
    timeline.set_video(200_000, Fraction(24))
    assert timeline.ppf == pytest.approx(1000 / 200_000)
    x = 337.0
    before = timeline.frame_pos(x)
    for _ in range(6):
        wheel(timeline, x, 120, Qt.KeyboardModifier.ControlModifier)
    assert timeline.ppf == pytest.approx(1000 / 200_000 * 1.25**6)
    assert timeline.frame_pos(x) == pytest.approx(before, abs=1e-6)
    wheel(timeline, x, -240, Qt.KeyboardModifier.ControlModifier)
    assert timeline.frame_pos(x) == pytest.approx(before, abs=1e-6)
    # Without Ctrl the wheel scrolls; the scrollbar follows.
    x0 = timeline.x0
    wheel(timeline, x, -120)
    assert timeline.x0 > x0
    assert timeline.scrollbar.value() == round(timeline.x0)
    timeline.fit()
    assert timeline.x0 == 0 and timeline.ppf == pytest.approx(timeline.min_ppf())


def test_zoom_is_limited_and_clamped(timeline):
    timeline.zoom_by(1e6, 500)
    assert timeline.ppf == 48.0
    timeline.zoom_by(1e-9, 10)
    assert timeline.ppf == pytest.approx(timeline.min_ppf()) and timeline.x0 == 0


def test_click_seeks_to_the_frame_under_the_mouse(qtbot, timeline):
    x = timeline.x_of(123) + timeline.ppf / 2
    with qtbot.waitSignal(timeline.seekRequested) as sig:
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(round(x), Y_CURVE))
    assert sig.args == [123]
    assert timeline.playhead == 123


def test_double_click_asks_for_a_cut_at_the_nearest_boundary(qtbot, timeline):
    x = round(timeline.x_of(200))
    with qtbot.waitSignal(timeline.addCutRequested) as sig:
        qtbot.mouseDClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(x, Y_CURVE))
    assert sig.args == [200]


def test_click_selects_and_drag_moves_a_cut_snapped_to_frames(qtbot, timeline):
    timeline.set_cuts([Cut(100, "auto"), Cut(300, "manual")])
    x = timeline.x_of(100)
    with qtbot.waitSignal(timeline.cutSelected) as sig:
        mouse(timeline, QMouseEvent.Type.MouseButtonPress, x + 1)
    assert sig.args == [100]
    mouse(timeline, QMouseEvent.Type.MouseMove, timeline.x_of(110))
    target = timeline.x_of(117) + 0.3 * timeline.ppf  # between frames: snaps to 117
    mouse(timeline, QMouseEvent.Type.MouseMove, target)
    with qtbot.waitSignal(timeline.moveCutRequested) as sig:
        mouse(timeline, QMouseEvent.Type.MouseButtonRelease, target)
    assert sig.args == [100, 117]


def test_shift_drag_snaps_to_the_nearest_score_peak(qtbot, timeline):
    timeline.set_cuts([Cut(100, "auto")])
    scores = np.full(400, 0.05, np.float32)
    scores[121] = 0.9
    timeline.set_scores(scores, 0.3)
    mouse(timeline, QMouseEvent.Type.MouseButtonPress, timeline.x_of(100))
    shift = Qt.KeyboardModifier.ShiftModifier
    mouse(timeline, QMouseEvent.Type.MouseMove, timeline.x_of(115), modifiers=shift)
    with qtbot.waitSignal(timeline.moveCutRequested) as sig:
        mouse(timeline, QMouseEvent.Type.MouseButtonRelease, timeline.x_of(115), modifiers=shift)
    assert sig.args == [100, 121]


def test_drag_onto_another_cut_is_refused(qtbot, timeline):
    timeline.set_cuts([Cut(100), Cut(120)])
    mouse(timeline, QMouseEvent.Type.MouseButtonPress, timeline.x_of(100))
    mouse(timeline, QMouseEvent.Type.MouseMove, timeline.x_of(120) + 0.1)
    with qtbot.assertNotEmitted(timeline.moveCutRequested):
        mouse(timeline, QMouseEvent.Type.MouseButtonRelease, timeline.x_of(120) + 0.1)


def test_context_menu_offers_the_edits(qtbot, timeline):
    timeline.set_cuts([Cut(100), Cut(200)], [Segment(1, 100, 200, keep=True)])
    menu = timeline.context_menu(timeline.x_of(100))
    actions = {a.text().split(" (")[0].split(" at ")[0]: a for a in menu.actions() if a.text()}
    assert "Delete cut" in actions and "Merge with next segment" in actions
    with qtbot.waitSignal(timeline.deleteCutRequested) as sig:
        actions["Delete cut"].trigger()
    assert sig.args == [100]
    menu = timeline.context_menu(timeline.x_of(150))
    actions = {a.text().split(" (")[0]: a for a in menu.actions() if a.text()}
    with qtbot.waitSignal(timeline.toggleRejectRequested) as sig:
        actions["Reject this segment"].trigger()
    assert sig.args == [100]
    with qtbot.waitSignal(timeline.mergeRequested) as sig:
        actions["Merge with next segment"].trigger()
    assert sig.args == [100]
    assert timeline.segment_at(150) == (100, 200, True)


def test_thumbnails_are_decoded_off_the_gui_thread(qtbot, demo_project, monkeypatch):
    vid = demo_project.find_video("demo_anime.mp4").id
    source = ThumbSource.from_project(demo_project, vid)
    threads: set[int] = set()
    real = thumbs.decode_thumbnails

    def spy(*args, **kwargs):
        threads.add(threading.get_ident())
        yield from real(*args, **kwargs)

    monkeypatch.setattr(thumbs, "decode_thumbnails", spy)
    loader = ThumbLoader(demo_project.cache_dir)
    tl = Timeline(loader=loader)
    qtbot.addWidget(tl)
    tl.resize(900, tl.minimumHeight())
    tl.set_video(source.frame_count, Fraction(30), source)
    tl.show()
    qtbot.waitExposed(tl)
    wanted = tl.wanted_thumbs()
    assert len(wanted) >= 5
    qtbot.waitUntil(
        lambda: all(loader.image(source.content_id, f, THUMB_H) for f in wanted), timeout=20000
    )
    assert threads and threading.main_thread().ident not in threads
    for f in wanted:
        img = loader.image(source.content_id, f, THUMB_H)
        arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
        rgb = arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3)
        assert synth.read_frame_number(rgb) == f
    loader.wait_idle()


def test_long_video_paints_only_what_is_visible(qtbot, timeline):
    frames = 2 * 3600 * 24  # a two-hour film
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 0.1, frames).astype(np.float32)
    scores[123_457] = 0.95  # one frame wide: must still show when zoomed out
    cut_frames = np.unique(rng.integers(1, frames, 3000))
    cuts = [Cut(int(f), "auto", uncertain=bool(i % 7 == 0)) for i, f in enumerate(cut_frames)]
    timeline.set_video(frames, Fraction(24))
    timeline.set_cuts(
        cuts, [Segment(1, int(f), 0, keep=bool(i % 3)) for i, f in enumerate(cut_frames)]
    )
    timeline.set_scores(scores, 0.3)
    xs, maxima = timeline.curve_columns(0, frames)
    assert len(xs) <= timeline.width() + 2
    assert maxima.max() == pytest.approx(0.95)
    col = int(np.argmax(maxima))
    assert abs(xs[col] - timeline.x_of(123_457)) <= 1

    def paint_ms() -> float:
        t = time.perf_counter()
        timeline.repaint()
        return (time.perf_counter() - t) * 1000

    paint_ms()
    whole = min(paint_ms() for _ in range(3))
    timeline.zoom_by(200, 500)
    zoomed = min(paint_ms() for _ in range(3))
    # Generous bounds for a loaded 2-core CI machine; typical figures are a few ms.
    assert whole < 150, whole
    assert zoomed < 150, zoomed


def test_tooltips_name_the_cut_or_frame(timeline):
    timeline.set_cuts([Cut(100, "auto", score=0.62, uncertain=True)])
    text = timeline.tooltip_at(timeline.x_of(100) + 1)
    assert "Cut at frame 100" in text and "0.62" in text and "uncertain" in text
    text = timeline.tooltip_at(timeline.x_of(50) + timeline.ppf / 2)
    assert text.startswith("Frame 50") and "Segment 0–99: kept" in text


def test_a_missing_video_is_reported_once(qtbot, tmp_path):
    loader = ThumbLoader(tmp_path / "cache")
    gone = ThumbSource(tmp_path / "gone.mp4", "cid-gone", 320, 180, 100)
    messages = []
    loader.failed.connect(messages.append)
    with qtbot.waitSignal(loader.failed, timeout=10000):
        loader.request("timeline", gone, [1, 2], THUMB_H)
    loader.wait_idle()
    with qtbot.assertNotEmitted(loader.failed, wait=100):
        loader.request("timeline", gone, [3], THUMB_H)  # e.g. the next paint
        loader.wait_idle()
    assert len(messages) == 1 and "gone.mp4" in messages[0]


def test_zoomed_out_thumbnails_use_keyframes(timeline, tmp_path):
    frames = 200_000
    source = ThumbSource(
        tmp_path / "film.mp4", "film", 1920, 1080, frames, keyframes=tuple(range(0, frames, 250))
    )
    timeline.set_video(frames, Fraction(24), source)
    wanted = timeline.wanted_thumbs()
    assert wanted and all(f % 250 == 0 for f in wanted)  # each decodes alone
    assert len(wanted) <= timeline.width() // 90 + 2
    timeline.zoom_by(48 / timeline.ppf, 500)  # closer than a GOP: exact frames
    step = timeline.thumb_step()
    assert step < 250
    assert all(f % step == 0 for f in timeline.wanted_thumbs())


@pytest.mark.parametrize("frames", [400, 2 * 3600 * 24])
def test_playhead_moves_repaint_strips_that_match_a_full_paint(timeline, frames):
    from PySide6.QtGui import QImage, QPainter, QRegion

    rng = np.random.default_rng(3)
    cut_frames = np.unique(rng.integers(1, frames, min(3000, frames // 20)))
    timeline.set_video(frames, Fraction(24))
    timeline.set_cuts(
        [
            Cut(int(f), "auto" if i % 4 else "manual", uncertain=i % 5 == 0)
            for i, f in enumerate(cut_frames)
        ],
        [Segment(1, int(f), 0, keep=bool(i % 3)) for i, f in enumerate(cut_frames)],
    )
    timeline.set_scores(rng.uniform(0, 1, frames).astype(np.float32), 0.5)
    timeline.set_playhead(frames // 3, follow=False)

    def render(region=None, base=None):
        img = (
            base.copy()
            if base is not None
            else QImage(timeline.size(), QImage.Format.Format_ARGB32_Premultiplied)
        )
        painter = QPainter(img)
        region = region or QRegion(timeline.rect())
        # render() puts the region's top-left corner at the target offset.
        timeline.render(painter, region.boundingRect().topLeft(), region)
        painter.end()
        return img

    before = render()
    old = timeline.playhead
    new = old + max(1, frames // 50)
    strips = QRegion(timeline._playhead_rect(old)) + QRegion(timeline._playhead_rect(new))
    timeline.set_playhead(new, follow=False)
    assert timeline.x0 == 0  # no scroll: only the strips are damaged
    full = render()
    partial = render(strips, before)
    assert partial == full


def test_zoomed_out_columns_show_the_share_of_rejected_frames(timeline):
    timeline.set_video(4000, Fraction(25))
    assert timeline.ppf == pytest.approx(0.25)  # 4 frames per pixel column
    timeline.set_cuts([Cut(1002), Cut(2000)], [Segment(1, 1002, 2000, keep=False)])
    x0, share = timeline.rejected_share(0, 4000)
    assert x0 == 0
    assert share[249] == 0 and share[250] == pytest.approx(0.5)  # frames 1000-1003
    assert np.all(share[251:500] == 1) and share[500] == 0


def test_escape_cancels_a_drag(qtbot, timeline):
    timeline.set_cuts([Cut(100)])
    mouse(timeline, QMouseEvent.Type.MouseButtonPress, timeline.x_of(100))
    mouse(timeline, QMouseEvent.Type.MouseMove, timeline.x_of(130))
    qtbot.keyClick(timeline, Qt.Key.Key_Escape)
    with qtbot.assertNotEmitted(timeline.moveCutRequested):
        mouse(timeline, QMouseEvent.Type.MouseButtonRelease, timeline.x_of(130))


def test_a_transitions_tooltip_gives_its_span_and_evidence(timeline):
    timeline.set_cuts([Cut(100, "auto", "transnetv2", 0.91, "dissolve", 94, 105)])
    text = timeline.tooltip_at(timeline.x_of(100) + 1)
    assert "detected dissolve, frames 94–105" in text
    assert "network probability 0.91" in text and "uncertain" not in text
