"""Random edits on both sides, with Hydrus killed or down at random points: after a clean
sync both sides agree, every clip is in Hydrus once and the outbox is empty (hypothesis,
bounded and derandomized)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core import hydrus_fixtures as hf
from tests.core.hydrus_fake import KEY, TAG_KEY, FakeHydrus
from workstation.core import hydrus, review
from workstation.core.hydrus import tagmap
from workstation.core.progress import drive
from workstation.core.store import Project

TAGS = ["Blue Sky", "night", "Kitty", "outdoors"]
CAPTIONS = ["One.", "Two.", "", "Three  \n four"]
OPTS = hydrus.SyncOptions(retries=0, backoff_s=0.0, batch_size=2, timeout_s=5)

step = st.one_of(
    st.tuples(st.just("local_add"), st.integers(0, 2), st.sampled_from(TAGS)),
    st.tuples(st.just("local_remove"), st.integers(0, 2), st.sampled_from(TAGS)),
    st.tuples(st.just("local_caption"), st.integers(0, 2), st.sampled_from(CAPTIONS)),
    st.tuples(st.just("hydrus_add"), st.integers(0, 2), st.sampled_from(TAGS)),
    st.tuples(st.just("hydrus_remove"), st.integers(0, 2), st.sampled_from(TAGS)),
    st.tuples(st.just("hydrus_note"), st.integers(0, 2), st.sampled_from(CAPTIONS[:2])),
    st.tuples(st.just("sync"), st.just(0), st.just("")),
    st.tuples(st.just("kill"), st.integers(0, 6), st.just("")),
    st.tuples(st.just("down"), st.just(0), st.just("")),
)


def _apply(project: Project, fake: FakeHydrus, ids: list[int], op: str, i: int, arg: str) -> None:
    cid = ids[i] if op not in ("sync", "kill", "down") else 0
    row = project.hydrus_clip_rows().get(cid)
    if op == "local_add":
        review.add_tags(project, [cid], [arg])
    elif op == "local_remove":
        review.remove_tags(project, [cid], [arg])
    elif op == "local_caption":
        review.set_caption(project, [cid], arg)
    elif op.startswith("hydrus_") and row is not None and row["sha256"] in fake.live.files:
        if op == "hydrus_add":
            fake.set_tags_as_person(row["sha256"], add=[arg])
        elif op == "hydrus_remove":
            fake.set_tags_as_person(row["sha256"], delete=[arg])
        else:
            fake.set_note_as_person(row["sha256"], arg)
    elif op == "kill":
        fake.kill_after_writes = i
        drive(hydrus.sync(project, OPTS))
        if not fake.running:
            fake.start()
        fake.kill_after_writes = None
    elif op == "down":
        fake.stop()
        assert drive(hydrus.sync(project, OPTS)).stopped
        fake.start()
    elif op == "sync":
        drive(hydrus.sync(project, OPTS))


@settings(
    max_examples=int(__import__("os").environ.get("HYDRUS_FUZZ_EXAMPLES", "20")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(step, min_size=1, max_size=12))
def test_random_edits_and_failures_end_in_agreement(steps):
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp) / "p")
        fake = FakeHydrus().start()
        try:
            ids = hf.make_clips(project)
            review.add_tags(project, ids, ["Blue Sky"])
            hydrus.connect(project, fake.url, KEY)
            for op, i, arg in steps:
                _apply(project, fake, ids, op, i, arg)
            result = drive(hydrus.sync(project, OPTS))
            for c in hydrus.conflicts(project):
                hydrus.resolve_conflict(project, c.id, "ours")
            result = drive(hydrus.sync(project, OPTS))
            assert not result.stopped and not result.failed and result.pending == 0
            assert hydrus.status(project)["pending"] == 0
            rows = project.hydrus_clip_rows()
            assert sorted(fake.committed.files) == sorted(r["sha256"] for r in rows.values())
            spaces = hydrus.DEFAULT_NAMESPACES
            for cid in ids:
                h = rows[cid]["sha256"]
                local = {
                    tagmap.to_hydrus(t.name, t.category, spaces)
                    for t in project.clip_tags_many([cid]).get(cid, [])
                }
                assert fake.committed.tags.get((h, TAG_KEY), set()) == local
                names = [t.name.lower() for t in project.clip_tags_many([cid]).get(cid, [])]
                assert len(names) == len(set(names))  # nothing doubled by case
                caption = project.caption_texts([cid]).get(cid) or None
                assert fake.committed.notes.get(h, {}).get("caption") == caption
        finally:
            fake.stop()
            project.close()
