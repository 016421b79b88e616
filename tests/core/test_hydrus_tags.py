"""Tags between the workstation and Hydrus: cleaning like Hydrus, categories as namespaces,
reconnecting to another service, open in Hydrus."""

from __future__ import annotations

import urllib.parse
from fractions import Fraction

import pytest
import requests

from tests.core import hydrus_fixtures as hf
from tests.core.hydrus_fake import KEY, TAG_KEY, hydrus_clean
from workstation.core import hydrus, review
from workstation.core.hydrus import tagmap

fake, linked = hf.fake, hf.linked
make_clips, run, sha = hf.make_clips, hf.run, hf.sha

TRICKY = [
    "  Blue   Sky ",
    "character : Alice",
    "-foo",
    "--system:inbox",
    "system:archive",
    "a\x00b\x1fc",
    "x" * 2000,
    "under_score",
    ":bare",
    "Meta:WIP",
    "tab\there",
]


@pytest.mark.parametrize("tag", TRICKY)
def test_the_mirror_cleans_tags_as_hydrus_does(tag):
    assert tagmap.clean(tag) == hydrus_clean(tag)


def test_clean_tags_answers_a_sorted_set_not_one_answer_per_tag(fake):
    query = urllib.parse.urlencode({"tags": '["B", "a", "b", "-a"]'})
    answer = requests.get(
        f"{fake.url}/add_tags/clean_tags?{query}",
        headers={"Hydrus-Client-API-Access-Key": KEY},
        timeout=5,
    ).json()
    assert answer == {"tags": ["a", "b"]}


def test_categories_map_to_namespaces_both_ways():
    spaces = hydrus.DEFAULT_NAMESPACES
    assert tagmap.to_hydrus("Alice", "character", spaces) == "character:alice"
    assert tagmap.to_hydrus("Blue Sky", "general", spaces) == "blue sky"
    assert tagmap.from_hydrus("character:bob", spaces) == ("bob", "character")
    assert tagmap.from_hydrus("series:foo", spaces) == ("series:foo", "general")


def test_a_custom_namespace_mapping_moves_the_tags(linked, fake):
    project, ids = linked
    run(project)
    hydrus.connect(project, fake.url, KEY, namespaces={**hydrus.DEFAULT_NAMESPACES, "rating": "r"})
    run(project)
    tags = fake.committed.tags[(sha(project, ids[1]), TAG_KEY)]
    assert tags == {"blue sky", "r:general"}


def test_another_tag_service_gets_everything_again(linked, fake):
    project, ids = linked
    run(project)
    hydrus.connect(project, fake.url, KEY, tag_service="downloader tags")
    result = run(project)
    assert result.tag_writes == 3 and result.files_added == 0
    assert len(fake.committed.files) == 3


def test_source_tags_are_pushed_and_never_pulled_back(project, fake):
    ids = make_clips(project, 1)
    hydrus.connect(project, fake.url, KEY, source_tags=True)
    path = project.clip_path(project.stored_clip_paths(ids)[ids[0]])
    project.upsert_clip(
        path,
        video_id=None,
        start_frame=10,
        end_frame=34,
        fps=Fraction(24),
        frame_count=24,
        width=64,
        height=64,
    )
    run(project)
    h = sha(project, ids[0])
    assert "frames:10-34" in fake.committed.tags[(h, TAG_KEY)]
    fake.set_tags_as_person(h, delete=["frames:10-34"])
    result = run(project)
    assert result.pulled_tags == 0
    assert [t.name for t in project.clip_tags_many(ids).get(ids[0], [])] == []


def test_open_in_hydrus_shows_the_clip_on_a_media_page(linked, fake):
    project, ids = linked
    with pytest.raises(hydrus.HydrusError, match="not in Hydrus yet"):
        hydrus.open_in_hydrus(project, ids[0])
    run(project)
    opened = hydrus.open_in_hydrus(project, ids[0])
    assert opened.page_key == "p1" and fake.focused == "p1"
    assert fake.pages["p1"] == [sha(project, ids[0])]


def test_a_rejected_clip_is_not_mirrored(linked, fake):
    project, ids = linked
    review.reject_clips(project, [ids[2]])
    run(project)
    assert len(fake.committed.files) == 2 and hydrus.status(project)["pending"] == 0


def test_a_tag_service_deleted_in_hydrus_stops_the_pull_before_it_deletes_anything(linked, fake):
    project, ids = linked
    run(project)
    del fake.services[TAG_KEY]
    with fake.lock:
        fake.live.tags.clear()
    result = run(project)
    assert result.stopped and "no tag service 'my tags'" in result.stopped
    assert {t.name for t in project.clip_tags_many([ids[1]])[ids[1]]} == {"Blue Sky", "general"}
