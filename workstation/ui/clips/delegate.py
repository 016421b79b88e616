"""Draws one clip cell of the grid: thumbnail (or a placeholder), name and badges (length,
tags, caption, and reviewed / rejected / out of date stacked at the top right).

Painting reads only the model's roles (a cached image or None) — nothing here decodes or
touches the disk, so a 10,000-clip grid scrolls at paint speed.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from workstation.ui.clips.model import THUMB_HEIGHT, ClipRole, ClipRow, ThumbRole

CELL_W = 200
THUMB_W = 192
PAD = 4
TEXT_H = 18

_BADGE_BG = QColor(0, 0, 0, 170)
_REVIEWED = QColor(46, 160, 67)
_AUTO = QColor(212, 140, 20)
_PLACEHOLDER = QColor(60, 63, 68)
_REJECTED = QColor(190, 50, 50)
_STALE = QColor(150, 90, 200)


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


class ClipDelegate(QStyledItemDelegate):
    """Fixed-size cells (the view uses uniform item sizes)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._font = QFont()
        self._font.setPointSizeF(max(7.0, self._font.pointSizeF() * 0.85))
        self._metrics = QFontMetrics(self._font)
        self._badge_h = self._metrics.height() + 2
        self._badges: dict[tuple[str, int | None], QPixmap] = {}
        self._names: dict[str, str] = {}  # stored path -> name elided to the cell width
        app = QGuiApplication.instance()
        self._hidpi = isinstance(app, QGuiApplication) and app.devicePixelRatio() > 1.0

    @staticmethod
    def cell_size() -> QSize:
        """Every cell's size (the grid's uniform item size)."""
        return QSize(CELL_W, PAD + THUMB_HEIGHT + TEXT_H + PAD)

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return self.cell_size()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        row: ClipRow = index.data(ClipRole)
        if row is None:
            return
        rect = option.rect
        state = option.state
        selected = bool(state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, option.palette.highlight())
        elif state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, option.palette.alternateBase())

        x0, y0 = rect.x() + (rect.width() - THUMB_W) // 2, rect.y() + PAD
        thumb_rect = QRect(x0, y0, THUMB_W, THUMB_HEIGHT)
        image = index.data(ThumbRole)
        if image is not None and not image.isNull():
            w, h = image.width(), image.height()
            if w * THUMB_HEIGHT != h * THUMB_W:  # another aspect ratio: letterbox it
                painter.fillRect(thumb_rect, _PLACEHOLDER)
                scale = min(THUMB_W / w, THUMB_HEIGHT / h)
                w, h = round(w * scale), round(h * scale)
            painter.drawPixmap(
                QRect(x0 + (THUMB_W - w) // 2, y0 + (THUMB_HEIGHT - h) // 2, w, h), image
            )
        else:
            painter.fillRect(thumb_rect, _PLACEHOLDER)

        # badges: small cached pixmaps (one draw call each, not five)
        bottom = y0 + THUMB_HEIGHT - 3
        right = x0 + THUMB_W - 3
        pm = self._badge(f"{format_duration(row.duration)} · {row.frame_count}f", None)
        painter.drawPixmap(x0 + 3, bottom - self._badge_h, pm)
        tag_text = f"{row.tags} tag{'s' if row.tags != 1 else ''}"
        if row.unreviewed_auto:
            tag_text += f" ({row.unreviewed_auto} auto)"
        pm = self._badge(tag_text, _AUTO if row.unreviewed_auto else None)
        painter.drawPixmap(right - self._badge_w(pm), bottom - self._badge_h, pm)
        top = y0 + 3
        for shown, text, color in (
            (row.reviewed, "✓ reviewed", _REVIEWED),
            (row.rejected, "✕ rejected", _REJECTED),
            (row.stale, "out of date", _STALE),
        ):
            if shown:
                pm = self._badge(text, color)
                painter.drawPixmap(right - self._badge_w(pm), top, pm)
                top += self._badge_h + 2
        if row.has_caption:
            painter.drawPixmap(x0 + 3, y0 + 3, self._badge("¶", None))

        name = self._names.get(row.stored_path)
        if name is None:
            name = self._metrics.elidedText(
                row.name, Qt.TextElideMode.ElideMiddle, CELL_W - 2 * PAD
            )
            self._names[row.stored_path] = name
        painter.setFont(self._font)
        palette = option.palette
        painter.setPen(palette.highlightedText().color() if selected else palette.text().color())
        painter.drawText(
            QRect(rect.x() + PAD, y0 + THUMB_HEIGHT + 2, rect.width() - 2 * PAD, TEXT_H),
            Qt.AlignmentFlag.AlignCenter,
            name,
        )

    def _badge_w(self, pm: QPixmap) -> int:
        return round(pm.width() / pm.devicePixelRatio())

    def _badge(self, text: str, color: QColor | None) -> QPixmap:
        """A rounded label, drawn once per (text, colour) and kept (a few KB each)."""
        key = (text, None if color is None else color.rgba())
        pm = self._badges.get(key)
        if pm is not None:
            return pm
        fm = self._metrics
        w, h = fm.horizontalAdvance(text) + 8, self._badge_h
        ratio = 2.0 if self._hidpi else 1.0
        pm = QPixmap(round(w * ratio), round(h * ratio))
        pm.setDevicePixelRatio(ratio)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color if color is not None else _BADGE_BG)
        p.drawRoundedRect(QRect(0, 0, w, h), 3, 3)
        p.setPen(QPen(QColor(255, 255, 255)))
        p.setFont(self._font)
        p.drawText(QRect(0, 0, w, h), Qt.AlignmentFlag.AlignCenter, text)
        p.end()
        if len(self._badges) > 4000:  # many distinct durations: start over
            self._badges.clear()
        self._badges[key] = pm
        return pm
