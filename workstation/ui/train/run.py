"""One training child process driven from the GUI; presets, the memory estimate.

The child is the same one ``workstation train`` starts (:func:`build_command`, :func:`child_env`);
:class:`TrainingRun` reads its JSON lines through ``QProcess`` so nothing blocks the event loop.
The child runs in its own session (process group), so Stop reaches accelerate's workers too.
Every run keeps a JSON log in its folder (``events.jsonl``: the settings it was started with,
each event of the child, and how it ended), so the Runs list can say why a run failed even when
the child died before it wrote anything else.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any, BinaryIO, TypedDict

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from workstation.train.launch import (
    TrainEvent,
    TrainSettings,
    build_command,
    child_env,
    parse_event,
)
from workstation.train.memory import estimate_vram_gb as estimate_vram_gb  # for the view
from workstation.ui.train.history import EVENTS_FILE, LOG_FILE

log = logging.getLogger(__name__)


# -- the loss curve and the samples ---------------------------------------------------------
def smoothed(values: list[float], weight: float = 0.9) -> list[float]:
    """Debiased exponential moving average (TensorBoard's), so the trend shows through noise."""
    out, ema = [], 0.0
    for i, v in enumerate(values, 1):
        ema = weight * ema + (1 - weight) * v
        out.append(ema / (1 - weight**i))
    return out


def sample_videos(run: Path) -> list[Path]:
    """The run's sample MP4s, newest first."""
    folder = run / "samples"
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.mp4"), key=lambda p: p.stat().st_mtime, reverse=True)


# -- presets --------------------------------------------------------------------------------
class Preset(TypedDict, total=False):
    """The TrainSettings fields a preset sets."""

    mode: str
    resolution: int
    max_steps: int
    lora_rank: int
    lora_alpha: float
    gradient_checkpointing: bool
    adam_8bit: bool
    batch_size: int
    sample_every: int
    checkpoint_every: int


PRESETS: dict[str, Preset] = {
    "Quick motion LoRA (256 px)": {
        "mode": "lora",
        "resolution": 256,
        "max_steps": 1000,
        "lora_rank": 16,
        "lora_alpha": 16.0,
        "gradient_checkpointing": True,
        "adam_8bit": False,
        "batch_size": 1,
        "sample_every": 250,
        "checkpoint_every": 250,
    },
    "Full finetune (256 px)": {
        "mode": "full",
        "resolution": 256,
        "max_steps": 2000,
        "gradient_checkpointing": True,
        "adam_8bit": False,
        "batch_size": 1,
        "sample_every": 500,
        "checkpoint_every": 500,
    },
    "Full finetune (512 px, 24 GB)": {
        "mode": "full",
        "resolution": 512,
        "max_steps": 3000,
        "gradient_checkpointing": True,
        "adam_8bit": True,
        "batch_size": 1,
        "sample_every": 500,
        "checkpoint_every": 500,
    },
}


def apply_preset(settings: TrainSettings, name: str) -> TrainSettings:
    """A copy of ``settings`` with the preset's values (paths and prompts kept)."""
    return dataclasses.replace(settings, **PRESETS[name])


# -- the child process ----------------------------------------------------------------------
class TrainingRun(QObject):
    """A training child process; its JSON lines become signals on the main thread."""

    eventReceived = Signal(object)  # TrainEvent
    lossAdded = Signal(int, float)  # step, loss
    sampleWritten = Signal(str)  # path
    statusChanged = Signal(str)  # one line for the status label
    failed = Signal(str)  # a message naming the run and the problem
    finished = Signal(bool)  # True: "done" arrived and the child exited 0

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings: TrainSettings | None = None
        self.output: Path | None = None
        self.error: str | None = None
        self.reason = ""  # the one-line reason of the last failure (no "training (OUTPUT): ")
        self.done = False
        self.stopping = False
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.samples: list[Path] = []
        self.max_steps = 0
        self._tail: collections.deque[str] = collections.deque(maxlen=30)
        self._log: BinaryIO | None = None
        self._events: BinaryIO | None = None  # OUTPUT/events.jsonl, the run's JSON log
        self._buffer = b""
        self._proc: QProcess | None = None
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.state() != QProcess.ProcessState.NotRunning

    def start(self, settings: TrainSettings, command: list[str] | None = None) -> None:
        """Start the child for ``settings``; ``command`` replaces build_command (tests)."""
        if self.is_running():
            raise RuntimeError("a training run is already running")
        self.settings = settings
        self.output = Path(settings.output)
        self.output.mkdir(parents=True, exist_ok=True)
        self.error, self.reason, self.done, self.stopping = None, "", False, False
        self.steps, self.losses, self.samples = [], [], []
        self.max_steps = settings.max_steps
        self._tail.clear()
        self._buffer = b""
        cmd = command or build_command(settings)
        self._open_logs(settings, cmd)
        proc = QProcess(self)
        env = QProcessEnvironment()
        for key, value in child_env().items():
            env.insert(key, value)
        proc.setProcessEnvironment(env)
        proc.setWorkingDirectory(str(self.output))
        params = QProcess.UnixProcessParameters()
        params.flags = QProcess.UnixProcessFlag.CreateNewSession
        proc.setUnixProcessParameters(params)
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self._proc = proc
        self.statusChanged.emit(f"starting: {' '.join(cmd[:4])} …")
        proc.start(cmd[0], cmd[1:])

    def _open_logs(self, settings: TrainSettings, cmd: list[str]) -> None:
        """Open train.log (the child's stderr) and events.jsonl, whose first record says what
        was started; both are appended to (a resumed run continues its folder's logs)."""
        assert self.output is not None
        self._log = open(self.output / LOG_FILE, "ab")  # noqa: SIM115 - closed in _finish
        try:
            self._events = open(self.output / EVENTS_FILE, "ab")  # noqa: SIM115 - as above
        except OSError:
            self._log.close()
            self._log = None
            raise
        self._record(
            {
                "event": "launch",
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "command": cmd,
                "settings": dataclasses.asdict(settings),
            }
        )

    def _record(self, record: dict[str, Any] | bytes) -> None:
        """Append one line to events.jsonl; a full disk costs the log, never the run."""
        if self._events is None:
            return
        line = record if isinstance(record, bytes) else json.dumps(record, default=str).encode()
        try:
            self._events.write(line.rstrip(b"\n") + b"\n")
            self._events.flush()
        except OSError as exc:
            log.warning("%s: cannot write the run log (%s)", self.output, exc)

    def stop(self, grace_ms: int = 10000) -> None:
        """Terminate the child's process group; kill it if it is still there after the grace."""
        if not self.is_running():
            return
        self.stopping = True
        self.statusChanged.emit("stopping…")
        self._signal(signal.SIGTERM)
        self._kill_timer.start(grace_ms)

    def stop_now(self, grace_ms: int = 3000) -> None:
        """Stop and wait (window closing): the child must not outlive the project."""
        proc = self._proc
        if proc is None or not self.is_running():
            return
        self.stop(grace_ms)
        if not proc.waitForFinished(grace_ms):
            self._signal(signal.SIGKILL)
            proc.waitForFinished(2000)

    def _signal(self, sig: int) -> None:
        proc = self._proc
        pid = proc.processId() if proc is not None else 0
        if proc is None or pid <= 0:
            return
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            if sig == signal.SIGKILL:
                proc.kill()
            else:
                proc.terminate()

    def _kill(self) -> None:
        if self.is_running():
            self._signal(signal.SIGKILL)

    def _read_stdout(self) -> None:
        assert self._proc is not None  # connected to the running child's signals
        self._buffer += bytes(self._proc.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            ev = parse_event(line)
            if ev is None:
                if line.strip():
                    self._tail.append(line.decode("utf-8", "replace").rstrip())
                continue
            self._record(line.strip())
            self._handle(ev)

    def _read_stderr(self) -> None:
        assert self._proc is not None  # connected to the running child's signals
        raw = bytes(self._proc.readAllStandardError().data())
        if self._log is not None:
            self._log.write(raw)
            self._log.flush()
        for line in raw.decode("utf-8", "replace").splitlines():
            if line.strip():
                self._tail.append(line.rstrip())

    def _handle(self, ev: TrainEvent) -> None:
        self.eventReceived.emit(ev)
        name = self.output.name if self.output else "run"
        if ev.kind == "start":
            self.max_steps = int(ev.data.get("max_steps") or self.max_steps)
            text = f"{name}: started at step {ev.step} of {self.max_steps}"
            if ev.data.get("bucket_summary"):  # how many clips train at which size
                text += f"; {ev.data['bucket_summary']}"
            self.statusChanged.emit(text)
        elif ev.kind == "step":
            loss = ev.data.get("loss")
            if isinstance(loss, (int, float)):
                self.steps.append(ev.step)
                self.losses.append(float(loss))
                self.lossAdded.emit(ev.step, float(loss))
            text = f"{name}: step {ev.step}/{self.max_steps}"
            if isinstance(loss, (int, float)):
                text += f", loss {loss:.4f}"
            eta = ev.data.get("eta_s")
            if isinstance(eta, (int, float)):
                text += f", {int(eta) // 60} min left"
            self.statusChanged.emit(text)
        elif ev.kind == "sample":
            path = Path(str(ev.data.get("path", "")))
            self.samples.append(path)
            self.sampleWritten.emit(str(path))
        elif ev.kind == "checkpoint":
            self.statusChanged.emit(f"{name}: checkpoint at step {ev.step}")
        elif ev.kind == "done":
            self.done = True
            self.statusChanged.emit(f"{name}: {ev.message or 'done'}")
        elif ev.kind == "error":
            self.error = ev.message or "training failed"

    def _on_error(self, err: QProcess.ProcessError) -> None:
        if err == QProcess.ProcessError.FailedToStart:
            program = self._proc.program() if self._proc else "?"
            why = self._proc.errorString() if self._proc else str(err)
            self._fail(f"could not start {program} ({why})")

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        assert self.output is not None  # set by start()
        self._read_stdout()
        if self._buffer.strip():
            ev = parse_event(self._buffer)
            line, self._buffer = self._buffer.strip(), b""
            if ev is not None:
                self._record(line)
                self._handle(ev)
        self._read_stderr()
        if self.stopping:
            self._record({"event": "stopped", "step": self.steps[-1] if self.steps else 0})
            self._finish(
                False,
                None,
                f"{self.output.name}: stopped (Resume continues from the last checkpoint)",
            )
        elif self.error:
            self._fail(self.error)
        elif status != QProcess.ExitStatus.NormalExit or code != 0:
            how = (
                "crashed"
                if status != QProcess.ExitStatus.NormalExit
                else f"exited with code {code}"
            )
            last = "\n".join(self._tail) or "(no output)"
            reason = f"the training process {how}"
            self._fail(
                reason + (f": {self._tail[-1]}" if self._tail else ""),
                f"{reason}; last lines of {self.output / LOG_FILE}:\n{last}",
            )
        elif not self.done:
            self._fail("the process ended without a 'done' event")
        else:
            self._finish(True, None)

    def _fail(self, reason: str, detail: str = "") -> None:
        """End the run as failed: ``reason`` (one line) goes to the run's JSON log, the whole
        message ("training (OUTPUT): ...") to :attr:`failed`."""
        message = f"training ({self.output}): {detail or reason}"
        self.reason = reason
        self._record({"event": "failed", "reason": reason, "message": message})
        self._finish(False, message)

    def _finish(self, ok: bool, message: str | None, status: str | None = None) -> None:
        self._kill_timer.stop()
        for f in (self._log, self._events):
            if f is not None:
                f.close()
        self._log = self._events = None
        if message:
            self.error = message
            self.statusChanged.emit(message.splitlines()[0])
            self.failed.emit(message)
        elif status:
            self.statusChanged.emit(status)
        self.finished.emit(ok)
