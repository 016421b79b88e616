"""Connecting a project to a Hydrus client: checking the access key, choosing services, and
keeping the key itself out of the database and every exported file.

The link (URL, services by key, note name, how categories map to namespaces) is stored in the
project database (``hydrus_link``); the access key is a file ``hydrus.key`` in the project
folder, mode 0600, written through :mod:`workstation.core.atomic`.  Nothing here logs or prints
the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from workstation.core.store import Project

KEY_FILE = "hydrus.key"
DEFAULT_URL = "http://127.0.0.1:45869"
DEFAULT_NOTE = "caption"
APP_NAME = "Motion Dataset Workstation"

#: Category -> Hydrus namespace ("" = a bare tag).  Categories not listed become namespaces of
#: their own name.
DEFAULT_NAMESPACES: Mapping[str, str] = MappingProxyType(
    {"general": "", "character": "character", "rating": "rating", "meta": "meta"}
)


@dataclass(frozen=True)
class Permission:
    """One Client API basic permission the mirror uses."""

    id: int
    name: str  # as Hydrus's dialog spells it
    needed_for: str  # what the workstation does with it
    required: bool = True  # False: only "open in Hydrus" needs it


#: The permissions the mirror asks for, by Hydrus's basic permission id.
PERMISSIONS: tuple[Permission, ...] = (
    Permission(1, "import and delete files", "import clips"),
    Permission(2, "edit file tags", "write tags"),
    Permission(3, "search for and fetch files", "read tags and notes back"),
    Permission(6, "manage database", "make each batch durable (force commit)"),
    Permission(7, "edit file notes", "write captions as notes"),
    Permission(4, "manage pages", "open a clip in Hydrus", required=False),
)


@dataclass(frozen=True)
class Service:
    """A Hydrus service, by its key (people rename services)."""

    key: str
    name: str
    type: int
    type_pretty: str


@dataclass(frozen=True)
class AccessReport:
    """What ``/verify_access_key`` and ``/get_services`` said about a URL and key."""

    url: str
    api_version: int | None
    key_name: str  # the key's name in Hydrus ("human_description")
    granted: tuple[Permission, ...]
    missing: tuple[Permission, ...]  # of PERMISSIONS, the ones the key lacks
    tag_services: tuple[Service, ...]  # local tag services (editable)
    file_services: tuple[Service, ...]  # local file domains

    @property
    def ok(self) -> bool:
        """Whether the key may do everything a sync needs."""
        return not any(p.required for p in self.missing)


@dataclass(frozen=True)
class HydrusLink:
    """A project's link to a Hydrus client (everything but the key)."""

    url: str
    tag_service_key: str
    tag_service_name: str
    file_service_key: str | None = None  # None: Hydrus's default import domain
    file_service_name: str | None = None
    note_name: str = DEFAULT_NOTE
    namespaces: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_NAMESPACES))
    source_tags: bool = False  # also push ``source:VIDEO`` and ``frames:START-END``


def check_access(url: str, key: str, *, timeout_s: float = 10.0) -> AccessReport:
    """Verify ``key`` at ``url`` and list its permissions and the services it can use.

    Raises :class:`~workstation.core.hydrus.errors.HydrusError` subclasses (down, 401/403, 503,
    a bad answer), each naming the URL.
    """
    raise NotImplementedError


def request_access(url: str, *, name: str = APP_NAME, timeout_s: float = 10.0) -> str:
    """Ask Hydrus for a new key with every permission in :data:`PERMISSIONS`; returns the key.

    Works only while the person has Hydrus's dialog open (services > review services > client
    api > add > from api request); otherwise raises
    :class:`~workstation.core.hydrus.errors.HydrusNeedsDialog`, whose message says which dialog
    to open.  The caller then passes the key to :func:`connect`.
    """
    raise NotImplementedError


def connect(
    project: Project,
    url: str,
    key: str,
    *,
    tag_service: str | None = None,
    file_service: str | None = None,
    note_name: str = DEFAULT_NOTE,
    namespaces: Mapping[str, str] | None = None,
    source_tags: bool = False,
    timeout_s: float = 10.0,
) -> tuple[HydrusLink, AccessReport]:
    """Check the key, choose services (by name or key; default "my tags" / the first local
    tag service), store the link in the project and the key in ``hydrus.key`` (0600).

    Raises :class:`~workstation.core.hydrus.errors.HydrusError` when Hydrus cannot be reached
    or the key lacks a required permission (the message lists the missing ones), and
    :class:`~workstation.core.errors.WorkstationError` for an unknown service name; nothing is
    stored then.
    """
    raise NotImplementedError


def disconnect(project: Project) -> None:
    """Forget the link and delete the key file (the mirror's per-clip state is kept)."""
    raise NotImplementedError


def load_link(project: Project) -> HydrusLink | None:
    """The project's link, or None when it was never connected."""
    raise NotImplementedError


def key_path(project: Project) -> Path:
    """Where the project's access key is kept (``hydrus.key`` in the project folder)."""
    return project.root / KEY_FILE


def read_key(project: Project) -> str:
    """The stored access key; :class:`NotConnected` when there is none."""
    raise NotImplementedError
