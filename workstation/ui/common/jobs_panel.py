"""The jobs panel: one row per job with its progress bar, ETA, cancel button and error details.

The rows repaint at most every ``PANEL_REFRESH_MS``, however often the worker reports progress.
The jobs themselves (threads, state, the controller) live in :mod:`workstation.ui.common.jobs`.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStyle,
    QStyleOptionProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.progress import Progress
from workstation.ui.common.jobs import Job, JobsController, JobState

PANEL_REFRESH_MS = 200  # the panel repaints a job's row at most this often


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s left"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s left"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min left"


class ProgressLine(QWidget):
    """A progress bar drawn by the style, repainted through ``update()`` only.

    ``QProgressBar.setValue`` repaints synchronously, and its busy mode animates forever; next
    to a QOpenGLWidget each repaint recomposes the whole window (tens of ms with software GL).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._min, self._max, self._value, self._format = 0, 0, 0, ""

    def setRange(self, minimum: int, maximum: int) -> None:
        self._min, self._max = minimum, maximum
        self.update()

    def setValue(self, value: int) -> None:
        if value != self._value:
            self._value = value
            self.update()

    def setFormat(self, text: str) -> None:
        if text != self._format:
            self._format = text
            self.update()

    def value(self) -> int:
        return self._value

    def maximum(self) -> int:
        return self._max

    def format(self) -> str:
        return self._format

    def minimum(self) -> int:
        return self._min

    def text(self) -> str:
        return self._format

    def sizeHint(self) -> QSize:
        return QSize(160, self.fontMetrics().height() + 8)

    def paintEvent(self, _event) -> None:
        opt = QStyleOptionProgressBar()
        opt.initFrom(self)
        opt.minimum, opt.maximum = self._min, self._max
        opt.progress = self._value if self._max else 0
        opt.text = self._format or ("working…" if not self._max else "")
        opt.textVisible = True
        opt.textAlignment = Qt.AlignmentFlag.AlignCenter
        opt.state |= QStyle.StateFlag.State_Horizontal
        painter = QPainter(self)
        self.style().drawControl(QStyle.ControlElement.CE_ProgressBar, opt, painter, self)
        painter.end()


class JobRow(QFrame):
    """Title, progress bar, ETA, cancel button; expandable error details when it failed."""

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(job.title)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = ProgressLine()
        self.bar.setRange(0, 0)  # "working…" until the first progress record with a total
        self._pending: Progress | None = None
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(PANEL_REFRESH_MS)
        self._refresh.timeout.connect(self._show_pending)
        self.status = QLabel("starting…")
        self.status.setMinimumWidth(80)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this job; finished work is kept, temp files removed")
        self.cancel_button.clicked.connect(job.cancel)
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.hide()
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(140)
        self.details.hide()
        self.details_button.toggled.connect(self.details.setVisible)

        self.title.setMinimumWidth(120)
        self.bar.setMinimumWidth(120)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.title, 3)
        line.addWidget(self.bar, 4)
        line.addWidget(self.status, 3)
        line.addWidget(self.details_button)
        line.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(2)
        layout.addLayout(line)
        layout.addWidget(self.details)

        self._last: Progress | None = None
        job.progress.connect(self._on_progress)
        job.stateChanged.connect(self._on_state)
        self._on_state(job.state)

    def _on_progress(self, p: Progress) -> None:
        self._pending = p
        self._last = p
        if not self._refresh.isActive():
            self._refresh.start()

    def _show_pending(self) -> None:
        p, self._pending = self._pending, None
        if p is None or self.job.state != JobState.RUNNING:
            return
        if p.total:
            if self.bar.maximum() != 1000:
                self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * (p.fraction or 0.0)))
        words = [w for w in (p.item, p.message) if w]
        if p.total:
            words.append(format_eta(self.job.eta_seconds()))
        self.status.setText(" · ".join(w for w in words if w) or f"{p.done}")
        self.bar.setFormat(f"{p.done} / {p.total}" if p.total else f"{p.done}")

    def _on_state(self, state: str) -> None:
        self.cancel_button.setEnabled(state == JobState.RUNNING)
        if state in JobState.FINAL:
            self._refresh.stop()
            self._pending = None
        if state == JobState.DONE:
            self.bar.setRange(0, 1000)
            self.bar.setValue(1000)
            # The last count the stage reported, not the last one the throttled refresh showed
            # (a finished job read "0 / 244").
            last = self._last
            if last is not None and last.total:
                self.bar.setFormat(f"{last.total} / {last.total}")
            elif last is not None:
                self.bar.setFormat(f"{last.done}")
            took = (self.job.finished_at or 0) - self.job.started_at
            self.status.setText(f"done in {took:.1f} s")
        elif state == JobState.CANCELLED:
            if self.bar.maximum() == 0:
                self.bar.setRange(0, 1000)
            self.status.setText("cancelled")
        elif state == JobState.FAILED:
            if self.bar.maximum() == 0:
                self.bar.setRange(0, 1000)
            self.status.setText("failed")
            self.status.setStyleSheet("color: #c0392b; font-weight: bold")
            self.title.setToolTip(self.job.error or "")
            details = self.job.error_details
            self.details.setPlainText(
                f"{self.job.error}\n\n{details}".strip() if details else (self.job.error or "")
            )
            self.details_button.show()
            self.details_button.setChecked(True)


class JobsPanel(QWidget):
    """One row per job, newest on top."""

    def __init__(self, controller: JobsController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.rows: dict[int, JobRow] = {}
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.setSpacing(2)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list)
        self.empty = QLabel("No jobs yet. Detect cuts, slice or add videos to start one.")
        self.empty.setEnabled(False)
        clear = QPushButton("Clear finished")
        clear.clicked.connect(self.clear_finished)
        bar = QHBoxLayout()
        bar.addWidget(self.empty)
        bar.addStretch(1)
        bar.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)
        controller.jobAdded.connect(self.add_job)
        for job in controller.jobs:
            self.add_job(job)

    def add_job(self, job: Job) -> None:
        row = JobRow(job)
        self.rows[id(job)] = row
        self._list_layout.insertWidget(0, row)
        self.empty.hide()

    def row_for(self, job: Job) -> JobRow:
        return self.rows[id(job)]

    def clear_finished(self) -> None:
        for job in list(self.controller.jobs):
            if not job.is_running:
                row = self.rows.pop(id(job), None)
                if row is not None:
                    row.deleteLater()
        self.controller.clear_finished()
        if not self.rows:
            self.empty.show()
