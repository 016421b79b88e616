"""The Hydrus mirror against the in-process fake: push, pull, conflicts, the outbox."""

from __future__ import annotations

import json
import stat

import pytest
from autotag_fixtures import add_clip

from tests.core import hydrus_fixtures as hf
from tests.core.hydrus_fake import DL_KEY, KEY, TAG_KEY
from workstation.core import hydrus, review
from workstation.core.errors import WorkstationError

fake, linked = hf.fake, hf.linked
make_clips, run, sha = hf.make_clips, hf.run, hf.sha


def test_push_mirrors_every_clip_once_with_tags_and_caption(linked, fake):
    project, ids = linked
    result = run(project)
    assert result.files_added == 3 and result.pending == 0 and not result.failed
    assert len(fake.committed.files) == 3
    first = sha(project, ids[0])
    assert fake.committed.tags[(first, TAG_KEY)] == {
        "blue sky",
        "character:alice",
        "rating:general",
    }
    assert fake.committed.notes[first] == {"caption": "A girl under a blue sky."}
    assert all(body.get("delete_after_successful_import") is None for body in fake.bodies)
    again = run(project)
    assert again.files_added == 0 and again.tag_writes == 0 and again.pending == 0
    assert len(fake.committed.files) == 3
    st = hydrus.status(project)
    assert st["pending"] == 0 and st["mirrored"] == 3 and st["state"] == "ok"
    assert st["tag_service_key"] == TAG_KEY and st["note_name"] == "caption"


def test_a_lowercased_tag_does_not_come_back_as_a_second_tag(linked, fake):
    project, ids = linked
    run(project)
    run(project, push=False)
    names = [t.name for t in project.clip_tags_many([ids[0]])[ids[0]]]
    assert names.count("Blue Sky") == 1 and "blue sky" not in names


def test_edits_in_hydrus_come_back_as_manual_edits_from_hydrus(linked, fake, capsys):
    project, ids = linked
    run(project)
    first = sha(project, ids[0])
    fake.set_tags_as_person(first, add=["kitty", "character:bob"], delete=["blue sky"])
    fake.set_note_as_person(first, "A girl and a cat.")
    result = run(project)
    assert result.pulled_tags == 3 and result.pulled_captions == 1
    tags = {t.name: t for t in project.clip_tags_many([ids[0]])[ids[0]]}
    assert "Blue Sky" not in tags and tags["kitty"].origin == "hydrus"
    assert tags["bob"].category == "character" and tags["bob"].source == "manual"
    assert "cat" not in tags and "animal" not in tags  # display tags never come back
    assert project.caption_texts([ids[0]])[ids[0]] == "A girl and a cat."
    # nothing pulled is pushed back as a change, and the other clips are untouched
    assert result.tag_writes == 0 and result.note_writes == 0
    assert {t.name for t in project.clip_tags_many([ids[1]])[ids[1]]} == {"Blue Sky", "general"}
    from workstation.cli import main

    assert main(["clips", str(project.root), "--json"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    clip = next(c for c in out if c["id"] == ids[0])
    assert clip["caption"]["source"] == "hydrus"
    assert {t["name"]: t["source"] for t in clip["tags"]}["kitty"] == "hydrus"


def test_edits_on_both_sides_merge_per_tag_and_notes_conflict(linked, fake):
    project, ids = linked
    run(project)
    first = sha(project, ids[0])
    fake.set_tags_as_person(first, add=["sunset"])
    fake.set_note_as_person(first, "Theirs.")
    review.add_tags(project, [ids[0]], ["outdoors"])
    review.set_caption(project, [ids[0]], "Ours.")
    result = run(project)
    assert result.new_conflicts == 1
    assert fake.committed.tags[(first, TAG_KEY)] >= {"sunset", "outdoors", "blue sky"}
    assert "sunset" in {t.name for t in project.clip_tags_many([ids[0]])[ids[0]]}
    assert fake.note(first) == "Theirs." and project.caption_texts([ids[0]])[ids[0]] == "Ours."
    [conflict] = hydrus.conflicts(project)
    assert (conflict.base, conflict.ours, conflict.theirs) == (
        "A girl under a blue sky.",
        "Ours.",
        "Theirs.",
    )
    assert hydrus.status(project)["conflicts"] == 1
    hydrus.resolve_conflict(project, conflict.id, "merged", "Ours and theirs.")
    run(project)
    assert fake.committed.notes[first]["caption"] == "Ours and theirs."
    assert project.caption_texts([ids[0]])[ids[0]] == "Ours and theirs."
    assert hydrus.conflicts(project) == [] and hydrus.status(project)["pending"] == 0


@pytest.mark.parametrize("choice", ["hydrus", "ours"])
def test_a_conflict_resolved_either_way(linked, fake, choice):
    project, ids = linked
    run(project)
    first = sha(project, ids[0])
    fake.set_note_as_person(first, "Theirs.")
    review.set_caption(project, [ids[0]], "Ours.")
    run(project)
    [conflict] = hydrus.conflicts(project)
    hydrus.resolve_conflict(project, conflict.id, choice)  # type: ignore[arg-type]
    run(project)
    want = "Theirs." if choice == "hydrus" else "Ours."
    assert fake.committed.notes[first]["caption"] == want
    assert project.caption_texts([ids[0]])[ids[0]] == want


def test_whitespace_the_note_editor_strips_is_not_an_edit(linked, fake):
    project, ids = linked
    review.set_caption(project, [ids[1]], "line one  \n  line two")
    run(project)
    second = sha(project, ids[1])
    assert fake.note(second) == "line one  \n  line two"  # byte for byte
    fake.set_note_as_person(second, "line one  \n  line two")  # opened and saved in Hydrus
    result = run(project)
    assert result.pulled_captions == 0 and result.new_conflicts == 0 and result.note_writes == 0
    assert project.caption_texts([ids[1]])[ids[1]] == "line one  \n  line two"


def test_the_key_file_is_owner_only_and_never_in_the_database(linked):
    project, _ = linked
    path = hydrus.key_path(project)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == KEY
    assert KEY.encode() not in (project.root / "project.wsdb").read_bytes()


def test_services_are_chosen_by_name_or_key(project, fake):
    make_clips(project, 1)
    link, report = hydrus.connect(project, fake.url, KEY, tag_service="downloader tags")
    assert link.tag_service_key == DL_KEY and report.ok
    assert {s.name for s in report.tag_services} == {"my tags", "downloader tags"}
    with pytest.raises(WorkstationError, match="no such tag service"):
        hydrus.connect(project, fake.url, KEY, tag_service="nope")


def test_tag_writes_use_one_form_and_never_add_and_delete_one_tag(linked, fake):
    project, ids = linked
    run(project)
    review.remove_tags(project, ids, ["Blue Sky"])
    review.add_tags(project, ids, ["blue  SKY", "night"])  # the same Hydrus tag, re-added
    run(project)
    writes = [b for b in fake.bodies if "service_keys_to_actions_to_tags" in b]
    assert writes and not any("service_keys_to_tags" in b for b in fake.bodies)
    for body in writes:
        for actions in body["service_keys_to_actions_to_tags"].values():
            assert not set(actions.get("0", [])) & set(actions.get("1", []))
    assert fake.committed.tags[(sha(project, ids[1]), TAG_KEY)] == {
        "blue sky",
        "night",
        "rating:general",
    }


def test_a_later_edit_here_is_no_longer_from_hydrus(linked, fake):
    project, ids = linked
    run(project)
    fake.set_note_as_person(sha(project, ids[0]), "From Hydrus.")
    run(project)
    assert project.captions_many([ids[0]])[ids[0]].origin == "hydrus"
    review.set_caption(project, [ids[0]], "Mine again.")
    assert project.captions_many([ids[0]])[ids[0]].origin is None
    run(project)
    assert fake.committed.notes[sha(project, ids[0])]["caption"] == "Mine again."


def test_a_tag_added_in_hydrus_reuses_the_projects_spelling(linked, fake):
    project, ids = linked
    review.remove_tags(project, [ids[2]], ["Blue Sky"])
    run(project)
    fake.set_tags_as_person(sha(project, ids[2]), add=["blue sky"])
    run(project)
    names = [t.name for t in project.clip_tags_many([ids[2]])[ids[2]]]
    assert "Blue Sky" in names and "blue sky" not in names
    assert [t.name for t in project.tag_counts()].count("Blue Sky") == 1
    assert "blue sky" not in [t.name for t in project.tag_counts()]


def test_queue_changes_needs_no_hydrus_and_two_identical_clips_are_one_file(linked, fake):
    project, ids = linked
    fake.stop()
    twin = project.root / "clips" / "twin.mp4"
    twin.write_bytes(project.clip_path(project.stored_clip_paths([ids[0]])[ids[0]]).read_bytes())
    twin_id = add_clip(project, twin, 24, w=64, h=64)
    review.add_tags(project, [twin_id], ["twin only"])
    assert hydrus.queue_changes(project) == hydrus.status(project)["pending"] > 0
    fake.start()
    result = run(project)
    assert any("the same file as clip" in msg for msg in result.failed)
    assert len(fake.committed.files) == 3
    assert "twin only" not in fake.committed.tags[(sha(project, ids[0]), TAG_KEY)]
