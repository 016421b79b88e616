"""The clip filter language, compiled to one parameterised SQL query over the project database.

The language lives in the store because every term is a piece of SQL over the clip tables;
:func:`workstation.core.review.filter_clip_ids` is how the rest of the program runs a query.

Terms (implicit AND between them; ``AND``, ``OR``, ``NOT``/``-`` and parentheses combine them)::

    tag:blue_sky   tag:blue_*        the clip has this tag (not rejected); * and ? are wildcards
    caption:"a dog runs"             the caption contains these words (case-insensitive)
    video:intro    video:intro.mp4   the clip was sliced from this video (name or stem)
    path:clips/a*                    the clip's own file path contains this
    frames>=61  duration<2  fps=24  width>=512  height>=512  motion<0.1
    tags=0                           how many (not rejected) tags the clip has
    confidence<0.5                   the clip has an auto tag (not rejected) this confident
    reviewed:no  reviewed:yes
    source:auto  source:manual       the clip has a tag or caption from this source
    state:rejected                   the clip has a tag in this state (active|accepted|rejected)
    dog                              a bare word: a tag with this name or a caption containing it

Keywords are case-insensitive; quote a word to search for "and"/"or"/"not" literally.  A bad query
is *returned* as a :class:`QueryError` (message + 0-based position), so a search box can show it
under the text while the person types instead of catching exceptions.  Every value reaches SQLite
as a bound parameter, never as SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workstation.core.store.database import ProjectDatabase

__all__ = ["ClipQueryTables", "Query", "QueryError", "compile_query", "parse"]

Params = list[str | float]  # (ints are floats to mypy)  # the bound parameters of a compiled query


@dataclass(frozen=True)
class QueryError:
    """Why a query can't be read and where (``position`` is a 0-based index into ``query``)."""

    message: str
    position: int
    query: str = ""

    def __str__(self) -> str:
        return f"{self.message} (at character {self.position + 1})"

    def pointer(self) -> str:
        """The query with a caret under the bad spot, for terminals."""
        return f"{self.query}\n{' ' * self.position}^ {self.message}"


# -- the syntax tree -------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    field: str  # '' for a bare word
    op: str  # ':' '=' '!=' '<' '<=' '>' '>='
    value: str
    position: int


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True)
class Query:
    """A parsed query: its tree (None = every clip) and the SQL it compiles to."""

    text: str
    tree: Node | None

    def sql(self) -> tuple[str, Params]:
        return compile_query(self.tree)


# -- fields ----------------------------------------------------------------------------------
_NUMERIC = {
    "frames": "c.frame_count",
    "duration": "c.duration",
    "fps": "(CAST(c.fps_num AS REAL) / c.fps_den)",
    "width": "c.width",
    "height": "c.height",
    "motion": "c.motion",
    "tags": None,  # a grouped subquery, built in _tag_count
    "confidence": None,  # an EXISTS over the clip's tags, built in _leaf
}
_TEXT = {"tag", "caption", "video", "path", "reviewed", "source", "state"}
FIELDS = tuple(sorted(_TEXT | set(_NUMERIC)))
_CHOICES: dict[str, dict[str, str | int]] = {
    "reviewed": {"yes": 1, "true": 1, "1": 1, "no": 0, "false": 0, "0": 0},
    "source": {"auto": "auto", "manual": "manual"},
    "state": {"active": "active", "accepted": "accepted", "rejected": "rejected"},
}
_OPS = ("<=", ">=", "!=", "=", "<", ">", ":")
_KEYWORDS = {"and": "AND", "or": "OR", "not": "NOT"}
_TERM_RE = re.compile(r"([A-Za-z_]+)(<=|>=|!=|=|<|>|:)")


# -- tokens ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Token:
    kind: str  # '(' ')' 'AND' 'OR' 'NOT' 'TERM' 'END'
    position: int
    term: Term | None = None


class _Fail(Exception):
    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append(_Token(ch, i))
            i += 1
            continue
        if ch == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != ")":
            tokens.append(_Token("NOT", i))
            i += 1
            continue
        start = i
        m = _TERM_RE.match(text, i)
        if m and (m.group(1).lower() in FIELDS or _looks_like_field(text, m)):
            field, op = m.group(1).lower(), m.group(2)
            if field not in FIELDS:
                raise _Fail(f"unknown field '{m.group(1)}' (known: {', '.join(FIELDS)})", start)
            i = m.end()
            value, i = _read_value(text, i)
            if value == "":
                raise _Fail(f"'{field}{op}' needs a value", m.end())
            tokens.append(_Token("TERM", start, Term(field, op, value, start)))
            continue
        value, end = _read_value(text, i)
        if text[i] != '"' and value.lower() in _KEYWORDS:
            tokens.append(_Token(_KEYWORDS[value.lower()], i))
        elif value in ("&&", "&"):
            tokens.append(_Token("AND", i))
        elif value in ("||", "|"):
            tokens.append(_Token("OR", i))
        elif value == "" and text[i] != '"':
            raise _Fail(f"unexpected '{text[i]}'", i)
        else:
            tokens.append(_Token("TERM", start, Term("", ":", value, start)))
        i = end
    tokens.append(_Token("END", n))
    return tokens


def _looks_like_field(text: str, m: re.Match[str]) -> bool:
    """``foo:bar`` or ``foo<3`` is meant as a field even when ``foo`` is unknown (a typo to
    report rather than a bare word that silently matches nothing)."""
    if m.group(2) != ":":
        return True
    return m.end() < len(text) and not text[m.end()].isspace()


def _read_value(text: str, i: int) -> tuple[str, int]:
    """A quoted string, or a run of characters up to whitespace or an unbalanced ')'.

    Parentheses inside a value are kept when balanced, so booru tags like
    ``tag:fate_(series)`` work without quotes.
    """
    n = len(text)
    if i < n and text[i] == '"':
        out: list[str] = []
        j = i + 1
        while j < n:
            if text[j] == "\\" and j + 1 < n:
                out.append(text[j + 1])
                j += 2
                continue
            if text[j] == '"':
                return "".join(out), j + 1
            out.append(text[j])
            j += 1
        raise _Fail("unclosed quote", i)
    depth = 0
    j = i
    while j < n and not text[j].isspace():
        c = text[j]
        if c == "(":
            if j == i:
                break
            depth += 1
        elif c == ")":
            if depth == 0:
                break
            depth -= 1
        elif c == '"':
            break
        j += 1
    return text[i:j], j


# -- parser ----------------------------------------------------------------------------------
class _Parser:
    """Recursive descent: or := and (OR and)* ; and := not (AND? not)* ; not := NOT not | atom."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node | None:
        if self.peek().kind == "END":
            return None
        node = self.or_()
        tok = self.peek()
        if tok.kind == ")":
            raise _Fail("')' without a matching '('", tok.position)
        if tok.kind != "END":  # pragma: no cover - every other token starts a term
            raise _Fail(f"unexpected {tok.kind}", tok.position)
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.peek().kind == "OR":
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.peek().kind in ("AND", "NOT", "(", "TERM"):
            if self.peek().kind == "AND":
                self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Node:
        if self.peek().kind == "NOT":
            self.take()
            return Not(self.not_())
        return self.atom()

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "TERM":
            assert tok.term is not None
            _check_term(tok.term)
            return tok.term
        if tok.kind == "(":
            if self.peek().kind == ")":
                raise _Fail("empty parentheses", tok.position)
            if self.peek().kind == "END":
                raise _Fail("'(' is never closed", tok.position)
            node = self.or_()
            close = self.peek()
            if close.kind != ")":
                raise _Fail("'(' is never closed", tok.position)
            self.take()
            return node
        before = self.tokens[self.i - 2] if self.i >= 2 else None
        after = f" after {before.kind}" if before and before.kind in ("AND", "OR", "NOT") else ""
        if tok.kind == "END":
            raise _Fail(f"expected a search term{after}", tok.position)
        if tok.kind == ")":
            if after:
                raise _Fail(f"expected a search term{after}", tok.position)
            raise _Fail("')' without a matching '('", tok.position)
        raise _Fail(f"expected a search term, not {tok.kind}", tok.position)


def _check_term(t: Term) -> None:
    """Validate a term now, so errors point at it (the compiler then never fails)."""
    vpos = t.position + len(t.field) + len(t.op)
    if t.field in _NUMERIC:
        if t.op == ":":
            raise _Fail(f"'{t.field}' needs a comparison such as {t.field}>=10", t.position)
        try:
            float(t.value)
        except ValueError:
            raise _Fail(f"'{t.field}' needs a number, not '{t.value}'", vpos) from None
    elif t.field in _CHOICES:
        if t.op not in (":", "=", "!="):
            raise _Fail(f"'{t.field}' takes ':' (e.g. {t.field}:{_first(t.field)})", t.position)
        if t.value.lower() not in _CHOICES[t.field]:
            choices = "|".join(dict.fromkeys(_CHOICES[t.field]))
            raise _Fail(f"'{t.field}' must be one of {choices}, not '{t.value}'", vpos)
    elif t.op not in (":", "=", "!="):
        raise _Fail(f"'{t.field or t.value}' can't be compared with '{t.op}'", t.position)


def _first(field: str) -> str:
    return next(iter(_CHOICES[field]))


def parse(text: str) -> Query | QueryError:
    """Parse a query; a syntax error comes back as a :class:`QueryError`, never raised."""
    try:
        return Query(text, _Parser(_tokenize(text)).parse())
    except _Fail as fail:
        return QueryError(fail.message, fail.position, text)


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
        sql, params = f"c.video_id IN (SELECT id FROM videos WHERE {ors})", pats
    elif f == "path":
        sql, params = "c.path LIKE ? ESCAPE '\\'", [_like(v, contains=True)]
    elif f == "reviewed":
        sql, params = "c.reviewed = ?", [_CHOICES["reviewed"][v.lower()]]
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
        column = _NUMERIC[f]
        # IFNULL: an unknown value (motion not measured yet) never matches, and NOT of it does.
        sql, params = f"IFNULL({column} {t.op} ?, 0)", [float(v)]
    if t.op == "!=" and f not in _NUMERIC:
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
    """SQL for a WHERE clause over ``clips c`` and its parameters."""
    if tree is None:
        return "1", []
    if isinstance(tree, Term):
        return _leaf(tree)
    if isinstance(tree, Not):
        sql, params = compile_query(tree.child)
        return f"NOT ({sql})", params
    parts = [compile_query(child) for child in tree.children]
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
