"""UI test setup: a private config folder, and helpers shared by the UI tests.

The player needs a real GL context, so these tests run under Xvfb (``xvfb-run -a pytest``);
QT_QPA_PLATFORM is not forced to offscreen here.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _private_config(tmp_path, monkeypatch):
    """Settings (recent projects, window state) go to a temp folder, never the user's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    yield


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/ui" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def _c_numeric_locale(qapp):
    """libmpv refuses to start unless LC_NUMERIC is "C"; QApplication may have changed it."""
    import locale

    locale.setlocale(locale.LC_NUMERIC, "C")
    yield


# The fake Hydrus client fixture, shared with the core tests (tests/core/hydrus_fixtures.py).
from tests.core.hydrus_fixtures import fake  # noqa: E402, F401
