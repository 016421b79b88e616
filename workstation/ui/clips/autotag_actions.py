"""Tag / Caption / Motion score from the Clips view, each run as a job.

An "Auto-tag" tool button with a menu sits in the Clips view's filter bar.  "Tag…" and
"Caption…" open their dialogs (:mod:`tag_dialog`, :mod:`caption_dialog`: every CLI option,
starting from the project's saved settings, and which clips); OK there starts the job here.
"Motion score" runs at once on the clips chosen in the menu.  The worker gets only immutable
values (clip ids, frozen settings).  Progress, ETA and cancel come from the jobs panel; the
result summary goes to the status line and the log, and the grid reloads through
``session.clipsChanged``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from enum import Enum
from functools import partial

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QLabel, QMenu, QToolButton

from workstation.core.autotag.base import (
    CaptionerKind,
    CaptionSettings,
    TagSettings,
    load_settings,
)
from workstation.ui.clips.all_tags_panel import Scope

log = logging.getLogger(__name__)


class AutoJob(Enum):
    TAG = "Tag"
    CAPTION = "Caption"
    MOTION = "Motion score"


def summary_text(kind: AutoJob, summary) -> str:
    """One line a person reads after the job: what was done, skipped and what failed."""
    failed = len(getattr(summary, "failed", {}) or {})
    skipped = len(getattr(summary, "skipped", []) or [])
    if kind is AutoJob.TAG:
        done = f"tagged {len(summary.tagged)} clips ({summary.frames} frames on {summary.provider})"
        rest = f"skipped {skipped} already tagged"
    elif kind is AutoJob.CAPTION:
        done = f"captioned {len(summary.captioned)} clips with {summary.model}"
        rest = f"skipped {skipped} with a caption, kept {len(summary.kept_manual)} manual"
    else:
        done = f"scored the motion of {len(summary.scored)} clips"
        rest = f"skipped {skipped} already scored"
    text = f"{done}, {rest}, failed {failed}"
    if failed:
        first_id, first = next(iter(summary.failed.items()))
        text += f" (clip {first_id}: {first})"
    return text


class AutotagActions(QObject):
    """The menu of auto-tagging jobs for one :class:`ClipsView`."""

    jobStarted = Signal(object)  # Job
    summaryShown = Signal(str)

    def __init__(self, view) -> None:
        super().__init__(view)
        self.view = view
        self.scope = Scope.SELECTED
        self.menu = QMenu("Auto-tag", view)
        self.actions: dict[AutoJob, QAction] = {}
        for kind in AutoJob:
            action = self.menu.addAction(
                f"{kind.value}…" if kind is not AutoJob.MOTION else kind.value
            )
            self.actions[kind] = action
        self.actions[AutoJob.TAG].triggered.connect(self.open_tag_dialog)
        self.actions[AutoJob.CAPTION].triggered.connect(self.open_caption_dialog)
        self.actions[AutoJob.MOTION].triggered.connect(lambda: self.start(AutoJob.MOTION))
        self.actions[AutoJob.TAG].setToolTip(
            "Choose a WD14 tagger, thresholds and clips, then tag them"
        )
        self.actions[AutoJob.CAPTION].setToolTip(
            "Choose a captioner (an OpenAI-compatible server or a local video model), the "
            "prompt and clips, then caption them; manual captions are never replaced"
        )
        self.actions[AutoJob.MOTION].setToolTip("Score each clip's motion (mean optical flow)")
        self.menu.addSeparator()
        group = QActionGroup(self)
        self.scope_actions: dict[Scope, QAction] = {}
        for scope in Scope:
            a = self.menu.addAction(scope.value)
            a.setCheckable(True)
            a.setChecked(scope is self.scope)
            a.toggled.connect(partial(self._scope_toggled, scope))
            group.addAction(a)
            self.scope_actions[scope] = a
        self.menu.addSeparator()
        self.redo_action = self.menu.addAction("Redo clips that already have a result")
        self.redo_action.setCheckable(True)
        self.menu.addSeparator()
        self.models_action = self.menu.addAction("Models…", self.open_models)
        self.button = QToolButton()
        self.button.setText("Auto-tag")
        self.button.setToolTip("Tag, caption or score the motion of clips (runs as a job)")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setMenu(self.menu)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.last_summary = ""
        self._dialog = None
        self.tag_dialog = None
        self.caption_dialog = None

    def set_scope(self, scope: Scope) -> None:
        self.scope = scope
        self.scope_actions[scope].setChecked(True)

    def _scope_toggled(self, scope: Scope, on: bool) -> None:
        if on:
            self.set_scope(scope)

    @property
    def redo(self) -> bool:
        return self.redo_action.isChecked()

    def start(self, kind: AutoJob, scope: Scope | None = None, redo: bool | None = None):
        """Start one job on the chosen clips with the project's saved settings; None (and a
        message) when there is nothing to do."""
        scope = scope or self.scope
        redo = self.redo if redo is None else redo
        ids = list(self.view.scope_ids(scope))
        if not ids:
            self._show(f"{kind.value}: no clips in “{scope.value.lower()}”")
            return None
        project = self.view.project
        try:
            stage_fn = self._stage(kind, project, ids, redo)
        except Exception as exc:  # saved settings that no longer parse: say which
            self._show(f"{kind.value}: {exc}")
            return None
        return self._launch(kind, ids, stage_fn)

    def run_tag(self, scope: Scope, settings: TagSettings):
        """The Tag dialog's OK: tag the clips of ``scope`` (as the grid shows them now)."""
        from workstation.core.autotag import tag_clips

        ids = list(self.view.scope_ids(scope))
        if not ids:
            self._show(f"Tag: no clips in “{scope.value.lower()}”")
            return None
        return self._launch(AutoJob.TAG, ids, lambda p: tag_clips(p, ids, settings))

    def run_caption(self, scope: Scope, settings: CaptionSettings, device: str = "auto"):
        """The Caption dialog's OK: caption the clips of ``scope`` with ``settings``."""
        ids = list(self.view.scope_ids(scope))
        if not ids:
            self._show(f"Caption: no clips in “{scope.value.lower()}”")
            return None
        return self._launch(AutoJob.CAPTION, ids, _caption_fn(ids, settings, device))

    def _launch(self, kind: AutoJob, ids: list[int], stage_fn):
        session = self.view.session

        def done(summary, k=kind):
            self._show(summary_text(k, summary))
            if not getattr(session, "is_closed", False):
                session.clipsChanged.emit()

        def failed(message: str, k=kind):
            self._show(f"{k.value} failed: {message}")
            if not getattr(session, "is_closed", False):
                session.clipsChanged.emit()  # what was stored before the failure shows

        n = len(ids)
        job = self.view.jobs.run_on_project(
            f"{kind.value} {n} clip{'s' if n != 1 else ''}",
            stage_fn,
            on_done=done,
            on_error=failed,
            stage_name=kind.name.lower(),
            target=f"{n} clips",
        )
        job.cancelled.connect(lambda k=kind: self._show(f"{k.value} cancelled"))
        self.jobStarted.emit(job)
        return job

    def _stage(self, kind: AutoJob, project, ids: list[int], redo: bool):
        """A function of the worker's own Project; every value it uses is read here."""
        if kind is AutoJob.TAG:
            from workstation.core.autotag import tag_clips

            tag = replace(load_settings(project, TagSettings), redo=redo)
            return lambda p: tag_clips(p, ids, tag)
        if kind is AutoJob.CAPTION:
            from workstation.core.autotag.hf_captioner import load_device

            cap = replace(load_settings(project, CaptionSettings), redo=redo)
            return _caption_fn(ids, cap, load_device(project))
        from workstation.core.autotag import score_motion

        return lambda p: score_motion(p, ids, redo=redo)

    # -- dialogs ---------------------------------------------------------------------------
    def _counts(self) -> dict[Scope, int]:
        return {s: len(self.view.scope_ids(s)) for s in Scope}

    def open_tag_dialog(self):
        """Auto-tag → Tag…: the Tag dialog (one at a time); its OK runs :meth:`run_tag`."""
        from workstation.ui.clips.tag_dialog import TagDialog

        if self.tag_dialog is not None:
            self.tag_dialog.close()
        dialog = self.tag_dialog = TagDialog(
            self.view.project, self._counts(), self.scope, self.view
        )
        dialog.runRequested.connect(self._tag_requested)
        dialog.openModels.connect(self.open_models)
        dialog.show()
        return dialog

    def _tag_requested(self, scope: Scope, settings: TagSettings) -> None:
        self.set_scope(scope)
        self.run_tag(scope, settings)

    def open_caption_dialog(self):
        """Auto-tag → Caption…: the Caption dialog; its OK runs :meth:`run_caption`."""
        from workstation.ui.clips.caption_dialog import CaptionDialog

        if self.caption_dialog is not None:
            self.caption_dialog.close()
        dialog = self.caption_dialog = CaptionDialog(
            self.view.project, self.view.jobs, self._counts(), self.scope, self.view
        )
        dialog.runRequested.connect(self._caption_requested)
        dialog.openModels.connect(self.open_models)
        dialog.show()
        return dialog

    def _caption_requested(self, scope: Scope, settings: CaptionSettings, device: str) -> None:
        self.set_scope(scope)
        self.run_caption(scope, settings, device)

    def _models_changed(self) -> None:
        for dialog in (self.tag_dialog, self.caption_dialog):
            if dialog is not None and dialog.isVisible():
                dialog.refresh_models()

    def _show(self, text: str) -> None:
        self.last_summary = text
        self.status.setText(text)
        log.info("%s", text)
        self.summaryShown.emit(text)

    def open_models(self):
        from workstation.ui.clips.models_dialog import ModelsDialog

        if self._dialog is None:
            self._dialog = ModelsDialog(self.view.session, self.view.jobs, self.view)
            self._dialog.modelsChanged.connect(self._models_changed)
        self._dialog.refresh()
        self._dialog.show()
        self._dialog.raise_()
        return self._dialog


def _caption_fn(ids: list[int], settings: CaptionSettings, device: str):
    """The caption stage for the worker's Project: a local model is freed when it ends."""
    if settings.backend is CaptionerKind.TRANSFORMERS:
        from workstation.core.autotag.hf_captioner import caption_and_free

        return lambda p: caption_and_free(p, ids, settings, device=device)
    from workstation.core.autotag import caption_clips

    return lambda p: caption_clips(p, ids, settings)
