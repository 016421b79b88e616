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
2. **queue** (also before the pull, so nothing waits outside the outbox): every difference between a clip's local state and its state as last synced
   becomes an outbox row (file, tags, note), in order.
3. **push** (when asked): send the outbox in batches, ``force_commit`` after each batch, and
   only then drop the batch's rows and record the new state as last synced.  Hydrus down, busy
   (503) or refusing the key: wait and retry with backoff (each wait is yielded, so the UI can
   say so and cancel); after the last retry the sync stops with the outbox intact.  A Hydrus
   killed mid-push loses only uncommitted writes, which are still in the outbox and are sent
   again (every write is idempotent: a file already there answers status 2).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from workstation.core.errors import WorkstationError
from workstation.core.hydrus import plan as planning
from workstation.core.hydrus.client import HydrusClient
from workstation.core.hydrus.errors import HydrusError
from workstation.core.hydrus.link import read_key, require_link
from workstation.core.hydrus.pull import pull as pull_edits
from workstation.core.hydrus.push import push as push_outbox
from workstation.core.hydrus.session import STAGE, TRANSIENT, Session
from workstation.core.progress import Progress, Stage
from workstation.core.store import Project

__all__ = [
    "STAGE",
    "Choice",
    "Conflict",
    "OpenResult",
    "SyncOptions",
    "SyncResult",
    "conflicts",
    "open_in_hydrus",
    "queue_changes",
    "resolve_conflict",
    "status",
    "sync",
]

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
    opts = options or SyncOptions()
    project.require_writable()
    link = require_link(project)
    client = HydrusClient(link.url, read_key(project), timeout_s=opts.timeout_s)
    session = Session(project, link, client, opts.retries, opts.backoff_s)
    stopped: str | None = None
    try:
        yield Progress(STAGE, 0, None, message=f"Syncing with Hydrus at {link.url}")
        states = planning.local_states(project, link)
        yield from planning.hash_clips(project, states, session.failed)
        # Queued first, so the changes wait in the outbox even when Hydrus cannot be reached.
        _, notes = planning.plan(project, states, write=True)
        try:
            if opts.pull:
                yield from pull_edits(session, states)
                states = planning.local_states(project, link)
                _, notes = planning.plan(project, states, write=True)
            session.failed.extend(notes)
            if opts.push:
                yield from push_outbox(session, opts.batch_size)
        except TRANSIENT as exc:
            stopped = str(exc)  # the contact state was recorded where it failed
        except HydrusError as exc:  # an answer the mirror cannot use: the outbox waits too
            stopped = str(exc)
            with project.transaction():
                project.set_hydrus_contact(exc.state, stopped)
        else:
            with project.transaction():
                project.set_hydrus_contact("ok", None, synced=True)
    finally:
        client.close()
    return _result(session, project, stopped)


def _result(session: Session, project: Project, stopped: str | None) -> SyncResult:
    names = {f.name for f in fields(SyncResult)}
    counts = {k: v for k, v in session.counts.items() if k in names}
    return SyncResult(
        **counts,
        failed=tuple(session.failed),
        pending=project.hydrus_outbox_count(),
        stopped=stopped,
    )


def queue_changes(project: Project) -> int:
    """Turn local changes into outbox rows now (the window calls this after edits, also while
    Hydrus is down); returns the number of rows waiting.  No network and no file hashing
    (a clip not hashed yet is queued now and hashed by the next sync), so it is quick."""
    link = require_link(project)
    planning.plan(project, planning.local_states(project, link), write=True)
    return project.hydrus_outbox_count()


def status(project: Project) -> dict[str, object]:
    """The mirror's state without contacting Hydrus (``workstation hydrus status --json``):

    ``connected`` (bool), ``url``, ``tag_service_key``, ``tag_service_name``,
    ``file_service_key``, ``note_name``, ``pending`` (changes not yet durable in Hydrus: outbox
    rows plus changes not queued yet), ``mirrored`` (clips durable in Hydrus), ``clips``,
    ``last_sync`` (epoch seconds or None), ``state`` (``never``, ``ok``, ``down``, ``busy``,
    ``refused``, ``error``: how the last contact went), ``last_error`` (its sentence or None),
    ``conflicts`` (how many are open).
    """
    row = project.hydrus_link_row()
    out: dict[str, object] = {
        "connected": row is not None,
        "url": None,
        "tag_service_key": None,
        "tag_service_name": None,
        "file_service_key": None,
        "note_name": None,
        "pending": 0,
        "mirrored": project.hydrus_mirrored_count(),
        "clips": len(project.hydrus_sources()),
        "last_sync": None,
        "state": "never",
        "last_error": None,
        "conflicts": len(project.hydrus_conflict_rows()),
    }
    link = require_link(project) if row is not None else None
    if row is None or link is None:
        return out
    for key in ("url", "tag_service_key", "tag_service_name", "file_service_key", "note_name"):
        out[key] = row[key]
    out.update(last_sync=row["last_sync"], state=row["state"], last_error=row["last_error"])
    keys, _ = planning.plan(project, planning.local_states(project, link), write=False)
    queued = {(r["clip_id"], r["kind"]) for r in project.hydrus_outbox()}
    out["pending"] = len(keys | queued)
    return out


def conflicts(project: Project) -> list[Conflict]:
    """The open conflicts, oldest first."""
    return [
        Conflict(
            r["id"],
            r["clip_id"],
            r["path"],
            r["kind"],
            r["base"],
            r["ours"],
            r["theirs"],
            r["found_at"],
        )
        for r in project.hydrus_conflict_rows()
    ]


def resolve_conflict(
    project: Project, conflict_id: int, choice: Choice, merged: str | None = None
) -> None:
    """Resolve one conflict: ``hydrus`` takes Hydrus's text as the caption (provenance
    hydrus), ``ours`` keeps the workstation's (sent at the next push), ``merged`` sets
    ``merged`` (a text the person wrote) on both sides at the next push.  The change is a
    normal undoable caption edit."""
    from workstation.core import review

    row = project.hydrus_conflict_row(conflict_id)
    if row is None:
        raise WorkstationError(f"no open Hydrus conflict with id {conflict_id}.")
    if choice not in ("hydrus", "ours", "merged"):
        raise WorkstationError(f"conflict choice {choice!r}: must be hydrus, ours or merged.")
    if choice == "merged" and merged is None:
        raise WorkstationError("a merged resolution needs the merged text.")
    cid, theirs = row["clip_id"], row["theirs"]
    if choice == "hydrus":
        review.set_caption(project, [cid], theirs or "")
    elif choice == "merged":
        review.set_caption(project, [cid], merged or "")
    with project.transaction():
        if choice == "hydrus":
            project.mark_caption_origin(cid, "hydrus")
        # Hydrus's text is now the state as last synced: the next push sends ours if it differs.
        project.set_hydrus_state(cid, note=theirs, set_note=True)
        project.delete_hydrus_conflict(conflict_id)


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
    link = require_link(project)
    row = project.hydrus_clip_rows().get(clip_id)
    if row is None or row["state"] != "mirrored":
        raise HydrusError(f"clip {clip_id} is not in Hydrus yet: sync first.")
    client = HydrusClient(link.url, read_key(project), timeout_s=timeout_s)
    try:
        page = _media_page(client.get_pages().get("pages") or {})
        if page is None:
            raise HydrusError(
                f"Hydrus at {link.url} has no file page open: open one (file > new page), "
                "then try again."
            )
        client.show_files(str(page["page_key"]), [row["sha256"]])
    finally:
        client.close()
    return OpenResult(str(page.get("name", "")), str(page["page_key"]), row["sha256"])


def _media_page(tree: dict[str, object]) -> dict[str, object] | None:
    """The focused media page of Hydrus's page tree, else the first one."""
    found: list[dict[str, object]] = []
    stack = [tree]
    while stack:
        node = stack.pop(0)
        if node.get("is_media_page"):
            if node.get("focused") or node.get("selected"):
                return node
            found.append(node)
        kids = node.get("pages")
        if isinstance(kids, list):
            stack.extend(k for k in kids if isinstance(k, dict))
    return found[0] if found else None
