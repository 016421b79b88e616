"""The two-way mirror: queue local changes, pull edits made in Hydrus, push the outbox.

One :func:`sync` is a stage (a generator yielding :class:`~workstation.core.progress.Progress`,
returning a :class:`SyncResult`; cancellable between yields, a cancelled sync loses nothing):

1. **pull** (when asked): re-read the stored tags (``storage_tags["0"]`` of the chosen tag
   service, never display tags) and the note of every mirrored clip, 256 hashes per request,
   and compare them with the state *as last synced*.  An edit made only in Hydrus becomes a
   manual edit with provenance ``hydrus``; a note changed on both sides becomes a
   :class:`Conflict` the person resolves (:func:`resolve_conflict`); tags merge per tag (a
   tag added or removed on one side is applied on the other; a set has no contradicting edits).
   A clip whose file Hydrus no longer has is pushed again.
2. **queue**: every difference between a clip's local state and its state as last synced
   becomes an outbox row (file, tags, note), in order.
3. **push** (when asked): send the outbox in batches, ``force_commit`` after each batch, and
   only then drop the batch's rows and record the new state as last synced.  Hydrus down, busy
   (503) or refusing the key: wait and retry with backoff (each wait is yielded, so the UI can
   say so and cancel); after the last retry the sync stops with the outbox intact.  A Hydrus
   killed mid-push loses only uncommitted writes, which are still in the outbox and are sent
   again (every write is idempotent: a file already there answers status 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workstation.core.progress import Stage
from workstation.core.store import Project

STAGE = "hydrus"

Choice = Literal["hydrus", "ours", "merged"]


@dataclass(frozen=True)
class SyncOptions:
    """How one sync runs (the CLI's ``--push``/``--pull`` and the window's sync use these)."""

    push: bool = True
    pull: bool = True
    retries: int = 3  # per failing request, before the sync stops with the outbox kept
    backoff_s: float = 1.0  # first wait; doubles each retry (capped at 60 s)
    batch_size: int = 64  # outbox rows sent between two force commits
    timeout_s: float = 30.0  # per HTTP request


@dataclass(frozen=True)
class SyncResult:
    """What one sync did."""

    files_added: int = 0  # clips Hydrus had not had (status 1)
    files_known: int = 0  # clips Hydrus already had (status 2: same sha256)
    tag_writes: int = 0  # clips whose tags were sent
    note_writes: int = 0  # clips whose note was sent
    pulled_tags: int = 0  # tag edits made in Hydrus applied here
    pulled_captions: int = 0  # captions taken from Hydrus
    new_conflicts: int = 0
    failed: tuple[str, ...] = ()  # one sentence per clip that could not be mirrored
    pending: int = 0  # outbox rows still waiting (0 = everything durable in Hydrus)
    stopped: str | None = None  # why the push stopped early (Hydrus down...), else None


@dataclass(frozen=True)
class Conflict:
    """A caption changed in the workstation and in Hydrus since the last sync."""

    id: int
    clip_id: int
    clip_path: str
    kind: str  # "note" (tags merge per tag and never conflict)
    base: str | None  # as last synced (None = there was none)
    ours: str | None  # the workstation's now
    theirs: str | None  # Hydrus's now
    found_at: float = 0.0


def sync(project: Project, options: SyncOptions | None = None) -> Stage[SyncResult]:
    """Pull, queue and push (see the module docstring).  Raises
    :class:`~workstation.core.hydrus.errors.NotConnected` when the project has no link."""
    raise NotImplementedError
    yield  # pragma: no cover


def queue_changes(project: Project) -> int:
    """Turn local changes into outbox rows now (the window calls this after edits, also while
    Hydrus is down); returns the number of rows waiting."""
    raise NotImplementedError


def status(project: Project) -> dict[str, object]:
    """The mirror's state without contacting Hydrus (``workstation hydrus status --json``):

    ``connected`` (bool), ``url``, ``tag_service_key``, ``tag_service_name``,
    ``file_service_key``, ``note_name``, ``pending`` (changes not yet durable in Hydrus: outbox
    rows plus changes not queued yet), ``mirrored`` (clips durable in Hydrus), ``clips``,
    ``last_sync`` (epoch seconds or None), ``state`` (``never``, ``ok``, ``down``, ``busy``,
    ``refused``, ``error``: how the last contact went), ``last_error`` (its sentence or None),
    ``conflicts`` (how many are open).
    """
    raise NotImplementedError


def conflicts(project: Project) -> list[Conflict]:
    """The open conflicts, oldest first."""
    raise NotImplementedError


def resolve_conflict(
    project: Project, conflict_id: int, choice: Choice, merged: str | None = None
) -> None:
    """Resolve one conflict: ``hydrus`` takes Hydrus's text as the caption (provenance
    hydrus), ``ours`` keeps the workstation's (sent at the next push), ``merged`` sets
    ``merged`` (a text the person wrote) on both sides at the next push.  The change is a
    normal undoable caption edit."""
    raise NotImplementedError


@dataclass(frozen=True)
class OpenResult:
    """Where :func:`open_in_hydrus` showed the clip."""

    page_name: str
    page_key: str
    sha256: str


def open_in_hydrus(project: Project, clip_id: int, *, timeout_s: float = 10.0) -> OpenResult:
    """Show a mirrored clip in Hydrus: add its file to the focused media page (or the first
    one) and focus that page (``/manage_pages/add_files``, ``/manage_pages/focus_page``;
    permission "manage pages").  Raises a :class:`~workstation.core.hydrus.errors.HydrusError`
    when the clip is not mirrored yet, Hydrus has no media page open, or it is down."""
    raise NotImplementedError
