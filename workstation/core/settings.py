"""The app's own settings (not a project's): recent projects, shortcut overrides, window state.

Declared once, typed, with defaults, saved as JSON with a version number in the user config
folder (``$XDG_CONFIG_HOME/motion-dataset-workstation/settings.json``).  A damaged file never
stops the app: it is kept aside as ``settings.json.bad`` and the defaults are used, with one
warning naming the file and the problem.  Writes are atomic (:mod:`workstation.core.atomic`);
a failed write raises the ``OSError`` (callers log it with :func:`atomic.os_problem`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from workstation.core import atomic

log = logging.getLogger(__name__)

APP_DIR = "motion-dataset-workstation"
SETTINGS_VERSION = 1
MAX_RECENT = 10


@dataclass
class AppSettings:
    """Everything the app remembers between runs."""

    version: int = SETTINGS_VERSION
    recent_projects: list[str] = field(default_factory=list)  # most recent first
    last_project: str | None = None
    shortcuts: dict[str, list[str]] = field(default_factory=dict)  # id -> keys (overrides)
    window_geometry: str = ""  # base64 of QMainWindow.saveGeometry()
    window_state: str = ""  # base64 of QMainWindow.saveState() (docks, toolbars)
    view: str = "cut"
    detector: str = "transnetv2"  # a DetectorKind value: what "Detect cuts" runs
    detect_settings: dict[str, Any] = field(default_factory=dict)  # the ensemble's DetectSettings
    theme: str = "system"  # "system" (follow the desktop's light/dark), "light" or "dark"
    splitter_states: dict[str, str] = field(default_factory=dict)  # name -> base64 saveState()

    def add_recent(self, path: str | Path) -> None:
        """Put a project first in the recent list (no duplicates, at most MAX_RECENT)."""
        p = str(Path(path).resolve())
        self.recent_projects = [p, *(r for r in self.recent_projects if r != p)][:MAX_RECENT]
        self.last_project = p

    def forget(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        self.recent_projects = [r for r in self.recent_projects if r != p]
        if self.last_project == p:
            self.last_project = None


# Each entry upgrades a settings dict from version i to i+1.  Never edit a shipped entry.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

_TYPES: dict[str, Callable[[Any], bool]] = {
    "version": lambda v: isinstance(v, int),
    "recent_projects": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "last_project": lambda v: v is None or isinstance(v, str),
    "shortcuts": lambda v: (
        isinstance(v, dict)
        and all(isinstance(k, str) and isinstance(x, list) for k, x in v.items())
    ),
    "window_geometry": lambda v: isinstance(v, str),
    "window_state": lambda v: isinstance(v, str),
    "view": lambda v: isinstance(v, str),
    "detector": lambda v: isinstance(v, str),
    "detect_settings": lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v),
    "theme": lambda v: v in ("system", "light", "dark"),
    "splitter_states": lambda v: (
        isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())
    ),
}


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP_DIR


def data_dir() -> Path:
    """Where the app keeps data of its own (the demo project)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR


def state_dir() -> Path:
    """Where the workstation keeps logs of its own: ``$XDG_STATE_HOME/motion-dataset-workstation``
    (``internal-errors.log``, written by the command line's last-resort handler)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP_DIR


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load(path: str | Path | None = None) -> AppSettings:
    """Read the settings; defaults when the file is missing or unusable (never raises)."""
    path = Path(path) if path is not None else settings_path()
    if not path.exists():
        return AppSettings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("the file does not hold a JSON object")
    except (OSError, ValueError) as exc:
        log.warning(
            "%s: settings unreadable (%s); using defaults, kept the file as .bad", path, exc
        )
        _keep_aside(path)
        return AppSettings()
    return from_dict(data, source=str(path))


def from_dict(data: dict[str, Any], *, source: str = "settings") -> AppSettings:
    """Upgrade an old dict and take each valid field; a bad field is reported and defaulted."""
    version = data.get("version", 0)
    if not isinstance(version, int):
        version = 0
    if version > SETTINGS_VERSION:
        log.warning(
            "%s: written by a newer version (settings %s, this one knows %s); "
            "reading the fields it knows",
            source,
            version,
            SETTINGS_VERSION,
        )
    for v in range(version, SETTINGS_VERSION):
        upgrade = _UPGRADES.get(v)
        if upgrade is not None:
            data = upgrade(data)
    values: dict[str, Any] = {}
    for f in fields(AppSettings):
        if f.name == "version" or f.name not in data:
            continue
        if _TYPES[f.name](data[f.name]):
            values[f.name] = data[f.name]
        else:
            log.warning(
                "%s: field %r has a bad value %r; using the default", source, f.name, data[f.name]
            )
    return AppSettings(**values)


def save(settings: AppSettings, path: str | Path | None = None) -> Path:
    """Write atomically: readers see the old file or the new one, never half of one."""
    path = Path(path) if path is not None else settings_path()
    data = asdict(settings)
    data["version"] = SETTINGS_VERSION
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.sweep_temps(path.parent)  # what a killed save left
    atomic.write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


def update(change: Callable[[AppSettings], None], path: str | Path | None = None) -> AppSettings:
    """Load, change, save: for one-off changes from anywhere in the app."""
    settings = load(path)
    change(settings)
    save(settings, path)
    return settings


def save_shortcuts(overrides: dict[str, list[str]], path: str | Path | None = None) -> None:
    """Store the shortcut overrides (only what differs from the defaults)."""

    def change(s: AppSettings) -> None:
        s.shortcuts = {k: list(v) for k, v in overrides.items()}

    update(change, path)


def add_recent_project(project: str | Path, path: str | Path | None = None) -> AppSettings:
    return update(lambda s: s.add_recent(project), path)


def _keep_aside(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.replace(path, path.with_name(path.name + ".bad"))
