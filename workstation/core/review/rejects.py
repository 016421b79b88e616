"""Rejecting clips and moving their files to the project's bin, both undoable.

A rejected clip keeps its row, tags and caption; it is hidden from the clip grid (the filter
``rejected:yes`` shows it), left out of exports and of auto-tagging.  "Delete clip files"
rejects the clips *and* moves each clip file and its ``.txt`` sidecar to ``PROJECT/bin/`` under
the same relative path (clips outside the project go to ``bin/external/``); the row's path
follows the file, so the clip still shows its cover under ``rejected:yes``.  Nothing is
deleted: undo moves the files back and restores the rows.

Files move first, then the database changes, in both directions; when the database step
fails the files are moved back, so the rows and the files never disagree.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workstation.core import cliptext
from workstation.core.atomic import os_problem
from workstation.core.errors import WorkstationError
from workstation.core.review.editing import existing_clips, run_edit
from workstation.core.review.edits import Edit, Recorder
from workstation.core.store import Project

BIN_DIR = "bin"


def reject_clips(project: Project, clip_ids: Iterable[int], rejected: bool = True) -> Edit:
    """Mark clips rejected (or not): an undoable edit of their ``rejected`` flag."""
    ids = existing_clips(project, clip_ids)

    def body(rec: Recorder) -> None:
        for cid in ids:
            rec.update("clips", {"id": cid}, {"rejected": int(rejected)})

    return run_edit(project, "reject clips" if rejected else "restore clips", body)


@dataclass(frozen=True)
class FileMove:
    """One file moved to the bin: where it was and where it is."""

    source: Path
    binned: Path


@dataclass(frozen=True)
class BinEdit(Edit):
    """A rejection whose clip files were moved to the bin; undo moves them back."""

    moves: tuple[FileMove, ...] = field(default=())

    def undo(self, project: Project) -> None:
        _move_all([(m.binned, m.source) for m in reversed(self.moves)])
        try:
            super().undo(project)
        except WorkstationError:
            _move_all([(m.source, m.binned) for m in self.moves])
            raise

    def redo(self, project: Project) -> None:
        _move_all([(m.source, m.binned) for m in self.moves])
        try:
            super().redo(project)
        except WorkstationError:
            _move_all([(m.binned, m.source) for m in reversed(self.moves)])
            raise


def bin_path(project: Project, clip_file: Path) -> Path:
    """Where a clip file goes in the bin (a name not taken yet)."""
    bin_root = project.root / BIN_DIR
    try:
        rel = clip_file.resolve().relative_to(project.root.resolve())
        target = bin_root / rel
    except ValueError:  # a clip outside the project folder
        target = bin_root / "external" / clip_file.name
    n = 1
    stem, suffix = target.stem, target.suffix
    while target.exists() or cliptext.sidecar_path(target).exists():
        n += 1
        target = target.with_name(f"{stem}-{n}{suffix}")
    return target


def delete_clip_files(project: Project, clip_ids: Sequence[int]) -> BinEdit:
    """Reject these clips and move their files (and sidecars) to the project's bin."""
    ids = existing_clips(project, clip_ids)
    stored = project.stored_clip_paths(ids)
    moves: list[FileMove] = []
    rows: dict[int, str] = {}
    planned: set[Path] = set()
    for cid in ids:
        src = project.clip_path(stored[cid])
        dst = bin_path(project, src)
        while dst in planned:  # two external clips of the same name
            dst = dst.with_name(f"{dst.stem}-{len(planned) + 1}{dst.suffix}")
        planned.add(dst)
        if src.exists():
            moves.append(FileMove(src, dst))
        side = cliptext.sidecar_path(src)
        if side.exists():
            moves.append(FileMove(side, cliptext.sidecar_path(dst)))
        rows[cid] = project.stored_path_of(dst)
    _move_all([(m.source, m.binned) for m in moves])

    def body(rec: Recorder) -> None:
        for cid in ids:
            rec.update("clips", {"id": cid}, {"path": rows[cid], "rejected": 1})

    try:
        edit = run_edit(project, "delete clip files", body)
    except Exception:
        _move_all([(m.binned, m.source) for m in reversed(moves)])
        raise
    return BinEdit(edit.label, edit.changes, edit.clip_ids, tuple(moves))


def _move_all(pairs: list[tuple[Path, Path]]) -> None:
    """Move each file; on a failure put back the ones already moved and say which failed."""
    done: list[tuple[Path, Path]] = []
    for src, dst in pairs:
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.exists():
                raise FileExistsError(f"{dst} is in the way")
            shutil.move(src, dst)
        except OSError as exc:
            for a, b in reversed(done):
                with contextlib.suppress(OSError):  # rare: the first problem is said below
                    shutil.move(b, a)
            raise WorkstationError(f"{src}: cannot move it to {dst}: {os_problem(exc)}") from None
        done.append((src, dst))
