"""The log panel: Python logging records shown in the GUI, from any thread.

A :class:`logging.Handler` formats each record and hands it to a QObject signal; the queued
connection delivers it on the GUI thread.  stdout is never redirected (workers and libraries
keep writing to the terminal as usual).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MAX_LINES = 5000
LEVELS = (
    ("Debug", logging.DEBUG),
    ("Info", logging.INFO),
    ("Warnings", logging.WARNING),
    ("Errors", logging.ERROR),
)
_COLORS = {logging.WARNING: "#d19a66", logging.ERROR: "#e06c6c", logging.CRITICAL: "#e06c6c"}


class _Emitter(QObject):
    record = Signal(int, str)  # level, formatted line


class QtLogHandler(logging.Handler):
    """Forwards records to the GUI thread through a queued signal."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.emitter = _Emitter()
        self.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            self.emitter.record.emit(record.levelno, line)
        except RuntimeError:  # the GUI side is gone (shutdown)
            pass
        except Exception:
            self.handleError(record)


class LogPanel(QWidget):
    """The last MAX_LINES log lines, filterable by level."""

    def __init__(self, parent: QWidget | None = None, *, loggers: tuple[str, ...] = ("",)):
        super().__init__(parent)
        self.handler = QtLogHandler(logging.DEBUG)
        self.handler.emitter.record.connect(self.append, Qt.ConnectionType.QueuedConnection)
        self._loggers = [logging.getLogger(name) for name in loggers]
        for lg in self._loggers:
            lg.addHandler(self.handler)
            if lg.getEffectiveLevel() > logging.INFO:
                lg.setLevel(logging.INFO)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.level = QComboBox()
        for name, value in LEVELS:
            self.level.addItem(name, value)
        self.level.setCurrentIndex(1)
        self.level.setToolTip("Show messages of this level and above (new messages)")
        clear = QPushButton("Clear")
        clear.clicked.connect(self.text.clear)
        self.counts = QLabel()
        self.warnings = 0
        self.errors = 0
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show:"))
        bar.addWidget(self.level)
        bar.addWidget(self.counts, 1)
        bar.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.text, 1)
        handler, attached = self.handler, list(self._loggers)

        # A closure, not a bound method: the Python wrapper may be gone when this fires.
        def remove_handler(*_: object) -> None:
            for lg in attached:
                lg.removeHandler(handler)

        self.destroyed.connect(remove_handler)

    def detach(self) -> None:
        """Stop receiving records (call before the panel goes away)."""
        for lg in self._loggers:
            lg.removeHandler(self.handler)

    def append(self, level: int, line: str) -> None:
        if level >= logging.ERROR:
            self.errors += 1
        elif level >= logging.WARNING:
            self.warnings += 1
        if self.warnings or self.errors:
            self.counts.setText(f"{self.errors} errors, {self.warnings} warnings")
        if level < (self.level.currentData() or logging.INFO):
            return
        fmt = QTextCharFormat()
        color = _COLORS.get(level)
        if color:
            fmt.setForeground(QColor(color))
        cursor = self.text.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        if not self.text.document().isEmpty():
            cursor.insertBlock()
        cursor.insertText(line, fmt)
        bar = self.text.verticalScrollBar()
        bar.setValue(bar.maximum())

    def lines(self) -> list[str]:
        return self.text.toPlainText().splitlines()
