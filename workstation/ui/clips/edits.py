"""Undoable clip edits for the Clips view: one ``QUndoStack`` of core ``Edit`` diffs.

Every tag, caption and review edit goes through :meth:`ClipEditor.apply_edit`: the core
function (:mod:`workstation.core.review`) writes to the project at once, in one transaction,
and returns an ``Edit`` (the rows it changed, before and after).  That edit goes on the undo
stack wrapped in an :class:`EditCommand`; undo/redo replay the diff exactly.  The ``.txt``
sidecars of a small edit are rewritten inline; those of a bulk edit (hundreds of clips) are
collected with :func:`cliptext.deferred` and rewritten by a background job, so a bulk edit of
10,000 clips doesn't freeze the window on file writes.

The first sync of a process compares every clip's sidecar with the database (see
:mod:`workstation.core.cliptext`); the editor runs that pass when it is made
(:meth:`ClipEditor.start_reconcile`, quietly on a worker thread), so no edit pays it on the
GUI thread.

The editor knows nothing of widgets: views listen to :attr:`ClipEditor.edited` to refresh.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from workstation.core import cliptext
from workstation.core.errors import WorkstationError
from workstation.core.progress import drive
from workstation.core.review.edits import UNDO_LIMIT, Edit
from workstation.core.store import Project
from workstation.ui.common.jobs import LatestRead

SYNC_SIDECARS_MAX = 200  # edits touching more clips rewrite their .txt files in a job


class EditCommand(QUndoCommand):
    """One core ``Edit`` on the undo stack.  The edit already ran when it is pushed, so the
    first ``redo()`` (``QUndoStack.push`` calls it) does nothing."""

    def __init__(self, editor: ClipEditor, edit: Edit, refilter: bool) -> None:
        super().__init__(edit.label)
        self.editor = editor
        self.edit = edit
        self.refilter = refilter
        self._done = True

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.editor._replay(self.edit, undo=False, refilter=self.refilter)

    def undo(self) -> None:
        self.editor._replay(self.edit, undo=True, refilter=self.refilter)


class ClipEditor(QObject):
    """Runs edits on the session's project and keeps their undo history (main thread)."""

    edited = Signal(object, bool)  # clip ids (frozenset) that changed, whether to re-filter
    failed = Signal(str)  # a message naming what was wrong

    def __init__(self, session, jobs, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.jobs = jobs
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)  # the oldest edits are forgotten beyond it
        self._edited_meanwhile: set[int] | None = None  # while the first sidecar pass runs
        self.reconcile = self.start_reconcile()

    @property
    def project(self) -> Project:
        return self.session.project

    def apply_edit(self, fn: Callable[[Project], Edit], *, refilter: bool = False) -> Edit | None:
        """Run one core edit now and put it on the undo stack.  ``refilter``: the edit can
        change which clips match the filter (project-wide and bulk edits)."""
        project = self.project
        try:
            with cliptext.deferred(project) as touched:
                edit = fn(project)
        except WorkstationError as exc:
            self.failed.emit(str(exc))
            return None
        self._sync_sidecars(touched)
        if edit:
            self.undo_stack.push(EditCommand(self, edit, refilter))
        self.edited.emit(edit.clip_ids, refilter)
        return edit

    def _replay(self, edit: Edit, *, undo: bool, refilter: bool) -> None:
        project = self.project
        with cliptext.deferred(project) as touched:
            (edit.undo if undo else edit.redo)(project)
        self._sync_sidecars(touched)
        self.edited.emit(edit.clip_ids, refilter)

    # -- the first sidecar pass, off the GUI thread ----------------------------------------
    def start_reconcile(self) -> LatestRead | None:
        """Compare every clip's sidecar with the database on a worker thread's own connection
        (~0.6 s on 10,000 clips) instead of at the first edit, on the GUI thread.  Quiet: it
        is no stage a person started, so it is not listed as a job; the number of files it
        repaired arrives by the returned object's ``ready`` signal.

        The GUI's connection is marked reconciled at once; the clips edited while the pass
        runs are written again when it ends (it may have read their text before the edit)."""
        project = self.project
        if cliptext.is_reconciled(project):
            return None
        cliptext.mark_reconciled(project)
        if project.read_only or not cliptext.load_settings(project).enabled:
            return None  # (a read-only project's edits write nothing either)
        self._edited_meanwhile = set()
        worker = LatestRead(project.root, self)
        worker.ready.connect(lambda _n: self._reconciled())
        worker.failed.connect(lambda _message: self._reconciled())
        reconcile = cliptext.reconcile_all  # looked up now: tests replace it
        worker.request(lambda p: drive(reconcile(p)))
        return worker

    def _reconciled(self) -> None:
        again, self._edited_meanwhile = self._edited_meanwhile or set(), None
        if again and not self.session.is_closed:
            self._sync_sidecars(again)

    def _sync_sidecars(self, clip_ids: set[int]) -> None:
        if not clip_ids:
            return
        if self._edited_meanwhile is not None:
            self._edited_meanwhile.update(clip_ids)
        if len(clip_ids) <= SYNC_SIDECARS_MAX:
            cliptext.sync_sidecars(self.project, clip_ids)
        elif cliptext.load_settings(self.project).enabled:
            self.rewrite_sidecars(sorted(clip_ids))

    def rewrite_sidecars(self, clip_ids=None) -> None:
        """Rewrite clip .txt files in a background job (all of them when ``clip_ids`` is None)."""
        ids = None if clip_ids is None else list(clip_ids)
        n = "all" if ids is None else f"{len(ids):,}"
        self.jobs.run_on_project(
            f"Rewrite {n} clip .txt files",
            lambda p: cliptext.rewrite_all(p, clip_ids=ids),
            stage_name="sidecars",
        )
