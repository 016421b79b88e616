"""Cut files: every format round-trips exactly, bad lines name the line and change nothing."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from workstation.core import atomic, cutfiles, synth
from workstation.core.cutfiles import (
    CutsWouldBeRemoved,
    export_cuts,
    import_cuts,
    read_cut_file,
    sidecar_path,
    write_sidecar,
)
from workstation.core.errors import CutFileError
from workstation.core.ingest import add_paths
from workstation.core.progress import drive
from workstation.core.store import Cut, Project


def _video_id(project: Project, name: str) -> int:
    return next(v.id for v in project.videos() if v.name == name)


def _setup_cuts(project: Project, vid: int) -> tuple[list[int], set[int]]:
    frames = project.video(vid).frame_count
    cuts = [Cut(1, "manual"), Cut(7, "auto", "content", 41.25, span_start=5, span_end=9)]
    cuts += [
        Cut(f, "auto" if f % 2 else "manual", "adaptive", 3.5) for f in range(13, frames - 1, 29)
    ]
    cuts.append(Cut(frames - 1, "manual", kind="fade", uncertain=True))
    for c in cuts:
        project.add_cut(vid, c)
    rejected = {0, 7, cuts[3].frame, frames - 1}
    for start in rejected:
        project.set_segment_keep(vid, start, False)
    return [c.frame for c in project.cuts(vid)], rejected


@pytest.mark.parametrize("name", ["demo_live.mp4", "demo_transitions.mp4", "demo_anime.mp4"])
@pytest.mark.parametrize("fmt", ["sidecar", "csv", "ffmetadata", "edl"])
def test_round_trip_every_format(demo_project, tmp_path, name, fmt):
    vid = _video_id(demo_project, name)
    frames, rejected = _setup_cuts(demo_project, vid)
    out = export_cuts(demo_project, vid, fmt, tmp_path / f"out.{fmt}")
    back = read_cut_file(out, demo_project.video(vid), index=demo_project.frame_index(vid))
    assert back.frames == frames
    if fmt != "csv":  # a PySceneDetect scene list has no notion of rejected scenes
        assert set(back.rejected_starts) == rejected


def test_ntsc_rate_is_exact(demo_project):
    vid = _video_id(demo_project, "demo_live.mp4")
    video = demo_project.video(vid)
    assert video.fps == Fraction(24000, 1001)
    demo_project.add_cut(vid, Cut(240))
    text = export_cuts(demo_project, vid, "sidecar")
    assert "00:00:10.010      240  manual" in text  # 240 * 1001 / 24000 s
    edl = export_cuts(demo_project, vid, "edl")
    assert "00:00:10:00" in edl  # NDF timecode counts frames at the nominal 24


def test_sidecar_rich_fields_round_trip(demo_project):
    vid = _video_id(demo_project, "demo_live.mp4")
    _setup_cuts(demo_project, vid)
    path = write_sidecar(demo_project, vid)
    assert path == sidecar_path(demo_project.video(vid).path)
    assert path.name == "demo_live.mp4.cuts.txt"
    back = read_cut_file(path, demo_project.video(vid), index=demo_project.frame_index(vid))
    stored = demo_project.cuts(vid)
    for a, b in zip(back.cuts, stored, strict=True):
        assert (a.frame, a.source, a.detector, a.score, a.kind) == (
            b.frame,
            b.source,
            b.detector,
            b.score,
            b.kind,
        )
        assert (a.span_start, a.span_end, a.uncertain) == (b.span_start, b.span_end, b.uncertain)
    assert not list(path.parent.glob("*.tmp"))


def test_vfr_video_round_trips(tmp_path):
    durations = [40, 40, 40, 80, 80, 33, 33, 33, 33, 120, 40, 40, 40, 40, 50, 60, 70, 80, 40, 40]
    folder = tmp_path / "vfr"
    folder.mkdir()
    synth.write_vfr_video(folder / "vfr.mkv", durations)
    with Project.create(tmp_path / "p") as project:
        drive(add_paths(project, [folder]))
        vid = project.videos()[0].id
        video = project.video(vid)
        assert video.vfr and video.frame_count == len(durations)
        for f in (3, 4, 9, 10, 15):
            project.add_cut(vid, Cut(f))
        project.set_segment_keep(vid, 9, False)
        text = export_cuts(project, vid, "sidecar")
        # frame 9 starts at 40*3 + 80*2 + 33*4 ms = 412 ms: real time, not 9 / average fps
        assert "00:00:00.412        9  manual reject" in text
        for fmt in cutfiles.FORMATS:
            out = export_cuts(project, vid, fmt, tmp_path / f"vfr.{fmt}")
            back = read_cut_file(out, video, index=project.frame_index(vid))
            assert back.frames == [3, 4, 9, 10, 15], fmt
        # a person may write only timecodes
        p = tmp_path / "hand.cuts.txt"
        p.write_text("00:00:00.412\n00:00:00.130 reject\n")
        back = read_cut_file(p, video, index=project.frame_index(vid))
        assert back.frames == [3, 9] and back.rejected_starts == [3]


def test_hand_edited_sidecar(demo_project, tmp_path):
    vid = _video_id(demo_project, "demo_transitions.mp4")  # 25 fps
    video = demo_project.video(vid)
    p = tmp_path / "edit.cuts.txt"
    p.write_text(
        "# my notes\n\n"
        "00:00:04.000  100  auto score=12\n"
        "50   # only a frame\n"
        "00:00:06.000 reject   # only a timecode: frame 150\n"
        "00:00:00.000  0  reject\n"
        "00:00:08.010  200  manual  \n"  # 10 ms off: within half a frame (20 ms)
    )
    got = read_cut_file(p, video)
    assert got.frames == [50, 100, 150, 200]
    assert got.rejected_starts == [0, 150]
    assert [c.source for c in got.cuts] == ["manual", "auto", "manual", "manual"]


BAD_LINES = [
    ("00:00:04.000  100\n00:00:05.000 1250\n", 2, "outside the video"),
    ("100\n0\n00:00:04.000 100\n", 3, "listed twice"),
    ("00:00:04.000  101\n", 1, "timecode says"),
    ("100 keeep\n", 1, "unknown word 'keeep'"),
    ("100\n00:00:61.0\n", 2, "not a timecode"),
    ("100 score=high\n", 1, "score='high' is not a number"),
    ("100 colour=red\n", 1, "unknown key 'colour'"),
    ("0 auto\n", 1, "frame 0 is the start"),
    ("reject\n", 1, "no frame number or timecode"),
    ("100 200\n", 1, "two frame numbers"),
    ("99:00:00.000\n", 1, "past the end"),
    ("10 span=9-3\n", 1, "span="),
]


@pytest.mark.parametrize(("text", "line", "problem"), BAD_LINES)
def test_bad_line_names_line_and_changes_nothing(demo_project, tmp_path, text, line, problem):
    vid = _video_id(demo_project, "demo_transitions.mp4")
    demo_project.add_cut(vid, Cut(60, "auto", "content", 9.0))
    demo_project.set_segment_keep(vid, 60, False)
    before = (demo_project.cuts(vid), demo_project.segments(vid))
    p = tmp_path / "bad.cuts.txt"
    p.write_text("# header\n" * 0 + text)
    with pytest.raises(CutFileError) as err:
        import_cuts(demo_project, vid, p)
    assert err.value.line == line
    assert problem in str(err.value)
    assert f"bad.cuts.txt, line {line}:" in str(err.value)
    assert (demo_project.cuts(vid), demo_project.segments(vid)) == before


def test_import_replaces_cuts_and_flags_and_rewrites_sidecar(demo_project, tmp_path):
    vid = _video_id(demo_project, "demo_anime.mp4")
    demo_project.add_cut(vid, Cut(10, "auto"))
    demo_project.remove_cut(vid, 10)  # a tombstone
    demo_project.add_cut(vid, Cut(20))
    demo_project.set_segment_keep(vid, 20, False)
    p = tmp_path / "new.cuts.txt"
    p.write_text("150 reject\n48\n84 auto score=3.5\n")  # out of order: sorted
    with pytest.raises(CutsWouldBeRemoved) as refused:
        import_cuts(demo_project, vid, p)  # it would drop the manual cut at 20 and its reject
    assert str(refused.value) == (
        f"{p}: importing it would remove 1 cut (1 manual) of demo_anime.mp4 and un-reject 1 of "
        "its segments; run again with --replace to replace them"
    )
    assert [c.frame for c in demo_project.cuts(vid)] == [20]
    got = import_cuts(demo_project, vid, p, replace=True)
    assert got.frames == [48, 84, 150]
    assert [c.frame for c in demo_project.cuts(vid, include_deleted=True)] == [48, 84, 150]
    assert [(s.start, s.keep) for s in demo_project.segments(vid)] == [
        (0, True),
        (48, True),
        (84, True),
        (150, False),
    ]
    side = sidecar_path(demo_project.video(vid).path).read_text()
    assert "84  auto score=3.5" in side and "150  manual reject" in side


def test_unwritable_folder_falls_back_to_project(demo_project, monkeypatch):
    vid = _video_id(demo_project, "demo_live.mp4")
    video = demo_project.video(vid)
    real = atomic.write_bytes

    def refuse(path: Path, data: bytes, **kwargs) -> None:
        if Path(path).parent == video.path.parent:
            raise PermissionError(13, "Permission denied", str(path))
        real(path, data, **kwargs)

    monkeypatch.setattr(atomic, "write_bytes", refuse)
    demo_project.add_cut(vid, Cut(60))
    path = write_sidecar(demo_project, vid)
    assert path.parent == demo_project.root / "sidecars"
    assert path.name.startswith("demo_live.mp4.") and path.name.endswith(".cuts.txt")
    assert cutfiles.find_sidecar(demo_project, video) == path
    assert read_cut_file(path, video).frames == [60]


def test_pyscenedetect_cli_csv(demo_project, tmp_path):
    """A CSV as the CLI writes it: 1-based frames, inclusive ends; a gap becomes a rejected shot."""
    vid = _video_id(demo_project, "demo_transitions.mp4")  # 25 fps, 254 frames
    video = demo_project.video(vid)
    n = video.frame_count
    p = tmp_path / "scenes.csv"
    p.write_text(
        "Timecode List:,00:00:02.000,00:00:04.000\n"
        "Scene Number,Start Frame,Start Timecode,Start Time (seconds),End Frame,End Timecode,"
        "End Time (seconds),Length (frames),Length (timecode),Length (seconds)\n"
        "1,1,00:00:00.000,0.000,50,00:00:02.000,2.000,50,00:00:02.000,2.000\n"
        "2,51,00:00:02.000,2.000,100,00:00:04.000,4.000,50,00:00:02.000,2.000\n"
        f"3,121,00:00:04.800,4.800,{n},x,0,0,x,0\n"
    )
    got = read_cut_file(p, video)
    assert got.frames == [50, 100, 120]
    assert got.rejected_starts == [100]
    p.write_text(p.read_text().replace("2,51,", "2,49,"))
    with pytest.raises(CutFileError, match="line 4: scene starting at frame 48 overlaps"):
        read_cut_file(p, video)


def test_edl_is_frame_exact_where_scenedetect_writer_is_not(project, tmp_path):
    from scenedetect.common import FrameTimecode
    from scenedetect.output import _edl_timecode

    # scenedetect's writer puts frame 29 at 25 fps one frame early (float floor)
    assert _edl_timecode(FrameTimecode(29, Fraction(25))) == "00:00:01:03"
    assert cutfiles._edl_tc(29, 25) == "00:00:01:04"


def test_not_a_cut_file(demo_project, tmp_path):
    video = demo_project.videos()[0]
    p = tmp_path / "x.bin"
    p.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(CutFileError, match="not a text file"):
        read_cut_file(p, video)
    with pytest.raises(CutFileError, match="file not found"):
        read_cut_file(tmp_path / "missing.cuts.txt", video)


def test_real_pyscenedetect_cli_csv(demo_project, tmp_path):
    """The scene list the `scenedetect` command writes imports as the same cut frames."""
    import subprocess
    import sys

    video = _video_by_name(demo_project, "demo_anime.mp4")
    out = tmp_path / "sd"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "scenedetect",
            "-i",
            str(video.path),
            "-o",
            str(out),
            "-q",
            "detect-content",
            "list-scenes",
        ],
        check=True,
        timeout=120,
    )
    csv_path = out / "demo_anime-Scenes.csv"
    listed = csv_path.read_text().splitlines()[0].split(",")[1:]  # the CLI's own cut timecodes
    from_timecodes = [round(cutfiles.parse_timecode(t) * video.fps) for t in listed]
    got = read_cut_file(csv_path, video)
    assert got.frames == from_timecodes
    truth = synth.Truth.load(str(video.path) + ".truth.json")
    assert got.frames == [c.frame for c in truth.cuts]
    assert got.rejected_starts == []


def _video_by_name(project: Project, name: str):
    return next(v for v in project.videos() if v.name == name)


def test_sidecar_of_another_video_is_refused(demo_project, tmp_path):
    live = _video_by_name(demo_project, "demo_live.mp4")
    anime = _video_by_name(demo_project, "demo_anime.mp4")
    demo_project.add_cut(live.id, Cut(60))
    text = export_cuts(demo_project, live.id, "sidecar")
    p = tmp_path / "wrong.cuts.txt"
    p.write_text(text)
    with pytest.raises(CutFileError, match=r"line 3: this cut list was written for a video of 308"):
        import_cuts(demo_project, anime.id, p)
    assert demo_project.cuts(anime.id) == []
    p.write_text("\n".join(ln for ln in text.splitlines() if "frames:" not in ln))
    # without the header line, the timecodes (24000/1001 fps) still give it away at 30 fps
    with pytest.raises(CutFileError, match="frame 60 is at 00:00:02.000 but the timecode says"):
        import_cuts(demo_project, anime.id, p)


def _cli(*argv: str) -> int:
    from workstation.cli import main

    return main(["-q", *argv])


def _state(project: Project, vid: int):
    return project.cuts(vid), project.segments(vid)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "# only a comment\n",
        "00:00:00.000  0  reject\n",  # rejects the first shot, but holds no cut
        "Scene Number,Start Frame,End Frame\n1,1,234\n",  # one scene: the whole video
        ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/25\nSTART=0\nEND=234\n",
        "TITLE: x\nFCM: NON-DROP FRAME\n001  AX V C 00:00:00:00 00:00:09:09 00:00:00:00 00:00:09:09\n",
    ],
)
def test_a_file_with_no_cuts_is_an_error_and_changes_nothing(demo_project, tmp_path, capsys, text):
    vid = _video_id(demo_project, "demo_transitions.mp4")  # 25 fps
    assert demo_project.video(vid).frame_count == 234
    demo_project.add_cut(vid, Cut(60))
    demo_project.set_segment_keep(vid, 60, False)
    before = _state(demo_project, vid)
    p = tmp_path / "empty.cuts.txt"
    p.write_text(text)
    with pytest.raises(CutFileError, match="holds no cuts") as err:
        import_cuts(demo_project, vid, p, replace=True)
    assert str(err.value) == (
        f"{p}: holds no cuts; nothing was imported and demo_transitions.mp4 is unchanged"
    )
    assert _cli("cuts", "import", str(demo_project.root), "demo_transitions.mp4", str(p)) == 1
    assert "holds no cuts" in capsys.readouterr().err
    assert _state(demo_project, vid) == before


def test_header_only_sidecar_of_a_video_without_cuts_is_refused(demo_project, tmp_path):
    """The issue's data loss: the header-only sidecar written before any cut was made."""
    live = _video_id(demo_project, "demo_live.mp4")
    header_only = export_cuts(demo_project, live, "sidecar", tmp_path / "a.cuts.txt")
    demo_project.add_cut(live, Cut(30))
    with pytest.raises(CutFileError, match="holds no cuts"):
        import_cuts(demo_project, live, header_only, replace=True)
    assert [c.frame for c in demo_project.cuts(live)] == [30]


def test_import_that_removes_cuts_needs_replace(demo_project, tmp_path, capsys):
    vid = _video_id(demo_project, "demo_transitions.mp4")
    for f in (40, 80):
        demo_project.add_cut(vid, Cut(f))
    demo_project.add_cut(vid, Cut(120, "auto", "content", 9.0))
    before = _state(demo_project, vid)
    p = tmp_path / "fewer.cuts.txt"
    p.write_text("80\n")
    args = ("cuts", "import", str(demo_project.root), "demo_transitions.mp4", str(p))
    assert _cli(*args) == 1
    err = capsys.readouterr().err
    assert (
        "would remove 2 cuts (1 manual) of demo_transitions.mp4; run again with --replace to "
        "replace them" in err
    )
    assert "Traceback" not in err
    assert _state(demo_project, vid) == before
    assert _cli(*args, "--replace") == 0
    assert (
        "imported 1 cuts into demo_transitions.mp4 (0 added, 2 removed)" in capsys.readouterr().err
    )
    assert [c.frame for c in demo_project.cuts(vid)] == [80]


def test_import_that_only_adds_is_a_merge_and_needs_no_replace(demo_project, tmp_path):
    vid = _video_id(demo_project, "demo_transitions.mp4")
    demo_project.add_cut(vid, Cut(40))
    demo_project.set_segment_keep(vid, 40, False)
    p = tmp_path / "more.cuts.txt"
    p.write_text("40 reject\n90 auto\n")
    plan = cutfiles.plan_import(demo_project, vid, p)
    assert (plan.removed, plan.unrejected, plan.added) == (0, 0, 1)
    assert import_cuts(demo_project, vid, p).frames == [40, 90]
    assert [(s.start, s.keep) for s in demo_project.segments(vid)] == [
        (0, True),
        (40, False),
        (90, True),
    ]


def test_losing_a_reject_mark_needs_replace(demo_project, tmp_path):
    """A PySceneDetect CSV cannot say 'rejected': importing one would un-reject segments."""
    vid = _video_id(demo_project, "demo_transitions.mp4")
    demo_project.add_cut(vid, Cut(50))
    demo_project.set_segment_keep(vid, 50, False)
    p = tmp_path / "s.csv"
    p.write_text("Scene Number,Start Frame,End Frame\n1,1,50\n2,51,234\n")
    with pytest.raises(
        CutsWouldBeRemoved, match=r"remove 0 cuts \(0 manual\) of demo_tr.*un-reject 1"
    ):
        import_cuts(demo_project, vid, p)
    assert not demo_project.segments(vid)[1].keep


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("²0", "'²0' is not a timecode (HH:MM:SS.mmm) or a frame number"),
        ("١٢", "'١٢' is not a timecode (HH:MM:SS.mmm) or a frame number"),
        ("00:00:0².000", "'00:00:0².000' is not a timecode"),
        ("1" * 5000, "frame number '1111111111111111111111111111111111111111'… is too large"),
        ("100 score=١", "score='١' is not a number"),
        ("100 score=1e999", "score='1e999' is not a finite number"),
        ("100 span=²-3", "span='²-3' must be FIRST-LAST frames"),
        ("00:00:01." + "0" * 5000, "'00:00:01.0000000000000000000000000000000'… is not a timecode"),
    ],
)
def test_non_ascii_and_huge_numbers_name_the_line(demo_project, tmp_path, line, problem):
    video = _video_by_name(demo_project, "demo_transitions.mp4")
    p = tmp_path / "odd.cuts.txt"
    p.write_text(f"# notes\n{line}\n")
    with pytest.raises(CutFileError) as err:
        read_cut_file(p, video)
    assert f"odd.cuts.txt, line 2: {problem}" in str(err.value)
    assert len(str(err.value)) < 300


@pytest.mark.parametrize("name", ["two\nlines.mp4", "cr\rand\x0cff\x1c\x85\u2028.mp4", "tab\t.mp4"])
def test_video_name_with_line_breaks_gives_a_readable_sidecar(demo_project, tmp_path, name):
    import dataclasses

    vid = _video_id(demo_project, "demo_transitions.mp4")
    video = dataclasses.replace(demo_project.video(vid), path=tmp_path / name)
    cuts = [Cut(40), Cut(90, "auto", "content", 2.5)]
    text = cutfiles.render_sidecar(video, cuts, {90})
    header = text.split("\n")[1]
    assert header.startswith("# video: ") and header.isprintable()
    assert len(text.splitlines()) == len(text.split("\n")) - 1  # no line break but \n
    p = tmp_path / (name + ".cuts.txt")
    p.write_text(text)
    back = read_cut_file(p, video)
    assert back.frames == [40, 90] and back.rejected_starts == [90]
    for fmt in ("edl", "ffmetadata"):
        rendered = (
            cutfiles.render_edl(video, cuts, {90})
            if fmt == "edl"
            else cutfiles.render_ffmetadata(video, cuts, {90})
        )
        q = tmp_path / f"x.{fmt}"
        q.write_text(rendered)
        assert read_cut_file(q, video).frames == [40, 90], fmt


def test_old_sidecar_with_a_raw_control_character_in_its_header_reads(demo_project, tmp_path):
    video = _video_by_name(demo_project, "demo_transitions.mp4")
    p = tmp_path / "old.cuts.txt"
    p.write_text("# Motion Dataset Workstation cut list, format 1\n# video: a\x0cb.mp4\n40\n")
    assert read_cut_file(p, video).frames == [40]


def test_sidecar_and_export_keep_the_file_mode(demo_project, tmp_path):
    import os
    import stat

    vid = _video_id(demo_project, "demo_live.mp4")
    demo_project.add_cut(vid, Cut(60))
    side = sidecar_path(demo_project.video(vid).path)
    mask = os.umask(0o022)
    os.umask(mask)
    assert write_sidecar(demo_project, vid) == side
    assert stat.S_IMODE(side.stat().st_mode) == 0o666 & ~mask  # new: as open() would make it
    os.chmod(side, 0o664)
    demo_project.add_cut(vid, Cut(90))
    write_sidecar(demo_project, vid)
    assert stat.S_IMODE(side.stat().st_mode) == 0o664 and "90  manual" in side.read_text()
    out = tmp_path / "cuts.edl"
    export_cuts(demo_project, vid, "edl", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask
    os.chmod(out, 0o664)
    export_cuts(demo_project, vid, "csv", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o664


def test_writing_a_sidecar_sweeps_dead_writers_temps(demo_project):
    import subprocess
    import sys

    vid = _video_id(demo_project, "demo_live.mp4")
    folder = demo_project.video(vid).path.parent
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    stale = folder / f".demo_live.mp4.cuts.txt.ws-{dead}.tmp"
    stale.write_text("half a sidecar")
    mine = folder / ".notes.tmp"  # not a workstation temp: left alone
    mine.write_text("x")
    write_sidecar(demo_project, vid)
    assert not stale.exists() and mine.exists()


def test_a_full_disk_is_named_not_a_traceback(demo_project, tmp_path, monkeypatch, capsys):
    import errno

    from workstation.core.errors import WorkstationError

    vid = _video_id(demo_project, "demo_live.mp4")
    demo_project.add_cut(vid, Cut(60))

    def full(path, data, *, mode=None, durable=True):
        raise OSError(errno.ENOSPC, "No space left on device", str(atomic.temp_path(Path(path))))

    monkeypatch.setattr(atomic, "write_bytes", full)
    side = sidecar_path(demo_project.video(vid).path)
    with pytest.raises(WorkstationError) as err:
        write_sidecar(demo_project, vid)
    assert str(err.value) == f"{side}: cannot write: the disk is full"
    out = tmp_path / "x.csv"
    code = _cli("cuts", "export", str(demo_project.root), "demo_live.mp4", "-o", str(out))
    assert code == 1
    assert f"error: {out}: cannot write: the disk is full" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


def test_a_chapter_before_the_start_says_so(demo_project, tmp_path):
    video = _video_by_name(demo_project, "demo_transitions.mp4")
    p = tmp_path / "neg.ffmetadata.txt"
    p.write_text(";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/25\nSTART=-40\nEND=9\n")
    with pytest.raises(
        CutFileError, match=r"line 2: chapter time -00:00:01.600 is outside the video"
    ):
        read_cut_file(p, video)
