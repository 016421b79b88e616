"""The outbox when Hydrus fails: down, busy (503), refusing the key (403), slow, killed
mid-push; every case ends with each clip once in Hydrus, tags and captions right, nothing
doubled and an empty outbox."""

from __future__ import annotations

import pytest

from tests.core import hydrus_fixtures as hf
from tests.core.hydrus_fake import KEY, TAG_KEY
from workstation.core import hydrus, review
from workstation.core.progress import drive

fake, linked = hf.fake, hf.linked
make_clips, run, sha = hf.make_clips, hf.run, hf.sha


def assert_mirrored(project, ids, fake) -> None:
    """Every clip exactly once, with its tags and caption, and nothing left to send."""
    assert len(fake.committed.files) == len(ids)
    assert sorted(fake.committed.files) == sorted(sha(project, c) for c in ids)
    for cid in ids:
        h = sha(project, cid)
        names = {(t.name, t.category) for t in project.clip_tags_many([cid])[cid]}
        want = {n.lower() if c == "general" else f"{c}:{n}".lower() for n, c in names}
        assert fake.committed.tags[(h, TAG_KEY)] == want
        caption = project.caption_texts([cid]).get(cid)
        assert fake.committed.notes.get(h, {}).get("caption") == caption
    assert project.hydrus_outbox_count() == 0 and hydrus.status(project)["pending"] == 0


def test_hydrus_down_keeps_the_outbox_then_sends_it_once(linked, fake):
    project, ids = linked
    fake.stop()
    result = run(project)
    assert result.stopped and "not running" in result.stopped and result.pending > 0
    st = hydrus.status(project)  # answers while Hydrus is down
    assert st["state"] == "down" and st["pending"] == result.pending
    fake.start()
    assert run(project).pending == 0
    assert_mirrored(project, ids, fake)


@pytest.mark.parametrize("failure", ["busy", "refused", "slow"])
def test_busy_refused_or_slow_hydrus_waits_then_catches_up(linked, fake, failure):
    project, ids = linked
    if failure == "busy":
        fake.busy = True
    elif failure == "refused":
        fake.keys = {"other": fake.keys[KEY]}
    else:
        fake.slow_s = 0.5
    progress = []
    result = drive(
        hydrus.sync(project, hydrus.SyncOptions(retries=2, backoff_s=0.01, timeout_s=0.2)),
        progress.append,
    )
    assert result.stopped and result.pending > 0 and not fake.committed.files
    assert [p.data["state"] for p in progress if "waiting" in p.data]  # it said it waits
    assert hydrus.status(project)["state"] == {"slow": "down"}.get(failure, failure)
    fake.busy, fake.slow_s, fake.keys = (
        False,
        0.0,
        {KEY: fake.keys.get("other", fake.keys.get(KEY))},
    )
    run(project)
    assert_mirrored(project, ids, fake)
    assert hydrus.status(project)["state"] == "ok"


@pytest.mark.parametrize("after", [1, 2, 3, 5, 7])
def test_killed_mid_push_then_restarted_ends_with_every_clip_once(linked, fake, after):
    project, ids = linked
    review.set_caption(project, [ids[1]], "Second.")
    fake.kill_after_writes = after  # crashes on the next write: uncommitted ones are lost
    result = run(project)
    assert result.stopped and not fake.running
    assert project.hydrus_outbox_count() > 0
    if after % 2:  # mid-batch (2 rows a batch): a write Hydrus answered 200 was lost
        assert any(r["sent"] for r in project.hydrus_outbox())
    fake.start()
    run(project)
    assert_mirrored(project, ids, fake)


def test_a_write_hydrus_kept_without_saying_so_is_not_read_as_an_edit(linked, fake):
    """Hydrus's own 30 s commit saved a tag write just before the kill, so the workstation
    does not know it is durable; a person removed that tag here meanwhile.  The pull must not
    bring the tag back as an edit made in Hydrus, and the push must delete it there."""
    project, ids = linked
    fake.kill_after_writes = 4  # files 1-3, the tags of clip 1, then the kill
    fake.commit_before_kill = True
    result = drive(hydrus.sync(project, hydrus.SyncOptions(batch_size=3, retries=0)))
    assert result.stopped
    first = sha(project, ids[0])
    assert "blue sky" in fake.committed.tags[(first, TAG_KEY)]
    review.remove_tags(project, [ids[0]], ["Blue Sky"])
    fake.start()
    result = run(project)
    assert result.pulled_tags == 0
    assert "Blue Sky" not in {t.name for t in project.clip_tags_many([ids[0]])[ids[0]]}
    assert_mirrored(project, ids, fake)


def test_a_cancelled_sync_loses_nothing(linked, fake):
    project, ids = linked
    stage = hydrus.sync(project, hydrus.SyncOptions(batch_size=1))
    for _ in range(3):
        next(stage)
    stage.close()
    run(project)
    assert_mirrored(project, ids, fake)


def test_a_file_hydrus_cannot_import_is_reported_and_retried(linked, fake):
    project, ids = linked
    fake.ffmpeg = False
    result = run(project)
    assert len(result.failed) == 3 and "ffmpeg" in result.failed[0] and result.pending > 0
    fake.ffmpeg = True
    assert run(project).pending == 0
    assert_mirrored(project, ids, fake)


def test_a_file_deleted_in_hydrus_is_not_silently_restored(linked, fake):
    project, ids = linked
    run(project)
    h = sha(project, ids[0])
    with fake.lock:
        del fake.live.files[h]
        fake.live.deleted.add(h)
    fake.commit()
    result = run(project)
    assert any("deleted or in the trash" in msg for msg in result.failed)
    assert h not in fake.committed.files and result.pending > 0


def test_metadata_is_read_in_batches_of_at_most_256(project, fake):
    make_clips(project, 260)
    hydrus.connect(project, fake.url, KEY)
    drive(hydrus.sync(project, hydrus.SyncOptions(batch_size=300)))
    fake.requests.clear()
    result = drive(hydrus.sync(project, hydrus.SyncOptions(push=False)))
    reads = [p for _, p in fake.requests if p == "/get_files/file_metadata"]
    assert len(reads) == 2 and not result.stopped


def test_request_access_says_which_dialog_to_open(fake):
    with pytest.raises(hydrus.HydrusNeedsDialog, match="from api request"):
        hydrus.request_access(fake.url)
    fake.dialog_open = True
    key = hydrus.request_access(fake.url)
    report = hydrus.check_access(fake.url, key)
    assert report.ok and not report.missing


def test_a_key_without_a_permission_is_refused_naming_it(project, fake):
    fake.keys["weak"] = frozenset({1, 2, 3})
    with pytest.raises(hydrus.HydrusRefused, match="manage database, edit file notes"):
        hydrus.connect(project, fake.url, "weak")
    assert hydrus.load_link(project) is None and not hydrus.key_path(project).exists()
    with pytest.raises(hydrus.HydrusRefused, match="401"):
        hydrus.check_access(fake.url, "")
