"""The clip filter language, compiled to one parameterised SQL query over the project database.

The language lives in the store because every term is a piece of SQL over the clip tables;
:func:`workstation.core.review.filter_clip_ids` is how the rest of the program runs a query.
Reading the text into a tree is :mod:`workstation.core.store.query_syntax`; this module compiles
the tree to SQL and runs it.

Terms (implicit AND between them; ``AND``, ``OR``, ``NOT``/``-`` and parentheses combine them)::

    tag:blue_sky   tag:blue_*        the clip has this tag (not rejected); * and ? are wildcards
    caption:"a dog runs"             the caption contains these words (case-insensitive)
    video:intro    video:intro.mp4   the clip was sliced from this video (name or stem)
    path:clips/a*                    the clip's own file path contains this
    frames>=61  duration<2  fps=24  width>=512  height>=512  motion<0.1
    tags=0                           how many (not rejected) tags the clip has
    confidence<0.5                   the clip has an auto tag (not rejected) this confident
    reviewed:no  reviewed:yes
    rejected:yes                     rejected clips (a query without a rejected: term
                                     leaves them out: they are hidden unless asked for)
    stale:yes                        out of date: a cut now lies inside the clip's source range
    source:auto  source:manual       the clip has a tag or caption from this source
    source:hydrus                    ... or one a Hydrus pull brought back (an edit made there)
    state:rejected                   the clip has a tag in this state (active|accepted|rejected)
    dog                              a bare word: a tag with this name or a caption containing it

Keywords are case-insensitive; quote a word to search for "and"/"or"/"not" literally (double
quotes: a word in single quotes is an error that says so, not a search for the quotes).  A bad
query is *returned* as a :class:`QueryError` (message + 0-based position), so a search box can show
it under the text while the person types instead of catching exceptions.  Degenerate queries (a
lone ``-``, ``""`` or ``'``, an operator with nothing to combine, an unclosed quote or parenthesis)
are errors, not filters that quietly match nothing.  Parentheses nest at most :data:`MAX_DEPTH`
deep and a query holds at most :data:`MAX_TERMS` terms, so no input, however long, exhausts
Python's recursion or SQLite's expression depth.  Every value reaches SQLite as a bound
parameter, never as SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass

from workstation.core.store.clip_rows import STALE_SQL
from workstation.core.store.database import ProjectDatabase
from workstation.core.store.query_syntax import (
    CHOICES,
    MAX_DEPTH,
    MAX_TERMS,
    NUMERIC,
    And,
    Node,
    Not,
    Or,
    QueryError,
    Term,
    read,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_TERMS",
    "ClipQueryTables",
    "Query",
    "QueryError",
    "compile_query",
    "parse",
]


Params = list[str | float]  # (ints are floats to mypy)  # the bound parameters of a compiled query


@dataclass(frozen=True)
class Query:
    """A parsed query: its tree (None = every clip) and the SQL it compiles to."""

    text: str
    tree: Node | None

    def sql(self) -> tuple[str, Params]:
        """The WHERE clause; without a ``rejected:`` term it leaves the rejected clips out."""
        where, params = compile_query(self.tree)
        if not mentions(self.tree, "rejected"):
            where = "c.rejected = 0" if where == "1" else f"c.rejected = 0 AND {where}"
        return where, params


def mentions(tree: Node | None, field: str) -> bool:
    """Whether the query has a term on ``field`` (anywhere, negated or not)."""
    if tree is None:
        return False
    if isinstance(tree, Term):
        return tree.field == field
    if isinstance(tree, Not):
        return mentions(tree.child, field)
    return any(mentions(child, field) for child in tree.children)


def parse(text: str) -> Query | QueryError:
    """Parse a query; a syntax error comes back as a :class:`QueryError`, never raised."""
    tree = read(text)
    return tree if isinstance(tree, QueryError) else Query(text, tree)


_COLUMNS = {  # the numeric fields that are a column (``tags`` and ``confidence`` are subqueries)
    "frames": "c.frame_count",
    "duration": "c.duration",
    "fps": "(CAST(c.fps_num AS REAL) / c.fps_den)",
    "width": "c.width",
    "height": "c.height",
    "motion": "c.motion",
}


# -- compiler --------------------------------------------------------------------------------
def _like(value: str, *, contains: bool = False) -> str:
    """A LIKE pattern: ``*``/``?`` are wildcards, SQL's own ``%``/``_`` are escaped."""
    esc = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    esc = esc.replace("*", "%").replace("?", "_")
    return f"%{esc}%" if contains else esc


def _has_wildcard(value: str) -> bool:
    return "*" in value or "?" in value


def _tag_match(value: str) -> tuple[str, Params]:
    if _has_wildcard(value):
        return "t.name LIKE ? ESCAPE '\\'", [_like(value)]
    return "t.name = ? COLLATE NOCASE", [value]


def _leaf(t: Term) -> tuple[str, Params]:
    f, v = t.field, t.value
    if f in ("tag", ""):
        cond, params = _tag_match(v)
        # tags first (a small table), then the clip_tags(tag_id) index: never a full scan
        sql = (
            "c.id IN (SELECT clip_id FROM clip_tags WHERE state != 'rejected' AND tag_id IN "
            f"(SELECT id FROM tags t WHERE {cond}))"
        )
        if f == "":
            sql = f"({sql} OR c.id IN (SELECT clip_id FROM captions WHERE text LIKE ? ESCAPE '\\'))"
            params = [*params, _like(v, contains=True)]
    elif f == "caption":
        # an empty caption (a person cleared it) is no caption
        sql, params = (
            "c.id IN (SELECT clip_id FROM captions WHERE text != '' AND text LIKE ? ESCAPE '\\')",
            [_like(v, contains=True)],
        )
    elif f == "video":
        pats: Params
        if _has_wildcard(v):
            pats = [f"%/{_like(v)}", f"%\\\\{_like(v)}"]
        else:  # the file name, or its stem
            pats = [f"%/{_like(v)}", f"%/{_like(v)}.%", f"%\\\\{_like(v)}", f"%\\\\{_like(v)}.%"]
        ors = " OR ".join("path LIKE ? ESCAPE '\\'" for _ in pats)
        # IFNULL: a clip without a video is not from this one (and NOT of it is true)
        sql, params = f"IFNULL(c.video_id IN (SELECT id FROM videos WHERE {ors}), 0)", pats
    elif f == "path":
        sql, params = "c.path LIKE ? ESCAPE '\\'", [_like(v, contains=True)]
    elif f in ("reviewed", "rejected"):
        sql, params = f"c.{f} = ?", [CHOICES[f][v.lower()]]
    elif f == "stale":
        sql, params = (STALE_SQL if CHOICES[f][v.lower()] else f"NOT {STALE_SQL}"), []
    elif f == "source" and v.lower() == "hydrus":  # a person's edit a Hydrus pull brought back
        sql, params = (
            (
                "(c.id IN (SELECT clip_id FROM clip_tags WHERE origin = 'hydrus' "
                "AND state != 'rejected') OR c.id IN (SELECT clip_id FROM captions "
                "WHERE origin = 'hydrus'))"
            ),
            [],
        )
    elif f == "source":
        sql = (
            "(c.id IN (SELECT clip_id FROM clip_tags WHERE source = ? AND state != 'rejected') "
            "OR c.id IN (SELECT clip_id FROM captions WHERE source = ?))"
        )
        params = [v.lower(), v.lower()]
    elif f == "state":
        sql, params = "c.id IN (SELECT clip_id FROM clip_tags WHERE state = ?)", [v.lower()]
    elif f == "confidence":
        sql = (
            "c.id IN (SELECT clip_id FROM clip_tags WHERE source = 'auto' AND state != 'rejected' "
            f"AND confidence {t.op} ?)"
        )
        params = [float(v)]
    elif f == "tags":
        sql, params = _tag_count(t.op, float(v))
    else:
        column = _COLUMNS[f]
        # IFNULL: an unknown value (motion not measured yet) never matches, and NOT of it does.
        sql, params = f"IFNULL({column} {t.op} ?, 0)", [float(v)]
    if t.op == "!=" and f not in NUMERIC:
        sql = f"NOT ({sql})"
    return sql, params


_COMPARE = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _tag_count(op: str, value: float) -> tuple[str, Params]:
    """``tags<op>N`` as one uncorrelated grouped subquery (a count per clip would run 10,000
    lookups).  Clips without tags have no group, so when 0 itself satisfies the comparison
    the query keeps every clip *not* among the groups that fail it."""
    groups = (
        "SELECT clip_id FROM clip_tags WHERE state != 'rejected' GROUP BY clip_id "
        f"HAVING {'NOT ' if _COMPARE[op](0, value) else ''}(COUNT(*) {op} ?)"
    )
    if _COMPARE[op](0, value):
        return f"c.id NOT IN ({groups})", [value]
    return f"c.id IN ({groups})", [value]


def compile_query(tree: Node | None) -> tuple[str, Params]:
    """SQL for a WHERE clause over ``clips c`` and its parameters.

    The tree is first put in negation normal form (NOT only on terms, De Morgan's laws for the
    rest; every term is true or false, never NULL, so the laws hold) with nested ANDs and ORs
    merged: redundant parentheses and NOT NOT cost SQLite nothing, and only AND/OR alternations
    nest in the SQL (SQLite's parser stack allows about 40 levels).
    """
    if tree is None:
        return "1", []
    return _compile(normal_form(tree))


def normal_form(tree: Node, negate: bool = False) -> Node:
    """``tree`` (negated) with NOTs pushed down to the terms and same-kind groups merged."""
    if isinstance(tree, Term):
        return Not(tree) if negate else tree
    if isinstance(tree, Not):
        return normal_form(tree.child, not negate)
    conjunction = isinstance(tree, And) != negate
    kind = And if conjunction else Or
    children: list[Node] = []
    for child in tree.children:
        node = normal_form(child, negate)
        children.extend(node.children if isinstance(node, kind) else (node,))
    return kind(tuple(children))


def _compile(tree: Node) -> tuple[str, Params]:
    if isinstance(tree, Term):
        return _leaf(tree)
    if isinstance(tree, Not):  # on a term only: NOT binds looser than IN, LIKE, =
        assert isinstance(tree.child, Term)
        sql, params = _leaf(tree.child)
        return f"NOT {sql}", params
    parts = [_compile(child) for child in tree.children]
    joiner = " AND " if isinstance(tree, And) else " OR "
    return "(" + joiner.join(s for s, _ in parts) + ")", [p for _, ps in parts for p in ps]


class ClipQueryTables(ProjectDatabase):
    """Running parsed clip queries (mixed into :class:`Project`)."""

    def matching_clip_ids(self, query: Query) -> list[int]:
        """Ids of the clips matching ``query`` in path order."""
        where, params = query.sql()
        rows = self.db.execute(f"SELECT c.id FROM clips c WHERE {where} ORDER BY c.path", params)
        return [r[0] for r in rows]

    def count_matching_clips(self, query: Query) -> int:
        where, params = query.sql()
        count: int = self.db.execute(
            f"SELECT COUNT(*) FROM clips c WHERE {where}", params
        ).fetchone()[0]
        return count
