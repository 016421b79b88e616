"""Project settings: every key of the ``settings`` table, declared once with its type and default.

A project remembers a few choices of the person (the sidecar format, the last tagging and
captioning settings, the device for local models, the model folders, the slicing settings, the last video shown).
Each is a :class:`Setting` here: its key, its default and how a stored JSON value is checked
and turned into its type.  Code reads and writes them only as ``project.get(SETTING)`` and
``project.put(SETTING, value)``, so a key is never spelled twice and every value is stored
the same way: as JSON (schema migration 2 rewrote the one value stored otherwise).

The structured settings (sidecars, tagging, captioning) are stored as JSON objects; the modules
that own their dataclasses (``cliptext``, ``autotag.base``) turn them into those dataclasses,
so the store imports none of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from workstation.core.errors import ProjectError
from workstation.core.store.database import ProjectDatabase

T = TypeVar("T")

JsonObject = Mapping[str, Any]
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")  # where local models run


class SettingError(ProjectError):
    """A stored project setting that is not valid JSON or not of its setting's type."""


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One project setting: ``key`` in the settings table, ``default`` when none is stored.

    ``decode`` turns the stored JSON value into ``T`` and raises :class:`ValueError` when it
    does not fit.  ``lenient`` settings read a damaged value (not JSON, or not of the type) as
    the default; the others raise :class:`SettingError` naming the key.
    """

    key: str
    default: T
    decode: Callable[[object], T]
    lenient: bool = False


def _json_object(value: object) -> JsonObject:
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _video_id(value: object) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ValueError("not a video id")


def _device(value: object) -> str:
    if isinstance(value, str) and value in DEVICES:
        return value
    raise ValueError(f"not one of {', '.join(DEVICES)}")


def _folders(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError("not a list of folders")
    return tuple(str(x) for x in value if isinstance(x, str))


_EMPTY: JsonObject = MappingProxyType({})

CLIP_SIDECARS: Setting[JsonObject] = Setting("clip_sidecars", _EMPTY, _json_object)
"""How clip .txt sidecars are written (``cliptext.SidecarSettings`` as an object)."""
AUTOTAG_TAG: Setting[JsonObject] = Setting("autotag.tag", _EMPTY, _json_object)
"""The last tagging settings (``autotag.TagSettings``, secrets left out)."""
AUTOTAG_CAPTION: Setting[JsonObject] = Setting("autotag.caption", _EMPTY, _json_object)
"""The last captioning settings (``autotag.CaptionSettings``, the API key left out)."""
AUTOTAG_DEVICE: Setting[str] = Setting("autotag.device", "auto", _device, lenient=True)
"""Where local models run: one of :data:`DEVICES`."""
MODEL_FOLDERS: Setting[tuple[str, ...]] = Setting(
    "autotag.model_folders", (), _folders, lenient=True
)
"""The local model folders the person added in the Models dialog."""
SLICING: Setting[JsonObject] = Setting("slicing", _EMPTY, _json_object, lenient=True)
"""The last slicing settings of the Slice dialog (``slicing.SliceSettings.to_params()``)."""
EXPORT_DIALOG: Setting[JsonObject] = Setting("export.dialog", _EMPTY, _json_object, lenient=True)
"""The export dialog's last values: ``{"out": folder, "settings": ExportSettings.to_params()}``."""
LAST_VIDEO: Setting[int | None] = Setting("ui.last_video", None, _video_id, lenient=True)
"""The id of the video shown last; the window shows it again when the project opens."""
TRAIN_FORM: Setting[JsonObject] = Setting("train.form", _EMPTY, _json_object, lenient=True)
"""The Train tab's form (``{"preset", "settings"}``, the run's TrainSettings less its output)."""
DETECT: Setting[JsonObject] = Setting("detect", _EMPTY, _json_object, lenient=True)
"""The project's detector choice (``{"detector": name, "settings": DetectSettings params}``);
empty: the app settings' choice."""

PROJECT_SETTINGS: tuple[Setting[Any], ...] = (
    CLIP_SIDECARS,
    AUTOTAG_TAG,
    AUTOTAG_CAPTION,
    AUTOTAG_DEVICE,
    MODEL_FOLDERS,
    SLICING,
    EXPORT_DIALOG,
    LAST_VIDEO,
    TRAIN_FORM,
    DETECT,
)


class SettingsTables(ProjectDatabase):
    """The settings table, read and written through :class:`Setting` declarations."""

    def get(self, setting: Setting[T]) -> T:
        """The stored value of ``setting``, or its default when none is stored."""
        row = self.db.execute("SELECT value FROM settings WHERE key=?", (setting.key,)).fetchone()
        if row is None:
            return setting.default
        try:
            return setting.decode(json.loads(row[0]))
        except json.JSONDecodeError:
            problem = "not valid JSON"
        except ValueError as exc:
            problem = str(exc)
        if setting.lenient:
            return setting.default
        raise SettingError(f"project setting {setting.key}: {problem}")

    def put(self, setting: Setting[T], value: T) -> None:
        """Store ``value`` as JSON; a value its setting could not read back is refused."""
        text = json.dumps(value, sort_keys=True)
        try:
            setting.decode(json.loads(text))
        except ValueError as exc:
            raise SettingError(f"project setting {setting.key}: {value!r} is {exc}") from None
        self.db.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (setting.key, text),
        )
