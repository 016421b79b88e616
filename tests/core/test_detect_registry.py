"""The detector registry: every kind listed, reasons when one can't run, PySceneDetect's detectors
frame-exact and cancellable, project runs that name their detector and spare manual cuts, CLI."""

from __future__ import annotations

import json
import threading

import pytest

from workstation.cli import DETECTOR_NAMES, main
from workstation.core import media, synth
from workstation.core import settings as app_settings
from workstation.core.detect import neural, pyscenedetect, transnet_onnx
from workstation.core.detect import registry as reg
from workstation.core.detect.project_runs import detect_project
from workstation.core.detect.registry import DETECTORS, DetectorKind
from workstation.core.detect.stage import DetectSettings
from workstation.core.errors import MediaError, WorkstationError
from workstation.core.progress import Progress, drive
from workstation.core.store import Cut

HARD = [48, 84, 114, 164, 204]  # demo_anime.mp4's cuts: all hard, between 30- to 50-frame shots
FRAMES = 244


@pytest.fixture(scope="module")
def anime(demo_videos):
    """demo_anime.mp4 (320x180): five hard cuts, which both PySceneDetect detectors find."""
    path = next(v for v in demo_videos if v.name == "demo_anime.mp4")
    truth = synth.Truth.load(str(path) + ".truth.json")
    assert [c.frame for c in truth.cuts] == HARD and truth.frames == FRAMES
    return path


def run(capsys, *argv):
    code = main(["-q", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_kind_is_registered_with_a_label():
    assert list(DETECTORS) == list(DetectorKind)
    for kind, det in DETECTORS.items():
        assert det.kind is kind and det.label and det.description
        assert reg.detector(kind.value) is det  # by name, as the CLI and settings give it
    assert {DetectorKind.ENSEMBLE, DetectorKind.CONTENT, DetectorKind.ADAPTIVE} <= set(
        reg.available()
    )
    assert tuple(k.value for k in DetectorKind) == DETECTOR_NAMES  # the CLI's --help list


def test_unknown_kind_is_one_clear_error(project):
    with pytest.raises(WorkstationError, match="unknown detector 'nope'.*transnetv2, ensemble"):
        reg.detector("nope")
    with pytest.raises(WorkstationError, match="unknown detector 'nope'"):
        drive(detect_project(project, kind="nope"))


def _no_model(monkeypatch, tmp_path):
    """As on a machine where scripts/setup.sh never ran: no exported model, no torch model."""
    monkeypatch.setattr(transnet_onnx, "SHIPPED", tmp_path / "none.onnx")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(neural, "available", lambda: False)


def test_unavailable_detector_says_why(monkeypatch, project, tmp_path):
    _no_model(monkeypatch, tmp_path)
    reason = DETECTORS[DetectorKind.TRANSNETV2].why_unavailable()
    assert "TransNetV2's model is missing" in reason and "scripts/setup.sh" in reason
    assert DetectorKind.TRANSNETV2 not in reg.available()
    with pytest.raises(WorkstationError, match="'transnetv2' is unavailable: TransNetV2's model"):
        reg.require("transnetv2")
    with pytest.raises(WorkstationError, match="transnetv2"):  # once, before any video
        drive(detect_project(project, kind=DetectorKind.TRANSNETV2))


@pytest.mark.parametrize("kind", [DetectorKind.CONTENT, DetectorKind.ADAPTIVE])
def test_pyscenedetect_finds_the_hard_cuts_at_their_frames(anime, kind):
    import scenedetect

    records: list[Progress] = []
    result = drive(DETECTORS[kind].stage(anime), records.append)
    assert [c.frame for c in result.cuts] == HARD
    assert result.frames == FRAMES and len(result.scores["score"]) == FRAMES
    for c in result.cuts:
        assert c.detector == kind.value and c.source == "auto" and c.kind == "cut"
        assert c.params["backend"] == "pyav" and c.params["library"].startswith("scenedetect")
        assert c.score >= result.threshold  # the curve is high where it cut
    # The same cuts as PySceneDetect's own driver with the same backend and defaults.
    name = {DetectorKind.CONTENT: "ContentDetector", DetectorKind.ADAPTIVE: "AdaptiveDetector"}
    scenes = scenedetect.detect(str(anime), getattr(scenedetect, name[kind])(), backend="pyav")
    assert [s[0].frame_num for s in scenes if s[0].frame_num > 0] == HARD
    # Progress at least every REPORT_EVERY frames, live cuts included, and a final report.
    done = [r.done for r in records]
    assert all(b - a <= pyscenedetect.REPORT_EVERY for a, b in zip(done, done[1:], strict=False))
    assert records[-1].done == FRAMES and records[-1].data["cuts"] == HARD


def test_pyscenedetect_numbers_vfr_frames_in_decode_order(tmp_path):
    """On a VFR file PySceneDetect's frame_num is time x average rate; the cuts here are the
    decode-order numbers of the same frames (found by pts), as everywhere in the workstation."""
    import scenedetect

    path = tmp_path / "vfr.mkv"
    synth.write_vfr_video(path, [10 if (i // 10) % 2 == 0 else 90 for i in range(120)])
    info = drive(media.probe(path))
    assert info.vfr and info.frame_count == 120
    result = drive(DETECTORS[DetectorKind.CONTENT].stage(path, info=info))
    scenes = scenedetect.detect(str(path), scenedetect.ContentDetector(), backend="pyav")
    starts = [s[0] for s in scenes if s[0].pts > 0]
    assert max(t.frame_num for t in starts) > 120  # PySceneDetect's numbers: not frame indices
    assert [c.frame for c in result.cuts] == [info.index.frame_at_pts(t.pts) for t in starts]


def test_pyscenedetect_stage_stops_when_closed(anime):
    stage = DETECTORS[DetectorKind.CONTENT].stage(anime)
    first = next(stage)
    assert first.done == 0 and first.total == FRAMES
    assert next(stage).done == pyscenedetect.REPORT_EVERY
    stage.close()  # a cancel: the decode thread stops and the file is released
    with pytest.raises(StopIteration):
        next(stage)
    assert not [t for t in threading.enumerate() if t.name == "scenedetect-decode"]


def test_pyscenedetect_bad_file_names_it(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty.mp4.*empty"):
        drive(DETECTORS[DetectorKind.ADAPTIVE].stage(empty))


def test_project_detection_with_content_names_it_and_spares_person_edits(demo_project):
    video = next(v for v in demo_project.videos() if v.name == "demo_anime.mp4")
    vid = video.id
    demo_project.add_cut(vid, Cut(100, "manual"))
    results = drive(detect_project(demo_project, [vid], kind="content"))
    found = [c.frame for c in results[vid].cuts]
    assert {48, 84, 114, 164, 204} <= set(found)
    cuts = demo_project.cuts(vid)
    assert [c for c in cuts if c.frame == 100] == [Cut(100, "manual")]  # left alone
    auto = [c for c in cuts if c.source == "auto"]
    assert auto and all(c.detector == "content" for c in auto)
    assert all(c.params["detector"] == "ContentDetector" for c in auto)
    run_row = demo_project.latest_detection(vid)
    assert run_row["detector"] == "content" and run_row["threshold"] == 27.0
    assert json.loads(run_row["params"])["threshold"] == 27.0
    assert len(demo_project.scores(run_row["id"], "score")) == video.frame_count
    # A person deletes a detected cut; the next run (another detector) keeps it deleted.
    demo_project.remove_cut(vid, 84)
    drive(detect_project(demo_project, [vid], kind=DetectorKind.ADAPTIVE))
    frames = {c.frame: c for c in demo_project.cuts(vid)}
    assert 84 not in frames and frames[100].source == "manual"
    assert {c.detector for c in frames.values() if c.source == "auto"} == {"adaptive"}


def test_cli_scenes_and_detect_with_content(tmp_path, demo_videos, anime, capsys):
    code, out, _ = run(capsys, "scenes", str(anime), "--detector", "content", "--json")
    assert code == 0
    result = json.loads(out)
    assert list(result) == [
        "video",
        "fps",
        "fps_exact",
        "frames",
        "cuts",
        "transitions",
        "detector",
    ]  # the documented format plus the detector's name
    assert result["cuts"] == HARD and result["detector"] == "content"
    if DETECTORS[reg.DEFAULT].why_unavailable() is None:  # the default: TransNetV2
        code, out, _ = run(capsys, "scenes", str(anime), "--json")
        assert json.loads(out)["detector"] == "transnetv2" and json.loads(out)["cuts"] == HARD

    proj = tmp_path / "proj"
    assert run(capsys, "new", str(proj))[0] == 0
    assert run(capsys, "add", str(proj), str(anime))[0] == 0
    code, out, _ = run(capsys, "detect", str(proj), "--detector", "adaptive", "--json")
    assert code == 0
    assert json.loads(out)["demo_anime.mp4"] == {
        "cuts": HARD,
        "frames": FRAMES,
        "detector": "adaptive",
    }


def test_cli_bad_or_unavailable_detector(anime, capsys, monkeypatch, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["-q", "scenes", str(anime), "--detector", "nope"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    code, out, err = run(
        capsys, "scenes", str(anime), "--detector", "content", "--set", "threshold=2"
    )
    assert code == 1 and "--set" in err and "'content'" in err and out == ""
    _no_model(monkeypatch, tmp_path)
    code, out, err = run(capsys, "scenes", str(anime))  # the default
    assert code == 1 and out == ""
    assert "'transnetv2' is unavailable" in err and "scripts/setup.sh" in err


def test_choice_is_saved_and_bad_values_fall_back(tmp_path, caplog):
    path = tmp_path / "settings.json"
    assert reg.load_choice(path) == (DetectorKind.TRANSNETV2, DetectSettings())
    # Written before TransNetV2 was the default: "ensemble" there was the default, not a pick.
    path.write_text(json.dumps({"version": 1, "detector": "ensemble", "detect_settings": {}}))
    assert reg.load_choice(path) == (DetectorKind.TRANSNETV2, DetectSettings())
    reg.save_choice(DetectorKind.ENSEMBLE, DetectSettings(), path)  # picked: it stays
    assert reg.load_choice(path) == (DetectorKind.ENSEMBLE, DetectSettings())
    reg.save_choice(DetectorKind.ADAPTIVE, DetectSettings(threshold=1.5, fades=False), path)
    assert reg.load_choice(path) == (
        DetectorKind.ADAPTIVE,
        DetectSettings(threshold=1.5, fades=False),
    )
    data = json.loads(path.read_text())
    assert "version" not in data["detect_settings"]  # the rules' version is the code's
    data["detect_settings"]["version"] = 0
    path.write_text(json.dumps(data))
    assert reg.load_choice(path)[1].version == DetectSettings().version
    data["detector"], data["detect_settings"] = "magic", {"threshold": -1}
    path.write_text(json.dumps(data))
    assert reg.load_choice(path) == (DetectorKind.TRANSNETV2, DetectSettings())
    assert "magic" in caplog.text and "threshold" in caplog.text
    assert app_settings.load(path).detector == "magic"  # kept as written; only read as default


def test_usable_choice_replaces_a_saved_detector_that_cannot_run(tmp_path, monkeypatch):
    """What the settings dialog opens with: the ensemble, and a note, for a missing detector."""
    path = tmp_path / "settings.json"
    chosen = DetectSettings(threshold=1.5)
    reg.save_choice(DetectorKind.TRANSNETV2, chosen, path)
    monkeypatch.setattr(transnet_onnx, "why_unavailable", lambda: None)
    assert reg.usable_choice(path) == (DetectorKind.TRANSNETV2, chosen, None)
    monkeypatch.undo()
    _no_model(monkeypatch, tmp_path)
    kind, settings, note = reg.usable_choice(path)
    assert (kind, settings) == (DetectorKind.ENSEMBLE, chosen)
    reason = DETECTORS[DetectorKind.TRANSNETV2].why_unavailable()
    assert note == (
        f"The saved detector, TransNetV2 (recommended), cannot run here: {reason}. "
        "The ensemble is selected instead."
    )


def test_saved_choice_runs_in_a_child_process(demo_project):
    """The GUI's path: plain saved values cross to a child process, which builds the detector."""
    from workstation.core.isolate import in_child_process, project_stage

    vid = next(v.id for v in demo_project.videos() if v.name == "demo_anime.mp4")
    stage = in_child_process(
        project_stage,
        str(demo_project.root),
        "workstation.core.detect.registry",
        "detect_video_as_saved",
        vid,
        "content",
        {},
    )
    result = drive(stage)
    assert [c.frame for c in result.cuts] == HARD
    assert {c.detector for c in demo_project.cuts(vid)} == {"content"}
