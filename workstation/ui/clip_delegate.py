"""Draws one clip cell of the grid: thumbnail (or a placeholder), name and badges.

Painting reads only the model's roles (a cached image or None) — nothing here decodes or
touches the disk, so a 10,000-clip grid scrolls at paint speed.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from workstation.ui.clip_model import THUMB_HEIGHT, ClipRole, ClipRow, ThumbRole

CELL_W = 200
THUMB_W = 192
PAD = 4
TEXT_H = 18

_BADGE_BG = QColor(0, 0, 0, 170)
_REVIEWED = QColor(46, 160, 67)
_AUTO = QColor(212, 140, 20)
_PLACEHOLDER = QColor(60, 63, 68)


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

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        return QSize(CELL_W, PAD + THUMB_HEIGHT + TEXT_H + PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        row: ClipRow = index.data(ClipRole)
        if row is None:
            return
        painter.save()
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        if selected:
            painter.fillRect(rect, palette.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, palette.alternateBase())

        thumb_rect = QRect(
            rect.x() + (rect.width() - THUMB_W) // 2, rect.y() + PAD, THUMB_W, THUMB_HEIGHT
        )
        painter.fillRect(thumb_rect, _PLACEHOLDER)
        image = index.data(ThumbRole)
        if image is not None and not image.isNull():
            size = image.size().scaled(thumb_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(thumb_rect.center())
            painter.drawImage(target, image)
        else:
            painter.setPen(QColor(150, 150, 150))
            painter.setFont(self._font)
            painter.drawText(thumb_rect, Qt.AlignmentFlag.AlignCenter, "…")

        painter.setFont(self._font)
        fm = self._metrics
        # bottom-left: duration · frames
        self._badge(
            painter,
            fm,
            thumb_rect,
            f"{format_duration(row.duration)} · {row.frame_count}f",
            left=True,
            top=False,
        )
        # bottom-right: tag count (orange when auto tags wait for review)
        tag_text = f"{row.tags} tag{'s' if row.tags != 1 else ''}"
        if row.unreviewed_auto:
            tag_text += f" · {row.unreviewed_auto}?"
        self._badge(
            painter,
            fm,
            thumb_rect,
            tag_text,
            left=False,
            top=False,
            color=_AUTO if row.unreviewed_auto else None,
        )
        if row.reviewed:
            self._badge(
                painter, fm, thumb_rect, "✓ reviewed", left=False, top=True, color=_REVIEWED
            )
        if row.has_caption:
            self._badge(painter, fm, thumb_rect, "¶", left=True, top=True)

        text_rect = QRect(rect.x() + PAD, thumb_rect.bottom() + 2, rect.width() - 2 * PAD, TEXT_H)
        painter.setPen(palette.highlightedText().color() if selected else palette.text().color())
        painter.drawText(
            text_rect,
            Qt.AlignmentFlag.AlignCenter,
            fm.elidedText(row.name, Qt.TextElideMode.ElideMiddle, text_rect.width()),
        )
        painter.restore()

    def _badge(
        self,
        painter: QPainter,
        fm: QFontMetrics,
        box: QRect,
        text: str,
        *,
        left: bool,
        top: bool,
        color: QColor | None = None,
    ) -> None:
        w, h = fm.horizontalAdvance(text) + 8, fm.height() + 2
        x = box.x() + 3 if left else box.right() - w - 2
        y = box.y() + 3 if top else box.bottom() - h - 2
        r = QRect(x, y, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color if color is not None else _BADGE_BG)
        painter.drawRoundedRect(r, 3, 3)
        painter.setPen(QPen(QColor(255, 255, 255)))
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
