"""Motion score (Farneback flow) and the tag/caption/motion CLI commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from autotag_fixtures import add_clip, solid, write_clip, write_tiny_model

from workstation import cli
from workstation.core.autotag import score_motion
from workstation.core.autotag.motion import motion_score
from workstation.core.progress import drive


def _moving_square(n: int, w: int, h: int, step: float) -> list[np.ndarray]:
    """A textured square moving right by ``step`` of the width per frame on a grey field."""
    rng = np.random.default_rng(1)
    tex = rng.integers(0, 255, (h // 3, h // 3, 3), dtype=np.uint8)
    frames = []
    for i in range(n):
        img = np.full((h, w, 3), 90, np.uint8)
        x = int(w * 0.1 + i * step * w)
        img[h // 3 : h // 3 + tex.shape[0], x : x + tex.shape[1]] = tex
        frames.append(img)
    return frames


@pytest.fixture(scope="module")
def motion_clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("motion")
    return {
        "still": write_clip(d / "still.mp4", solid((90, 90, 90), n=10, w=192, h=108), stamp=False),
        "slow": write_clip(d / "slow.mp4", _moving_square(10, 192, 108, 0.01), stamp=False),
        "fast": write_clip(d / "fast.mp4", _moving_square(10, 192, 108, 0.04), stamp=False),
        "fast_big": write_clip(d / "fast_big.mp4", _moving_square(10, 384, 216, 0.04), stamp=False),
    }


def test_motion_score_orders_clips_and_ignores_resolution(motion_clips):
    s = {k: motion_score(p) for k, p in motion_clips.items()}
    assert s["still"] < 0.001
    assert s["still"] < s["slow"] < s["fast"]
    assert s["fast"] / s["slow"] > 2
    assert s["fast_big"] == pytest.approx(s["fast"], rel=0.25)


def test_score_motion_stage_stores_and_skips(project, motion_clips):
    ids = {k: add_clip(project, p, 10) for k, p in motion_clips.items() if k != "fast_big"}
    summary = drive(score_motion(project))
    assert set(summary.scored) == set(ids.values())
    stored = {c.id: c.motion for c in project.clips()}
    assert stored[ids["fast"]] == pytest.approx(summary.scored[ids["fast"]])
    again = drive(score_motion(project, [ids["slow"]]))
    assert again.skipped == [ids["slow"]] and not again.scored
    assert drive(score_motion(project, [ids["slow"]], redo=True)).scored


@pytest.fixture()
def cli_project(project, tmp_path):
    red = write_clip(tmp_path / "red.mp4", solid((230, 20, 20)))
    blue = write_clip(tmp_path / "blue.mp4", solid((20, 20, 230)))
    add_clip(project, red, 12)
    add_clip(project, blue, 12)
    return project


def test_cli_tag_and_motion(cli_project, tmp_path, capsys):
    model = write_tiny_model(tmp_path / "model")
    root = str(cli_project.root)
    rc = cli.main(
        [
            "-q",
            "tag",
            root,
            "--model",
            str(model),
            "--frames",
            "2",
            "--exclude",
            "simple_background,^_^",
            "--underscores",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(out["tagged"]) == 2 and out["frames"] == 4
    assert out["provider"] == "CPUExecutionProvider" and out["frames_per_second"] > 0
    names = {
        r[0]
        for r in cli_project.db.execute(
            "SELECT DISTINCT t.name FROM clip_tags JOIN tags t ON t.id=tag_id"
        )
    }
    assert {"red_background", "blue_background", "hatsune_miku"} <= names
    assert "simple_background" not in names and "^_^" not in names

    rc = cli.main(["-q", "tag", root, "--model", str(model)])
    assert rc == 0 and "skipped 2 already tagged" in capsys.readouterr().out

    rc = cli.main(["-q", "motion", root, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(out["scored"]) == 2


def test_cli_errors_are_one_line(cli_project, tmp_path, capsys):
    root = str(cli_project.root)
    rc = cli.main(["-q", "tag", root, "--model", str(tmp_path / "no-model" / "x")])
    err = capsys.readouterr().err
    assert rc == 1 and "error:" in err and "model folder not found" in err
    rc = cli.main(["-q", "caption", root, "--server", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot reach the caption server" in err
    rc = cli.main(["-q", "tag", root, "--general-threshold", "2"])
    assert rc == 1 and "general_threshold: must be between 0 and 1" in capsys.readouterr().err
