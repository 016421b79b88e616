"""The operations kill -9 is tried on, each a campaign (see :mod:`fault_tools`).

A :class:`World` is built once: two tiny generated videos (64x36, 4 shots each), a
``template`` project (videos added, the true cuts set, nothing split) and a ``base`` project
(the template split into 8 clips, tagged and partly captioned).  Each campaign copies what it
changes, measures an uninterrupted run, then per trial: kill, check, re-run, compare.

* ``split``: ``workstation split`` on a fresh copy of the template;
* ``export-pairs`` / ``export-webvid`` / ``export-webdataset``: ``workstation export`` of the
  base project into a new folder (even trials) or over an earlier export made with other
  settings (odd trials); webvid re-encodes (``size=32``), pairs and webdataset copy;
* ``tags``: a sequence of review edits (``tags add``, ``tags remove``, ``set-caption``,
  ``review``) on one copy of the base project, each killed, so every earlier edit must
  still be there;
* ``cuts-import``: ``cuts import`` (one transaction, then the ``.cuts.txt`` sidecar beside the
  video), alternating two cut files;
* ``cuts-export``: ``cuts export -o FILE`` in each format, all into the same file;
* ``sidecars-write``: ``sidecars --set trigger=... --write`` (the clip ``.txt`` writer).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fault_tools import (
    SEED,
    VIDEO_SUFFIXES,
    Campaign,
    Ran,
    Trial,
    clip_frames,
    clip_rows,
    cut_state,
    decoded_frames,
    diff_names,
    digests,
    file_problems,
    first_difference,
    integrity,
    review_state,
    row_problems,
    run,
    temp_files,
    texts,
    video_problem,
)

from workstation.core import cliptext, review, synth
from workstation.core.cutfiles import FORMATS, export_cuts
from workstation.core.ingest import add_paths
from workstation.core.progress import drive
from workstation.core.slicing import split_project
from workstation.core.store import DB_NAME, Cut, Project

SEQUENCES = {
    "a.mp4": synth.Sequence(
        [
            synth.Shot("shapes", 64, seed=1),
            synth.Shot("texture", 48, seed=2),
            synth.Shot("gradient", 56, seed=3),
            synth.Shot("fast", 40, seed=4),
        ]
    ),
    "b.mp4": synth.Sequence(
        [
            synth.Shot("anime", 52, seed=5),
            synth.Shot("dark", 44, seed=6),
            synth.Shot("shapes", 60, seed=7),
            synth.Shot("texture", 48, seed=8),
        ]
    ),
}


@dataclass
class World:
    root: Path
    videos: Path
    template: Path  # videos added, true cuts set, not split
    base: Path  # split, tagged, captioned: exported from, copied for edits
    startup: float  # seconds of a command that changes nothing (`status`)

    def fresh(self, name: str) -> Path:
        path = self.root / name
        if path.exists():
            shutil.rmtree(path)
        return path


def make_world(root: Path, *, width: int = 64, height: int = 36) -> World:
    videos = root / "videos"
    for name, seq in SEQUENCES.items():
        synth.write_video(videos / name, seq, width=width, height=height, fps=24, gop=12)
    template = root / "template"
    with Project.create(template) as p:
        drive(add_paths(p, [videos / n for n in SEQUENCES]))
        for v in p.videos():
            for c in synth.Truth.load(str(v.path) + ".truth.json").cuts:
                p.add_cut(v.id, Cut(c.frame))
    base = root / "base"
    shutil.copytree(template, base)
    with Project.open(base) as p:
        drive(split_project(p, workers=0))
        ids = sorted(c.id for c in p.clips())
        review.add_tags(p, ids, ["dog", "running"])
        review.add_tags(p, ids[::2], ["half"])
        review.set_caption(p, ids[1::3], "a caption, with a comma")
    startup = min(_ok(run("status", template), "status").seconds for _ in range(2))
    return World(root, videos, template, base, startup)


def _ok(ran: Ran, what: str) -> Ran:
    """An uninterrupted set-up run must succeed (otherwise the campaign means nothing)."""
    if ran.rc != 0:
        raise RuntimeError(f"{what}: exited {ran.rc}: {ran.stderr[-2000:]}")
    return ran


def _temps(c: Campaign, t: Trial, *folders: Path) -> None:
    c.add_all("temps", t, (f"{p} left after the re-run" for p in temp_files(*folders)))


# ---------------------------------------------------------------------------------------------
# split
# ---------------------------------------------------------------------------------------------
def split(world: World, runs: int, seed: int = SEED) -> Campaign:
    c = Campaign("split", runs, seed, world.startup)
    ref = world.fresh("split-ref")
    shutil.copytree(world.template, ref)
    c.duration = _ok(run("split", ref, progress=True), "split").work
    want_rows, want_files, cuts = clip_rows(ref), digests(ref / "clips"), cut_state(ref)
    for t in c.plan():
        d = world.fresh(f"split-{t.index}")
        shutil.copytree(world.template, d)
        c.kill(t, ["split", d], c.duration, progress=True)
        c.left(t, d)
        c.add_all("crash", t, integrity(d / DB_NAME))
        c.add_all("crash", t, file_problems(d / "clips", clip_frames))
        c.add_all("crash", t, row_problems(d))
        if cut_state(d) != cuts:
            c.add("crash", t, "the split changed the cuts")
        if c.rerun(t, "split", d):
            if (rows := clip_rows(d)) != want_rows:
                c.add("rerun", t, f"clip rows differ: {sorted(set(rows) ^ set(want_rows))[:4]}")
            got = digests(d / "clips")
            if names := diff_names(got, want_files):
                c.add("rerun", t, f"clip files differ: {names}")
            else:
                changed = sorted(k for k in got if got[k] != want_files[k])
                if changed:
                    c.add(
                        "bytes", t, f"{len(changed)} clips re-encoded to other bytes: {changed[:3]}"
                    )
        _temps(c, t, d)
        shutil.rmtree(d)
    return c


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------
def _video_frames(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): decoded_frames(p)
        for p in sorted(folder.rglob("*"))
        if p.suffix in VIDEO_SUFFIXES and not p.name.startswith(".")
    }


def _manifest_problems(out: Path) -> list[str]:
    """The manifest (when there is one) lists only videos complete on disk."""
    path = out / "export.json"
    if not path.exists():
        return []
    try:
        items = json.loads(path.read_text())["items"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"export.json unreadable: {exc}"]
    out_problems = []
    for key, item in items.items():
        video = out / item["video"]
        if not video.is_file():
            out_problems.append(f"export.json lists {key} but {item['video']} is missing")
        elif problem := video_problem(video, item.get("frames")):
            out_problems.append(f"export.json lists {key}: {problem}")
    return out_problems


def export(fmt: str, sets: list[str], prior: list[str], copies: bool) -> Callable[..., Campaign]:
    """A campaign of ``export --format fmt --set ...``; odd trials export over an earlier
    export made with ``prior`` options; ``copies``: its videos are byte copies of the clips."""

    def campaign(world: World, runs: int, seed: int = SEED) -> Campaign:
        op = f"export-{fmt}"
        c = Campaign(op, runs, seed, world.startup)

        def args(out: Path) -> list[str | Path]:
            return ["export", world.base, "--format", fmt, "--out", out, *sets]

        ref = world.fresh(f"{op}-ref")
        c.duration = _ok(run(*args(ref), progress=True), op).work
        want, frames = digests(ref), _video_frames(ref)
        old = world.fresh(f"{op}-prior")
        _ok(run("export", world.base, "--format", fmt, "--out", old, *prior), op)
        known = set(want) | set(digests(old))
        frames_any = {**_video_frames(old), **frames}
        before = clip_rows(world.base), review_state(world.base)
        for t in c.plan():
            out = world.fresh(f"{op}-{t.index}")
            if t.index % 2:
                shutil.copytree(old, out)
            c.kill(t, args(out), c.duration, progress=True)
            c.left(t, out, world.base)
            c.add_all("crash", t, integrity(world.base / DB_NAME))
            if (clip_rows(world.base), review_state(world.base)) != before:
                c.add("crash", t, "the export changed the project")
            c.add_all("crash", t, _export_problems(out, frames_any, known))
            if c.rerun(t, *args(out)):
                _compare_export(c, t, out, want, frames, copies)
            _temps(c, t, out, world.base)
            shutil.rmtree(out)
        return c

    return campaign


def _export_problems(out: Path, frames: dict[str, int], known: set[str]) -> list[str]:
    """Whole files only, the manifest true, and no file that neither run writes."""
    found = file_problems(out, lambda p: frames.get(str(p.relative_to(out))))
    strays = sorted(set(digests(out)) - known)
    if strays:
        found.append(f"files no run writes: {strays[:4]}")
    return found + _manifest_problems(out)


def _compare_export(
    c: Campaign, t: Trial, out: Path, want: dict[str, str], frames: dict[str, int], copies: bool
) -> None:
    got = digests(out)
    if names := diff_names(got, want):
        c.add("rerun", t, f"export files differ: {names}")
        return
    reencoded: list[str] = []
    for rel in sorted(want):
        if rel in frames and (n := decoded_frames(out / rel)) != frames[rel]:
            c.add("rerun", t, f"{rel}: {n} frames instead of {frames[rel]}")
        elif got[rel] != want[rel]:
            # Text files and copies must be the same bytes; re-encoded videos are
            # byte-reproducible only once issue 12 item 5 lands (EXPORT_BYTE_EXACT in the test).
            if not copies and rel.endswith((*VIDEO_SUFFIXES, ".tar")):
                reencoded.append(rel)
            else:
                c.add("rerun", t, f"{rel}: other bytes than an uninterrupted export")
    if reencoded:
        c.add("bytes", t, f"{len(reencoded)} videos re-encoded to other bytes: {reencoded[:3]}")


# ---------------------------------------------------------------------------------------------
# tag edits
# ---------------------------------------------------------------------------------------------
def tag_edit(d: Path, k: int) -> list[str | Path]:
    """The k-th review edit of the sequence."""
    step = k % 4
    if step == 0:
        return ["tags", "add", d, f"t{k}"]
    if step == 1:
        return ["tags", "remove", d, f"t{k - 1}", "dog", "--filter", "tag:half"]
    if step == 2:
        return ["set-caption", d, f"caption {k}", "--filter", "tag:half"]
    return ["review", d, "--filter=-tag:half", *(["--unmark"] if k % 8 == 7 else [])]


def tags(world: World, runs: int, seed: int = SEED) -> Campaign:
    c = Campaign("tags", runs, seed, world.startup)
    ref = world.fresh("tags-ref")
    shutil.copytree(world.base, ref)
    states, txts, durations = [review_state(ref)], [texts(ref / "clips")], []
    for k in range(runs):
        durations.append(_ok(run(*tag_edit(ref, k)), f"edit {k}").seconds)
        states.append(review_state(ref))
        txts.append(texts(ref / "clips"))
    c.duration = sum(durations) / max(1, len(durations))
    d = world.fresh("tags")
    shutil.copytree(world.base, d)
    for t in c.plan():
        k = t.index
        ran = c.kill(t, tag_edit(d, k), durations[k])
        c.left(t, d)
        c.add_all("crash", t, integrity(d / DB_NAME))
        now = review_state(d)
        if ran.rc == 0 and now != states[k + 1]:
            c.add("crash", t, f"exited 0, edit missing: {first_difference(now, states[k + 1])}")
        elif now not in (states[k], states[k + 1]):
            c.add("crash", t, f"half applied or lost: {first_difference(now, states[k])}")
        c.add_all("crash", t, file_problems(d / "clips", clip_frames))
        _txt_after_kill(c, t, texts(d / "clips"), txts, k)
        if c.rerun(t, *tag_edit(d, k)):
            if (now := review_state(d)) != states[k + 1]:
                c.add("rerun", t, f"state differs: {first_difference(now, states[k + 1])}")
            got = texts(d / "clips")
            if got != txts[k + 1]:
                c.add("stale", t, f".txt not reconciled: {first_difference(got, txts[k + 1])}")
                # The next trial starts from files in line with the database.
                _ok(run("sidecars", d, "--write"), "sidecars --write")
        _temps(c, t, d)
    return c


def _txt_after_kill(
    c: Campaign, t: Trial, got: dict[str, str], txts: list[dict[str, str]], k: int
) -> None:
    """Each clip .txt holds the text of before or after the edit, never a part of one."""
    for rel, text in sorted(got.items()):
        if text in (txts[k].get(rel), txts[k + 1].get(rel)):
            continue
        if any(text == old.get(rel) for old in txts[:k]):
            c.add("stale", t, f"{rel}: holds the text of an older state")
        else:
            c.add("crash", t, f"{rel}: holds a text no state gives ({text[:60]!r})")


# ---------------------------------------------------------------------------------------------
# the sidecar writers
# ---------------------------------------------------------------------------------------------
def cuts_import(world: World, runs: int, seed: int = SEED) -> Campaign:
    """``cuts import`` of two cut files in turn; the sidecar lands beside the video."""
    c = Campaign("cuts-import", runs, seed, world.startup)
    root = world.fresh("cuts-import")
    videos, proj = root / "videos", root / "proj"
    videos.mkdir(parents=True)
    for n in SEQUENCES:
        shutil.copy(world.videos / n, videos / n)
    files = [root / "B.cuts.txt", root / "A.cuts.txt"]
    with Project.create(proj) as p:
        drive(add_paths(p, [videos / n for n in SEQUENCES]))
        vid = p.find_video("a.mp4").id
        truth = [Cut(c.frame) for c in synth.Truth.load(world.videos / "a.mp4.truth.json").cuts]
        p.replace_all_cuts(vid, [*truth[:-1], Cut(truth[-1].frame + 3)])
        p.set_segment_keep(vid, 0, False)
        export_cuts(p, vid, "sidecar", files[0])
        p.replace_all_cuts(vid, truth)
        p.clear_segment_flags(vid)
        export_cuts(p, vid, "sidecar", files[1])
    states = {}
    for f in (files[1], files[0], files[1]):  # measures the run; ends on A, so trial 0 changes
        c.duration = _ok(
            run("cuts", "import", proj, "a.mp4", f, "--replace"), "cuts import"
        ).seconds
        states[f] = cut_state(proj)["a.mp4"]
    sidecar = videos / "a.mp4.cuts.txt"
    for t in c.plan():
        f = files[t.index % 2]
        before, after = states[files[(t.index + 1) % 2]], states[f]
        text_before, text_after = sidecar.read_text(), f.read_text()
        ran = c.kill(t, ["cuts", "import", proj, "a.mp4", f, "--replace"], c.duration)
        c.left(t, videos, proj)
        c.add_all("crash", t, integrity(proj / DB_NAME))
        now = cut_state(proj)["a.mp4"]
        if ran.rc == 0 and now != after:
            c.add("crash", t, "exited 0 but the imported cuts are missing")
        elif now not in (before, after):
            c.add("crash", t, f"cuts half imported: {now}")
        if sidecar.read_text() not in (text_before, text_after):
            c.add("crash", t, f"{sidecar.name}: neither the old nor the new cut list")
        if c.rerun(t, "cuts", "import", proj, "a.mp4", f, "--replace"):
            if cut_state(proj)["a.mp4"] != after:
                c.add("rerun", t, "the re-run did not leave the file's cuts")
            if sidecar.read_text() != text_after:
                c.add("rerun", t, f"{sidecar.name} does not match the project after the re-run")
        _temps(c, t, videos, proj)
    return c


def cuts_export(world: World, runs: int, seed: int = SEED) -> Campaign:
    """``cuts export -o FILE`` in every format and of both videos, all into one file."""
    c = Campaign("cuts-export", runs, seed, world.startup)
    out = world.fresh("cuts-export")
    out.mkdir()
    target, names = out / "cuts.txt", list(SEQUENCES)
    with Project.open(world.base) as p:
        expected = {
            (n, f): str(export_cuts(p, p.find_video(n).id, f)) for n in names for f in FORMATS
        }
    probe = ["cuts", "export", world.base, names[0], "--format", "sidecar", "-o", out / "p.txt"]
    c.duration = _ok(run(*probe), "cuts export").seconds
    (out / "p.txt").unlink()
    for t in c.plan():
        job = (names[t.index % 2], FORMATS[(t.index // 2) % len(FORMATS)])
        args = ["cuts", "export", world.base, job[0], "--format", job[1], "-o", target]
        before = target.read_text() if target.exists() else None
        ran = c.kill(t, args, c.duration)
        c.left(t, out)
        c.add_all("crash", t, integrity(world.base / DB_NAME))
        now = target.read_text() if target.exists() else None
        if ran.rc == 0 and now != expected[job]:
            c.add("crash", t, f"exited 0 but {target.name} is not the {job[1]} cut list")
        elif now not in (before, expected[job]):
            c.add("crash", t, f"{target.name}: neither the old nor the new {job[1]} cut list")
        if c.rerun(t, *args) and target.read_text() != expected[job]:
            c.add("rerun", t, f"{target.name}: not the {job[1]} cut list after the re-run")
        _temps(c, t, out)
    return c


def _clip_texts(root: Path, **changes: Any) -> dict[str, str]:
    """What every clip's .txt holds with the sidecar settings changed so."""
    with Project.open(root) as p:
        settings = replace(cliptext.load_settings(p), **changes)
        return {
            str(path.relative_to(p.clips_dir)): text
            for path, text in cliptext.sidecar_texts(p, None, settings).values()
        }


def sidecars_write(world: World, runs: int, seed: int = SEED) -> Campaign:
    c = Campaign("sidecars-write", runs, seed, world.startup)
    d = world.fresh("sidecars")
    shutil.copytree(world.base, d)
    probe = ["sidecars", d, "--set", "trigger=probe", "--write"]
    c.duration = _ok(run(*probe, progress=True), "sidecars --write").work
    for t in c.plan():
        trigger = f"sks{t.index}"
        before, want = texts(d / "clips"), _clip_texts(d, trigger=trigger)
        args = ["sidecars", d, "--set", f"trigger={trigger}", "--write"]
        ran = c.kill(t, args, c.duration, progress=True)
        c.left(t, d)
        c.add_all("crash", t, integrity(d / DB_NAME))
        now = texts(d / "clips")
        if ran.rc == 0 and now != want:
            c.add("crash", t, f"exited 0 but: {first_difference(now, want)}")
        for rel in sorted(set(now) | set(want)):
            if now.get(rel) not in (before.get(rel), want.get(rel)):
                c.add("crash", t, f"{rel}: neither the old nor the new text ({now.get(rel)!r})")
        if c.rerun(t, *args) and (now := texts(d / "clips")) != want:
            c.add("rerun", t, f"clip texts after the re-run: {first_difference(now, want)}")
        _temps(c, t, d)
    return c


CAMPAIGNS: dict[str, Callable[..., Campaign]] = {
    "split": split,
    "export-pairs": export("pairs", [], ["--filter", "tag:half"], copies=True),
    "export-webvid": export("webvid", ["--set", "size=32"], ["--set", "size=24"], copies=False),
    "export-webdataset": export("webdataset", [], ["--filter", "tag:half"], copies=True),
    "tags": tags,
    "cuts-import": cuts_import,
    "cuts-export": cuts_export,
    "sidecars-write": sidecars_write,
}


def conduct(op: str, world: World, runs: int, seed: int = SEED) -> Campaign:
    """Run one campaign and time it."""
    t0 = time.monotonic()
    c = CAMPAIGNS[op](world, runs, seed)
    c.seconds = time.monotonic() - t0
    return c
