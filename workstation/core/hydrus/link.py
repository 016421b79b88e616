"""Connecting a project to a Hydrus client: checking the access key, choosing services, and
keeping the key itself out of the database and every exported file.

The link (URL, services by key, note name, how categories map to namespaces) is stored in the
project database (``hydrus_link``); the access key is a file ``hydrus.key`` in the project
folder, mode 0600, written through :mod:`workstation.core.atomic`.  Nothing here logs or prints
the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from workstation.core import atomic
from workstation.core.errors import WorkstationError
from workstation.core.hydrus.client import HydrusClient
from workstation.core.hydrus.errors import HydrusBadAnswer, HydrusRefused, NotConnected
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


LOCAL_TAG_TYPE = 5  # Hydrus's service types: a local tag service
LOCAL_FILE_TYPE = 2  # a local file domain ("my files")


def check_access(url: str, key: str, *, timeout_s: float = 10.0) -> AccessReport:
    """Verify ``key`` at ``url`` and list its permissions and the services it can use.

    Raises :class:`~workstation.core.hydrus.errors.HydrusError` subclasses (down, 401/403, 503,
    a bad answer), each naming the URL.
    """
    client = HydrusClient(url, key, timeout_s=timeout_s)
    try:
        version = client.api_version()
        verified = client.verify_access_key()
        services = services_of(client.get_services(), client.url)
    finally:
        client.close()
    ids = set(verified.get("basic_permissions") or [])
    every = bool(verified.get("permits_everything"))
    granted = tuple(p for p in PERMISSIONS if every or p.id in ids)
    return AccessReport(
        url=client.url,
        api_version=version,
        key_name=str(verified.get("name") or verified.get("human_description") or ""),
        granted=granted,
        missing=tuple(p for p in PERMISSIONS if p not in granted),
        tag_services=tuple(s for s in services if s.type == LOCAL_TAG_TYPE),
        file_services=tuple(s for s in services if s.type == LOCAL_FILE_TYPE),
    )


def services_of(answer: Mapping[str, Any], url: str) -> list[Service]:
    """The services of ``/get_services``, by key (the ``services`` object of API 95; older
    clients list them by type)."""
    table = answer.get("services") or answer.get("services_v2")
    out: list[Service] = []
    if isinstance(table, dict):
        for key, info in table.items():
            if isinstance(info, dict):
                out.append(
                    Service(
                        str(key),
                        str(info.get("name", "")),
                        int(info.get("type", -1)),
                        str(info.get("type_pretty", "")),
                    )
                )
        return out
    for group, kind in (("local_tags", LOCAL_TAG_TYPE), ("local_files", LOCAL_FILE_TYPE)):
        for info in answer.get(group) or []:
            out.append(Service(str(info["service_key"]), str(info["name"]), kind, group))
    if not out:
        raise HydrusBadAnswer(f"Hydrus at {url} listed no services.")
    return out


def request_access(url: str, *, name: str = APP_NAME, timeout_s: float = 10.0) -> str:
    """Ask Hydrus for a new key with every permission in :data:`PERMISSIONS`; returns the key.

    Works only while the person has Hydrus's dialog open (services > review services > client
    api > add > from api request); otherwise raises
    :class:`~workstation.core.hydrus.errors.HydrusNeedsDialog`, whose message says which dialog
    to open.  The caller then passes the key to :func:`connect`.
    """
    client = HydrusClient(url, timeout_s=timeout_s)
    try:
        return client.request_new_permissions(name, [p.id for p in PERMISSIONS])
    finally:
        client.close()


def _choose(services: tuple[Service, ...], wanted: str | None, what: str) -> Service | None:
    if wanted is None:
        if what == "tag":
            mine = [s for s in services if s.name == "my tags"] or list(services)
            return mine[0] if mine else None
        return None
    for s in services:
        if wanted in (s.key, s.name):
            return s
    names = ", ".join(repr(s.name) for s in services) or "none"
    raise WorkstationError(
        f"--{what}-service {wanted!r}: Hydrus has no such {what} service ({names})."
    )


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
    project.require_writable()
    if not url.startswith(("http://", "https://")):
        raise WorkstationError(f"--url {url!r}: must start with http:// or https://.")
    if not note_name.strip():
        raise WorkstationError("--note-name: the note name is empty.")
    report = check_access(url, key, timeout_s=timeout_s)
    if not report.ok:
        missing = ", ".join(p.name for p in report.missing if p.required)
        raise HydrusRefused(
            f"The access key for Hydrus at {report.url} lacks: {missing}. Add them in Hydrus's "
            "services > review services > client api, or request a new key."
        )
    tags = _choose(report.tag_services, tag_service, "tag")
    if tags is None:
        raise HydrusBadAnswer(f"Hydrus at {report.url} has no local tag service.")
    files = _choose(report.file_services, file_service, "file")
    link = HydrusLink(
        url=report.url,
        tag_service_key=tags.key,
        tag_service_name=tags.name,
        file_service_key=None if files is None else files.key,
        file_service_name=None if files is None else files.name,
        note_name=note_name,
        namespaces=dict(DEFAULT_NAMESPACES if namespaces is None else namespaces),
        source_tags=source_tags,
    )
    path = key_path(project)
    try:
        atomic.write_text(path, key, mode=0o600)
    except OSError as exc:
        raise atomic.write_error(path, exc) from None
    with project.transaction():
        old = load_link(project)
        if old is not None:  # another client, service or note: what was synced is not there
            project.reset_hydrus_state(
                files=old.url != link.url or old.file_service_key != link.file_service_key,
                tags=old.url != link.url or old.tag_service_key != link.tag_service_key,
                notes=old.url != link.url or old.note_name != link.note_name,
            )
        project.put_hydrus_link(
            {
                "url": link.url,
                "tag_service_key": link.tag_service_key,
                "tag_service_name": link.tag_service_name,
                "file_service_key": link.file_service_key,
                "file_service_name": link.file_service_name,
                "note_name": link.note_name,
                "namespaces": json.dumps(dict(link.namespaces), sort_keys=True),
                "source_tags": int(link.source_tags),
            }
        )
        project.set_hydrus_contact("ok", None)
    return link, report


def disconnect(project: Project) -> None:
    """Forget the link and delete the key file (the mirror's per-clip state is kept)."""
    with project.transaction():
        project.delete_hydrus_link()
    key_path(project).unlink(missing_ok=True)


def load_link(project: Project) -> HydrusLink | None:
    """The project's link, or None when it was never connected."""
    row = project.hydrus_link_row()
    if row is None:
        return None
    try:
        spaces = json.loads(row["namespaces"])
    except ValueError:
        spaces = None
    return HydrusLink(
        url=row["url"],
        tag_service_key=row["tag_service_key"],
        tag_service_name=row["tag_service_name"],
        file_service_key=row["file_service_key"],
        file_service_name=row["file_service_name"],
        note_name=row["note_name"],
        namespaces=spaces if isinstance(spaces, dict) else dict(DEFAULT_NAMESPACES),
        source_tags=bool(row["source_tags"]),
    )


def require_link(project: Project) -> HydrusLink:
    link = load_link(project)
    if link is None:
        raise NotConnected(
            f"{project.root} is not connected to Hydrus yet: run workstation hydrus connect."
        )
    return link


def key_path(project: Project) -> Path:
    """Where the project's access key is kept (``hydrus.key`` in the project folder)."""
    return project.root / KEY_FILE


def read_key(project: Project) -> str:
    """The stored access key; :class:`NotConnected` when there is none."""
    path = key_path(project)
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise NotConnected(
            f"{path}: no Hydrus access key; run workstation hydrus connect again."
        ) from None
    except OSError as exc:
        raise WorkstationError(f"{path}: cannot read: {atomic.os_problem(exc)}") from None
