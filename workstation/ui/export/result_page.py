"""The export's result page: what was written, what was left out and why, and the trainer report.

The trainer report comes from the result's notes (:func:`workstation.core.export.trainers.
trainer_report`, the same numbers as ``report.json``'s ``summary``): per trainer, how many
clips fit, are stretched, get frames repeated or dropped.  "Show these clips" puts a filter
that selects exactly those clips into the Clips view when the filter language has one (clip
length: ``frames<61``, checked against the clips themselves); otherwise (4N+1 has no filter
term) the page lists their names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.export import ExportResult
from workstation.core.export.trainers import (
    ANIMATEDIFF,
    ANIMATEDIFF_FRAMES,
    ANIMATEDIFF_SPAN,
    Effect,
    TrainerGroup,
    trainer_report,
)
from workstation.ui.export.form import selection_query
from workstation.ui.session import ProjectSession
from workstation.ui.wording import counted

#: The filter term that selects a group's clips by their length, where there is one.
_TERMS = {
    (ANIMATEDIFF, Effect.STRETCH): f"frames>={ANIMATEDIFF_FRAMES} frames<{ANIMATEDIFF_SPAN}",
    (ANIMATEDIFF, Effect.REPEAT): f"frames<{ANIMATEDIFF_FRAMES}",
}


class ExportResultPage(QWidget):
    """Summary, trainer report (with "show these clips"), problems, Open folder."""

    backRequested = Signal()
    closeRequested = Signal()

    def __init__(
        self,
        session: ProjectSession,
        show_clips: Callable[[str], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.show_clips_in_view = show_clips
        self.result: ExportResult | None = None
        self.selection = "all"
        self.groups: list[TrainerGroup] = []
        self.show_buttons: list[QPushButton] = []
        lay = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.summary)
        self.report_box = QGroupBox("What the trainers will do with these clips")
        self.report_grid = QGridLayout(self.report_box)
        lay.addWidget(self.report_box)
        lower = QHBoxLayout()
        names_box = QGroupBox("Clips")
        names_lay = QVBoxLayout(names_box)
        self.names_label = QLabel("“Show these clips” lists them here when no filter can.")
        self.names_label.setWordWrap(True)
        self.names = QListWidget()
        names_lay.addWidget(self.names_label)
        names_lay.addWidget(self.names, 1)
        lower.addWidget(names_box, 3)
        problems_box = QGroupBox("Left out, failed, left in the folder")
        problems_lay = QVBoxLayout(problems_box)
        self.problems = QPlainTextEdit()
        self.problems.setReadOnly(True)
        problems_lay.addWidget(self.problems)
        lower.addWidget(problems_box, 2)
        lay.addLayout(lower, 1)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self.open_folder)
        back = QPushButton("Back to the settings")
        back.clicked.connect(self.backRequested)
        close = QPushButton("Close")
        close.clicked.connect(self.closeRequested)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(back)
        buttons.addWidget(close)
        lay.addLayout(buttons)

    # -- showing ---------------------------------------------------------------------------
    def show_result(self, result: ExportResult, selection: str = "all") -> None:
        self.result, self.selection = result, selection
        self.summary.setText(
            f"Exported {counted(len(result.clips), 'clip')} to {result.out} ({result.format}): "
            f"{result.train:,} for training, {result.val:,} for validation; "
            f"{result.encoded:,} written, {result.reused:,} unchanged, "
            f"{result.removed:,} removed. The per-clip details are in report.json."
        )
        self._fill_report(trainer_report(result.clips))
        lines = [
            *(f"Left out: {s}" for s in result.skipped),
            *(f"Failed: {e}" for e in result.errors),
            *(f"Left in the folder: {n}" for n in result.left),
        ]
        self.problems.setPlainText("\n".join(lines) or "Nothing: every selected clip went out.")
        self.names.clear()

    def _fill_report(self, groups: list[TrainerGroup]) -> None:
        while self.report_grid.count():
            item = self.report_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.groups, self.show_buttons = groups, []
        if not groups:
            self.report_grid.addWidget(QLabel("No clips were exported."), 0, 0)
            return
        row, trainer = 0, None
        for group in groups:
            if group.trainer != trainer:
                trainer = group.trainer
                heading = QLabel(f"<b>{group.label}</b>")
                self.report_grid.addWidget(heading, row, 0, 1, 2)
                row += 1
            text = QLabel(group.sentence())
            text.setWordWrap(True)
            self.report_grid.addWidget(text, row, 0)
            if group.effect is not Effect.FITS:
                button = QPushButton("Show these clips")
                button.clicked.connect(partial(self.show_group, group))
                self.report_grid.addWidget(button, row, 1)
                self.show_buttons.append(button)
            row += 1
        self.report_grid.setColumnStretch(0, 1)

    # -- actions ---------------------------------------------------------------------------
    def exact_filter(self, group: TrainerGroup) -> str | None:
        """A filter selecting exactly the group's clips, or None when the language has none
        (checked against the project: a clip resampled to another rate, or one that failed,
        would make a length filter wrong)."""
        from workstation.core.review import filter_clip_ids

        term = _TERMS.get((group.trainer, group.effect))
        if term is None:
            return None
        base = selection_query(self.selection)
        query = f"({base}) {term}" if base else term
        found = filter_clip_ids(self.session.project, query)
        if not isinstance(found, list) or set(found) != {c.clip_id for c in group.clips}:
            return None
        return query

    def show_group(self, group: TrainerGroup) -> str | None:
        """Show the group's clips: in the Clips view by a filter (returned), or listed here."""
        query = self.exact_filter(group)
        if query is not None and self.show_clips_in_view is not None:
            self.show_clips_in_view(query)
            self.names_label.setText(f"The Clips view shows them (filter: {query}).")
            self.names.clear()
            return query
        self.names_label.setText(f"{group.label}: {group.sentence()}")
        self.names.clear()
        for c in group.clips:
            note = next((n.message for n in c.notes if n.trainer == group.trainer), "")
            self.names.addItem(f"{c.key}.mp4 — {c.frames} frames")
            self.names.item(self.names.count() - 1).setToolTip(note)
        return None

    def open_folder(self) -> bool:
        if self.result is None:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result.out)))
