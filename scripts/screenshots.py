"""The README's and docs' screenshots, made from the demo project as a person sees it.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshots.py [OUT]

OUT defaults to docs/screenshots.  The demo project (three generated videos, detected with the
default detector, sliced) is built in a temporary folder; the window opens at 1280x800 and at
1920x1080, and each view and the stage dialogs are grabbed as they are drawn (the player's GL
picture shows in ``QWidget.grab()``, see ../shared/FACTS.md).  App settings go to a temporary
folder too, so a person's own are never touched.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="shots-config-"))
os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="shots-state-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SIZES = ((1280, 800), (1920, 1080))


def main(out: Path) -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QWidget

    from workstation.core.demo import make_demo_project
    from workstation.core.progress import drive
    from workstation.core.settings import AppSettings
    from workstation.core.slicing import split_project
    from workstation.core.store import Project
    from workstation.ui.app import make_app
    from workstation.ui.main_window import MainWindow

    app = make_app(theme="dark")
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="shots-")) / "demo"
    drive(make_demo_project(root))
    with Project.open(root) as project:
        drive(split_project(project))

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def save(widget: QWidget, name: str) -> None:
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        print(path)

    window = MainWindow(AppSettings(theme="dark"), persist=False, interactive=False)
    window.show()
    window.resize(*SIZES[0])
    wait(400)
    save(window, "welcome")
    window.open_project(root)
    wait(2500)
    for width, height in SIZES:
        window.resize(width, height)
        for name, index in (("cut", 0), ("clips", window.clips_tab), ("train", window.train_tab)):
            window.tabs.setCurrentIndex(index)
            wait(1500)
            save(window, f"{name}-view-{width}")
    window.resize(*SIZES[0])
    window.tabs.setCurrentIndex(0)
    wait(800)
    cut = window.cut_view
    videos = [v.id for v in window.session.project.videos()] if window.session else []
    if window.session is not None:
        from workstation.ui.cut.detect_settings import DetectSettingsDialog

        detect = DetectSettingsDialog(
            window, project=window.session.project, selected=videos[:1], every=videos
        )
        detect.show()
        wait(500)
        save(detect, "detect-dialog")
        detect.close()
    dialog = cut.slice_dialog(videos) if hasattr(cut, "slice_dialog") else None
    if isinstance(dialog, QWidget):
        wait(800)
        save(dialog, "slice-dialog")
        dialog.close()
    export = window.menus.open_export()
    if export is not None:
        wait(800)
        save(export, "export-dialog")
        export.close()
    window.tabs.setCurrentIndex(window.clips_tab)
    wait(800)
    autotag = getattr(window.clips_view, "autotag", None)
    tag = autotag.open_tag_dialog() if autotag is not None else None
    if isinstance(tag, QWidget):
        wait(800)
        save(tag, "tag-dialog")
        tag.close()
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots")
    sys.exit(main(target))
