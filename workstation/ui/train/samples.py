"""The Train view's samples: the validation videos of a run, newest first, played inline."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from workstation.ui.cut.player import PlayerWidget


def video_shape(path: Path) -> tuple[Fraction, int]:
    """Frame rate and frame count of a small sample MP4 (from the container header)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = Fraction(stream.average_rate or 8)
        frames = stream.frames or int(
            float(stream.duration * stream.time_base) * fps
            if stream.duration and stream.time_base
            else 16
        )
    return fps, max(1, frames)


class SamplesPanel(QGroupBox):
    """The list of sample videos; choosing one plays it below, looping."""

    message = Signal(str)  # a sample that cannot be played, in words

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Samples", parent)
        self.setToolTip("The run's validation videos, newest first: click one to play it")
        self.player: PlayerWidget | None = None  # built when a sample is first played (needs GL)
        lay = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._on_chosen)
        lay.addWidget(self.list, 1)
        self.player_holder = QVBoxLayout()
        lay.addLayout(self.player_holder, 2)

    def add(self, path: str) -> None:
        """Put a sample at the top of the list."""
        item = QListWidgetItem(Path(path).name)
        item.setData(Qt.ItemDataRole.UserRole, path)
        item.setToolTip(path)
        self.list.insertItem(0, item)

    def show_all(self, paths: list[Path]) -> None:
        """Show these samples (newest first) instead of the listed ones."""
        self.list.clear()
        for path in reversed(paths):
            self.add(str(path))

    def _on_chosen(self, item: QListWidgetItem | None, _prev: object = None) -> None:
        if item is not None:
            self.play(Path(item.data(Qt.ItemDataRole.UserRole)))

    def play(self, path: Path) -> None:
        """Play a sample MP4 inline, looping."""
        if self.player is None:
            from workstation.ui.cut.player import PlayerWidget

            player = PlayerWidget()
            player.setMinimumHeight(160)
            player.loadFailed.connect(self.message.emit)
            player.loaded.connect(lambda _p: player.play())
            self.player_holder.addWidget(player)
            self.player = player
        try:
            fps, frames = video_shape(path)
        except Exception as exc:
            self.message.emit(f"{path}: cannot read this sample ({exc})")
            return
        # The player has no loop switch of its own; mpv's loop-file keeps a short sample going.
        self.player._ensure_mpv()["loop-file"] = "inf"
        self.player.load(path, fps=fps, frame_count=frames)
