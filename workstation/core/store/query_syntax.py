"""The clip filter language's syntax: tokens, the parse tree and its errors (no SQL here).

:mod:`workstation.core.store.clip_query` documents the language, compiles a tree to SQL and is
what the rest of the program imports; this module only reads text into a tree of
:class:`Term`, :class:`Not`, :class:`And` and :class:`Or` or a :class:`QueryError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = [
    "FIELDS",
    "MAX_DEPTH",
    "MAX_TERMS",
    "And",
    "Node",
    "Not",
    "Or",
    "QueryError",
    "Term",
    "read",
]

# Parentheses nested deeper are an error (never a RecursionError, nor SQLite's "parser stack
# overflow": its parser takes about 23 levels of AND/OR alternating, whatever the terms).
MAX_DEPTH = 16
MAX_TERMS = 256  # more terms are an error (a chain of n terms is n deep; SQLite allows 1000)


_UNREADABLE = re.compile("[\ud800-\udfff]")  # bytes a terminal could not decode (surrogates)


@dataclass(frozen=True)
class QueryError:
    """Why a query can't be read and where (``position`` is a 0-based index into ``query``)."""

    message: str
    position: int
    query: str = ""

    def __str__(self) -> str:
        return f"{self.message} (at character {self.position + 1})"

    def pointer(self, width: int = 100, *, with_message: bool = True) -> str:
        """The query with a caret under the bad spot (and the message after it), for
        terminals; of a query longer than ``width`` only the part around the spot, the rest
        elided with "…"."""
        text, at = _UNREADABLE.sub("\ufffd", self.query), self.position  # printable
        if len(text) > width:
            start = max(0, min(at - width // 2, len(text) - width))
            head = "…" if start else ""
            text = head + text[start : start + width] + ("…" if start + width < len(text) else "")
            at += len(head) - start
        return f"{text}\n{' ' * at}^" + (f" {self.message}" if with_message else "")


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


# -- fields ----------------------------------------------------------------------------------
NUMERIC = frozenset(
    ["frames", "duration", "fps", "width", "height", "motion", "tags", "confidence"]
)
_TEXT = {"tag", "caption", "video", "path", "reviewed", "source", "state", "rejected", "stale"}
FIELDS = tuple(sorted(_TEXT | NUMERIC))
CHOICES: dict[str, dict[str, str | int]] = {  # a field's words and what each stands for
    "reviewed": {"yes": 1, "true": 1, "1": 1, "no": 0, "false": 0, "0": 0},
    "rejected": {"yes": 1, "true": 1, "1": 1, "no": 0, "false": 0, "0": 0},
    "stale": {"yes": 1, "true": 1, "1": 1, "no": 0, "false": 0, "0": 0},
    "source": {"auto": "auto", "manual": "manual", "hydrus": "hydrus"},
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
    text: str = ""  # as typed, where it differs from ``kind`` ('&', '||', 'or')


class _Fail(Exception):
    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position


_OPERATORS = {"&&": "AND", "&": "AND", "||": "OR", "|": "OR"}


def _tokenize(text: str) -> list[_Token]:
    bad = _UNREADABLE.search(text)
    if bad:
        raise _Fail(
            "this character is not text (a byte the terminal could not decode)", bad.start()
        )
    tokens: list[_Token] = []
    terms = 0
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
        if ch == "-":
            if i + 1 == n or text[i + 1].isspace() or text[i + 1] == ")":
                raise _Fail("'-' (NOT) needs a search term right after it, e.g. -tag:cat", i)
            tokens.append(_Token("NOT", i))
            i += 1
            continue
        token, i = _word(text, i)
        if token.kind == "TERM":
            terms += 1
            if terms > MAX_TERMS:
                raise _Fail(f"more than {MAX_TERMS} search terms in one filter", token.position)
        tokens.append(token)
    tokens.append(_Token("END", n))
    return tokens


def _word(text: str, i: int) -> tuple[_Token, int]:
    """The term or keyword starting at ``text[i]`` and the index after it."""
    m = _TERM_RE.match(text, i)
    if m and (m.group(1).lower() in FIELDS or _looks_like_field(text, m)):
        field, op = m.group(1).lower(), m.group(2)
        if field not in FIELDS:
            raise _Fail(f"unknown field '{m.group(1)}' (known: {', '.join(FIELDS)})", i)
        value, end = _read_value(text, m.end())
        if value == "":
            raise _Fail(f"'{field}{op}' needs a value", m.end())
        if text[m.end()] != '"':
            _check_unquoted(value, m.end())
        return _Token("TERM", i, Term(field, op, value, i)), end
    value, end = _read_value(text, i)
    if text[i] == '"':
        if value == "":
            raise _Fail("empty quotes search for nothing: put a word between them", i)
        return _Token("TERM", i, Term("", ":", value, i)), end
    typed = text[i:end]
    if value.lower() in _KEYWORDS:
        return _Token(_KEYWORDS[value.lower()], i, text=typed), end
    if value in _OPERATORS:
        return _Token(_OPERATORS[value], i, text=typed), end
    if value == "":  # pragma: no cover - '(' ')' '"' are handled before
        raise _Fail(f"unexpected '{text[i]}'", i)
    _check_unquoted(value, i)
    return _Token("TERM", i, Term("", ":", value, i)), end


def _check_unquoted(value: str, position: int) -> None:
    """A word of only apostrophes, or one in single quotes, was meant as quoting: say how."""
    if value.strip("'") == "":
        raise _Fail('a lone \' is not a search term (quote with double quotes: "a dog")', position)
    if len(value) > 1 and value[0] == value[-1] == "'":
        raise _Fail(
            f'single quotes don\'t quote in a filter: write "{value[1:-1]}" with double quotes',
            position,
        )


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
        raise _Fail('unclosed quote: add the closing "', i)
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
        self.depth = 0  # parentheses open around the current token

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
        """NOT NOT x is x: a chain of NOTs folds into at most one (no recursion per NOT)."""
        negate = False
        while self.peek().kind == "NOT":
            self.take()
            negate = not negate
        node = self.atom()
        return Not(node) if negate else node

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "TERM":
            assert tok.term is not None
            _check_term(tok.term)
            return tok.term
        if tok.kind == "(":
            return self.group(tok)
        before = self.tokens[self.i - 2] if self.i >= 2 else None
        after = f" after {_shown(before)}" if before and before.kind in _KEYWORDS.values() else ""
        if tok.kind == "END":  # point just after the operator, not at trailing spaces
            spot = before.position + max(len(before.text), 1) if after and before else tok.position
            raise _Fail(f"expected a search term{after}", spot)
        if tok.kind == ")":
            if after:
                raise _Fail(f"expected a search term{after}", tok.position)
            raise _Fail("')' without a matching '('", tok.position)
        raise _Fail(f"expected a search term, not {_shown(tok)}", tok.position)

    def group(self, opening: _Token) -> Node:
        """What follows an opening parenthesis, up to its closing one."""
        if self.peek().kind == ")":
            raise _Fail("empty parentheses", opening.position)
        if self.peek().kind == "END":
            raise _Fail("'(' is never closed", opening.position)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Fail(f"nesting deeper than {MAX_DEPTH} parentheses", opening.position)
        node = self.or_()
        if self.peek().kind != ")":
            raise _Fail("'(' is never closed", opening.position)
        self.take()
        self.depth -= 1
        return node


def _shown(tok: _Token) -> str:
    """A keyword token as the error names it: ``OR``, or ``OR ('||')`` when typed so."""
    return tok.kind if tok.text.upper() in ("", tok.kind) else f"{tok.kind} ('{tok.text}')"


def _check_term(t: Term) -> None:
    """Validate a term now, so errors point at it (the compiler then never fails)."""
    vpos = t.position + len(t.field) + len(t.op)
    if t.field in NUMERIC:
        if t.op == ":":
            raise _Fail(f"'{t.field}' needs a comparison such as {t.field}>=10", t.position)
        try:
            number = float(t.value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise _Fail(f"'{t.field}' needs a number, not '{t.value}'", vpos)
    elif t.field in CHOICES:
        if t.op not in (":", "=", "!="):
            raise _Fail(f"'{t.field}' takes ':' (e.g. {t.field}:{_first(t.field)})", t.position)
        if t.value.lower() not in CHOICES[t.field]:
            choices = "|".join(dict.fromkeys(CHOICES[t.field]))
            raise _Fail(f"'{t.field}' must be one of {choices}, not '{t.value}'", vpos)
    elif t.op not in (":", "=", "!="):
        raise _Fail(f"'{t.field or t.value}' can't be compared with '{t.op}'", t.position)


def _first(field: str) -> str:
    return next(iter(CHOICES[field]))


def read(text: str) -> Node | None | QueryError:
    """The tree of a query (None: no terms, every clip), or why it can't be read."""
    try:
        return _Parser(_tokenize(text)).parse()
    except _Fail as fail:
        return QueryError(fail.message, fail.position, text)
