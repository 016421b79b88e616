"""What a tag name is: how a typed name is stored, which spellings are the same tag, and the
tag categories and states."""

from __future__ import annotations

import re
from collections.abc import Iterable

from workstation.core.errors import WorkstationError

CATEGORIES = ("general", "character", "rating", "meta")
STATES = ("active", "accepted", "rejected")


def clean_tag(name: str) -> str:
    """A tag as stored: trimmed, inner whitespace collapsed; commas are refused because they
    separate tags in the clip .txt files."""
    text = re.sub(r"\s+", " ", str(name)).strip()
    if not text:
        raise WorkstationError("tag name is empty")
    if "," in text:
        raise WorkstationError(f"tag {text!r}: a tag name can't contain a comma")
    return text


def spelling(name: str) -> str:
    """What makes two tag names the same tag to a person: "Long hair" = "long_hair".  A tag a
    person decided on blocks auto tags of any spelling of it."""
    return name.strip().lower().replace(" ", "_")


def check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise WorkstationError(f"tag category {category!r}: must be one of {', '.join(CATEGORIES)}")
    return category


def clean_names(names: str | Iterable[str]) -> list[str]:
    """One name or many, cleaned (:func:`clean_tag`), each once, in order."""
    items = [names] if isinstance(names, str) else list(names)
    return list(dict.fromkeys(clean_tag(n) for n in items))
