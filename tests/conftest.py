"""Shared fixtures: small generated videos (every frame carries its number) and projects."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

if os.environ.get("WORKSTATION_BLOCK_QT") == "1":
    # Proves the core runs where Qt is not installed: `WORKSTATION_BLOCK_QT=1 pytest -p no:pytest-qt
    # tests/core` (the test command runs it this way first).
    class _BlockQt:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "shiboken6", "superqt", "pyqtgraph", "mpv"):
                raise ImportError(f"{name} is blocked: core tests must run without Qt")

    sys.meta_path.insert(0, _BlockQt())

from workstation.core import synth
from workstation.core.ingest import add_paths
from workstation.core.progress import drive
from workstation.core.store import Project


@pytest.fixture(scope="session")
def demo_videos(tmp_path_factory) -> list[Path]:
    """The demo project's three videos at 320x180 with ``<name>.truth.json`` beside each."""
    folder = tmp_path_factory.mktemp("demo-videos")
    return synth.make_demo_videos(folder, width=320, height=180)


@pytest.fixture()
def project(tmp_path) -> Project:
    p = Project.create(tmp_path / "proj")
    yield p
    p.close()


@pytest.fixture()
def demo_project(tmp_path, demo_videos) -> Project:
    """A project with the three demo videos added (copied, so tests may write sidecars)."""
    import shutil

    src = tmp_path / "videos"
    src.mkdir()
    for v in demo_videos:
        shutil.copy(v, src / v.name)
        shutil.copy(v.with_name(v.name + ".truth.json"), src / (v.name + ".truth.json"))
    p = Project.create(tmp_path / "proj")
    drive(add_paths(p, [src]))
    yield p
    p.close()
