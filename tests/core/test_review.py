"""Tag/caption review: bulk edits, exact undo/redo, manual work surviving auto results,
clip .txt sidecars, persistence."""

from __future__ import annotations

from fractions import Fraction

import pytest

from workstation.core import cliptext, review
from workstation.core.cliptext import SidecarFormat, SidecarSettings
from workstation.core.errors import WorkstationError
from workstation.core.store import Project


def _clip(project: Project, name: str, frames: int = 24) -> int:
    return project.upsert_clip(
        project.clips_dir / f"{name}.mp4",
        video_id=None,
        start_frame=None,
        end_frame=None,
        fps=Fraction(24),
        frame_count=frames,
        width=64,
        height=64,
    )


def dump(project: Project) -> dict[str, list[tuple]]:
    """Every row of the tables review edits, for exact comparisons."""
    return {
        table: [tuple(r) for r in project.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in ("tags", "clip_tags", "captions", "clips", "settings")
    }


def tags_of(project, clip_id, **kw):
    return [t.name for t in review.clip_tags(project, clip_id, **kw)]


@pytest.fixture()
def seeded(project):
    """Four clips: manual tags, an auto-tag run, captions of both sources."""
    ids = [_clip(project, f"c{i}") for i in range(4)]
    review.add_tags(project, ids[:3], ["outdoor", "day"])
    review.add_tags(project, ids[:1], "dog")
    review.set_auto_tags(
        project, ids[1], {"dog": 0.9, "grass": 0.6, "cat": 0.2}, "wd14", 0.15, "mean"
    )
    review.set_auto_tags(
        project, ids[2], [("grass", 0.8, "general"), ("safe", 0.99, "rating")], "wd14", 0.15, "mean"
    )
    review.set_caption(project, ids[:1], "a dog in a park")
    review.set_auto_caption(project, ids[1], "a cat and a dog", "florence", "<CAPTION>")
    return project, ids


EDITS = {
    "add new tag to many": lambda p, ids: review.add_tags(p, ids, "new_tag"),
    "add existing auto tag": lambda p, ids: review.add_tags(p, [ids[1]], "grass"),
    "remove manual and auto": lambda p, ids: review.remove_tags(p, ids, ["day", "grass"]),
    "replace": lambda p, ids: review.replace_tag(p, ids, "outdoor", "outside"),
    "set tags": lambda p, ids: review.set_tags(p, ids[1], ["cat", "day", "brand_new"]),
    "reorder": lambda p, ids: review.reorder_tags(p, ids[1], ["grass", "day"]),
    "accept above": lambda p, ids: review.accept_above(p, 0.5),
    "reject below": lambda p, ids: review.reject_below(p, 0.5),
    "accept named": lambda p, ids: review.accept_tags(p, None, ["grass"]),
    "reject on clips": lambda p, ids: review.reject_tags(p, ids[1:2]),
    "rename": lambda p, ids: review.rename_tag(p, "outdoor", "outdoors"),
    "rename merges": lambda p, ids: review.rename_tag(p, "grass", "dog"),
    "delete tag": lambda p, ids: review.delete_tag(p, "dog"),
    "category": lambda p, ids: review.set_tag_category(p, "dog", "character"),
    "caption": lambda p, ids: review.set_caption(p, ids, "new words"),
    "clear caption": lambda p, ids: review.clear_caption(p, ids),
    "reviewed": lambda p, ids: review.mark_reviewed(p, ids[1:]),
    "auto tags rerun": lambda p, ids: review.set_auto_tags(
        p, ids[1], {"grass": 0.7, "sky": 0.5}, "wd14-v3", 0.35
    ),
    "auto tags per-tag threshold": lambda p, ids: review.set_auto_tags_many(
        p,
        [(ids[3], [review.AutoTag("miku", 0.9, "character", 0.85), ("sky", 0.4)])],
        "wd14",
        0.35,
        "max",
    ),
    "auto caption": lambda p, ids: review.set_auto_caption(p, ids[3], "empty room", "florence"),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_undo_and_redo_restore_the_database_exactly(seeded, name):
    project, ids = seeded
    before = dump(project)
    edit = EDITS[name](project, ids)
    after = dump(project)
    assert edit and after != before, "the edit changed nothing"
    # small diffs: never more rows than the edit touched
    assert len(edit) <= 3 * len(ids) + 2
    edit.undo(project)
    assert dump(project) == before
    edit.redo(project)
    assert dump(project) == after
    edit.undo(project)
    assert dump(project) == before


def test_a_history_of_edits_undoes_and_redoes_in_order(seeded):
    """Edits undone newest first walk back through every state (the GUI's QUndoStack does this)."""
    project, ids = seeded
    history = []
    states = [dump(project)]
    for name in ("add new tag to many", "rename merges", "caption", "delete tag"):
        history.append(EDITS[name](project, ids))
        states.append(dump(project))
    for done in range(len(history), 0, -1):
        history[done - 1].undo(project)
        assert dump(project) == states[done - 1]
    history[0].redo(project)
    history[1].redo(project)
    assert dump(project) == states[2]
    review.mark_reviewed(project, ids)
    assert not review.mark_reviewed(project, ids)  # a no-op edit is empty (never pushed)


def test_bulk_add_remove_replace(project):
    ids = [_clip(project, f"c{i}") for i in range(6)]
    edit = review.add_tags(project, ids[:4], ["a", "b"])
    assert len(edit) == 2 + 8  # two tag rows, eight clip tags
    assert edit.clip_ids == frozenset(ids[:4])
    assert all(tags_of(project, c) == ["a", "b"] for c in ids[:4])
    assert tags_of(project, ids[4]) == []
    assert not review.add_tags(project, ids[:4], "a")  # already there: empty edit
    review.remove_tags(project, ids[1:3], "a")
    assert [tags_of(project, c) for c in ids[:4]] == [["a", "b"], ["b"], ["b"], ["a", "b"]]
    review.replace_tag(project, ids, "a", "z")  # keeps the position
    assert tags_of(project, ids[0]) == ["z", "b"]
    counts = {t.name: t.count for t in review.tag_counts(project)}
    assert counts == {"b": 4, "z": 2}
    assert [t.name for t in review.tag_counts(project, include_unused=True)] == ["b", "z", "a"]
    assert {t.name: t.count for t in review.tag_counts(project, ids[:1])} == {"b": 1, "z": 1}


def test_manual_edits_survive_auto_results(seeded):
    project, ids = seeded
    c1 = ids[1]
    assert tags_of(project, c1) == ["outdoor", "day", "dog", "grass", "cat"]
    review.remove_tags(project, [c1], "cat")  # auto tag -> rejected tombstone
    review.add_tags(project, [c1], "grass")  # auto tag -> accepted
    review.add_tags(project, [c1], "day")  # manual stays manual
    rerun = {
        "cat": 0.95,
        "grass": 0.1,
        "day": 0.9,
        "outdoor": 0.2,
        "sky": 0.8,
        "dog": 0.7,
        "Day": 0.9,
        "CAT": 0.9,
    }  # other spellings of decided tags are blocked too
    review.set_auto_tags(project, c1, rerun, "wd14-v3", 0.05, "max")
    tags = {t.name: t for t in review.clip_tags(project, c1, include_rejected=True)}
    assert tags["cat"].state == "rejected"  # not re-added
    assert (tags["grass"].state, tags["grass"].confidence, tags["grass"].model) == (
        "accepted",
        0.6,
        "wd14",
    )  # a person's accepted tag keeps its record
    assert tags["day"].source == "manual" and tags["outdoor"].source == "manual"
    assert (tags["dog"].source, tags["dog"].confidence) == ("auto", 0.7)  # untouched: replaced
    assert tags["sky"].source == "auto" and tags["sky"].state == "active"
    # the new auto tags come after the kept ones, most confident first
    assert tags_of(project, c1) == ["outdoor", "day", "grass", "sky", "dog"]
    # an auto run that no longer proposes a tag removes it only while untouched
    review.set_auto_tags(project, c1, {}, "wd14-v3")
    assert tags_of(project, c1) == ["outdoor", "day", "grass"]
    # captions: manual never replaced, auto replaced by the next auto
    review.set_auto_caption(project, ids[0], "machine words", "florence")
    assert review.caption(project, ids[0]).text == "a dog in a park"
    review.set_auto_caption(project, ids[1], "newer machine words", "florence-large")
    assert review.caption(project, ids[1]) == review.Caption(
        "newer machine words", "auto", "florence-large", None
    )
    review.set_caption(project, [ids[1]], "")  # a person cleared it: auto won't fill it in
    review.set_auto_caption(project, ids[1], "again", "florence")
    assert review.caption(project, ids[1]) == review.Caption("", "manual")
    review.clear_caption(project, [ids[1]])
    review.set_auto_caption(project, ids[1], "again", "florence")
    assert review.caption(project, ids[1]).text == "again"


def test_accept_and_reject_by_threshold(seeded):
    project, ids = seeded
    review.accept_above(project, 0.85)
    states = {t.name: t.state for t in review.clip_tags(project, ids[1]) if t.source == "auto"}
    assert states == {"dog": "accepted", "grass": "active", "cat": "active"}
    rows = {t.name: t.state for t in review.clip_tags(project, ids[2]) if t.source == "auto"}
    assert rows == {"safe": "accepted", "grass": "active"}
    review.reject_below(project, 0.5, ids[1:2])
    assert "cat" not in tags_of(project, ids[1])
    assert "cat" in tags_of(project, ids[1], include_rejected=True)


def test_rename_merge_keeps_the_persons_decision(project):
    a, b = _clip(project, "a"), _clip(project, "b")
    review.add_tags(project, [a], "puppy")
    review.set_auto_tags(project, a, {"dog": 0.4}, "wd14")
    review.set_auto_tags(project, b, {"puppy": 0.5}, "wd14")
    review.rename_tag(project, "puppy", "dog")
    ta = {t.name: t for t in review.clip_tags(project, a)}
    tb = {t.name: t for t in review.clip_tags(project, b)}
    assert set(ta) == {"dog"} and ta["dog"].state == "accepted"
    assert tb["dog"].source == "auto" and tb["dog"].confidence == 0.5
    assert [t.name for t in review.tag_counts(project, include_unused=True)] == ["dog"]


def test_autocomplete_source(seeded):
    project, _ = seeded
    done = review.complete_tags(project, "d")
    assert [t.name for t in done] == ["day", "dog", "outdoor"]  # prefix first, then inside
    assert [t.name for t in review.complete_tags(project, "o")] == ["outdoor", "dog"]
    assert review.complete_tags(project, "")[0].name in ("outdoor", "day")
    counts = {t.name: t for t in review.tag_counts(project)}
    assert (counts["dog"].count, counts["dog"].manual, counts["dog"].auto) == (2, 1, 1)
    assert counts["safe"].category == "rating"


def test_bad_input_gives_one_clear_message(seeded):
    project, ids = seeded
    with pytest.raises(WorkstationError, match="tag name is empty"):
        review.add_tags(project, ids, "   ")
    with pytest.raises(WorkstationError, match="can't contain a comma"):
        review.add_tags(project, ids, "red, blue")
    with pytest.raises(WorkstationError, match="no clip with id 999"):
        review.add_tags(project, [ids[0], 999], "x")
    with pytest.raises(WorkstationError, match="no tag named 'nope'"):
        review.rename_tag(project, "nope", "yes")
    with pytest.raises(WorkstationError, match="category 'weird'"):
        review.set_tag_category(project, "dog", "weird")
    assert review.clean_tag("  blue   sky ") == "blue sky"
    # nothing half-done: the failed edit left no tag behind
    assert "x" not in {t.name for t in review.tag_counts(project, include_unused=True)}


def test_edits_persist_after_reopening(tmp_path):
    root = tmp_path / "p"
    with Project.create(root) as project:
        cid = _clip(project, "one")
        review.add_tags(project, [cid], ["a", "b"])
        review.set_caption(project, [cid], "words")
        review.mark_reviewed(project, [cid])
        cliptext.update_settings(project, format=SidecarFormat.CAPTION, trigger="sks")
    with Project.open(root) as project:
        assert tags_of(project, cid) == ["a", "b"]
        assert review.caption(project, cid).text == "words"
        assert project.clips()[0].reviewed
        assert cliptext.load_settings(project).format == SidecarFormat.CAPTION
        assert cliptext.load_settings(project).trigger == "sks"


# -- sidecars --------------------------------------------------------------------------------
def test_sidecar_formats():
    tags = ["sks", "blue_sky", "dog", "grass"]
    cap = "A dog on grass."
    assert (
        cliptext.compose(SidecarSettings(), tags, cap)
        == "sks, blue_sky, dog, grass, A dog on grass."
    )
    s = SidecarSettings(format=SidecarFormat.CAPTION, trigger="sks")
    assert cliptext.compose(s, tags, cap) == "sks, A dog on grass."
    s = SidecarSettings(
        format="tags", trigger="sks", separator=",", keep_first_tags=2, spaces_for_underscores=True
    )
    assert cliptext.compose(s, tags, cap) == "sks,blue sky,dog"  # trigger not repeated
    assert cliptext.compose(SidecarSettings(format="caption"), tags, None) == ""
    assert cliptext.compose(SidecarSettings(), [], "  just words ") == "just words"
    kohya = SidecarSettings(trigger="sks", keep_tokens=1, keep_separator="|||")
    assert cliptext.compose(kohya, tags, cap) == "sks, blue_sky ||| dog, grass, A dog on grass."
    assert cliptext.compose(kohya, ["sks"], None) == "sks"
    assert (
        cliptext.compose(SidecarSettings(keep_tokens=1), tags, None) == "sks, blue_sky, dog, grass"
    )
    with pytest.raises(WorkstationError, match="'format': must be one of"):
        SidecarSettings(format="xml")
    with pytest.raises(WorkstationError, match="'separator'"):
        SidecarSettings(separator="")
    with pytest.raises(WorkstationError, match="'keep_first_tags'"):
        SidecarSettings(keep_first_tags=-1)


def test_sidecars_follow_edits_undo_and_settings(seeded):
    project, ids = seeded
    side = [project.clips_dir / f"c{i}.txt" for i in range(4)]
    assert side[0].read_text() == "outdoor, day, dog, a dog in a park"
    assert side[1].read_text() == "outdoor, day, dog, grass, cat, a cat and a dog"
    edit = review.remove_tags(project, [ids[1]], "cat")
    assert side[1].read_text() == "outdoor, day, dog, grass, a cat and a dog"
    edit.undo(project)
    assert side[1].read_text() == "outdoor, day, dog, grass, cat, a cat and a dog"
    cliptext.update_settings(project, include_auto=False, format="tags", trigger="sks")
    from workstation.core.progress import drive

    assert drive(cliptext.rewrite_all(project)) == 4
    assert side[1].read_text() == "sks, outdoor, day"
    assert side[3].read_text() == "sks"
    assert drive(cliptext.rewrite_all(project)) == 0  # unchanged files are not rewritten
    assert not list(project.clips_dir.glob(".*.tmp"))
    cliptext.update_settings(project, enabled=False)
    review.add_tags(project, [ids[3]], "late")
    assert side[3].read_text() == "sks"  # disabled: files left alone


def test_deferred_sidecars_for_bulk_edits(seeded):
    """The GUI defers the file writes of a bulk edit to a background job."""
    from workstation.core.progress import drive

    project, ids = seeded
    side = project.clips_dir / "c3.txt"
    assert not side.exists()  # never edited
    with cliptext.deferred(project) as pending:
        review.add_tags(project, ids, "bulk")
        with cliptext.deferred(project) as inner:
            review.set_caption(project, [ids[3]], "words")
        assert inner is pending
    assert pending == set(ids)
    assert not side.exists()  # not written yet
    assert drive(cliptext.rewrite_all(project, clip_ids=pending)) == 4
    assert side.read_text() == "bulk, words"
    review.remove_tags(project, [ids[3]], "bulk")  # outside: written at once again
    assert side.read_text() == "words"


def test_undo_after_changes_outside_the_stack(project):
    """An auto run between an edit and its undo: the person's row comes back; a clash that
    can't be resolved is one clear error and changes nothing."""
    a = _clip(project, "a")
    review.add_tags(project, [a], "dog")
    edit = review.remove_tags(project, [a], "dog")
    review.set_auto_tags(project, a, {"dog": 0.8}, "wd14")  # background run, not on the stack
    edit.undo(project)
    (tag,) = review.clip_tags(project, a)
    assert (tag.name, tag.source, tag.confidence) == ("dog", "manual", None)

    deleted = review.delete_tag(project, "dog")
    review.add_tags(project, [a], "dog")  # the name exists again, with another id
    before = dump(project)
    with pytest.raises(WorkstationError, match="can't undo 'delete tag dog': the project changed"):
        deleted.undo(project)
    assert dump(project) == before


def test_auto_tag_threshold_per_tag(project):
    a = _clip(project, "a")
    review.set_auto_tags(
        project,
        a,
        [review.AutoTag("miku", 0.9, "character", 0.85), ("sky", 0.4)],
        "wd14",
        0.35,
        "max",
    )
    rows = dict(
        project.db.execute(
            "SELECT t.name, ct.threshold FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id"
        )
    )
    assert rows == {"miku": 0.85, "sky": 0.35}
