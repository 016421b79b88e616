"""Several videos detected at once (``detect_project(jobs=N)``, ``workstation detect --jobs N``):
the same cuts as one after another, one broken video never stops the rest, cancel leaves no
process behind and the runs resume."""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest

from workstation import cli
from workstation.core.detect.project_runs import detect_project
from workstation.core.progress import Cancelled, CancelToken, Progress, drive


def _cuts(results):
    return {vid: [(c.frame, c.kind) for c in r.cuts] for vid, r in results.items() if not r.error}


def test_same_cuts_as_serial_and_a_broken_video_does_not_stop_the_rest(demo_project):
    videos = demo_project.videos()
    ids = [v.id for v in videos]
    serial = drive(detect_project(demo_project, ids, restart=True, kind="ensemble"))
    broken = videos[0]
    data = broken.path.read_bytes()
    broken.path.write_bytes(data[: len(data) // 3])  # damaged after it was added
    records: list[Progress] = []
    parallel = drive(
        detect_project(demo_project, [*ids, 999], restart=True, jobs=2, kind="ensemble"),
        records.append,
    )
    assert set(parallel) == {*ids, 999}
    assert "no video with id 999" in parallel[999].error
    assert broken.name in parallel[broken.id].error
    ok = [v.id for v in videos[1:]]
    assert {vid: _cuts(parallel)[vid] for vid in ok} == {vid: _cuts(serial)[vid] for vid in ok}
    for vid in ok:  # stored as a serial run stores them
        assert [c.frame for c in demo_project.cuts(vid)] == [f for f, _ in _cuts(serial)[vid]]
    # One stream of reports over all the videos: frames counted across them, never backwards.
    done = [p.done for p in records]
    assert done == sorted(done) and records[-1].total == sum(v.frame_count for v in videos)
    assert {p.data.get("video") for p in records} >= set(ok)
    assert not mp.active_children()


def test_cancel_stops_every_process_and_the_runs_resume(demo_project):
    ids = [v.id for v in demo_project.videos()]
    token = CancelToken()
    seen: list[Progress] = []

    def on_progress(p: Progress) -> None:
        seen.append(p)
        if len(seen) == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        drive(
            detect_project(demo_project, ids, restart=True, jobs=3, kind="ensemble"),
            on_progress,
            token,
        )
    assert not mp.active_children()  # every child stopped and was joined
    runs = demo_project.db.execute("SELECT state FROM detections").fetchall()
    assert runs and all(r["state"] in ("cancelled", "done") for r in runs)
    again = drive(detect_project(demo_project, ids, jobs=3, kind="ensemble"))
    assert all(r.error is None and r.cuts for r in again.values())


def test_cli_jobs(demo_project, capsys):
    root = str(demo_project.root)
    demo_project.close()
    assert cli.main(["detect", root, "--jobs", "2", "--detector", "ensemble", "--json", "-q"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(out) == ["demo_anime.mp4", "demo_live.mp4", "demo_transitions.mp4"]
    assert all(v["cuts"] for v in out.values())
    with pytest.raises(SystemExit) as exit_:
        cli.main(["detect", root, "--jobs", "0"])
    assert exit_.value.code == 2
    assert "--jobs must be 1..64, got 0" in capsys.readouterr().err
