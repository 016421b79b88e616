"""Earlier runs: what each run folder says about itself, and the Runs panel that lists them.

A run folder is one the window or ``workstation train`` wrote into: it holds the child's
``train_settings.json`` (written once the models loaded), the window's ``events.jsonl`` (the
run's JSON log: the settings it was started with, every event of the child, and how it ended,
written by :class:`~workstation.ui.train.run.TrainingRun`) or the child's ``train.log``.  So a
run that failed before its models loaded is listed too, with the error of its last line.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.errors import WorkstationError
from workstation.train.launch import TrainSettings, load_settings, settings_from_json

log = logging.getLogger(__name__)

SETTINGS_FILE = "train_settings.json"  # written by the child once its models are loaded
EVENTS_FILE = "events.jsonl"  # the window's JSON log of a run (see TrainingRun)
LOG_FILE = "train.log"  # the child's stderr
RUN_MARKERS = (SETTINGS_FILE, EVENTS_FILE, LOG_FILE)
LOG_SHOWN_BYTES = 256 * 1024  # "Show log" shows the end of a long log


@dataclass(frozen=True)
class RunRecord:
    """What a run folder says about its run."""

    folder: Path
    state: str  # "done", "failed", "stopped", "ended" (no end recorded) or "unknown"
    message: str = ""  # the error of a failed run, the result of a done one
    step: int = 0
    settings: TrainSettings | None = None

    def label(self) -> str:
        """The line of the runs list."""
        head = {"ended": "ended early", "unknown": ""}.get(self.state, self.state)
        text = self.folder.name + (f" — {head}" if head else "")
        if self.step:
            text += f" at step {self.step}"
        if self.state == "failed" and self.message:
            text += f": {self.message.splitlines()[0]}"
        return text


def find_runs(root: Path) -> list[Path]:
    """Run folders under ``root`` (see the module docstring), newest first."""
    if not root.is_dir():
        return []

    def newest(folder: Path) -> float:
        return max(p.stat().st_mtime for p in map(folder.joinpath, RUN_MARKERS) if p.exists())

    runs = {p.parent for marker in RUN_MARKERS for p in root.glob(f"*/{marker}")}
    return sorted(runs, key=newest, reverse=True)


def read_events(folder: Path) -> list[dict]:
    """The records of a run's ``events.jsonl`` (a torn or foreign line is skipped)."""
    try:
        text = (folder / EVENTS_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    records = []
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("event"), str):
            records.append(obj)
    return records


def read_run(folder: Path) -> RunRecord:
    """The run in ``folder``: how it ended (from its JSON log's last lines) and its settings."""
    records = read_events(folder)
    settings = _settings_of(folder, records)
    step = max((int(r.get("step") or 0) for r in records if r["event"] == "step"), default=0)
    for r in reversed(records):
        kind = r["event"]
        if kind in ("failed", "error"):
            message = str(r.get("reason") or r.get("message") or "training failed")
            return RunRecord(folder, "failed", message, step, settings)
        if kind == "done":
            return RunRecord(folder, "done", str(r.get("message", "")), step, settings)
        if kind == "stopped":
            return RunRecord(folder, "stopped", "", step, settings)
    return RunRecord(folder, "ended" if records else "unknown", "", step, settings)


def _settings_of(folder: Path, records: list[dict]) -> TrainSettings | None:
    """The child's train_settings.json, else the settings the window launched the run with."""
    if (folder / SETTINGS_FILE).exists():
        try:
            return load_settings(folder / SETTINGS_FILE)
        except WorkstationError as exc:
            log.warning("%s", exc)
    for r in records:
        if r["event"] == "launch":
            try:
                return settings_from_json(r.get("settings"), str(folder / EVENTS_FILE))
            except WorkstationError as exc:
                log.warning("%s", exc)
    return None


def log_text(folder: Path) -> str:
    """The end of the run's ``train.log`` (the child's stderr), for the log window."""
    path = folder / LOG_FILE
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - LOG_SHOWN_BYTES))
            raw = f.read()
    except FileNotFoundError:
        return f"{path}: no log was written (the run did not start its training process)"
    except OSError as exc:
        return f"{path}: cannot read the log ({exc.strerror or exc})"
    head = f"… (the last {LOG_SHOWN_BYTES // 1024} KiB of {path})\n" if size > len(raw) else ""
    return head + raw.decode("utf-8", "replace")


def describe(record: RunRecord) -> str:
    """The details pane: how the run ended, the settings that differ from the defaults."""
    lines = [f"{record.state}: {record.message}" if record.message else record.state]
    starts = [r for r in read_events(record.folder) if r["event"] == "start"]
    if starts and starts[-1].get("bucket_summary"):  # how many clips trained at which size
        lines.append(f"buckets: {starts[-1]['bucket_summary']}")
    s = record.settings
    if s is not None:
        defaults = TrainSettings()
        changed = {
            k: v
            for k, v in dataclasses.asdict(s).items()
            if v != getattr(defaults, k) or k in ("dataset", "base_model")
        }
        lines.append(json.dumps(changed, indent=1, default=str))
    ckpts = sorted(record.folder.glob("checkpoint-*"), key=lambda p: p.name)
    if ckpts:
        lines.append(f"latest checkpoint: {ckpts[-1].name}")
    return "\n".join(lines)


class LogWindow(QDialog):
    """A run's train.log, read-only, scrolled to the end."""

    def __init__(self, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Log of {folder.name}")
        self.resize(900, 560)
        self.text = QPlainTextEdit(log_text(folder))
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.moveCursor(self.text.textCursor().MoveOperation.End)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(buttons)


class RunsPanel(QGroupBox):
    """The runs list, the chosen run's details, and Use settings / Show log / Open folder."""

    runChosen = Signal(object)  # RunRecord | None
    useSettings = Signal(object)  # RunRecord whose settings the form should take
    message = Signal(str)  # a line for the view's status

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Runs", parent)
        self.root: Path | None = None
        self.log_window: LogWindow | None = None
        lay = QVBoxLayout(self)
        self.history = QListWidget()
        self.history.setTextElideMode(Qt.TextElideMode.ElideRight)  # the tooltip has it all
        self.history.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.history.currentItemChanged.connect(self._on_chosen)
        lay.addWidget(self.history, 1)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        lay.addWidget(self.details, 1)
        buttons = QHBoxLayout()
        self.use_settings_button = QPushButton("Use settings")
        self.use_settings_button.setToolTip("Fill the form with the chosen run's settings")
        self.use_settings_button.clicked.connect(self._use_settings)
        self.log_button = QPushButton("Show log")
        self.log_button.setToolTip("The training process's log (train.log) of the chosen run")
        self.log_button.clicked.connect(self.show_log)
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Open the chosen run's output folder in the file manager")
        self.open_button.clicked.connect(self.open_folder)
        for b in (self.use_settings_button, self.log_button, self.open_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self._update_buttons()

    def refresh(self, root: Path, select: Path | None = None) -> None:
        """List the runs under ``root``; keep the chosen one (or choose ``select``)."""
        self.root = root
        keep = select or self.chosen_folder()
        self.history.blockSignals(True)
        self.history.clear()
        chosen = None
        for folder in find_runs(root):
            record = read_run(folder)
            item = QListWidgetItem(record.label())
            item.setData(Qt.ItemDataRole.UserRole, record)
            item.setToolTip(f"{folder}\n{record.message}".strip())
            if record.state == "failed":
                item.setForeground(QBrush(QColor("#e0484f")))
            self.history.addItem(item)
            if folder == keep:
                chosen = item
        self.history.blockSignals(False)
        if chosen is None and self.history.count():
            chosen = self.history.item(0)
        if chosen is None:
            self._on_chosen(None)
        else:
            self.history.setCurrentItem(chosen)  # emits currentItemChanged: _on_chosen

    def chosen(self) -> RunRecord | None:
        item = self.history.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def chosen_folder(self) -> Path | None:
        record = self.chosen()
        return record.folder if record else None

    def _on_chosen(self, item: QListWidgetItem | None, _prev: object = None) -> None:
        record = self.chosen()
        self.details.setPlainText(describe(record) if record else "")
        self._update_buttons()
        self.runChosen.emit(record)

    def _update_buttons(self) -> None:
        record = self.chosen()
        self.use_settings_button.setEnabled(record is not None and record.settings is not None)
        self.log_button.setEnabled(record is not None)
        self.open_button.setEnabled(record is not None)
        if record is None:
            self.open_button.setToolTip("Choose a run in the list first")

    def _use_settings(self) -> None:
        record = self.chosen()
        if record is not None and record.settings is not None:
            self.useSettings.emit(record)

    def show_log(self) -> LogWindow | None:
        folder = self.chosen_folder()
        if folder is None:
            return None
        if self.log_window is not None:
            self.log_window.close()
        self.log_window = LogWindow(folder, self)
        self.log_window.show()
        return self.log_window

    def open_folder(self) -> bool:
        """Open the chosen run's folder in the file manager (xdg-open on Linux)."""
        folder = self.chosen_folder()
        if folder is None:
            return False
        if not folder.is_dir():
            self.message.emit(f"{folder}: the folder is gone")
            return False
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.message.emit(f"opened {folder}")
            return True
        QGuiApplication.clipboard().setText(str(folder))
        self.message.emit(
            f"{folder}: no file manager opened it (xdg-open); the path is on the clipboard"
        )
        return False
