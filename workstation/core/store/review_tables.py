"""The table groups clip review reads and writes, as one mixin of :class:`Project`.

Tags, captions, clip rows in bulk, the single-row writes of undoable edits, and the clip
filter language; the rules over them live in :mod:`workstation.core.review`.
"""

from __future__ import annotations

from workstation.core.store.captions import CaptionTables
from workstation.core.store.clip_query import ClipQueryTables
from workstation.core.store.clip_rows import ClipRowTables
from workstation.core.store.edit_rows import EditRowTables
from workstation.core.store.tags import TagTables


class ReviewTables(TagTables, CaptionTables, ClipRowTables, EditRowTables, ClipQueryTables):
    """Everything clip review stores (mixed into :class:`Project`)."""
