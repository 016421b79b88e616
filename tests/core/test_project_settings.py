"""Project settings: every key declared once, typed, stored as JSON; old projects migrate."""

from __future__ import annotations

import json
import sqlite3

import pytest

from workstation.core import cliptext
from workstation.core.autotag import CaptionSettings, TagSettings
from workstation.core.autotag.base import load_settings
from workstation.core.autotag.hf_captioner import load_device
from workstation.core.store import (
    AUTOTAG_DEVICE,
    AUTOTAG_TAG,
    CLIP_SIDECARS,
    DB_NAME,
    LAST_VIDEO,
    MIGRATIONS,
    MODEL_FOLDERS,
    PROJECT_SETTINGS,
    SCHEMA_VERSION,
    Project,
    SettingError,
)
from workstation.core.store.schema import _split_sql


def _old_project(root, settings: dict[str, str]) -> None:
    """A project database as schema 1 wrote it, with these raw settings rows."""
    root.mkdir()
    db = sqlite3.connect(root / DB_NAME)
    for statement in _split_sql(MIGRATIONS[0]):
        db.execute(statement)
    db.executemany("INSERT INTO settings(key, value) VALUES (?, ?)", settings.items())
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


def test_every_key_is_declared_once():
    keys = [s.key for s in PROJECT_SETTINGS]
    assert len(keys) == len(set(keys))
    assert set(keys) == {
        "clip_sidecars",
        "autotag.tag",
        "autotag.caption",
        "autotag.device",
        "autotag.model_folders",
        "slicing",
        "export.dialog",
        "ui.last_video",
        "train.form",
        "detect",
    }


def test_defaults_round_trip_and_json(tmp_path):
    with Project.create(tmp_path / "p") as p:
        assert p.get(LAST_VIDEO) is None and p.get(AUTOTAG_DEVICE) == "auto"
        assert p.get(MODEL_FOLDERS) == () and dict(p.get(CLIP_SIDECARS)) == {}
        p.put(LAST_VIDEO, 7)
        p.put(AUTOTAG_DEVICE, "cuda")
        p.put(MODEL_FOLDERS, ("/m/a", "/m/b"))
        assert (p.get(LAST_VIDEO), p.get(AUTOTAG_DEVICE)) == (7, "cuda")
        assert p.get(MODEL_FOLDERS) == ("/m/a", "/m/b")
        rows = dict(p.db.execute("SELECT key, value FROM settings").fetchall())
        assert {k: json.loads(v) for k, v in rows.items()} == {
            "ui.last_video": 7,
            "autotag.device": "cuda",
            "autotag.model_folders": ["/m/a", "/m/b"],
        }
        with pytest.raises(SettingError, match="autotag.device"):
            p.put(AUTOTAG_DEVICE, "gpu9")  # what could not be read back is never stored
        assert p.get(AUTOTAG_DEVICE) == "cuda"


def test_damaged_values(tmp_path):
    with Project.create(tmp_path / "p") as p:
        p.db.executemany(
            "INSERT INTO settings(key, value) VALUES (?, ?)",
            [
                ("autotag.tag", "{not json"),
                ("clip_sidecars", "[1, 2]"),
                ("autotag.device", '"gpu9"'),
                ("autotag.model_folders", '{"a": 1}'),
                ("ui.last_video", '"seven"'),
            ],
        )
        with pytest.raises(SettingError, match=r"project setting autotag.tag: not valid JSON"):
            p.get(AUTOTAG_TAG)
        with pytest.raises(SettingError, match=r"clip_sidecars: not a JSON object"):
            p.get(CLIP_SIDECARS)
        # the lenient ones read as their defaults, as they always did
        assert p.get(AUTOTAG_DEVICE) == "auto"
        assert p.get(MODEL_FOLDERS) == ()
        assert p.get(LAST_VIDEO) is None


def test_old_project_migrates_and_reads_the_same(tmp_path):
    root = tmp_path / "old"
    tag = {"version": 1, "model": "/models/wd", "frames": 2}
    _old_project(
        root,
        {
            "autotag.device": "cpu",  # schema 1 stored the bare word
            "autotag.model_folders": json.dumps(["/models/wd", "/models/vlm"]),
            "ui.last_video": "3",
            "clip_sidecars": json.dumps({"trigger": "sks", "format": "tags", "version": 1}),
            "autotag.tag": json.dumps(tag),
        },
    )
    with Project.open(root) as p:
        assert p.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        stored = p.db.execute("SELECT value FROM settings WHERE key='autotag.device'").fetchone()
        assert stored[0] == '"cpu"'
        assert load_device(p) == "cpu"
        assert p.get(MODEL_FOLDERS) == ("/models/wd", "/models/vlm")
        assert p.get(LAST_VIDEO) == 3
        sidecars = cliptext.load_settings(p)
        assert sidecars.trigger == "sks" and sidecars.format == cliptext.SidecarFormat.TAGS
        assert load_settings(p, TagSettings) == TagSettings(model="/models/wd", frames=2)
        assert load_settings(p, CaptionSettings) == CaptionSettings()
    with Project.open(root) as p:  # opening again changes nothing
        assert load_device(p) == "cpu"
