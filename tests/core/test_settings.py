"""App settings: typed, versioned JSON in the XDG config folder; damage never stops the app."""

from __future__ import annotations

import json

from workstation.core import settings as s


def test_roundtrip_in_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert s.settings_path() == tmp_path / "cfg" / "motion-dataset-workstation" / "settings.json"
    assert s.load() == s.AppSettings()  # no file yet: defaults
    st = s.AppSettings()
    st.add_recent(tmp_path / "a")
    st.add_recent(tmp_path / "b")
    st.add_recent(tmp_path / "a")
    st.shortcuts = {"cut.add": ["C"]}
    s.save(st)
    back = s.load()
    assert back.recent_projects == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert back.last_project == str(tmp_path / "a")
    assert back.shortcuts == {"cut.add": ["C"]}
    data = json.loads(s.settings_path().read_text())
    assert data["version"] == s.SETTINGS_VERSION
    assert [p.name for p in s.settings_path().parent.iterdir()] == ["settings.json"]  # no temp


def test_recent_list_is_bounded(tmp_path):
    st = s.AppSettings()
    for i in range(s.MAX_RECENT + 5):
        st.add_recent(tmp_path / f"p{i}")
    assert len(st.recent_projects) == s.MAX_RECENT
    assert st.recent_projects[0].endswith(f"p{s.MAX_RECENT + 4}")
    st.forget(st.recent_projects[0])
    assert st.last_project is None


def test_damaged_file_gives_defaults_and_is_kept_aside(tmp_path, caplog):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert s.load(path) == s.AppSettings()
    assert (tmp_path / "settings.json.bad").exists()
    assert "settings.json" in caplog.text and "unreadable" in caplog.text


def test_bad_field_is_named_and_defaulted(tmp_path, caplog):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "recent_projects": "oops", "view": "cut"}))
    st = s.load(path)
    assert st.recent_projects == [] and st.view == "cut"
    assert "recent_projects" in caplog.text


def test_shortcut_overrides_saved_without_losing_other_fields(tmp_path):
    path = tmp_path / "settings.json"
    s.add_recent_project(tmp_path / "proj", path)
    s.save_shortcuts({"player.play": ["P"]}, path)
    st = s.load(path)
    assert st.shortcuts == {"player.play": ["P"]}
    assert st.recent_projects == [str((tmp_path / "proj").resolve())]


def test_newer_version_keeps_known_fields(tmp_path, caplog):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 99, "view": "cut", "future_thing": 1}))
    assert s.load(path).view == "cut"
    assert "newer version" in caplog.text
