"""The sentence an empty list or grid shows in its middle: what to do to fill it.

Item views (the Videos table, the clip grid) call :func:`paint_empty_hint` at the end of their
``paintEvent`` with the text for their state ("No videos yet: …", "No clips match …"); ""
paints nothing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QAbstractItemView


def paint_empty_hint(view: QAbstractItemView, text: str) -> None:
    """Draw ``text`` centred, word-wrapped and in the placeholder colour over the viewport."""
    if not text:
        return
    p = QPainter(view.viewport())
    p.setPen(view.palette().placeholderText().color())
    font = p.font()
    font.setPointSizeF(font.pointSizeF() * 1.2)
    p.setFont(font)
    flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
    p.drawText(view.viewport().rect().adjusted(16, 16, -16, -16), flags, text)
    p.end()
