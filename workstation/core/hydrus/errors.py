"""What can go wrong talking to a Hydrus client, each a sentence a person can act on.

The outbox treats :class:`HydrusDown`, :class:`HydrusBusy` and :class:`HydrusRefused` as
"wait and retry" (nothing is lost; the queued changes stay queued); the others stop a sync.
"""

from __future__ import annotations

from workstation.core.errors import WorkstationError


class HydrusError(WorkstationError):
    """Any problem with the Hydrus client or its answers."""

    #: A short word for the status indicator: ``down``, ``busy``, ``refused``, ``error``.
    state = "error"


class HydrusDown(HydrusError):
    """The client is not running, not reachable, or dropped the connection."""

    state = "down"


class HydrusBusy(HydrusError):
    """The client answered 503: its database is locked (a backup, a big job) or it is busy."""

    state = "busy"


class HydrusRefused(HydrusError):
    """401 (no key) or 403 (a wrong key, or a permission the key lacks)."""

    state = "refused"


class HydrusNeedsDialog(HydrusError):
    """409 from ``/request_new_permissions``: the client's "add from API request" dialog is
    not open (Hydrus documents 403; v682 answers 409)."""

    state = "dialog"


class HydrusBadAnswer(HydrusError):
    """An answer the workstation cannot read (another program on that port, a newer API)."""


class NotConnected(HydrusError):
    """The project has no Hydrus link yet (``workstation hydrus connect``)."""

    state = "never"
