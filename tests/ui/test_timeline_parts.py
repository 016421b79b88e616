"""The timeline's parts alone, without the widget: the data arrays, the geometry's mapping, zoom and
column reductions, the thumbnail strip's choice of frames, and the mouse turning events into the
timeline's request signals (through a stand-in for the widget)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent

from workstation.core.store import Cut, Segment
from workstation.core.thumbs import ThumbSource
from workstation.ui.cut.timeline.data import TimelineData
from workstation.ui.cut.timeline.geometry import MAX_PPF, RULER_H, TimelineGeometry
from workstation.ui.cut.timeline.mouse import TimelineMouse
from workstation.ui.cut.timeline.thumbs import ThumbStrip


def make_geometry(frames: int = 400, width: int = 1000) -> TimelineGeometry:
    data = TimelineData()
    data.reset(frames, Fraction(25))
    g = TimelineGeometry(data)
    g.resize(width)
    return g


# -- data ------------------------------------------------------------------------------------
def test_data_keeps_cuts_sorted_and_patches_only_the_touched_frames():
    d = TimelineData()
    d.reset(1000, Fraction(24))
    d.set_cuts(
        [Cut(500, "manual"), Cut(100, "auto", uncertain=True)], [Segment(1, 100, 500, False)]
    )
    assert d.frames.tolist() == [100, 500]
    assert d.manual.tolist() == [False, True] and d.uncertain.tolist() == [True, False]
    assert d.segment_at(50) == (0, 100, True)
    assert d.segment_at(100) == (100, 500, False)
    assert d.segment_at(999) == (500, 1000, True)
    assert d.rejected_cum[500] - d.rejected_cum[100] == 400 and d.rejected_cum[-1] == 400
    d.patch_cuts([500, 700], [Cut(700, "manual")], {700: True})
    assert d.frames.tolist() == [100, 700]
    assert d.cut_at_frame(700) is not None and d.cut_at_frame(500) is None
    d.reset(50, Fraction(0))
    assert d.cuts == [] and d.fps == 25 and d.frame_count == 50


def test_data_score_top_leaves_room_above_the_threshold():
    d = TimelineData()
    d.set_scores(np.array([0.1, 0.2], np.float32), 0.4)
    assert d.score_top == pytest.approx(0.5)
    d.set_scores(np.zeros(0, np.float32))
    assert d.scores is None and d.score_top == 1.0


# -- geometry --------------------------------------------------------------------------------
def test_geometry_maps_frames_and_pixels_both_ways():
    g = make_geometry(400, 1000)
    assert g.fitted and g.ppf == pytest.approx(2.5) and g.x0 == 0
    assert g.x_of(100) == pytest.approx(250)
    assert g.frame_pos(250) == pytest.approx(100)
    assert g.frame_at(251.2) == 100  # inside frame 100's cell
    assert g.boundary_at(251.2) == 100 and g.boundary_at(253) == 101  # nearest boundary
    assert g.frame_at(-50) == 0 and g.frame_at(5000) == 399
    assert g.boundary_at(-50) == 1 and g.boundary_at(5000) == 399
    assert g.visible_range() == (0, 400)


def test_geometry_zoom_keeps_the_anchor_and_is_clamped():
    g = make_geometry(200_000, 1000)
    before = g.frame_pos(337)
    g.zoom_by(1.25**6, 337)
    assert g.ppf == pytest.approx(1000 / 200_000 * 1.25**6) and not g.fitted
    assert g.frame_pos(337) == pytest.approx(before, abs=1e-6)
    g.zoom_by(1e9, 500)
    assert g.ppf == MAX_PPF
    g.zoom_by(1e-12, 10)
    assert g.ppf == pytest.approx(g.min_ppf()) and g.x0 == 0 and g.fitted


def test_geometry_zoom_defaults_to_the_playhead_when_it_is_in_view():
    g = make_geometry(10_000, 1000)
    g.zoom_by(4, playhead=2000)
    assert g.x_of(2000) == pytest.approx(200)  # where it was before the zoom
    middle = g.frame_pos(500)
    g.zoom_by(2, playhead=0)  # out of view now: the middle stays put
    assert g.frame_pos(500) == pytest.approx(middle) and g.ppf == pytest.approx(0.8)


def test_geometry_scroll_clamps_and_ensure_visible_moves_only_when_needed():
    g = make_geometry(10_000, 1000)
    g.zoom_by(10, 0)
    g.scroll_frames(-50)
    assert g.x0 == 0
    g.scroll_frames(1e9)
    assert g.x0 == pytest.approx(10_000 - g.visible_frames)
    g.scroll_to(0)
    assert not g.ensure_visible(100)
    assert g.ensure_visible(5000)
    assert g.x0 == pytest.approx(5000 - g.visible_frames * 0.1)
    assert 0 <= g.x_of(5000) <= g.width


def test_geometry_resize_keeps_a_fitted_view_fitted():
    g = make_geometry(4000, 1000)
    g.resize(500)
    assert g.ppf == pytest.approx(500 / 4000) and g.x0 == 0
    g.zoom_by(8, 0)
    ppf = g.ppf
    g.resize(2000)
    assert g.ppf == ppf and not g.fitted


def test_geometry_columns_reduce_to_one_value_per_pixel():
    g = make_geometry(4000, 1000)  # 4 frames per pixel column
    g.data.set_cuts([Cut(1002), Cut(2000)], [Segment(1, 1002, 2000, keep=False)])
    x0, share = g.rejected_share(0, 4000)
    assert x0 == 0 and share[250] == pytest.approx(0.5) and np.all(share[251:500] == 1)
    assert g.rejected_columns(0, 4000) == [(pytest.approx(250.5), pytest.approx(500.0))]
    scores = np.zeros(4000, np.float32)
    scores[1234] = 0.9
    g.data.set_scores(scores)
    xs, maxima = g.curve_columns(0, 4000)
    assert len(xs) <= g.width + 2 and maxima[int(np.argmax(maxima))] == pytest.approx(0.9)
    assert abs(xs[int(np.argmax(maxima))] - g.x_of(1234)) <= 1


def test_geometry_shows_one_cut_per_column_preferring_uncertain_ones():
    g = make_geometry(4000, 300)  # ~13 frames per pixel
    cuts = [Cut(f, "auto") for f in range(1, 4000, 2)]
    cuts[100] = Cut(cuts[100].frame, "auto", uncertain=True)
    g.data.set_cuts(cuts)
    shown = g.visible_cut_indices(0, 4000)
    cols = np.round(g.x_of(g.data.frames[shown]))
    assert len(np.unique(cols)) == len(cols) <= g.width + 1
    assert 100 in shown.tolist()


# -- thumbnails ------------------------------------------------------------------------------
def test_thumb_strip_uses_keyframes_only_when_cells_span_a_gop():
    g = make_geometry(200_000, 1000)
    strip = ThumbStrip(None, g)
    keys = tuple(range(0, 200_000, 250))
    strip.set_source(ThumbSource(Path("film.mp4"), "film", 1920, 1080, 200_000, keyframes=keys))
    assert strip.gop == 250
    assert strip.thumb_frame(1000, 512) == 1000 and strip.thumb_frame(1100, 512) == 1250
    assert strip.thumb_frame(1100, 128) == 1100  # closer than a GOP: the exact frame
    wanted = strip.wanted_thumbs()
    assert wanted and all(f % 250 == 0 for f in wanted)
    assert strip.shows("film", 54) and not strip.shows("other", 54)
    strip.set_source(None)
    assert strip.gop == 1 and not strip.shows("film", 54)


# -- mouse -----------------------------------------------------------------------------------
class FakeHost(QObject):
    """Stands in for the Timeline widget: what TimelineMouse reads and asks."""

    seekRequested = Signal(int)
    addCutRequested = Signal(int)
    deleteCutRequested = Signal(int)
    moveCutRequested = Signal(int, int)
    toggleRejectRequested = Signal(int)
    mergeRequested = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.data = TimelineData()
        self.data.reset(400, Fraction(25))
        self.geom = TimelineGeometry(self.data)
        self.geom.resize(1000)
        self.playhead = 0
        self.selected: int | None = None
        self.zooms: list[tuple[float, float | None]] = []
        self.scrolls: list[float] = []
        self.updates = 0

    def select_cut(self, frame: int | None, *, reveal: bool = True) -> None:
        self.selected = frame

    def set_playhead(self, frame: int, *, follow: bool = True) -> None:
        self.playhead = frame

    def zoom_by(self, factor: float, anchor_x: float | None = None) -> None:
        self.zooms.append((factor, anchor_x))

    def scroll_frames(self, delta: float) -> None:
        self.scrolls.append(delta)

    def update(self) -> None:
        self.updates += 1


def mouse_event(kind, x: float, modifiers=Qt.KeyboardModifier.NoModifier) -> QMouseEvent:
    pos = QPointF(x, RULER_H + 60)
    button = Qt.MouseButton.LeftButton
    buttons = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else button
    return QMouseEvent(kind, pos, pos, button, buttons, modifiers)


def test_mouse_press_off_a_cut_seeks_and_scrubs(qtbot):
    host = FakeHost()
    m = TimelineMouse(host)
    with qtbot.waitSignal(host.seekRequested) as sig:
        assert m.press(mouse_event(QMouseEvent.Type.MouseButtonPress, host.geom.x_of(123) + 1))
    assert sig.args == [123] and host.playhead == 123
    with qtbot.waitSignal(host.seekRequested) as sig:
        m.move(mouse_event(QMouseEvent.Type.MouseMove, host.geom.x_of(150) + 1))
    assert sig.args == [150] and host.playhead == 150
    m.release(mouse_event(QMouseEvent.Type.MouseButtonRelease, host.geom.x_of(150)))
    assert not m.move(mouse_event(QMouseEvent.Type.MouseMove, 10))  # hovering again


def test_mouse_drag_asks_to_move_the_cut_and_escape_drops_it(qtbot):
    host = FakeHost()
    host.data.set_cuts([Cut(100), Cut(300)])
    m = TimelineMouse(host)
    g = host.geom
    m.press(mouse_event(QMouseEvent.Type.MouseButtonPress, g.x_of(100) + 1))
    assert host.selected == 100
    m.move(mouse_event(QMouseEvent.Type.MouseMove, g.x_of(117) + 0.3 * g.ppf))
    assert m.drag == (100, 117) and host.updates
    with qtbot.waitSignal(host.moveCutRequested) as sig:
        m.release(mouse_event(QMouseEvent.Type.MouseButtonRelease, g.x_of(117)))
    assert sig.args == [100, 117] and m.drag is None
    m.press(mouse_event(QMouseEvent.Type.MouseButtonPress, g.x_of(300)))
    m.move(mouse_event(QMouseEvent.Type.MouseMove, g.x_of(330)))
    esc = QKeyEvent(QKeyEvent.Type.KeyPress, Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier)
    assert m.key(esc) and m.drag is None
    with qtbot.assertNotEmitted(host.moveCutRequested):
        m.release(mouse_event(QMouseEvent.Type.MouseButtonRelease, g.x_of(330)))
    assert not m.key(esc)  # nothing to cancel: the widget passes it on


def test_mouse_double_click_menu_and_wheel_become_requests(qtbot):
    host = FakeHost()
    host.data.set_cuts([Cut(100)])
    m = TimelineMouse(host)
    g = host.geom
    with qtbot.waitSignal(host.addCutRequested) as sig:
        m.double_click(mouse_event(QMouseEvent.Type.MouseButtonDblClick, g.x_of(200) + 0.4))
    assert sig.args == [200]
    with qtbot.assertNotEmitted(host.addCutRequested):  # on a marker: no new cut
        m.double_click(mouse_event(QMouseEvent.Type.MouseButtonDblClick, g.x_of(100) + 1))
    menu = m.context_menu(g.x_of(100))
    actions = {a.text().split(" at ")[0].split(" (")[0]: a for a in menu.actions() if a.text()}
    with qtbot.waitSignal(host.deleteCutRequested) as sig:
        actions["Delete cut"].trigger()
    assert sig.args == [100]
    with qtbot.waitSignal(host.seekRequested) as sig:
        actions["Seek here"].trigger()
    assert sig.args == [100] and host.playhead == 100
    pos = QPointF(300, 80)
    ctrl, none = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.NoModifier
    for mods in (ctrl, none):
        m.wheel(
            QWheelEvent(
                pos,
                pos,
                QPointF(0, 0).toPoint(),
                QPointF(0, 120).toPoint(),
                Qt.MouseButton.NoButton,
                mods,
                Qt.ScrollPhase.NoScrollPhase,
                False,
            )
        )
    assert host.zooms == [(pytest.approx(1.25), 300)]
    assert host.scrolls == [pytest.approx(-g.visible_frames / 10)]


def test_mouse_tooltip_and_peak_snap():
    host = FakeHost()
    host.data.set_cuts([Cut(100, "auto", score=0.62, uncertain=True)])
    scores = np.full(400, 0.05, np.float32)
    scores[121] = 0.9
    host.data.set_scores(scores, 0.3)
    m = TimelineMouse(host)
    g = host.geom
    assert "Cut at frame 100" in m.tooltip_at(g.x_of(100) + 1)
    assert m.tooltip_at(g.x_of(50) + 1).startswith("Frame 50")
    assert m.peak_near(115) == 121
    assert m.cut_near(g.x_of(100) + 4) == 100 and m.cut_near(g.x_of(100) + 8) is None
    assert m.cursor_at(g.x_of(100), 30) == Qt.CursorShape.SizeHorCursor
    assert m.cursor_at(g.x_of(200), 30) == Qt.CursorShape.ArrowCursor
