"""The bar under a :class:`~workstation.ui.cut.player.PlayerWidget`, and the timecode it shows.

Kept apart from the player so the player module holds only the mpv side.  It needs the player's
type only for annotations, so the player can import :data:`SPEEDS` and :func:`format_timecode`
from here without an import cycle.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QWidget

if TYPE_CHECKING:
    from workstation.ui.cut.player import PlayerWidget

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)  # the speed menu; J/L shuttle stops at the last


def format_timecode(seconds: float, fps: Fraction) -> str:
    """HH:MM:SS:FF with FF counted at the nominal (rounded) frame rate."""
    nominal = max(1, round(float(fps)))
    whole = math.floor(seconds + 1e-6)
    ff = min(nominal - 1, math.floor((seconds - whole) * nominal + 1e-3))
    hh, rem = divmod(whole, 3600)
    mm, ss = divmod(rem, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{max(0, ff):02d}"


class PlayerControls(QWidget):
    """Play/pause, frame number + timecode, speed: a small bar under a :class:`PlayerWidget`."""

    def __init__(self, player: PlayerWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.play_button = QToolButton()
        self.play_button.setText("▶")
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(player.toggle_play)
        self.back_button = QToolButton()
        self.back_button.setText("◀|")
        self.back_button.setToolTip("Previous frame (,)")
        self.back_button.clicked.connect(lambda: player.step(-1))
        self.fwd_button = QToolButton()
        self.fwd_button.setText("|▶")
        self.fwd_button.setToolTip("Next frame (.)")
        self.fwd_button.clicked.connect(lambda: player.step(1))
        self.position = QLabel()
        self.position.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.position.setToolTip("Frame number (0-based) and timecode HH:MM:SS:FF")
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("Playback speed (J/K/L change it too)")
        self.speed.activated.connect(lambda i: player.set_speed(self.speed.itemData(i)))
        for b in (self.play_button, self.back_button, self.fwd_button, self.speed):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the view

        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.back_button)
        layout.addWidget(self.play_button)
        layout.addWidget(self.fwd_button)
        layout.addWidget(self.position, 1)
        layout.addWidget(self.speed)

        player.frameChanged.connect(self._show_position)
        player.playingChanged.connect(self._show_playing)
        player.speedChanged.connect(self._show_speed)
        self._show_position(player.current_frame)

    def _show_position(self, frame: int) -> None:
        total = self.player.frame_count
        if not total:
            self.position.setText("no video")
            return
        self.position.setText(f"frame {frame} / {total - 1}   {self.player.timecode(frame)}")

    def _show_playing(self, playing: bool) -> None:
        self.play_button.setText("❚❚" if playing else "▶")

    def _show_speed(self, speed: float) -> None:
        for i in range(self.speed.count()):
            if abs(self.speed.itemData(i) - speed) < 1e-6:
                self.speed.setCurrentIndex(i)
                return
