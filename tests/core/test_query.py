"""The clip filter language: every term, boolean logic, wildcards, errors with positions."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from fake_media import add_fake_video

from workstation.core import cliptext, review
from workstation.core.review import QueryError, count_clips, filter_clip_ids, parse


@pytest.fixture()
def clips(project):
    """Five clips with known tags, captions, sizes and review state: name -> id."""
    cliptext.update_settings(project, enabled=False)  # queries only: no .txt files needed
    intro = add_fake_video(project, "/footage/intro.mp4")
    dance = add_fake_video(project, "/footage/dance_take2.mov")
    spec = {
        #  name   video  frames fps  motion
        "a": (intro, 61, 24, 0.05),
        "b": (intro, 24, 24, 0.5),
        "c": (dance, 100, 25, None),
        "d": (dance, 48, 30, 0.2),
        "e": (None, 16, 8, 0.01),
    }
    ids = {}
    for name, (vid, frames, fps, motion) in spec.items():
        ids[name] = project.upsert_clip(
            project.clips_dir / f"{name}.mp4",
            video_id=vid,
            start_frame=0 if vid else None,
            end_frame=frames if vid else None,
            fps=Fraction(fps),
            frame_count=frames,
            width=320,
            height=180,
        )
        project.db.execute("UPDATE clips SET motion=? WHERE id=?", (motion, ids[name]))
    review.add_tags(project, [ids["a"], ids["b"]], "blue_sky")
    review.add_tags(project, [ids["a"]], ["blue_car", "fate_(series)"])
    review.add_tags(project, [ids["c"]], "dancing")
    review.set_auto_tags(project, ids["d"], {"dancing": 0.9, "blue_shirt": 0.3}, "wd14", 0.25)
    review.set_auto_tags(project, ids["b"], {"night": 0.95}, "wd14", 0.25)
    review.reject_tags(project, [ids["b"]], "night")
    review.set_caption(project, [ids["a"]], "A dog runs across the beach")
    review.set_auto_caption(project, ids["c"], "Two people dance AND laugh", "florence")
    review.mark_reviewed(project, [ids["a"], ids["c"]])
    review.set_caption(project, [ids["e"]], "")  # cleared by a person: no caption
    # as a Hydrus pull leaves them: a's caption and c's tag were edited in Hydrus
    project.db.execute("UPDATE captions SET origin='hydrus' WHERE clip_id=?", (ids["a"],))
    project.db.execute("UPDATE clip_tags SET origin='hydrus' WHERE clip_id=?", (ids["c"],))
    return ids


def _names(project, ids, query):
    result = filter_clip_ids(project, query)
    assert not isinstance(result, QueryError), result
    back = {v: k for k, v in ids.items()}
    return "".join(sorted(back[i] for i in result))


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", "abcde"),
        ("tag:blue_sky", "ab"),
        ("tag:BLUE_SKY", "ab"),  # tag names match case-insensitively
        ("-tag:blue_sky", "cde"),
        ("tag:blue_*", "abd"),
        ("tag:blue_?ky", "ab"),
        ("tag:fate_(series)", "a"),
        ('tag:"fate_(series)"', "a"),
        ("tag:night", ""),  # rejected tags are hidden
        ("state:rejected", "b"),
        ('caption:"dog runs"', "a"),
        ("caption:DOG", "a"),
        ("caption:*", "ac"),
        ("-caption:*", "bde"),
        ("video:intro", "ab"),
        ("video:intro.mp4", "ab"),
        ("video:dance_*", "cd"),
        ("video:dance", ""),  # neither the name nor the stem
        ("path:clips/c", "c"),
        ("frames>=61", "ac"),
        ("frames=24", "b"),
        ("frames!=24", "acde"),
        ("duration<2", "bd"),  # b 1 s, d 1.6 s, e 2 s
        ("duration<=2", "bde"),
        ("fps>24", "cd"),
        ("width>=320 height=180", "abcde"),
        ("tags=0", "e"),
        ("tags>=2", "ad"),
        ("tags<2", "bce"),  # 0 satisfies it: clips without tags are included
        ("tags!=0", "abcd"),
        ("tags>0", "abcd"),
        ("tags=3", "a"),
        ("reviewed:no", "bde"),
        ("reviewed:yes", "ac"),
        ("source:auto", "cd"),  # c has an auto caption, d auto tags (b's auto tag is rejected)
        ("source:manual", "abce"),
        ("source:hydrus", "ac"),
        ("source:hydrus -caption:dog", "c"),
        ("confidence<0.5", "d"),
        ("confidence>0.5", "d"),
        ("motion<0.1", "ae"),
        ("-motion<0.1", "bcd"),  # an unknown motion is "not below 0.1"
        ("dancing", "cd"),  # bare word: tag or caption
        ("dog", "a"),
        ('"and"', "c"),  # quoted keyword is a word
        ("tag:blue_sky tag:blue_car", "a"),
        ("tag:blue_sky AND tag:blue_car", "a"),
        ("tag:blue_sky && -tag:blue_car", "b"),
        ("tag:blue_car OR tag:dancing", "acd"),
        ("tag:blue_car or tag:dancing", "acd"),
        ("tag:blue_car | tag:dancing", "acd"),
        ("NOT tag:dancing", "abe"),
        ("not (tag:dancing or tag:blue_sky)", "e"),
        ("-(tag:dancing tag:blue_shirt) tag:dancing", "c"),
        ("(tag:blue_sky OR tag:dancing) AND reviewed:no", "bd"),
        ("tag:blue_sky OR tag:dancing AND reviewed:no", "abd"),  # AND binds tighter
        ("tag:blue_sky reviewed:yes OR tags=0", "ae"),
        ("((tags=0))", "e"),
        ("reviewed!=yes", "bde"),
    ],
)
def test_every_query_form(project, clips, query, expected):
    assert _names(project, clips, query) == expected


@pytest.mark.parametrize(
    "query, message, position",
    [
        ("tag:a (tag:b", "'(' is never closed", 6),
        ("tag:a)", "')' without a matching '('", 5),
        ("tag:a OR", "expected a search term after OR", 8),
        ("tag:a AND (", "'(' is never closed", 10),
        ("tag:a AND (tag:b OR", "expected a search term after OR", 19),
        ("NOT", "expected a search term after NOT", 3),
        ("()", "empty parentheses", 0),
        ("tag:", "'tag:' needs a value", 4),
        ("colour:red", "unknown field 'colour'", 0),
        ("frame>=61", "unknown field 'frame'", 0),
        ("tag:a frames>=many", "'frames' needs a number, not 'many'", 14),
        ("frames:61", "'frames' needs a comparison", 0),
        ("reviewed:maybe", "'reviewed' must be one of", 9),
        ("source:robot", "'source' must be one of", 7),
        ("tag>3", "'tag' can't be compared with '>'", 0),
        ('caption:"open', "unclosed quote", 8),
        ("tag:a OR OR tag:b", "expected a search term, not OR", 9),
    ],
)
def test_syntax_errors_are_values_with_positions(project, clips, query, message, position):
    err = parse(query)
    assert isinstance(err, QueryError)
    assert message in err.message
    assert err.position == position
    assert err.query == query
    assert err.pointer().splitlines()[1].index("^") == position
    assert filter_clip_ids(project, query) == err  # returned, never raised
    assert isinstance(count_clips(project, query), QueryError)


def test_values_are_parameters_not_sql(project, clips):
    evil = 'tag:"x\') OR 1=1 --" caption:"%" video:"\'; DROP TABLE clips; --"'
    assert filter_clip_ids(project, evil) == []
    assert count_clips(project, "") == 5
    # SQL wildcards typed by a person are literal characters
    assert filter_clip_ids(project, "tag:blue%") == []
    assert filter_clip_ids(project, "tag:blue\\_sky") == []


def test_ten_thousand_clips_filter_in_milliseconds(project):
    cliptext.update_settings(project, enabled=False)  # this test is about the database
    with project.transaction():
        project.db.executemany(
            "INSERT INTO clips(path, fps_num, fps_den, frame_count, width, height, duration, "
            "created_at) VALUES (?, 24, 1, ?, 64, 64, 1, 0)",
            [(f"clips/c{i:05d}.mp4", 16 + i % 100) for i in range(10_000)],
        )
    ids = [r[0] for r in project.db.execute("SELECT id FROM clips ORDER BY path")]
    review.add_tags(project, ids[::2], "even")
    review.add_tags(project, ids[::3], "third")
    review.set_caption(project, ids[::5], "a cat on a mat")
    queries = ["tag:even -tag:third frames>=61", "tags=0 OR caption:cat", "tag:th* reviewed:no"]
    for q in queries:  # warm the page cache, then time
        filter_clip_ids(project, q)
    t0 = time.perf_counter()
    results = [filter_clip_ids(project, q) for q in queries]
    per_query = (time.perf_counter() - t0) / len(queries)
    assert len(results[0]) == len(
        [i for n, i in enumerate(ids) if n % 2 == 0 and n % 3 and 16 + n % 100 >= 61]
    )
    assert per_query < 0.25, f"{per_query * 1000:.0f} ms per query"
