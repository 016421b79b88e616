"""Never overwrite a file a person put where an export writes (issue 12).

Before an export writes anything, the stage lists every path it is about to write anew (the
videos it re-encodes or copies, the captions, index files, shards and report; a video it reuses
is not written) and hands them to :func:`check_targets`.  Each one that exists must be recorded
in the earlier manifest's ``files`` and still be exactly that (size and sha256): otherwise it
is a person's file (or one a person changed), and the whole export stops before writing
anything, naming each such file: "OUT/x.mp4: exists and was not written by an export; move it
away or choose another folder".  Stopping before the first write, rather than skipping the one
file, means a dataset is never half of this run and half of the last.

Once the check passed, the stage writes the manifest again before its first write, with the
paths it checked as ``claimed``: a run killed by the system (no chance to record what it wrote)
thus leaves files the next run knows as the export's; that run takes them over
(:func:`adopt_claimed`: their records are made from what is on disk) and goes on.

A manifest of an older version holds no ``files``: then the videos its items name, the
``.txt`` beside each and the layout's index files are taken as the export's (the earlier
behaviour); any other existing file is refused.  A file named ``export.json`` that is not an
export's manifest is refused too.

:func:`unknown_files` is the softer look the export dialog takes at a folder before anything
runs: files no export recorded, to warn about (no hashing).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from workstation.core.errors import WorkstationError
from workstation.core.export.files import OutFiles, sha256_of
from workstation.core.export.manifest import MANIFEST, MANIFEST_VERSION, load_manifest

#: How many refused files the error names before it says "and N more".
NAMED = 5


class ForeignFilesError(WorkstationError):
    """Files an export would overwrite that it did not write; ``problems``: one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:NAMED]
        more = len(problems) - len(shown)
        text = "; ".join(shown) + (f"; and {more} more such files" if more else "")
        super().__init__(f"Nothing was exported: {text}.")
        self.problems = problems


def _refusal(path: Path, why: str) -> str:
    return f"{path}: {why}; move it away or choose another folder"


def manifest_problem(out: Path) -> str | None:
    """Why ``OUT/export.json`` is not an export's manifest (None when it is, or is absent)."""
    path = out / MANIFEST
    if not os.path.lexists(path):
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        data = None
    if path.is_symlink() or not isinstance(data, dict):
        return _refusal(path, "exists and is not an export's manifest")
    if data.get("version") != MANIFEST_VERSION:
        return _refusal(path, f"is the manifest of another version ({data.get('version')!r})")
    return None


def _legacy_owned(old_items: dict[str, Any]) -> set[str]:
    owned = set()
    for item in old_items.values():
        video = PurePosixPath(str(item.get("video", "")))
        owned |= {video.as_posix(), video.with_suffix(".txt").as_posix()}
    return owned


def _same(path: Path, record: Any) -> bool:
    try:
        return (
            isinstance(record, dict)
            and path.is_file()
            and not path.is_symlink()
            and path.stat().st_size == record.get("size")
            and sha256_of(path) == record.get("sha256")
        )
    except OSError:
        return False


def check_targets(
    files: OutFiles,
    videos: Iterable[str],
    index: Iterable[str],
    old_items: dict[str, Any],
    old_files: dict[str, Any] | None,
    claimed: Iterable[str] = (),
) -> None:
    """Raise :class:`ForeignFilesError` when any of the paths (relative to OUT) the export
    writes anew exists and is not the export's own, unchanged; ``videos`` are the videos it
    will write, ``index`` the other files (captions, index files, shards, the report);
    ``claimed``: the paths an interrupted run claimed (its files, whatever they hold now)."""
    out = files.out
    problems = []
    manifest = manifest_problem(out)
    if manifest is not None:
        problems.append(manifest)
    legacy = _legacy_owned(old_items) if old_files is None else set()
    index = set(index)
    claims = set(claimed)
    for rel in sorted(set(videos) | index):
        path = out / rel
        if rel in claims or not os.path.lexists(path):
            continue
        if old_files is None:
            if rel in legacy or (rel in index and not rel.endswith(".txt")):
                continue
            problems.append(_refusal(path, "exists and was not written by an export"))
        elif rel not in old_files:
            problems.append(_refusal(path, "exists and was not written by an export"))
        elif not _same(path, old_files[rel]):
            problems.append(_refusal(path, "was changed since the export wrote it"))
    if problems:
        raise ForeignFilesError(problems)


def adopt_claimed(
    files: OutFiles, old_files: dict[str, Any] | None, claimed: Iterable[str]
) -> dict[str, Any] | None:
    """The earlier records plus a record of each file an interrupted run claimed and (maybe)
    wrote, made from what is on disk now, so this run can reuse, rewrite or remove it."""
    if old_files is None:
        return None
    records = dict(old_files)
    for rel in claimed:
        path = files.inside(rel)
        if path is None or not path.is_file() or path.is_symlink():
            continue
        try:
            records[rel] = {"size": path.stat().st_size, "sha256": sha256_of(path)}
        except OSError:
            continue
    return records


def unknown_files(out: Path, limit: int = 200) -> list[Path]:
    """Up to ``limit`` files under ``out`` that no export recorded (sorted; none when ``out``
    does not exist).  Temp files of a killed export are not counted (the next run removes
    them); the manifest itself is, when it is not an export's."""
    if not out.is_dir():
        return []
    old = load_manifest(out)
    recorded = old["files"]
    items = old["items"] if recorded is None else {}
    known = set(recorded or {}) | _legacy_owned(items) | set(old["claimed"])
    if manifest_problem(out) is None:
        known.add(MANIFEST)
    found: list[Path] = []
    for folder, dirs, names in os.walk(out):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            rel = path.relative_to(out).as_posix()
            if rel in known or (name.startswith(".") and name.endswith(".tmp")):
                continue
            found.append(path)
            if len(found) >= limit:
                return found
    return found
