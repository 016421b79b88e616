"""How a review edit runs: checked clip ids, one transaction, a recorded undoable diff, then
the touched clips' ``.txt`` sidecars rewritten."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from workstation.core import cliptext
from workstation.core.errors import WorkstationError
from workstation.core.review.edits import Edit, Recorder
from workstation.core.store import Project

# An edit's body: row operations through the recorder; it may name more clips it touched.
Body = Callable[[Recorder], Iterable[int] | None]


def run_edit(project: Project, label: str, body: Body) -> Edit:
    """Run ``body(recorder)`` in one transaction; sync sidecars after it committed."""
    rec = Recorder(project)
    with project.transaction():
        extra = body(rec) or ()
    edit = rec.edit(label, extra)
    cliptext.sync_sidecars(project, edit.clip_ids)
    return edit


def existing_clips(project: Project, clip_ids: Iterable[int]) -> list[int]:
    """The clip ids, each once, in order; an error names the ones the project doesn't have."""
    ids = list(dict.fromkeys(int(c) for c in clip_ids))
    found = project.existing_clip_ids(ids)
    missing = [c for c in ids if c not in found]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        raise WorkstationError(f"no clip with id {shown} in {project.root}")
    return ids
