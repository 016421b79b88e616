"""Two-way mirror of a project's clips, tags and captions into a Hydrus Network client (issue 16).

Pure Python (no Qt); the SQL is in :mod:`workstation.core.store.hydrus`.  Modules:

- ``errors``: what can go wrong (down, busy, refused, a dialog to open), as sentences;
- ``client``: a small Client API client on ``requests`` (the ``hydrus-api`` package targets
  API 92, raises on today's ``/get_services``, sets no timeout and maps 409 wrongly);
- ``tagmap``: Hydrus's tag cleaning rules and categories <-> namespaces;
- ``link``: connecting (check the key, choose services, request access, store the key 0600);
- ``session``: one sync's context and the retry with backoff;
- ``plan`` (what the workstation has, in Hydrus's terms; queuing the outbox), ``pull`` (edits
  made in Hydrus) and ``push`` (the outbox, force-committed per batch);
- ``sync``: the sync stage (pull, queue, push), status, conflicts, open in Hydrus.

Use the names re-exported here: ``from workstation.core import hydrus; hydrus.sync(project)``.
"""

from __future__ import annotations

from workstation.core.hydrus.errors import (
    HydrusBadAnswer,
    HydrusBusy,
    HydrusDown,
    HydrusError,
    HydrusNeedsDialog,
    HydrusRefused,
    NotConnected,
)
from workstation.core.hydrus.link import (
    DEFAULT_NAMESPACES,
    DEFAULT_NOTE,
    DEFAULT_URL,
    KEY_FILE,
    PERMISSIONS,
    AccessReport,
    HydrusLink,
    Permission,
    Service,
    check_access,
    connect,
    disconnect,
    key_path,
    load_link,
    request_access,
)
from workstation.core.hydrus.sync import (
    STAGE,
    Choice,
    Conflict,
    OpenResult,
    SyncOptions,
    SyncResult,
    conflicts,
    open_in_hydrus,
    queue_changes,
    resolve_conflict,
    status,
    sync,
)

__all__ = [
    "DEFAULT_NAMESPACES",
    "DEFAULT_NOTE",
    "DEFAULT_URL",
    "KEY_FILE",
    "PERMISSIONS",
    "STAGE",
    "AccessReport",
    "Choice",
    "Conflict",
    "HydrusBadAnswer",
    "HydrusBusy",
    "HydrusDown",
    "HydrusError",
    "HydrusLink",
    "HydrusNeedsDialog",
    "HydrusRefused",
    "NotConnected",
    "OpenResult",
    "Permission",
    "Service",
    "SyncOptions",
    "SyncResult",
    "check_access",
    "conflicts",
    "connect",
    "disconnect",
    "key_path",
    "load_link",
    "open_in_hydrus",
    "queue_changes",
    "request_access",
    "resolve_conflict",
    "status",
    "sync",
]
