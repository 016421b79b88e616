"""Clip ``.txt`` sidecars: the caption/tag file trainers read beside each clip.

``clips/shot_0001.mp4`` gets ``clips/shot_0001.txt``.  The database stays the source of truth;
the sidecars mirror it and are rewritten (:mod:`workstation.core.atomic`, only when the text
changed) after every edit, so a trainer pointed at the folder always reads what the person sees.
The format lives in the project's settings (:data:`~workstation.core.store.CLIP_SIDECARS`).

Reconciled, not only written: an edit commits first and writes the sidecars after, so a run
killed in between leaves them stale.  The first sidecar sync of a process (per project, over
every clip) and every split (over its videos' clips: :func:`reconcile_sidecars`) therefore
compare the files with the database and rewrite those that differ (creating none that would be
empty): re-running the command repairs what the crash left.  That pass reads every sidecar once
(0.6 s for 10,000 clips, all up to date, on the 2-core test machine); later syncs only
touch the edited clips.  The window runs that pass in a worker (:func:`reconcile_all`) and
marks its own connection reconciled (:func:`mark_reconciled`).  Temp files a killed writer left beside the clips are removed on the
way (:func:`atomic.sweep_temps`, with the names older versions used).

Which tags are written: every tag that is not rejected (auto tags a person has not looked at yet
included, unless ``include_auto`` is off), in the clip's tag order.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from workstation.core import atomic, owned
from workstation.core.errors import WorkstationError
from workstation.core.progress import Progress, Stage
from workstation.core.store import CLIP_SIDECARS, Project

SETTINGS_VERSION = 1

log = logging.getLogger(__name__)


class SidecarFormat(StrEnum):
    CAPTION = "caption"  # the caption only
    TAGS = "tags"  # the tags only, joined by the separator
    TAGS_CAPTION = "tags_caption"  # "tag, tag, caption"


@dataclass(frozen=True)
class SidecarSettings:
    """How clip sidecars are written (declared once, typed, with defaults)."""

    enabled: bool = True
    format: SidecarFormat = SidecarFormat.TAGS_CAPTION
    separator: str = ", "
    trigger: str = ""  # written first (a LoRA trigger word), never duplicated by a tag
    keep_first_tags: int = 0  # write only the first N tags (0 = all)
    spaces_for_underscores: bool = False  # blue_sky -> "blue sky" in the file, not in the DB
    include_auto: bool = True  # write auto tags nobody accepted yet
    # Trainers that shuffle tags keep a fixed head: kohya's ``keep_tokens_separator``.  With a
    # separator (e.g. "|||") it is written after the trigger and the first ``keep_tokens`` tags.
    keep_tokens: int = 0
    keep_separator: str = ""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "format", SidecarFormat(self.format))
        except ValueError:
            choices = "|".join(f.value for f in SidecarFormat)
            raise WorkstationError(
                f"sidecar setting 'format': must be one of {choices}, not {self.format!r}"
            ) from None
        if not isinstance(self.separator, str) or not self.separator:
            raise WorkstationError("sidecar setting 'separator': must not be empty")
        if not isinstance(self.keep_tokens, int) or self.keep_tokens < 0:
            raise WorkstationError(
                f"sidecar setting 'keep_tokens': must be 0 or more, not {self.keep_tokens!r}"
            )
        if not isinstance(self.keep_first_tags, int) or self.keep_first_tags < 0:
            raise WorkstationError(
                f"sidecar setting 'keep_first_tags': must be 0 or more, not {self.keep_first_tags!r}"
            )


def load_settings(project: Project) -> SidecarSettings:
    stored = project.get(CLIP_SIDECARS)
    known = {f.name for f in fields(SidecarSettings)}
    return SidecarSettings(**{k: v for k, v in stored.items() if k in known})


def save_settings(project: Project, settings: SidecarSettings) -> None:
    data: dict[str, Any] = asdict(settings)
    data["format"] = settings.format.value
    data["version"] = SETTINGS_VERSION
    project.put(CLIP_SIDECARS, data)


def update_settings(project: Project, **changes: Any) -> SidecarSettings:
    """Change some settings (validated) and save them; returns the new settings."""
    settings = replace(load_settings(project), **changes)
    save_settings(project, settings)
    return settings


def sidecar_path(clip_path: str | Path) -> Path:
    return Path(clip_path).with_suffix(".txt")


def compose(settings: SidecarSettings, tags: list[str], caption: str | None) -> str:
    """The text of one sidecar."""
    trigger = settings.trigger.strip()
    names = [t for t in tags if t != trigger]
    if settings.keep_first_tags:
        names = names[: settings.keep_first_tags]
    if settings.spaces_for_underscores:
        names = [t.replace("_", " ") for t in names]
    head = [trigger] if trigger else []
    if settings.format == SidecarFormat.CAPTION:
        names = []
    if settings.keep_separator:
        head, names = head + names[: settings.keep_tokens], names[settings.keep_tokens :]
    rest = list(names)
    if settings.format != SidecarFormat.TAGS and caption and caption.strip():
        rest.append(caption.strip())
    if settings.keep_separator and head:
        tail = f" {settings.keep_separator} {settings.separator.join(rest)}" if rest else ""
        return settings.separator.join(head) + tail
    return settings.separator.join(head + rest)


def sidecar_texts(
    project: Project, clip_ids: Iterable[int] | None, settings: SidecarSettings
) -> dict[int, tuple[Path, str]]:
    """``{clip_id: (sidecar path, text)}`` read in three queries, whatever the clip count."""
    ids = None if clip_ids is None else sorted(set(clip_ids))
    paths = project.stored_clip_paths(ids)
    tags = project.shown_tag_names(ids, include_auto=settings.include_auto)
    captions = project.caption_texts(ids)
    return {
        cid: (
            sidecar_path(project.clip_path(path)),
            compose(settings, tags.get(cid, []), captions.get(cid)),
        )
        for cid, path in paths.items()
    }


def write_sidecars(
    project: Project,
    clip_ids: Iterable[int] | None = None,
    settings: SidecarSettings | None = None,
) -> int:
    """Rewrite the sidecars of these clips (all when None); returns how many files changed.

    A clip whose folder no longer exists is skipped (its file moved; nothing to write beside).
    """
    settings = settings or load_settings(project)
    return _write(project, sidecar_texts(project, clip_ids, settings).values(), set())


def _write(
    project: Project,
    texts: Iterable[tuple[Path, str]],
    swept: set[Path],
    *,
    create_empty: bool = True,
) -> int:
    """Write the sidecars that differ, sweeping each folder's leftover temps once
    (``create_empty=False``: a missing file whose text would be empty is not created).

    Only files that still hold what the workstation wrote are replaced
    (:func:`workstation.core.owned.write_owned`): a ``.txt`` a person edited in another
    program is kept, and said so in the log.  Not fsynced: the database holds the truth and
    every run reconciles these files from it, so a power cut costs at most a rewrite.
    """
    todo: list[tuple[Path, str]] = []
    for path, text in texts:
        if not text and not create_empty and not path.exists():
            continue
        folder = path.parent
        if folder not in swept:
            swept.add(folder)
            if not folder.is_dir():
                continue
            atomic.sweep_temps(folder, legacy=(".tmp",))
        elif not folder.is_dir():
            continue
        todo.append((path, text))
    root = project.root.resolve()

    def legacy(path: Path, data: bytes) -> bool:
        # Written before the workstation recorded its writes (or moved with its clip into the
        # bin): ours inside the project folder; beside imported clips it may be the person's.
        return path.resolve().is_relative_to(root)

    written, kept = owned.write_owned(
        project, todo, legacy=legacy, kept_hint=_KEPT_HINT, durable=False
    )
    for note in kept[:5]:
        log.warning("%s", note)
    if len(kept) > 5:
        log.warning("… and %d more clip .txt files kept for the same reason", len(kept) - 5)
    return written


_KEPT_HINT = (
    "it no longer shows the clip's tags and caption as the project has them; "
    "delete it to let the workstation write it again"
)


# The projects whose sidecars this process has compared with the database once.
_reconciled: weakref.WeakSet[Project] = weakref.WeakSet()


_deferred: weakref.WeakKeyDictionary[Project, set[int]] = weakref.WeakKeyDictionary()


@contextmanager
def deferred(project: Project) -> Iterator[set[int]]:
    """Collect the clips whose sidecars edits would rewrite instead of writing them now.

    A bulk edit of 10,000 clips spends seconds on file writes; the GUI applies the edit
    inside ``with deferred(project) as ids:`` and then runs ``rewrite_all(project,
    clip_ids=ids)`` as a background job.  Nested use shares the outer set.
    """
    if project in _deferred:
        yield _deferred[project]
        return
    ids: set[int] = set()
    _deferred[project] = ids
    try:
        yield ids
    finally:
        _deferred.pop(project, None)


def sync_sidecars(project: Project, clip_ids: Iterable[int]) -> int:
    """After an edit: rewrite the touched clips' sidecars when sidecars are enabled (all that
    differ from the database, the first time in this process: see the module docstring)."""
    ids = list(clip_ids)
    if project in _deferred:
        _deferred[project].update(ids)
        return 0
    if not ids and project in _reconciled:
        return 0
    settings = load_settings(project)
    if not settings.enabled:
        return 0
    if project not in _reconciled:
        # A run killed between an edit's commit and these writes left some files stale.  The
        # pass creates no empty file for a clip nobody tagged or captioned yet.
        _reconciled.add(project)
        everything = sidecar_texts(project, None, settings)
        touched = [everything.pop(cid) for cid in ids if cid in everything]
        swept: set[Path] = set()
        written = _write(project, touched, swept)
        return written + _write(project, everything.values(), swept, create_empty=False)
    return write_sidecars(project, ids, settings)


def reconcile_all(project: Project) -> Stage[int]:
    """The first sync's pass over every clip as a stage, for a worker: the GUI runs it in a
    job when a project opens and calls :func:`mark_reconciled` on its own connection, so no
    edit does the pass on the GUI thread.  Batches of 500 with progress; returns how many files
    changed (none is created that would be empty)."""
    _reconciled.add(project)
    settings = load_settings(project)
    if not settings.enabled:
        return 0
    ids = project.clip_ids(path_order=True)
    written = 0
    swept: set[Path] = set()
    for start in range(0, len(ids), 500):
        yield Progress("sidecars", start, len(ids), "", "checking clip .txt files")
        texts = sidecar_texts(project, ids[start : start + 500], settings).values()
        written += _write(project, texts, swept, create_empty=False)
    yield Progress("sidecars", len(ids), len(ids), "", f"{written} files repaired")
    return written


def mark_reconciled(project: Project) -> None:
    """This project object's first sync does no pass over every clip (another connection,
    a worker's :func:`reconcile_all`, does it)."""
    _reconciled.add(project)


def is_reconciled(project: Project) -> bool:
    return project in _reconciled


def reconcile_sidecars(project: Project, clip_ids: Iterable[int]) -> int:
    """Rewrite the sidecars of these clips that differ from the database (after a split), when
    sidecars are enabled; a missing one that would be empty is not created."""
    settings = load_settings(project)
    if not settings.enabled:
        return 0
    texts = sidecar_texts(project, list(clip_ids), settings).values()
    return _write(project, texts, set(), create_empty=False)


def rewrite_all(
    project: Project,
    settings: SidecarSettings | None = None,
    clip_ids: Iterable[int] | None = None,
) -> Stage[int]:
    """Rewrite every clip's sidecar (after the format changed), or those of ``clip_ids`` (after
    a deferred bulk edit), in batches with progress; returns how many files changed."""
    settings = settings or load_settings(project)
    ids = project.clip_ids(path_order=True) if clip_ids is None else sorted(set(clip_ids))
    written = 0
    batch = 500
    swept: set[Path] = set()
    for start in range(0, len(ids), batch):
        yield Progress("sidecars", start, len(ids), "", "writing clip .txt files")
        texts = sidecar_texts(project, ids[start : start + batch], settings).values()
        written += _write(project, texts, swept)
    yield Progress("sidecars", len(ids), len(ids), "", f"{written} files changed")
    return written
