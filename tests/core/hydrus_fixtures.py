"""Fixtures and helpers the Hydrus tests share: a running fake, a linked project with clips."""

from __future__ import annotations

import os

import pytest

from tests.core.autotag_fixtures import add_clip
from tests.core.hydrus_fake import KEY, FakeHydrus
from workstation.core import hydrus, review
from workstation.core.progress import drive
from workstation.core.store import Project

FAST = hydrus.SyncOptions(retries=1, backoff_s=0.01, batch_size=2, timeout_s=5)


def make_clips(project: Project, n: int = 3) -> list[int]:
    ids = []
    for i in range(n):
        path = project.root / "clips" / f"clip_{i:03d}.mp4"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(os.urandom(64) + str(i).encode())
        ids.append(add_clip(project, path, 24, w=64, h=64))
    return ids


@pytest.fixture()
def fake():
    server = FakeHydrus().start()
    yield server
    server.stop()


@pytest.fixture()
def linked(project, fake):
    ids = make_clips(project)
    review.add_tags(project, ids, ["Blue Sky"])
    review.add_tags(project, [ids[0]], ["alice"], category="character")
    review.add_tags(project, ids, ["general"], category="rating")
    review.set_caption(project, [ids[0]], "A girl under a blue sky.")
    hydrus.connect(project, fake.url, KEY)
    return project, ids


def sha(project: Project, clip_id: int) -> str:
    return project.hydrus_clip_rows()[clip_id]["sha256"]


def run(project: Project, **kw: object) -> hydrus.SyncResult:
    opts = hydrus.SyncOptions(**{**FAST.__dict__, **kw})
    return drive(hydrus.sync(project, opts))
