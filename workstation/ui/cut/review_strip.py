"""The cut review strip: the frames around the selected cut, to judge it at a glance.

For a cut at frame N it shows N-3 … N+2: three frames of the old shot, then three of the new
one, with N (the first frame of the new shot) outlined.  A cut one frame off shows at once as a
frame of the wrong shot on the wrong side.  Above them: why the cut is there (its kind and span,
its detector's evidence, whether it is uncertain and why, :mod:`.why`), and the "Doubtful first"
toggle: with it on, the next/previous cut keys visit the uncertain cuts first.  Thumbnails come
from the shared :class:`~workstation.ui.common.thumb_loader.ThumbLoader` (decoded off the GUI
thread).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workstation.core.store import Cut
from workstation.core.thumbs import ThumbSource
from workstation.ui.cut import why

BEFORE, AFTER = 3, 3
STRIP_H = 90  # thumbnail height


class _Tile(QFrame):
    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame: int | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(STRIP_H * 16 // 9, STRIP_H)
        self.image.setStyleSheet("background: #2d2e34;")
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(2)
        layout.addWidget(self.image)
        layout.addWidget(self.caption)

    def show_frame(self, frame: int | None, first_of_new_shot: bool) -> None:
        self.frame = frame
        self.image.clear()
        self.setVisible(frame is not None)
        if frame is None:
            return
        self.caption.setText(f"<b>{frame}</b>" + ("  ▸ new shot" if first_of_new_shot else ""))
        self.setStyleSheet(
            "_Tile { border: 2px solid #ffd75e; border-radius: 3px; }"
            if first_of_new_shot
            else "_Tile { border: 2px solid transparent; }"
        )
        tip = "First frame of the new shot. " if first_of_new_shot else ""
        self.setToolTip(f"{tip}Click to show frame {frame} in the player")

    def set_image(self, image: QImage) -> None:
        self.image.setPixmap(QPixmap.fromImage(image))

    def mousePressEvent(self, event) -> None:
        if self.frame is not None and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.frame)
        super().mousePressEvent(event)


class ReviewStrip(QWidget):
    """Frames around one cut plus Accept / −1 / +1 / Delete."""

    acceptRequested = Signal(int)
    seekRequested = Signal(int)  # a tile was clicked: show that frame in the player
    nudgeRequested = Signal(int, int)  # cut frame, delta
    deleteRequested = Signal(int)
    doubtfulFirstToggled = Signal(bool)

    def __init__(self, loader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.source: ThumbSource | None = None
        self.cut: Cut | None = None
        #: Whether the shown detection scored a frame (None: it scored them all).
        self.is_scored: Callable[[int], bool] | None = None
        self.tiles = [_Tile(self) for _ in range(BEFORE + AFTER)]
        for tile in self.tiles:
            tile.clicked.connect(self.seekRequested)
        self.title = QLabel("Select a cut on the timeline to review it")
        self.title.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.why = QLabel()
        self.why.setStyleSheet("font-style: italic;")
        self.why.setWordWrap(True)
        self.doubtful_first = QPushButton("Doubtful first")
        self.doubtful_first.setCheckable(True)
        self.doubtful_first.setToolTip(
            "Next/previous cut ([ and ]) visit the uncertain cuts first, until none is left "
            "(accepting a cut clears its doubt); U jumps to the next uncertain cut always"
        )
        self.doubtful_first.toggled.connect(self.doubtfulFirstToggled)
        self.accept_button = QPushButton("Accept")
        self.accept_button.setToolTip("The cut is right: mark it as checked by a person (A)")
        self.left_button = QPushButton("−1")
        self.left_button.setToolTip("Move the cut one frame earlier (Alt+,)")
        self.right_button = QPushButton("+1")
        self.right_button.setToolTip("Move the cut one frame later (Alt+.)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Not a cut: remove it (Delete)")
        buttons = (self.accept_button, self.left_button, self.right_button, self.delete_button)
        for b in (*buttons, self.doubtful_first):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the timeline
        self.accept_button.clicked.connect(lambda: self._emit(self.acceptRequested))
        self.delete_button.clicked.connect(lambda: self._emit(self.deleteRequested))
        self.left_button.clicked.connect(lambda: self._nudge(-1))
        self.right_button.clicked.connect(lambda: self._nudge(1))

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.doubtful_first)
        head.addSpacing(12)
        for b in buttons:
            head.addWidget(b)
        row = QHBoxLayout()
        row.setSpacing(2)
        for i, tile in enumerate(self.tiles):
            if i == BEFORE:
                self.divider = QFrame()
                self.divider.setFrameShape(QFrame.Shape.VLine)
                self.divider.setStyleSheet("color: #ffd75e;")
                self.divider.setToolTip("The cut: the new shot starts right of this line")
                row.addWidget(self.divider)
            row.addWidget(tile)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(head)
        layout.addWidget(self.why)
        layout.addLayout(row)
        loader.thumbReady.connect(self._on_thumb)
        self.set_cut(None, None)

    def frames(self) -> list[int]:
        """The frames shown (N-3 … N+2, clipped to the video)."""
        return [t.frame for t in self.tiles if t.frame is not None]

    def images(self) -> dict[int, QImage]:
        """The thumbnails on screen now, by frame (for tests and screenshots)."""
        out = {}
        for t in self.tiles:
            pm = t.image.pixmap()
            if t.frame is not None and pm is not None and not pm.isNull():
                out[t.frame] = pm.toImage()
        return out

    def set_scored(self, is_scored: Callable[[int], bool] | None) -> None:
        """Which frames the latest detection scored (its gate left the rest unscored)."""
        self.is_scored = is_scored

    def set_cut(self, source: ThumbSource | None, cut: Cut | None) -> None:
        self.source, self.cut = source, cut
        enabled = cut is not None and source is not None
        self.divider.setVisible(enabled)
        for b in (self.accept_button, self.left_button, self.right_button, self.delete_button):
            b.setEnabled(enabled)
        if cut is None or source is None:
            self.title.setText("Select a cut on the timeline to review it")
            self.why.clear()
            for t in self.tiles:
                t.show_frame(None, False)
            return
        n = cut.frame
        evidence = why.evidence(cut)
        head = why.what(cut) + (f", {evidence}" if evidence else "")
        flag = "  — <span style='color:#ff8228'>uncertain</span>" if cut.uncertain else ""
        self.title.setText(f"Cut at frame <b>{n}</b>: {head}{flag}")
        details = [why.gate(cut, self.is_scored), why.doubt(cut), *why.notes(cut)]
        if cut.detector and cut.source == "auto":
            details.append(f"by {cut.detector}")
        self.why.setText("; ".join(d for d in details if d))
        wanted = []
        for i, tile in enumerate(self.tiles):
            f = n - BEFORE + i
            ok = 0 <= f < source.frame_count
            tile.show_frame(f if ok else None, f == n)
            if ok:
                img = self.loader.image(source.content_id, f, STRIP_H)
                if img is None:
                    wanted.append(f)
                else:
                    tile.set_image(img)
        if wanted:
            self.loader.request("review", source, wanted, STRIP_H)

    def _on_thumb(self, cid: str, frame: int, height: int, image: QImage) -> None:
        if self.source is None or cid != self.source.content_id or height != STRIP_H:
            return
        for t in self.tiles:
            if t.frame == frame:
                t.set_image(image)

    def _emit(self, signal) -> None:
        if self.cut is not None:
            signal.emit(self.cut.frame)

    def _nudge(self, delta: int) -> None:
        if self.cut is not None:
            self.nudgeRequested.emit(self.cut.frame, delta)
