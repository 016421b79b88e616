"""Reading clip data for review: a clip's tags and caption, tag counts and completions, and
clips by the filter language (:mod:`workstation.core.store.clip_query`)."""

from __future__ import annotations

from collections.abc import Iterable

from workstation.core.store import Project
from workstation.core.store.captions import Caption
from workstation.core.store.clip_query import Query, QueryError, parse
from workstation.core.store.tags import ClipTag, TagCount


def clip_tags(project: Project, clip_id: int, *, include_rejected: bool = False) -> list[ClipTag]:
    return clip_tags_many(project, [clip_id], include_rejected=include_rejected).get(clip_id, [])


def clip_tags_many(
    project: Project, clip_ids: Iterable[int], *, include_rejected: bool = False
) -> dict[int, list[ClipTag]]:
    """The tags of many clips in one query, each clip's in its tag order."""
    return project.clip_tags_many(clip_ids, include_rejected=include_rejected)


def caption(project: Project, clip_id: int) -> Caption | None:
    return captions_many(project, [clip_id]).get(clip_id)


def captions_many(project: Project, clip_ids: Iterable[int]) -> dict[int, Caption]:
    return project.captions_many(clip_ids)


def tag_counts(
    project: Project, clip_ids: Iterable[int] | None = None, *, include_unused: bool = False
) -> list[TagCount]:
    """Every tag with how many clips show it (the all-tags panel), most used first."""
    return [t for t in project.tag_counts(clip_ids) if include_unused or t.count > 0]


def complete_tags(project: Project, text: str, limit: int = 20) -> list[TagCount]:
    """Autocomplete: tags starting with ``text`` first, then containing it; by use count."""
    return project.tags_containing(text.strip().lower(), limit)


def filter_clip_ids(project: Project, query: str | Query) -> list[int] | QueryError:
    """Ids of the clips matching ``query`` in path order; a bad query returns its error."""
    parsed = parse(query) if isinstance(query, str) else query
    if isinstance(parsed, QueryError):
        return parsed
    return project.matching_clip_ids(parsed)


def count_clips(project: Project, query: str | Query) -> int | QueryError:
    """How many clips match (the status line of the grid)."""
    parsed = parse(query) if isinstance(query, str) else query
    if isinstance(parsed, QueryError):
        return parsed
    return project.count_matching_clips(parsed)
