"""The spine's CLI on the demo videos and on a bad file: exit codes, JSON, files written."""

from __future__ import annotations

import json
import shutil

from workstation.cli import main
from workstation.core import synth


def run(capsys, *argv):
    code = main(["-q", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_project_commands_end_to_end(tmp_path, demo_videos, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    for v in demo_videos:
        shutil.copy(v, videos / v.name)
    (videos / "broken.mp4").write_bytes(b"\x00" * 1000)
    proj = tmp_path / "proj"

    assert run(capsys, "new", str(proj))[0] == 0
    code, out, err = run(capsys, "add", str(proj), str(videos), "--json")
    assert code == 1  # one bad file: reported, the rest added
    added = json.loads(out)
    assert len(added["added"]) == 3
    assert added["errors"][0]["file"].endswith("broken.mp4") and "broken.mp4" in err

    # The ensemble: its figures on these generated videos (TransNetV2's are in test_detect_neural).
    code, out, _ = run(capsys, "detect", str(proj), "--detector", "ensemble", "--json")
    assert code == 0
    found = json.loads(out)
    live = next(v for v in demo_videos if v.name == "demo_live.mp4")
    truth = synth.Truth.load(str(live) + ".truth.json")
    hard = [c.frame for c in truth.cuts if c.kind in ("cut", "jump")]
    assert set(hard) <= set(found["demo_live.mp4"]["cuts"])

    code, out, _ = run(capsys, "status", str(proj), "--json")
    status = json.loads(out)
    assert all("detected" in v["state"] for v in status["videos"])

    sidecar = tmp_path / "live.cuts.txt"
    assert (
        run(
            capsys,
            "cuts",
            "export",
            str(proj),
            "demo_live.mp4",
            "--format",
            "sidecar",
            "-o",
            str(sidecar),
        )[0]
        == 0
    )
    text = sidecar.read_text().replace("  auto", "  manual")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    sidecar.write_text(text.replace(lines[0] + "\n", ""))  # a person deletes the first cut
    code, _, err = run(capsys, "cuts", "import", str(proj), "demo_live.mp4", str(sidecar))
    assert code == 1 and "would remove 1 cut (0 manual) of demo_live.mp4" in err  # asks first
    assert (
        run(capsys, "cuts", "import", str(proj), "demo_live.mp4", str(sidecar), "--replace")[0] == 0
    )
    for fmt in ("csv", "ffmetadata", "edl"):
        code, out, _ = run(capsys, "cuts", "export", str(proj), "demo_live.mp4", "--format", fmt)
        assert code == 0 and out.strip()

    code, out, _ = run(capsys, "split", str(proj), "--video", "demo_live.mp4", "--json")
    assert code == 0
    code, out, _ = run(capsys, "status", str(proj), "--json")
    live = [v for v in json.loads(out)["videos"] if v["name"] == "demo_live.mp4"][0]
    assert live["clips"] == live["kept_segments"] - 1  # the 5-frame shot is below min_frames

    bad = tmp_path / "bad.cuts.txt"
    bad.write_text("00:00:01.000  24\nnot a line\n")
    code, _, err = run(capsys, "cuts", "import", str(proj), "demo_live.mp4", str(bad))
    assert code == 1 and "line 2" in err


def test_scenes_json_and_bad_file(tmp_path, demo_videos, capsys):
    video = next(v for v in demo_videos if v.name == "demo_transitions.mp4")
    code, out, _ = run(capsys, "scenes", str(video), "--detector", "ensemble", "--json")
    assert code == 0
    result = json.loads(out)
    truth = synth.Truth.load(str(video) + ".truth.json")
    assert result["frames"] == truth.frames and 0 not in result["cuts"]
    for t in truth.cuts:  # each transition reported once, inside its span
        assert sum(t.span[0] <= c <= t.span[1] for c in result["cuts"]) == 1
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    code, out, err = run(capsys, "scenes", str(empty), "--json")
    assert code == 1 and "empty.mp4" in err and "empty" in err and out == ""


def test_not_a_project(tmp_path, capsys):
    code, _, err = run(capsys, "status", str(tmp_path))
    assert code == 1 and "not a workstation project" in err
