"""Kill -9 fault injection through the command line: the machinery, the checks, and what a
project holds (clip rows, cuts, review state) read through the store's API.

A command runs as a subprocess in its own session (``python -m workstation.cli ...``) and gets
``SIGKILL`` (its whole process group) after a delay drawn, from a seeded ``random.Random``,
inside the measured duration of an uninterrupted run of the same command.  What it left is
then checked (database integrity, every file under a final name complete, committed edits
present), the command is run again to the end and its result compared with the uninterrupted
run's.  The operations themselves are in :mod:`fault_campaigns`; the bounded suite is
tests/core/test_fault_injection.py and bench/fault_campaign.py runs longer campaigns.

Problems are sorted into kinds, so a test can hold each promise on its own:

* ``crash``: after the kill: a damaged database, a partial or unreadable file under a final
  name, a committed edit missing, an edit half applied;
* ``rerun``: the re-run failed, or its result differs from an uninterrupted run's in what is
  promised today (rows, file list, frame counts, the bytes of text files and copies);
* ``temps``: a temp file (``*.tmp``, the slicer's ``.*.part``) still there after the re-run;
* ``stale``: a derived file (a clip's ``.txt``) that the re-run did not bring back in line
  with the database;
* ``bytes``: a re-encoded export video whose bytes differ from an uninterrupted run's.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from workstation.core import review
from workstation.core.slicing import PENDING
from workstation.core.store import Project

REPO = Path(__file__).resolve().parents[2]
SEED = 1234
KINDS = ("crash", "rerun", "temps", "stale", "bytes")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov")
DB_FILES = re.compile(r"^project\.wsdb(-wal|-shm|-journal)?$")
CLIP_RANGE = re.compile(r"_f(\d+)-(\d+)\.mp4$")


# ---------------------------------------------------------------------------------------------
# Running and killing
# ---------------------------------------------------------------------------------------------
def command(*args: str | Path, quiet: bool = True) -> list[str]:
    return [sys.executable, "-m", "workstation.cli", *(["-q"] if quiet else []), *map(str, args)]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["HF_HUB_OFFLINE"] = "1"
    return env


@dataclass
class Ran:
    rc: int  # -9: killed
    seconds: float  # from the start to the exit
    stderr: str
    first_output: float | None = None  # seconds from the start to its first progress line

    @property
    def killed(self) -> bool:
        return self.rc == -signal.SIGKILL

    @property
    def work(self) -> float:
        """Seconds from its first progress line (the imports are done, the work begins) to its
        exit; the whole run when it printed nothing."""
        return self.seconds - (self.first_output or 0.0)


def execute(
    args: Iterable[str | Path],
    *,
    progress: bool = False,
    kill_after: float | None = None,
    timeout: float = 300,
) -> Ran:
    """Run a command in its own session, with its progress lines on stderr when ``progress``.

    ``kill_after``: SIGKILL its process group that many seconds after its first progress line
    (``progress``) or after its start, unless it exits first (its own exit code is returned).
    """
    t0 = time.monotonic()
    p = subprocess.Popen(
        command(*args, quiet=not progress),
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert p.stderr is not None
    chunks: list[bytes] = []
    first: list[float] = []
    spoke = threading.Event()

    def read(fd: int) -> None:
        while chunk := os.read(fd, 65536):
            if not first:
                first.append(time.monotonic() - t0)
                spoke.set()
            chunks.append(chunk)
        spoke.set()

    reader = threading.Thread(target=read, args=(p.stderr.fileno(),), daemon=True)
    reader.start()
    try:
        if kill_after is not None:
            if progress:
                spoke.wait(timeout)
            anchor = t0 + (first[0] if progress and first else 0.0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=max(0.0, anchor + kill_after - time.monotonic()))
            if p.poll() is None:
                _kill_group(p)
        p.wait(timeout=timeout)
    finally:
        if p.poll() is None:
            _kill_group(p)
        reader.join(timeout)
        p.stderr.close()
    text = b"".join(chunks).decode("utf-8", "replace")
    return Ran(p.wait(), time.monotonic() - t0, text, first[0] if first else None)


def _kill_group(p: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def run(*args: str | Path, progress: bool = False, timeout: float = 300) -> Ran:
    """Run a command to its end."""
    return execute(args, progress=progress, timeout=timeout)


# ---------------------------------------------------------------------------------------------
# A campaign: trials, their delays, the problems found
# ---------------------------------------------------------------------------------------------
@dataclass
class Trial:
    op: str
    index: int
    seed: int
    fraction: float  # where in the window the kill lands, 0..1
    delay: float = 0.0
    window: float = 0.0
    anchor: str = "its start"
    outcome: str = ""

    def label(self) -> str:
        return (
            f"{self.op} #{self.index} (seed {self.seed}, kill {self.delay:.3f} s after "
            f"{self.anchor} of a {self.window:.3f} s run, {self.outcome or 'not run'})"
        )


@dataclass
class Campaign:
    op: str
    runs: int
    seed: int = SEED
    startup: float = 0.0  # seconds a command that does nothing takes (imports, open)
    duration: float = 0.0  # seconds of the uninterrupted run (after its first progress line)
    killed: int = 0  # trials killed while running
    finished: int = 0  # trials that finished before their kill
    left_temps: int = 0  # trials whose kill left a temp file behind (before the re-run)
    seconds: float = 0.0
    trials: list[Trial] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})

    def plan(self) -> list[Trial]:
        """The trials, each at its own random point of one of ``runs`` equal parts of the
        window (in a random order), so the kills spread over the whole run and a few land
        early enough to catch it working."""
        rng = random.Random(f"{self.seed}:{self.op}")
        parts = list(range(self.runs))
        rng.shuffle(parts)
        self.trials = [
            Trial(self.op, i, self.seed, (part + rng.random()) / self.runs)
            for i, part in enumerate(parts)
        ]
        return self.trials

    def kill(
        self, trial: Trial, args: Iterable[str | Path], window: float, *, progress: bool = False
    ) -> Ran:
        """Run ``args`` and kill it inside ``window``: the seconds an uninterrupted run took
        after its first progress line (``progress``, for commands that print one as their
        work begins), or in all (then from most of the start-up time, the imports, on)."""
        if progress:
            trial.anchor, trial.window = "its first progress line", window
            trial.delay = trial.fraction * window
        else:
            earliest = 0.8 * min(self.startup, window)
            trial.window = window
            trial.delay = earliest + trial.fraction * (window - earliest)
        ran = execute(args, progress=progress, kill_after=trial.delay)
        if ran.killed:
            self.killed += 1
            trial.outcome = "killed"
        else:
            self.finished += 1
            trial.outcome = f"exited {ran.rc} first"
            if ran.rc != 0:
                self.add("crash", trial, f"exited {ran.rc} before the kill: {ran.stderr[-500:]}")
        return ran

    def left(self, trial: Trial, *folders: Path) -> None:
        """Note the temp files the kill left (the re-run's sweep should remove them)."""
        found = temp_files(*folders)
        if found:
            self.left_temps += 1
            more = f" +{len(found) - 1}" if found[1:] else ""
            trial.outcome += f", left {found[0].name}{more}"

    def rerun(self, trial: Trial, *args: str | Path) -> bool:
        ran = run(*args)
        if ran.rc != 0:
            self.add("rerun", trial, f"the re-run exited {ran.rc}: {ran.stderr[-500:]}")
        return ran.rc == 0

    def add(self, kind: str, trial: Trial, message: str) -> None:
        self.problems[kind].append(f"{trial.label()}: {message}")

    def add_all(self, kind: str, trial: Trial, messages: Iterable[str]) -> None:
        for m in messages:
            self.add(kind, trial, m)

    def summary(self) -> str:
        found = ", ".join(f"{k} {len(v)}" for k, v in self.problems.items() if v) or "none"
        return (
            f"{self.op}: {self.runs} runs ({self.killed} killed, {self.finished} finished "
            f"first, {self.left_temps} left temps), uninterrupted {self.duration:.2f} s, campaign {self.seconds:.1f} s; "
            f"problems: {found}"
        )


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------
def integrity(db: Path) -> list[str]:
    """Problems ``PRAGMA integrity_check`` and ``foreign_key_check`` find (none: [])."""
    if not db.exists():
        return [f"{db.name} is missing"]
    con = sqlite3.connect(db, timeout=30)
    try:
        rows = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
        keys = con.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [f"{db.name}: {exc}"]
    finally:
        con.close()
    out = [] if rows == ["ok"] else [f"integrity_check: {'; '.join(rows)[:300]}"]
    return out + [f"foreign_key_check: {tuple(k)}" for k in keys[:5]]


def is_temp(path: Path) -> bool:
    """A writer's temp name (``.a.mp4.ws-12.tmp``, ``x.tmp``, the slicer's ``.a.mp4.12.part``)."""
    n = path.name
    return n.endswith(".tmp") or (n.startswith(".") and n.endswith(".part"))


def temp_files(*folders: Path) -> list[Path]:
    """Every temp file or folder under these folders."""
    return sorted(p for f in folders if f.is_dir() for p in f.rglob("*") if is_temp(p))


def final_files(folder: Path) -> list[Path]:
    """Files under their final names: not temps, not the project database."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not is_temp(p)
        and not DB_FILES.match(p.name)
        and not any(is_temp(q) for q in p.relative_to(folder).parents)
    )


def decoded_frames(path: Path) -> int:
    """Frames of a video decoded to the end (an exception when it cannot be)."""
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def video_problem(path: Path, want: int | None) -> str | None:
    try:
        n = decoded_frames(path)
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        return f"{path.name}: does not decode ({type(exc).__name__}: {exc})"
    if n == 0 or (want is not None and n != want):
        return f"{path.name}: {n} frames, expected {want if want is not None else 'some'}"
    return None


def _text_problem(path: Path) -> str | None:
    """Problems of a text/index file that must parse whole (.txt .json .jsonl .csv .tar)."""
    s = path.suffix
    try:
        if s == ".tar":
            with tarfile.open(path) as tar:
                for m in tar.getmembers():
                    f = tar.extractfile(m)
                    if f is not None:
                        f.read()
            return None
        text = path.read_bytes().decode("utf-8")
        if s == ".json":
            json.loads(text)
        elif s == ".jsonl":
            for line in text.splitlines():
                if line.strip():
                    json.loads(line)
        elif s == ".csv":
            rows = list(csv.reader(io.StringIO(text)))
            if not rows or any(len(r) != len(rows[0]) for r in rows):
                return f"{path.name}: ragged or empty CSV"
            if not text.endswith("\n"):
                return f"{path.name}: CSV cut off (no final line end)"
    except (UnicodeDecodeError, ValueError, tarfile.TarError, OSError) as exc:
        return f"{path.name}: does not parse ({type(exc).__name__}: {exc})"
    return None


def file_problems(folder: Path, frames: Callable[[Path], int | None] | None = None) -> list[str]:
    """Every file under a final name must be whole: videos decode to the end (and have
    ``frames(path)`` frames when it says), text and index files parse."""
    out = []
    for p in final_files(folder):
        if p.suffix in VIDEO_SUFFIXES:
            problem = video_problem(p, frames(p) if frames else None)
        elif p.suffix in (".txt", ".json", ".jsonl", ".csv", ".tar"):
            problem = _text_problem(p)
        else:
            problem = None
        if problem:
            out.append(f"{p.relative_to(folder)}: {problem}")
    return out


def clip_frames(path: Path) -> int | None:
    """Frames a slicer clip holds by its name (``name_f000010-000034.mp4``: 24)."""
    m = CLIP_RANGE.search(path.name)
    return int(m.group(2)) - int(m.group(1)) if m else None


def digests(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under a final name."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in final_files(folder)
    }


def texts(folder: Path, suffix: str = ".txt") -> dict[str, str]:
    """``{relative path: text}`` of the files with this suffix."""
    return {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8", errors="replace")
        for p in final_files(folder)
        if p.suffix == suffix
    }


def diff_names(got: Iterable[str], want: Iterable[str]) -> str | None:
    """None when the two name sets are equal, otherwise what is missing and extra."""
    g, w = set(got), set(want)
    if g == w:
        return None
    return f"missing {sorted(w - g)[:5]}, extra {sorted(g - w)[:5]}"


# ---------------------------------------------------------------------------------------------
# What a project holds
# ---------------------------------------------------------------------------------------------
def clip_rows(root: Path) -> list[tuple[Any, ...]]:
    with Project.open(root) as p:
        names = {v.id: v.name for v in p.videos()}
        return sorted(
            (
                str(c.path.relative_to(p.root)),
                names.get(c.video_id) if c.video_id is not None else None,
                c.start_frame,
                c.end_frame,
                c.frame_count,
                c.verified,
            )
            for c in p.clips()
        )


def cut_state(root: Path) -> dict[str, tuple[Any, ...]]:
    """Per video: its cuts and the starts of rejected segments."""
    with Project.open(root) as p:
        return {
            v.name: (
                tuple((c.frame, c.source, c.kind) for c in p.cuts(v.id)),
                tuple(s.start for s in p.segments(v.id) if not s.keep),
            )
            for v in p.videos()
        }


def review_state(root: Path) -> dict[str, tuple[Any, ...]]:
    """Per clip: its tags in order (with source and state), caption, reviewed."""
    with Project.open(root) as p:
        clips = p.clips()
        ids = [c.id for c in clips]
        tags = review.clip_tags_many(p, ids, include_rejected=True)
        caps = review.captions_many(p, ids)
        return {
            c.path.name: (
                tuple((t.name, t.source, t.state) for t in tags.get(c.id, [])),
                caps[c.id].text if c.id in caps else None,
                c.reviewed,
            )
            for c in clips
        }


def first_difference(got: dict[str, Any], want: dict[str, Any]) -> str:
    for key in sorted(set(got) | set(want)):
        if got.get(key) != want.get(key):
            return f"{key}: {got.get(key)!r} instead of {want.get(key)!r}"
    return "no difference"


def row_problems(root: Path) -> list[str]:
    """Every clip row the database committed points at a whole clip of its frame count, except
    a row the slicer marked as being put in place when it was killed (``slicing.PENDING``: its
    file may or may not be there yet; the next split makes it, which the re-run check sees)."""
    out = []
    with Project.open(root) as p:
        pending = {str(c.path.relative_to(p.root)) for c in p.clips() if c.verify_error == PENDING}
    for rel, _video, start, end, frames, verified in clip_rows(root):
        path = root / rel
        if rel in pending:
            continue
        if not verified:
            out.append(f"{rel}: row not verified")
        if not path.is_file():
            out.append(f"{rel}: the row's clip file is missing")
        elif start is not None and end is not None and end - start != frames:
            out.append(f"{rel}: row says {frames} frames for [{start}, {end})")
        elif problem := video_problem(path, frames):
            out.append(f"{rel}: {problem}")
    return out
