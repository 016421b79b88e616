"""Tag and caption review: the edits the clip panel and the CLI make, each one undoable.

Every edit runs in one transaction and returns an :class:`~workstation.core.review.edits.Edit`: the
rows it changed with their values before and after, so ``edit.undo(project)`` and
``edit.redo(project)`` restore the database exactly (see :mod:`workstation.core.review.edits`).

Manual work wins over automatic results:

* removing an auto tag marks it ``rejected`` (a tombstone), so the next auto-tagging run cannot
  bring it back; removing a manual tag deletes it;
* adding a tag that an auto run proposed marks it ``accepted``;
* :func:`set_auto_tags` replaces only the auto tags nobody touched (``active``); manual, accepted
  and rejected tags stay as they are; :func:`set_auto_caption` never replaces a manual caption.

After each edit (and undo/redo) the touched clips' ``.txt`` sidecars are rewritten when sidecars
are enabled (see :mod:`workstation.core.cliptext`).

The package is split by concern: ``names`` (what a tag name is), ``editing`` (how an edit runs),
``tags`` and ``captions`` (a person's edits), ``rejects`` (rejecting clips, the bin), ``auto`` (merging automatic results) and
``queries`` (reading); the SQL they rest on is in :mod:`workstation.core.store`.  Use the names
re-exported here: ``from workstation.core import review; review.add_tags(...)``.
"""

from __future__ import annotations

from workstation.core.review.auto import (
    AutoTag,
    set_auto_caption,
    set_auto_tags,
    set_auto_tags_many,
)
from workstation.core.review.captions import clear_caption, mark_reviewed, set_caption
from workstation.core.review.edits import UNDO_LIMIT, Edit, RowChange
from workstation.core.review.names import CATEGORIES, STATES, clean_tag, spelling
from workstation.core.review.queries import (
    caption,
    captions_many,
    clip_tags,
    clip_tags_many,
    complete_tags,
    count_clips,
    filter_clip_ids,
    tag_counts,
)
from workstation.core.review.rejects import BIN_DIR, BinEdit, delete_clip_files, reject_clips
from workstation.core.review.tags import (
    accept_above,
    accept_tags,
    add_tags,
    delete_tag,
    reject_below,
    reject_tags,
    remove_tags,
    rename_tag,
    reorder_tags,
    replace_tag,
    set_tag_category,
    set_tags,
)
from workstation.core.store.captions import Caption
from workstation.core.store.clip_query import Query, QueryError, parse
from workstation.core.store.tags import ClipTag, TagCount

__all__ = [
    "BIN_DIR",
    "UNDO_LIMIT",
    "CATEGORIES",
    "STATES",
    "AutoTag",
    "BinEdit",
    "Caption",
    "ClipTag",
    "Edit",
    "Query",
    "QueryError",
    "RowChange",
    "TagCount",
    "accept_above",
    "accept_tags",
    "add_tags",
    "caption",
    "captions_many",
    "clean_tag",
    "clear_caption",
    "clip_tags",
    "clip_tags_many",
    "complete_tags",
    "count_clips",
    "delete_clip_files",
    "delete_tag",
    "filter_clip_ids",
    "mark_reviewed",
    "parse",
    "reject_below",
    "reject_clips",
    "reject_tags",
    "remove_tags",
    "rename_tag",
    "reorder_tags",
    "replace_tag",
    "set_auto_caption",
    "set_auto_tags",
    "set_auto_tags_many",
    "set_caption",
    "set_tag_category",
    "set_tags",
    "spelling",
    "tag_counts",
]
