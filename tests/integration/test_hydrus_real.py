"""The Hydrus mirror against a real Hydrus client (opt-in; CI has none).

Runs only when ``HYDRUS_API_URL`` and ``HYDRUS_API_KEY`` are set (a key with every permission
the mirror asks for; use a test client, not your collection: the demo clips stay imported).
Hydrus resolves file paths on its own machine, so it must see this machine's ``/tmp``.
``HYDRUS_TAG_SERVICE`` picks a tag service (default "my tags").  With ``HYDRUS_KILL_CMD`` and
``HYDRUS_START_CMD`` (shell commands that kill the client with SIGKILL and start it again) it
also kills Hydrus mid-push::

    HYDRUS_API_URL=http://127.0.0.1:45869 HYDRUS_API_KEY=... \\
      python -m pytest -q tests/integration/test_hydrus_real.py

It removes the tags and notes it wrote when it ends (not the files: a deleted file cannot be
imported again).
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from workstation.cli import main
from workstation.core import hydrus, review
from workstation.core.hydrus.client import HydrusClient
from workstation.core.progress import drive
from workstation.core.store import Project

URL = os.environ.get("HYDRUS_API_URL", "")
KEY = os.environ.get("HYDRUS_API_KEY", "")
pytestmark = pytest.mark.skipif(
    not (URL and KEY), reason="set HYDRUS_API_URL and HYDRUS_API_KEY to run against Hydrus"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("hydrus-real") / "demo"
    assert main(["demo", str(root), "-q"]) == 0
    assert main(["split", str(root), "-q"]) == 0
    project = Project.open(root)
    link, _ = hydrus.connect(project, URL, KEY, tag_service=os.environ.get("HYDRUS_TAG_SERVICE"))
    ids = project.clip_ids()
    review.add_tags(project, ids, ["Blue Sky"])
    review.add_tags(project, ids[:2], ["alice"], category="character")
    review.set_caption(project, ids[:3], "A demo clip.")
    client = HydrusClient(URL, KEY)
    yield project, ids, link, client
    try:  # leave the client as it was, but for the files
        rows = project.hydrus_clip_rows()
        for row in rows.values():
            tags, note = stored(client, link, row["sha256"])
            client.add_tags(row["sha256"], link.tag_service_key, [], sorted(tags))
            if note is not None:
                client.set_note(row["sha256"], link.note_name, "")
        client.force_commit()
    finally:
        client.close()
        project.close()


def stored(client: HydrusClient, link: hydrus.HydrusLink, sha: str) -> tuple[set[str], str | None]:
    meta = client.file_metadata([sha])[0]
    service = (meta.get("tags") or {}).get(link.tag_service_key) or {}
    tags = set((service.get("storage_tags") or {}).get("0") or [])
    return tags, (meta.get("notes") or {}).get(link.note_name)


def check_mirrored(project: Project, ids: list[int], client: HydrusClient, link) -> None:
    rows = project.hydrus_clip_rows()
    hashes = [rows[c]["sha256"] for c in ids]
    metas = client.file_metadata(hashes)
    assert all(m.get("file_id") is not None for m in metas)  # every clip is in Hydrus, once
    for cid in ids:
        tags, note = stored(client, link, rows[cid]["sha256"])
        names = {n for n in project.shown_tag_names([cid]).get(cid, [])}
        assert {t.split(":", 1)[-1] for t in tags} == {n.lower() for n in names}
        assert note == project.caption_texts([cid]).get(cid)
    assert hydrus.status(project)["pending"] == 0


def test_push_edit_in_hydrus_pull_and_kill_mid_push(demo):
    project, ids, link, client = demo
    result = drive(hydrus.sync(project))
    assert result.pending == 0 and not result.failed, result
    check_mirrored(project, ids, client, link)

    sha = project.hydrus_clip_rows()[ids[0]]["sha256"]
    client.add_tags(sha, link.tag_service_key, ["edited in hydrus"], ["blue sky"])
    client.set_note(sha, link.note_name, "Edited in Hydrus.")
    client.force_commit()
    result = drive(hydrus.sync(project))
    assert result.pulled_tags == 2 and result.pulled_captions == 1
    tags = {t.name: t for t in project.clip_tags_many([ids[0]])[ids[0]]}
    assert tags["edited in hydrus"].origin == "hydrus" and "Blue Sky" not in tags
    assert "Blue Sky" in project.shown_tag_names([ids[1]])[ids[1]]  # nothing else changed
    check_mirrored(project, ids, client, link)

    kill, start = os.environ.get("HYDRUS_KILL_CMD"), os.environ.get("HYDRUS_START_CMD")
    if not (kill and start):
        pytest.skip("set HYDRUS_KILL_CMD and HYDRUS_START_CMD to kill Hydrus mid-push")
    review.add_tags(project, ids, ["after the kill"])
    stage = hydrus.sync(project, hydrus.SyncOptions(batch_size=4, retries=1, backoff_s=0.5))
    steps = 0
    try:
        while True:
            next(stage)
            steps += 1
            if steps == 3:
                subprocess.run(kill, shell=True, check=False)
    except StopIteration as done:
        killed: hydrus.SyncResult = done.value
    assert killed.stopped and killed.pending > 0  # the kill landed mid-push
    subprocess.Popen(start, shell=True)
    for _ in range(120):
        try:
            client.api_version()
            break
        except hydrus.HydrusError:
            time.sleep(1)
    drive(hydrus.sync(project, hydrus.SyncOptions(retries=10)))
    check_mirrored(project, ids, client, link)
