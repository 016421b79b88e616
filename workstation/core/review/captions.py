"""Caption and review-state edits a person makes.

An empty manual caption is kept (a person said "no caption"), so an auto captioner won't fill
it in; clearing the caption removes it and lets one do so.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from workstation.core.review.editing import existing_clips, run_edit
from workstation.core.review.edits import Edit, Recorder
from workstation.core.store import Project


def set_caption(project: Project, clip_ids: Iterable[int], text: str) -> Edit:
    """Set a manual caption.  An empty text is kept as an empty manual caption (a person said
    "no caption"), so an auto captioner won't fill it in later; :func:`clear_caption` allows that."""
    ids = existing_clips(project, clip_ids)
    text = str(text).strip()

    def body(rec: Recorder) -> None:
        now = time.time()
        values = {
            "text": text,
            "source": "manual",
            "model": None,
            "prompt": None,
            "origin": None,  # a person's edit here (a Hydrus pull marks its own)
            "updated_at": now,
        }
        for cid in ids:
            row = project.caption_row(cid)
            if row is None:
                rec.insert("captions", {"clip_id": cid, **values})
            elif row["text"] != text or row["source"] != "manual" or row["origin"]:
                rec.update("captions", {"clip_id": cid}, values, row)

    return run_edit(project, "set caption", body)


def clear_caption(project: Project, clip_ids: Iterable[int]) -> Edit:
    """Remove captions entirely (an auto captioner may fill them in again)."""
    ids = existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        for cid in ids:
            rec.delete("captions", {"clip_id": cid})

    return run_edit(project, "clear caption", body)


def mark_reviewed(project: Project, clip_ids: Iterable[int], reviewed: bool = True) -> Edit:
    ids = existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        for cid in ids:
            rec.update("clips", {"id": cid}, {"reviewed": int(reviewed)})

    return run_edit(project, "mark reviewed" if reviewed else "mark not reviewed", body)
