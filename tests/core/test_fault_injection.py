"""Kill -9 at random moments of split, export, tag edits and the sidecar writers (issue 12).

Each operation runs as ``python -m workstation.cli ...`` in its own session and is killed with
SIGKILL after a delay drawn from ``random.Random(f"{SEED}:{op}")`` inside the measured duration
of an uninterrupted run (tests/core/fault_campaigns.py says what each campaign does, and
tests/core/fault_tools.py how).  After each kill: the database passes ``PRAGMA
integrity_check``, every file under a final name is whole (videos decode to the end with
their frame count, text and index files parse), every edit that exited 0 is there and none is
half applied.  Then the same command runs to its end and must give what an uninterrupted run
gives.  ``bench/fault_campaign.py`` runs the same campaigns with as many runs as asked.
"""

from __future__ import annotations

import shutil

import pytest
from fault_campaigns import World, conduct, make_world
from fault_tools import SEED, Campaign, clip_frames, file_problems, integrity, temp_files

pytestmark = pytest.mark.slow

#: Trials per operation (the ``tags`` campaign is a sequence of that many edits).
RUNS = {
    "split": 10,
    "export-pairs": 10,
    "export-webvid": 10,
    "export-webdataset": 6,
    "tags": 10,
    "cuts-import": 6,
    "cuts-export": 6,
    "sidecars-write": 6,
}
OPS = list(RUNS)

# Stricter checks to flip on when the product promises them.
#: Exports byte-reproducible (issue 12 item 5): re-encoded videos (``--set size=``) equal an
#: uninterrupted run's bytes.  Today two uninterrupted exports differ.
EXPORT_BYTE_EXACT = True
#: Slicing byte-reproducible: a re-run re-encodes clips the kill took to the same bytes.  Not
#: promised; today x264 (PyAV 18 / FFmpeg 8.1) gives other bytes for the same frames.
SPLIT_BYTE_EXACT = True

#: Writers whose temp files the next run does not sweep yet (issue 12 item 4: every writer on
#: ``workstation.core.atomic`` and its ``sweep_temps`` at the start of a run).  The slicer
#: already removes its own ``.part`` files.  Drop an op here once its sweep is merged.
NOT_SWEPT_YET: set[str] = set()
#: Derived files not reconciled from the database by a re-run yet (issue 12 item 4): a tag edit
#: killed between its commit and the clip ``.txt`` writes leaves those files stale, and running
#: the same edit again changes nothing, so writes nothing.
NOT_RECONCILED_YET: set[str] = set()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return make_world(tmp_path_factory.mktemp("faults"))


@pytest.fixture(scope="module")
def campaigns(world):
    done: dict[str, Campaign] = {}

    def get(op: str) -> Campaign:
        if op not in done:
            done[op] = conduct(op, world, RUNS[op], SEED)
            print(done[op].summary())
        return done[op]

    return get


def _report(c: Campaign, kind: str) -> str:
    return f"{c.summary()}\n" + "\n".join(c.problems[kind][:20])


@pytest.mark.parametrize("op", OPS)
def test_kill9_loses_nothing(campaigns, op):
    """After the kill: integrity ok, no partial file under a final name, committed edits all
    there, no edit half applied."""
    c = campaigns(op)
    assert c.killed >= 1, f"no run was killed while working: {c.summary()}"
    assert c.problems["crash"] == [], _report(c, "crash")


@pytest.mark.parametrize("op", OPS)
def test_rerun_after_kill9_equals_an_uninterrupted_run(campaigns, op):
    """Rows, file lists, frame counts and the bytes of text files and copies."""
    c = campaigns(op)
    assert c.problems["rerun"] == [], _report(c, "rerun")


def _xfail_unless(op: str, ready: bool, reason: str):
    return pytest.param(op, marks=() if ready else pytest.mark.xfail(strict=False, reason=reason))


@pytest.mark.parametrize(
    "op",
    [
        _xfail_unless(op, op not in NOT_SWEPT_YET, "the next run's temp sweep (issue 12 item 4)")
        for op in OPS
    ],
)
def test_rerun_after_kill9_leaves_no_temp_file(campaigns, op):
    c = campaigns(op)
    assert c.problems["temps"] == [], _report(c, "temps")


@pytest.mark.parametrize(
    "op",
    [
        _xfail_unless(op, op not in NOT_RECONCILED_YET, "derived files reconciled (item 4)")
        for op in ("tags",)  # the campaign that compares clip .txt with the database
    ],
)
def test_rerun_after_kill9_repairs_clip_texts(campaigns, op):
    c = campaigns(op)
    assert c.problems["stale"] == [], _report(c, "stale")


@pytest.mark.parametrize(
    "op",
    [
        _xfail_unless("split", SPLIT_BYTE_EXACT, "slicing is not byte-reproducible"),
        _xfail_unless("export-webvid", EXPORT_BYTE_EXACT, "exports not byte-reproducible yet"),
    ],
)
def test_rerun_after_kill9_gives_the_same_bytes(campaigns, op):
    """The stricter check: re-encoded clips and export videos equal an uninterrupted run's."""
    c = campaigns(op)
    assert c.problems["bytes"] == [], _report(c, "bytes")


def test_the_checks_see_damage(world, tmp_path):
    """The checks above must be able to fail: a cut-off clip, a cut-off index file, a clip with
    frames missing, a temp file, a damaged database."""
    clip = next(world.base.glob("clips/*/*.mp4"))
    data = clip.read_bytes()
    (tmp_path / clip.name).write_bytes(data[: len(data) // 2])
    (tmp_path / "a_f000000-000999.mp4").write_bytes(data)  # whole, but not 999 frames
    (tmp_path / "export.json").write_text('{"items": {')
    (tmp_path / "train.csv").write_text("videoid,name\nx,")
    (tmp_path / ".train.csv.ws-1.tmp").write_text("")
    found = file_problems(tmp_path, clip_frames)
    assert len(found) == 4, found
    assert temp_files(tmp_path) == [tmp_path / ".train.csv.ws-1.tmp"]
    db = tmp_path / "p" / "project.wsdb"
    shutil.copytree(world.template, db.parent)
    raw = bytearray(db.read_bytes())
    raw[4096 : 4096 + 512] = b"\xff" * 512  # a damaged page
    db.write_bytes(bytes(raw))
    assert integrity(db) != []
    assert integrity(world.template / "project.wsdb") == []
