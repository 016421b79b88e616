"""Icons bundled with the app: simple SVGs drawn for it (no icon font, nothing downloaded).

The SVGs draw in ``currentColor``; :func:`icon` paints them in a palette's button-text colour, so
the same file reads on the light and the dark theme (the window asks again when the palette
changes).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

FOLDER = Path(__file__).resolve().parent
SIZES = (16, 20, 24, 32, 48)


def icon_names() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.svg"))


def icon(name: str, color: QColor | None = None) -> QIcon:
    """The bundled icon ``name`` (``resources/NAME.svg``) in ``color`` (default: the
    application palette's button text).  A missing name is a bug: FileNotFoundError."""
    if color is None:
        color = QGuiApplication.palette().color(QPalette.ColorRole.ButtonText)
    svg = (FOLDER / f"{name}.svg").read_text(encoding="utf-8")
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", color.name()).encode()))
    result = QIcon()
    for size in SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        result.addPixmap(pixmap)
    return result
