"""What the Clips view says: counts with the right plural, bulk-edit questions, empty grids."""

from __future__ import annotations

from workstation.ui.wording import counted


def n_clips(n: int) -> str:
    """ "1 clip", "2 clips", "10,000 clips"."""
    return counted(n, "clip")


def bulk_question(op: str, tag: str, n: int, new: str = "") -> str:
    """The confirmation of a bulk edit: 'Add tag “dusk” to 14 clips?'."""
    if op == "Add tag":
        return f"Add tag “{tag}” to {n_clips(n)}?"
    if op == "Remove tag":
        return f"Remove tag “{tag}” from {n_clips(n)}?"
    return f"Replace tag “{tag}” with “{new}” on {n_clips(n)}?"


def empty_grid_text(query: str, total: int, rejected: int) -> str:
    """What the grid says when it shows no clip."""
    if total == 0:
        return "No clips yet: slice a video in Cut"
    if query:
        return f"No clips match “{query}”"
    if rejected == total:
        return f"All {n_clips(total)} are rejected: filter rejected:yes to see them"
    return "No clips"
