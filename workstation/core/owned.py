"""Files the workstation writes into folders people use too — the cut sidecar beside each
video, the ``.txt`` beside each clip — are overwritten only while they still hold what the
workstation wrote.

Each write records the file's size and sha256 in the project (``written_files``), before the
file is replaced and together with the checksum the file had until then: a crash between the
two leaves a file that matches one of them.  Before the next write the file on disk is
compared with the record: a match, and it is the workstation's to replace; no match, and a
person edited it (a cut sidecar's own header says "edit, save, then import") or put a file of
theirs at that name — it is kept, and the writer says so with :class:`NotOurs` instead of
overwriting it.  A file that already holds exactly the new text is adopted as it is.

Files written before this record existed carry none: each writer says which of those it may
still take as its own (``legacy``): a cut sidecar by its first line, a clip ``.txt`` when it
sits in the project folder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from workstation.core import atomic
from workstation.core.errors import WorkstationError
from workstation.core.store import Project, Written


class NotOurs(WorkstationError):
    """A file a writer would overwrite that holds a person's text: kept as it is."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        super().__init__(f"{path}: {problem}")


class CannotWrite(WorkstationError):
    """A file that could not be written, with the OS error that said why."""

    def __init__(self, path: Path, exc: OSError) -> None:
        self.path = path
        self.os_error = exc
        super().__init__(str(atomic.write_error(path, exc)))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WorkstationError(f"{path}: cannot be read: {atomic.os_problem(exc)}") from None


def _ours(
    current: bytes, record: Written | None, legacy: Callable[[Path, bytes], bool], path: Path
) -> bool:
    if record is None:
        return legacy(path, current)
    digest = sha256(current)
    return digest == record.sha256 or digest == record.previous


def write_owned(
    project: Project,
    texts: Iterable[tuple[Path, str]],
    *,
    legacy: Callable[[Path, bytes], bool],
    kept_hint: str,
    durable: bool = True,
) -> tuple[int, list[NotOurs]]:
    """Write each ``(path, text)`` whose file does not hold it yet; returns how many were
    (re)written and the files kept because a person's text is in them (each a
    :class:`NotOurs` ending with ``kept_hint``).

    Raises WorkstationError naming the file when one cannot be read (:class:`CannotWrite`
    when it cannot be written); the files
    before it are written and recorded, the record of the others already says what they
    would hold, and the next run finishes them.
    """
    items = [(p, t.encode("utf-8")) for p, t in texts]
    records = project.written_files(p for p, _ in items)
    to_write: list[tuple[Path, bytes]] = []
    to_record: list[tuple[Path, Written]] = []
    kept: list[NotOurs] = []
    for path, data in items:
        current = _read(path)
        record = records.get(str(path))
        digest = sha256(data)
        if current == data:
            if record is None or record.sha256 != digest:
                to_record.append((path, Written(len(data), digest, None)))
            continue
        if current is not None and not _ours(current, record, legacy, path):
            why = (
                "changed since the workstation wrote it"
                if record is not None
                else "was not written by the workstation"
            )
            kept.append(NotOurs(path, f"{why}; kept it as it is ({kept_hint})"))
            continue
        before = None if current is None else sha256(current)
        to_record.append((path, Written(len(data), digest, before)))
        to_write.append((path, data))
    if to_record:
        project.record_written(to_record)
    for path, data in to_write:
        try:
            atomic.write_bytes(path, data, durable=durable)
        except OSError as exc:
            raise CannotWrite(path, exc) from None
    return len(to_write), kept


def write_owned_file(
    project: Project,
    path: Path,
    text: str,
    *,
    legacy: Callable[[Path, bytes], bool],
    kept_hint: str,
) -> bool:
    """:func:`write_owned` for one file; raises its :class:`NotOurs` when it is kept."""
    written, kept = write_owned(project, [(path, text)], legacy=legacy, kept_hint=kept_hint)
    if kept:
        raise kept[0]
    return written > 0
