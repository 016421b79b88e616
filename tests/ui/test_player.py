"""The player shows exactly the frame asked for: read back from the screen by its barcode."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QImage, QKeyEvent
from PySide6.QtWidgets import QMainWindow, QVBoxLayout, QWidget

from workstation.core import synth
from workstation.core.media import probe
from workstation.core.progress import drive
from workstation.ui.cut.player import PlayerWidget
from workstation.ui.cut.player_controls import PlayerControls, format_timecode


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """120 frames at 23.976 fps, 320x180, two shots."""
    path = tmp_path_factory.mktemp("player") / "two_shots.mp4"
    seq = synth.Sequence([synth.Shot("shapes", 60, seed=1), synth.Shot("texture", 60, seed=2)])
    synth.write_video(path, seq, width=320, height=180, fps=Fraction(24000, 1001))
    return drive(probe(path))


@pytest.fixture(scope="module")
def vfr_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("player-vfr") / "vfr.mkv"
    synth.write_vfr_video(
        path, [40, 40, 120, 20, 20, 200, 40, 33, 33, 80] * 4, width=192, height=108
    )
    return drive(probe(path))


def image_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * h)
    return raw.reshape(h, stride)[:, : w * 3].reshape(h, w, 3).copy()


def shown_frame(player: PlayerWidget) -> int | None:
    """Grab the widget, cut out the letterboxed video rectangle, read its barcode."""
    rect = player.video_rect()
    if rect is None:
        return None
    img = image_array(player.grab().toImage())
    ratio = img.shape[1] / max(1, player.width())
    x, y = round(rect.x() * ratio), round(rect.y() * ratio)
    w, h = round(rect.width() * ratio), round(rect.height() * ratio)
    return synth.read_frame_number(img[y : y + h, x : x + w])


@pytest.fixture()
def player(qtbot):
    w = PlayerWidget()
    qtbot.addWidget(w)
    w.resize(400, 300)  # wider aspect than the widget: letterbox bars top and bottom
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.unload()


def load(qtbot, player, info):
    with qtbot.waitSignal(player.firstFrameShown, timeout=15000):
        player.load(info.path, fps=info.fps, frame_count=info.frame_count, index=info.index)


def expect_frame(qtbot, player, n):
    qtbot.waitUntil(lambda: shown_frame(player) == n, timeout=8000)
    qtbot.waitUntil(lambda: player.current_frame == n, timeout=8000)


def test_first_frame_is_shown_and_letterboxed(qtbot, player, video):
    load(qtbot, player, video)
    assert shown_frame(player) == 0
    rect = player.video_rect()
    assert rect.width() == 400 and rect.height() == 225 and rect.y() == 37
    img = image_array(player.grab().toImage())
    assert img[:30].max() < 40  # the bar above the video is black


def test_seek_is_frame_exact(qtbot, player, video):
    load(qtbot, player, video)
    for n in (10, 59, 60, 61, 3, 119, 1, 0):
        player.seek_frame(n)
        expect_frame(qtbot, player, n)


def test_step_forward_and_back(qtbot, player, video):
    load(qtbot, player, video)
    player.seek_frame(58)
    expect_frame(qtbot, player, 58)
    player.step(1)
    expect_frame(qtbot, player, 59)
    player.step(1)  # across the cut
    expect_frame(qtbot, player, 60)
    player.step(-1)
    expect_frame(qtbot, player, 59)
    player.step(-1)
    expect_frame(qtbot, player, 58)
    player.step(10)
    expect_frame(qtbot, player, 68)
    player.step(-30)
    expect_frame(qtbot, player, 38)


def test_stepping_is_clamped_to_the_video(qtbot, player, video):
    load(qtbot, player, video)
    player.step(-1)
    player.seek_frame(500)
    expect_frame(qtbot, player, 119)


def test_vfr_seek_uses_the_frame_index(qtbot, player, vfr_video):
    assert vfr_video.vfr
    load(qtbot, player, vfr_video)
    for n in (2, 3, 5, 6, 17, 25, 39):
        player.seek_frame(n)
        expect_frame(qtbot, player, n)


def test_seek_before_ready_is_applied_after_load(qtbot, player, video):
    player.load(video.path, fps=video.fps, frame_count=video.frame_count, index=video.index)
    player.seek_frame(42)
    expect_frame(qtbot, player, 42)


def test_play_pause_and_jkl(qtbot, player, video):
    load(qtbot, player, video)
    with qtbot.waitSignal(player.playingChanged, timeout=5000) as blocker:
        player.jkl("L")
    assert blocker.args == [True]
    qtbot.waitUntil(lambda: player.current_frame > 5, timeout=8000)
    player.jkl("L")
    qtbot.waitUntil(lambda: player.speed == 2.0, timeout=5000)
    player.jkl("J")  # playing forward faster than 1x: J slows down first
    qtbot.waitUntil(lambda: player.speed == 1.0, timeout=5000)
    assert player.direction == 1
    with qtbot.waitSignal(player.playingChanged, timeout=5000) as blocker:
        player.jkl("K")
    assert blocker.args == [False]
    stopped = player.current_frame
    assert stopped > 5
    expect_frame(qtbot, player, stopped)  # the screen agrees with the number after a pause


def test_keys(qtbot, player, video):
    load(qtbot, player, video)
    player.seek_frame(20)
    expect_frame(qtbot, player, 20)

    def press(key, mods=Qt.KeyboardModifier.NoModifier):
        return player.handle_key(QKeyEvent(QEvent.Type.KeyPress, key, mods))

    assert press(Qt.Key.Key_Period)
    expect_frame(qtbot, player, 21)
    assert press(Qt.Key.Key_Comma)
    expect_frame(qtbot, player, 20)
    assert press(Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    expect_frame(qtbot, player, 30)
    assert press(Qt.Key.Key_End)
    expect_frame(qtbot, player, 119)
    assert not press(Qt.Key.Key_A)
    with qtbot.waitSignal(player.playingChanged, timeout=5000):
        assert press(Qt.Key.Key_Home) and press(Qt.Key.Key_Space)
    with qtbot.waitSignal(player.playingChanged, timeout=5000):
        qtbot.keyClick(player, Qt.Key.Key_Space)  # real key press through the widget
    assert not player.is_playing


def test_controls_show_frame_and_timecode(qtbot, player, video):
    controls = PlayerControls(player)
    qtbot.addWidget(controls)
    load(qtbot, player, video)
    player.seek_frame(49)
    expect_frame(qtbot, player, 49)
    qtbot.waitUntil(lambda: "frame 49 / 119" in controls.position.text())
    assert "00:00:02:01" in controls.position.text()  # 49 / 23.976 = 2.044 s -> frame 1 of 24


def test_timecode_format():
    assert format_timecode(0.0, Fraction(25)) == "00:00:00:00"
    assert format_timecode(3661.5, Fraction(30)) == "01:01:01:15"
    assert format_timecode(48 / Fraction(24000, 1001), Fraction(24000, 1001)) == "00:00:02:00"


def test_moving_to_another_window_keeps_rendering(qtbot, video):
    """Re-parenting recreates the GL context; the player frees and rebuilds its render context."""
    first = QWidget()
    qtbot.addWidget(first)
    QVBoxLayout(first)
    player = PlayerWidget()
    first.layout().addWidget(player)
    first.resize(400, 300)
    first.show()
    qtbot.waitExposed(first)
    load(qtbot, player, video)
    player.seek_frame(30)
    expect_frame(qtbot, player, 30)
    second = QMainWindow()
    qtbot.addWidget(second)
    second.setCentralWidget(player)
    second.resize(400, 300)
    second.show()
    qtbot.waitExposed(second)
    qtbot.waitUntil(lambda: player.is_ready, timeout=15000)
    player.seek_frame(31)
    expect_frame(qtbot, player, 31)
    player.unload()
    player.unload()  # twice is harmless


def test_unplayable_file_reports_instead_of_hanging(qtbot, player, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 5000)
    with qtbot.waitSignal(player.loadFailed, timeout=15000) as blocker:
        player.load(bad, fps=Fraction(25), frame_count=10)
    assert "bad.mp4" in blocker.args[0]
    assert not player.is_ready


def test_switching_videos_quickly_shows_the_last_one(qtbot, player, video, vfr_video):
    for _ in range(3):
        player.load(video.path, fps=video.fps, frame_count=video.frame_count, index=video.index)
        player.load(
            vfr_video.path,
            fps=vfr_video.fps,
            frame_count=vfr_video.frame_count,
            index=vfr_video.index,
        )
    player.seek_frame(17)
    expect_frame(qtbot, player, 17)
    assert player.frame_count == vfr_video.frame_count
