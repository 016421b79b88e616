"""Property-based fuzzing of the clip filter language (hypothesis, bounded and derandomized).

Whatever a person types or pastes, :func:`parse` returns a Query or a QueryError (never raises),
an error points inside the text, and every query it accepts compiles to SQL that SQLite runs on
a real project; the boolean laws hold on the clips (a query OR its negation is every clip, AND
its negation none), which checks the NULL handling of every term.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from fake_media import add_fake_video
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.core import cliptext, review
from workstation.core.review import Query, QueryError, parse
from workstation.core.store import Project
from workstation.core.store.query_syntax import MAX_DEPTH, MAX_TERMS, And, Not, Or

FUZZ = settings(
    max_examples=250,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    database=None,  # no .hypothesis folder in the tree
    deadline=None,  # a busy machine is not a failure
    suppress_health_check=[HealthCheck.too_slow],
)

TEXT_FIELDS = ("tag", "caption", "video", "path", "reviewed", "source", "state", "")
NUMBER_FIELDS = ("frames", "duration", "fps", "width", "height", "motion", "tags", "confidence")
OPS = (":", "=", "!=", "<", "<=", ">", ">=")
# Values that match something in the project below, and ones that trip parsers.
VALUES = (
    "blue_sky",
    "blue_*",
    "fate_(series)",
    "dog",
    "night",
    "intro",
    "intro.mp4",
    "intro*",
    "clips/a",
    "*",
    "?",
    "%",
    "_",
    "\\",
    "yes",
    "no",
    "auto",
    "manual",
    "rejected",
    "active",
    "0",
    "1",
    "2",
    "16",
    "24",
    "61",
    "0.05",
    "0.5",
    "-3",
    "1e309",
    "nan",
    "0x10",
    '"a dog"',
    '""',
    "'",
    "don't",
    "é",
    "日本",
    "\x00",
    "\udcff",
)
# Operators, brackets and what people paste by mistake.
PIECES = (
    "AND",
    "and",
    "OR",
    "or",
    "NOT",
    "not",
    "&&",
    "&",
    "||",
    "|",
    "-",
    "--",
    "(",
    ")",
    "()",
    '"',
    "'",
    "''",
    ";",
    "colour:",
    "tag>",
    "\n",
)
SEPARATORS = st.sampled_from(["", " ", " ", "  ", "\t"])
TERMS = st.builds(
    lambda neg, field, op, value: f"{neg}{field}{op if field else ''}{value}",
    st.sampled_from(["", "", "-"]),
    st.sampled_from(TEXT_FIELDS + NUMBER_FIELDS),
    st.sampled_from(OPS),
    st.one_of(st.sampled_from(VALUES), st.text(max_size=4)),
)


@st.composite
def queries(draw: st.DrawFn) -> str:
    """Terms (mostly well formed), operators and random characters, glued in random orders."""
    parts = draw(
        st.lists(st.one_of(TERMS, TERMS, st.sampled_from(PIECES), st.text(max_size=3)), max_size=12)
    )
    return "".join(part + draw(SEPARATORS) for part in parts)


# Well-formed queries (every one parses), from terms that match some clips below and not others.
WORDS = (
    "blue_sky",
    "blue_*",
    "fate_(series)",
    "dog",
    "night",
    '"a dog"',
    "don't",
    "%",
    "_",
    "\\",
    "*",
    "?",
    "日本",
    "runs;",
)
NUMBERS = ("0", "1", "2", "16", "24", "61", "0.05", "0.5", "-3", "1e3")
GOOD_TERMS = st.one_of(
    st.sampled_from(WORDS),
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["tag", "caption", "path"]),
        st.sampled_from([":", "=", "!="]),
        st.sampled_from(WORDS + ("clips/a", "a.mp4")),
    ),
    st.builds(
        "video{}{}".format,
        st.sampled_from([":", "!="]),
        st.sampled_from(["intro", "intro.mp4", "intro*", "dance", "*"]),
    ),
    st.builds(
        "{}{}{}".format,
        st.sampled_from(NUMBER_FIELDS),
        st.sampled_from(["<", "<=", ">", ">=", "=", "!="]),
        st.sampled_from(NUMBERS),
    ),
    st.sampled_from(
        [
            "reviewed:yes",
            "reviewed:no",
            "reviewed!=yes",
            "source:auto",
            "source:manual",
            "state:rejected",
            "state:active",
            "state!=accepted",
        ]
    ),
)
GOOD_QUERIES = st.recursive(
    GOOD_TERMS,
    lambda inner: st.one_of(
        st.builds("{} {}".format, inner, inner),
        st.builds("({}) AND ({})".format, inner, inner),
        st.builds("({}) OR ({})".format, inner, inner),
        st.builds("-({})".format, inner),
        st.builds("NOT ({})".format, inner),
    ),
    max_leaves=10,
)


@pytest.fixture(scope="module")
def small_project(tmp_path_factory):
    """Four clips: tags manual/auto/rejected, captions, a clip with no video and no motion."""
    project = Project.create(tmp_path_factory.mktemp("fuzz") / "proj")
    cliptext.update_settings(project, enabled=False)
    intro = add_fake_video(project, "/footage/intro.mp4")
    ids = []
    for name, vid, frames, motion in (
        ("a", intro, 61, 0.05),
        ("b", intro, 24, None),
        ("c", None, 16, 0.5),
        ("d", None, 100, None),
    ):
        cid = project.upsert_clip(
            project.clips_dir / f"{name}.mp4",
            video_id=vid,
            start_frame=0 if vid else None,
            end_frame=frames if vid else None,
            fps=Fraction(24),
            frame_count=frames,
            width=320,
            height=180,
        )
        project.db.execute("UPDATE clips SET motion=? WHERE id=?", (motion, cid))
        ids.append(cid)
    review.add_tags(project, ids[:2], ["blue_sky", "fate_(series)"])
    review.set_auto_tags(project, ids[2], {"dog": 0.9, "night": 0.3}, "wd14", 0.25)
    review.reject_tags(project, [ids[2]], "night")
    review.set_caption(project, [ids[0]], "A dog runs; 100% don't stop_")
    review.mark_reviewed(project, [ids[1]])
    yield project
    project.close()


def _check_error(text: str, err: QueryError) -> None:
    assert err.query == text and err.message
    assert 0 <= err.position <= len(text)
    lines = err.pointer().split("\n")
    assert len(lines) >= 2 and "^" in lines[-1]


def _run(project: Project, query: Query) -> int:
    ids = project.matching_clip_ids(query)
    count = project.count_matching_clips(query)
    assert count == len(ids) == len(set(ids))
    return count


@FUZZ
@given(st.text(max_size=120))
def test_any_text_parses_or_is_an_error(text):
    result = parse(text)  # a raise of any kind fails the test
    if isinstance(result, QueryError):
        _check_error(text, result)
    else:
        assert isinstance(result, Query) and result.text == text


def _check_laws(project: Project, text: str, query: Query) -> None:
    """The query runs, and with its negation covers every clip exactly once."""
    total = len(project.clips())
    matched = _run(project, query)
    assert 0 <= matched <= total
    if query.tree is None:
        assert matched == total
        return
    both = Query(text, Or((query.tree, Not(query.tree))))
    neither = Query(text, And((query.tree, Not(query.tree))))
    assert _run(project, both) == total  # a NULL never drops a clip from both sides
    assert _run(project, neither) == 0
    assert _run(project, Query(text, Not(query.tree))) == total - matched


@FUZZ
@given(queries())
def test_accepted_queries_run_and_obey_boolean_laws(small_project, text):
    result = parse(text)
    if isinstance(result, QueryError):
        _check_error(text, result)
    else:
        _check_laws(small_project, text, result)


@FUZZ
@given(GOOD_QUERIES)
def test_well_formed_queries_parse_run_and_obey_boolean_laws(small_project, text):
    result = parse(text)
    if isinstance(result, QueryError):  # only a nesting too deep may refuse one
        assert result.message == f"nesting deeper than {MAX_DEPTH} parentheses", result
        return
    _check_laws(small_project, text, result)


@FUZZ
@given(queries())
def test_whitespace_around_a_query_changes_nothing(small_project, text):
    plain, padded = parse(text), parse(f"  {text}\t")
    assert isinstance(plain, QueryError) == isinstance(padded, QueryError)
    if isinstance(plain, QueryError):
        assert isinstance(padded, QueryError)
        assert (plain.message, plain.position + 2) == (padded.message, padded.position)
    else:
        assert isinstance(padded, Query)
        assert small_project.matching_clip_ids(plain) == small_project.matching_clip_ids(padded)


# -- the limits: no input, however long, reaches a RecursionError or SQLite's depth limit ----
@pytest.mark.parametrize(
    "text, message",
    [
        ("(" * (MAX_DEPTH + 1) + "dog" + ")" * (MAX_DEPTH + 1), "nesting deeper than 16"),
        ("(" * 300 + "dog" + ")" * 300, "nesting deeper than 16 parentheses"),
        ("(" * 100_000, "nesting deeper than 16 parentheses"),
        (" ".join(["dog"] * (MAX_TERMS + 1)), f"more than {MAX_TERMS} search terms"),
        ("dog OR " * 50_000 + "dog", f"more than {MAX_TERMS} search terms"),
    ],
    ids=["17-parens", "300-parens", "100k-open-parens", "257-terms", "50k-terms"],
)
def test_past_the_limits_is_an_error(text, message):
    err = parse(text)
    assert isinstance(err, QueryError) and message in err.message


def _alternating(depth: int, terms: int) -> str:
    """AND and OR alternating ``depth`` parentheses deep, NOTs everywhere, ``terms`` terms."""
    filler = " OR ".join(f"t{i}" for i in range(terms - 2 * depth - 1))
    text = f"dog OR {filler}" if filler else "dog"
    for level in range(depth):
        text = f"-d{level} -({text})" if level % 2 else f"o{level} OR -({text})"
    return text


def test_at_the_limits_runs(small_project):
    """The deepest alternation of AND and OR allowed, with the most terms allowed and a bare
    word (the deepest SQL of a term) at the bottom, and 100,000 NOTs in a row (they fold)."""
    for text in (_alternating(MAX_DEPTH, MAX_TERMS), "-" * 100_000 + "dog"):
        query = parse(text)
        assert isinstance(query, Query), query
        _run(small_project, query)


def test_not_video_keeps_clips_without_aadd_fake_video(small_project):
    """Found by the boolean laws: ``-video:intro`` dropped the clips that have no video."""
    with_video = {c.id for c in small_project.clips() if c.video_id is not None}
    everything = {c.id for c in small_project.clips()}
    query = parse("-video:intro")
    assert isinstance(query, Query)
    assert set(small_project.matching_clip_ids(query)) == everything - with_video
