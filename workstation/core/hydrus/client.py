"""A small Hydrus Client API client on ``requests`` (only the calls the mirror makes).

Every call has a timeout; every failure becomes a :class:`~workstation.core.hydrus.errors.
HydrusError` naming the URL (never the key, which travels only in the
``Hydrus-Client-API-Access-Key`` header).  GET parameters that are lists or objects are sent as
JSON, as the Client API expects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from workstation.core.hydrus.errors import (
    HydrusBadAnswer,
    HydrusBusy,
    HydrusDown,
    HydrusError,
    HydrusNeedsDialog,
    HydrusRefused,
)

KEY_HEADER = "Hydrus-Client-API-Access-Key"
#: Hashes per ``/get_files/file_metadata`` request (a very long URL makes Hydrus drop the
#: connection without an answer).
METADATA_BATCH = 256
#: ``/add_files/add_file`` statuses.
NEW, KNOWN, DELETED, FAILED, VETOED = 1, 2, 3, 4, 7

DIALOG = (
    "open Hydrus's services > review services > local > client api > add > from api request, "
    "then ask again"
)


class HydrusClient:
    """One Hydrus client at ``url`` with access ``key``."""

    def __init__(self, url: str, key: str = "", *, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._key = key
        self.timeout_s = timeout_s
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    # -- the transport ---------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """One request; the decoded JSON answer ({} for an empty one)."""
        query = {
            k: json.dumps(v) if isinstance(v, (list, dict, bool)) else v
            for k, v in (params or {}).items()
        }
        headers = {KEY_HEADER: self._key} if self._key else {}
        where = f"Hydrus at {self.url}"
        try:
            answer = self._session.request(
                method,
                self.url + path,
                params=query,
                json=body,
                headers=headers,
                timeout=self.timeout_s,
            )
        except requests.Timeout:
            raise HydrusDown(f"{where} did not answer within {self.timeout_s:g} s.") from None
        except requests.ConnectionError:
            raise HydrusDown(f"{where} is not running or cannot be reached.") from None
        except requests.RequestException as exc:
            raise HydrusDown(f"{where} could not be asked: {type(exc).__name__}.") from None
        return _decode(answer, where, path)

    # -- access ----------------------------------------------------------------------------
    def api_version(self) -> int:
        return int(self.call("GET", "/api_version").get("version", 0))

    def verify_access_key(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", "/verify_access_key")
        return answer

    def request_new_permissions(self, name: str, permissions: Sequence[int]) -> str:
        answer = self.call(
            "GET",
            "/request_new_permissions",
            {"name": name, "basic_permissions": list(permissions)},
        )
        key = answer.get("access_key")
        if not isinstance(key, str):
            raise HydrusBadAnswer(f"Hydrus at {self.url} gave no access key.")
        return key

    def get_services(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", "/get_services")
        return answer

    # -- files, tags, notes ----------------------------------------------------------------
    def add_file(self, path: str, file_service_key: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"path": path}
        if file_service_key:
            body["file_service_key"] = file_service_key
        answer: dict[str, Any] = self.call("POST", "/add_files/add_file", body=body)
        return answer

    def add_tags(self, sha256: str, service_key: str, add: list[str], delete: list[str]) -> None:
        actions: dict[str, list[str]] = {}
        if add:
            actions["0"] = add
        if delete:
            actions["1"] = delete
        if actions:  # only the actions form: sending both forms drops the first silently
            body = {"hash": sha256, "service_keys_to_actions_to_tags": {service_key: actions}}
            self.call("POST", "/add_tags/add_tags", body=body)

    def set_note(self, sha256: str, name: str, text: str) -> None:
        """Set one note byte for byte ("" deletes it); never ``merge_cleverly``."""
        body = {"hash": sha256, "notes": {name: text}, "merge_cleverly": False}
        self.call("POST", "/add_notes/set_notes", body=body)

    def file_metadata(self, hashes: Sequence[str]) -> list[dict[str, Any]]:
        if len(hashes) > METADATA_BATCH:
            raise ValueError(f"at most {METADATA_BATCH} hashes per request")
        answer = self.call(
            "GET",
            "/get_files/file_metadata",
            {"hashes": list(hashes), "include_notes": True},
        )
        meta = answer.get("metadata")
        if not isinstance(meta, list):
            raise HydrusBadAnswer(f"Hydrus at {self.url} sent file metadata without a list.")
        return meta

    def force_commit(self) -> None:
        self.call("POST", "/manage_database/force_commit", body={})

    # -- pages -----------------------------------------------------------------------------
    def get_pages(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", "/manage_pages/get_pages")
        return answer

    def show_files(self, page_key: str, hashes: Sequence[str]) -> None:
        self.call(
            "POST", "/manage_pages/add_files", body={"page_key": page_key, "hashes": list(hashes)}
        )
        self.call("POST", "/manage_pages/focus_page", body={"page_key": page_key})


def _decode(answer: requests.Response, where: str, path: str) -> Any:
    code = answer.status_code
    if code == 401:
        raise HydrusRefused(f"{where} wants an access key ({path} answered 401).")
    if code == 403:
        raise HydrusRefused(
            f"{where} refused the access key ({path} answered 403): the key is wrong, or it "
            "lacks a permission; check it in Hydrus's services > review services > client api."
        )
    if code == 409:
        raise HydrusNeedsDialog(f"{where} is not waiting for a request: {DIALOG}.")
    if code == 503:
        raise HydrusBusy(f"{where} is busy (its database is locked).")
    if code >= 400:
        first = (answer.text or "").strip().splitlines()[:1]
        detail = f": {first[0][:200]}" if first else ""
        raise HydrusError(f"{where} answered {code} to {path}{detail}")
    if not answer.content:
        return {}
    try:
        return answer.json()
    except ValueError:
        raise HydrusBadAnswer(f"{where} sent an answer that is not JSON to {path}.") from None
