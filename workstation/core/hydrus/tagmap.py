"""Tags between the workstation and Hydrus: Hydrus's cleaning rules and categories as namespaces.

Hydrus stores a cleaned form of every tag (lower case, whitespace collapsed, no space around the
namespace colon, control characters deleted, leading ``-`` and ``system:`` stripped, at most 1024
characters; underscores kept).  ``/add_tags/clean_tags`` answers a sorted, deduplicated *set*,
not one answer per input, so the mirror cleans locally with the same rules and compares tags
in that form: the workstation's ``Blue Sky`` and Hydrus's ``blue sky`` are the same tag.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

MAX_TAG = 1024
_SPACE = re.compile(r"\s+")
#: Namespaces of tags the mirror derives (``source:VIDEO``, ``frames:START-END``): pushed when
#: the link asks for them, never pulled back as edits.
DERIVED = ("source", "frames")


def clean(tag: str) -> str:
    """The form Hydrus stores ``tag`` in; ``""`` when nothing is left (Hydrus drops it)."""
    text = "".join(ch for ch in tag if unicodedata.category(ch) != "Cc")
    text = _SPACE.sub(" ", text.lower()).strip()
    while True:
        before = text
        text = text.lstrip("-").strip()
        if text.startswith("system:"):
            text = text[len("system:") :].strip()
        if text == before:
            break
    if ":" in text:
        ns, _, sub = text.partition(":")
        ns, sub = ns.strip(), sub.strip()
        text = f"{ns}:{sub}" if ns else sub  # ":foo" is stored as "foo"
    return text[:MAX_TAG]


def to_hydrus(name: str, category: str, namespaces: Mapping[str, str]) -> str:
    """A workstation tag as a Hydrus tag: ``character`` -> ``character:alice``, general bare."""
    ns = namespaces.get(category, category)
    return clean(f"{ns}:{name}" if ns else name)


def from_hydrus(tag: str, namespaces: Mapping[str, str]) -> tuple[str, str]:
    """A Hydrus tag as (name, category): a namespace a category maps to gives that category,
    any other tag is a general tag named as Hydrus spells it."""
    ns, sep, sub = tag.partition(":")
    if sep:
        for category, space in namespaces.items():
            if space and space == ns:
                return sub, category
    return tag, "general"


def is_derived(tag: str) -> bool:
    return tag.partition(":")[0] in DERIVED and ":" in tag


def derived_tags(video: str | None, start: int | None, end: int | None) -> list[str]:
    """The optional ``source:`` and ``frames:`` tags of a clip."""
    out = []
    if video:
        out.append(clean(f"source:{video}"))
    if start is not None and end is not None:
        out.append(f"frames:{start}-{end}")
    return out


def spelled(names: Iterable[tuple[str, str]], namespaces: Mapping[str, str]) -> dict[str, str]:
    """Hydrus form -> the project's spelling of it, for the project's (name, category) tags:
    a tag pulled from Hydrus reuses the spelling the project already has."""
    out: dict[str, str] = {}
    for name, category in names:
        out.setdefault(to_hydrus(name, category, namespaces), name)
    return out
