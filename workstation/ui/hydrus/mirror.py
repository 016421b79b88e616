"""The window's Hydrus mirror: status indicator, "Sync now", sync after edits, open in Hydrus.

The indicator reads :func:`workstation.core.hydrus.status` (the project database, no network),
so it answers while Hydrus is down; while a sync waits for Hydrus it shows the stage's
"retrying in N s".  Edits (the Clips view's ``ClipEditor.edited``; the session's
``clipsChanged`` after slicing or auto-tagging) restart a single-shot timer; when it fires a
sync job runs (the core queues the changes before any network call, so nothing is lost when
Hydrus is away).  A sync asked for while one runs starts after it ends.  What a sync pulls in
announces ``clipsChanged`` too, without starting another sync.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QStatusBar

from workstation.core import hydrus
from workstation.core.progress import Progress
from workstation.ui.hydrus.calls import as_stage
from workstation.ui.wording import counted

if TYPE_CHECKING:
    from workstation.ui.common.jobs import Job, JobsController
    from workstation.ui.session import ProjectSession

DEBOUNCE_MS = 3000  # after the last edit


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0


def describe(st: dict[str, object]) -> tuple[str, str]:
    """(short text, tooltip) for the indicator from ``hydrus.status``."""
    if not st.get("connected"):
        return "Hydrus: not connected", "Connect in Edit > Preferences > Hydrus."
    pending, conflicts = _count(st.get("pending")), _count(st.get("conflicts"))
    state = st.get("state")
    words = {
        "down": "down",
        "busy": "busy",
        "refused": "wrong key",
        "error": "error",
        "never": "not synced yet",
    }
    text = "Hydrus: " + words.get(str(state), "connected")
    if pending:
        text += f" · {counted(pending, 'pending change')}"
    if conflicts:
        text += f" · {counted(conflicts, 'conflict')}"
    tip = f"{st.get('url')}; {st.get('mirrored')} of {st.get('clips')} clips mirrored"
    if st.get("last_error"):
        tip += f"\n{st.get('last_error')}"
    return text, tip


class HydrusMirror(QObject):
    """Lives with an open project; owns the status label it puts in the status bar."""

    changed = Signal(str)  # the indicator's text, after each refresh
    synced = Signal(object)  # SyncResult
    pulled = Signal()  # a sync changed tags or captions here: views should reload
    opened = Signal(object)  # OpenResult
    message = Signal(str)  # a sentence for the status bar

    def __init__(self, session: ProjectSession, jobs: JobsController, parent=None) -> None:
        super().__init__(parent)
        self.session, self.jobs = session, jobs
        self.label = QLabel()
        self.job: Job | None = None
        self.again = False
        self.options = hydrus.SyncOptions()  # retries and backoff of the sync jobs
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.sync_now)
        self.pulling = False  # True while this mirror announces clips it changed itself
        session.clipsChanged.connect(self._clips_changed)  # new clips, auto-tag results
        self.refresh()

    def connected(self) -> bool:
        return hydrus.load_link(self.session.project) is not None

    def refresh(self) -> str:
        text, tip = describe(hydrus.status(self.session.project))
        self.label.setText(text)
        self.label.setToolTip(tip)
        self.changed.emit(text)
        return text

    # -- syncing ---------------------------------------------------------------------------
    def edited(self, *_args: object) -> None:
        """An edit happened (ClipEditor.edited): sync a little later, once the edits stop."""
        if self.connected():
            self.timer.start()

    def _clips_changed(self) -> None:
        if not self.pulling:
            self.edited()

    def sync_now(self, push: bool = True, pull: bool = True) -> Job | None:
        self.timer.stop()
        if self.job is not None and self.job.is_running:
            self.again = True
            return None
        if not self.connected():
            self.message.emit("Hydrus: connect first (Edit > Preferences > Hydrus).")
            return None
        options = dataclasses.replace(self.options, push=push, pull=pull)
        self.job = self.jobs.run_on_project(
            "Sync with Hydrus",
            lambda project: hydrus.sync(project, options),
            on_progress=self._progress,
            on_done=self._done,
            on_error=self._failed,
            stage_name=hydrus.STAGE,
        )
        self.job.cancelled.connect(self._ended)
        return self.job

    def _progress(self, record: Progress) -> None:
        data = record.data or {}
        if "waiting" in data:
            words = {"down": "down", "busy": "busy", "refused": "wrong key"}
            state = words.get(str(data.get("state")), str(data.get("state")))
            self.label.setText(f"Hydrus: {state} · retrying in {math.ceil(data['waiting'])} s")
            self.label.setToolTip(record.message or "")
            self.changed.emit(self.label.text())

    def _done(self, result: object) -> None:
        assert isinstance(result, hydrus.SyncResult)
        if result.pulled_tags or result.pulled_captions:
            self.pulling = True
            try:
                self.session.clipsChanged.emit()
            finally:
                self.pulling = False
            self.pulled.emit()
        if result.stopped:
            self.message.emit(result.stopped)
        self._ended()
        self.synced.emit(result)

    def _failed(self, text: str) -> None:
        self.message.emit(text)
        self._ended()

    def _ended(self) -> None:
        self.refresh()
        if self.again:
            self.again = False
            self.sync_now()

    # -- open in Hydrus --------------------------------------------------------------------
    def open_clips(self, clip_ids: Sequence[int]) -> Job | None:
        ids = list(clip_ids)
        if not ids:
            self.message.emit("Open in Hydrus: select a clip first.")
            return None

        def call(project):
            return as_stage(lambda: [hydrus.open_in_hydrus(project, i) for i in ids][-1])

        return self.jobs.run_on_project(
            "Open in Hydrus",
            call,
            on_done=self.opened.emit,
            on_error=self.message.emit,
            stage_name="hydrus-open",
        )

    def attach_label(self, bar: QStatusBar) -> None:
        bar.addPermanentWidget(self.label)
