"""The Clips view's preview: the current clip looping in the player, muted, like a GIF.

It pauses while the grid scrolls (decoding and software GL rendering would take the CPU the
scrolling needs) and while the view is hidden, and plays on afterwards.  The player (libmpv) is
imported only when a view has a preview.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from workstation.ui.clips.model import ClipRow

if TYPE_CHECKING:
    from workstation.ui.cut.player import PlayerWidget

RESUME_AFTER_SCROLL_MS = 400


class LoopingPreview(QObject):
    """Owns the :class:`~workstation.ui.cut.player.PlayerWidget` (:attr:`player`, for the
    view's layout) and what it plays."""

    failed = Signal(str)  # a message: the clip's file is missing or the player can't open it

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from workstation.ui.cut.player import PlayerWidget  # libmpv: loaded only with a player

        self.player: PlayerWidget = PlayerWidget()
        self.player.setMinimumSize(240, 135)
        self.player.firstFrameShown.connect(self._start_loop)
        self.player.loadFailed.connect(self.failed)
        self._resume = QTimer(self, singleShot=True, interval=RESUME_AFTER_SCROLL_MS)
        self._resume.timeout.connect(self.play)

    def show_clip(self, row: ClipRow | None) -> None:
        """Loop this clip (nothing changes if it is the one playing, or None)."""
        if row is None or self.player.path == row.path:
            return
        if not row.path.exists():
            self.failed.emit(f"{row.path}: file not found")
            return
        self.player.load(row.path, fps=row.fps, frame_count=row.frame_count)

    def _start_loop(self) -> None:
        """Loop the current clip forever (mpv's loop-file), muted, like a GIF."""
        mpv = self.player._ensure_mpv()  # the player has no loop API; the option is mpv's own
        mpv["loop-file"] = "inf"
        mpv["mute"] = "yes"
        self.player.play()

    def pause_while_scrolling(self) -> None:
        """Pause now and play on once the scrolling has paused for a moment."""
        if self.player.is_playing:
            self.player.pause()
            self._resume.start()
        elif self._resume.isActive():
            self._resume.start()

    def play(self) -> None:
        """Play again if a clip is loaded (the view is shown again)."""
        if self.player.is_ready:
            self.player.play()

    def pause(self) -> None:
        """Pause if playing (nobody sees it loop: another tab, minimised)."""
        if self.player.is_playing:
            self.player.pause()

    def unload(self) -> None:
        """Stop and close the clip (mpv's threads must not outlive the widget)."""
        self.player.unload()
