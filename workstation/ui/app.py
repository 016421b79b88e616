"""Starting the GUI: ``workstation [PROJECT_DIR]``, ``workstation --smoke`` (see :func:`main`).

Start-up stays light: only Qt and the window's own modules are imported here; the Cut view,
mpv, detection and slicing load when first used.
"""

from __future__ import annotations

import argparse
import locale
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

VIEWS = ("cut", "clips")
#: The desktop file's and AppStream's id (workstation/resources/APP_ID.desktop, .metainfo.xml).
APP_ID = "org.motiondataset.Workstation"
ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="workstation",
        description="Motion Dataset Workstation: cut, review and slice videos into training clips.",
    )
    p.add_argument("project_dir", nargs="?", help="project folder to open (default: the last one)")
    p.add_argument("--project", dest="project", metavar="DIR", help="project folder to open")
    p.add_argument(
        "--smoke",
        action="store_true",
        help="open the window (on the demo project unless --project is given), wait for the "
        "first video frame, print timings as one JSON line and exit",
    )
    p.add_argument(
        "--screenshot", metavar="FILE", help="save a PNG of the window once a frame is shown"
    )
    p.add_argument("--view", choices=VIEWS, default="cut", help="view to show (default: cut)")
    return p


def make_app(argv: list[str] | None = None, *, theme: str = "system"):
    """The QApplication (created once), with the C numeric locale libmpv needs."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "workstation", *(argv or [])])
        app.setApplicationName("Motion Dataset Workstation")
        app.setOrganizationName("motion-dataset-workstation")
        app.setDesktopFileName(APP_ID)  # = workstation/resources/APP_ID.desktop (Wayland icon)
        app.setWindowIcon(QIcon(str(ICONS / f"{APP_ID}-256.png")))
        apply_style(app, theme)
    locale.setlocale(locale.LC_NUMERIC, "C")
    # Workers run Python stages in threads; with the default 5 ms GIL switch interval the GUI
    # thread can wait several intervals per event-loop turn behind them.  1 ms keeps clicks
    # and repaints prompt at a small cost to the workers' throughput.
    sys.setswitchinterval(0.001)
    return app


def is_dark(app, theme: str = "system") -> bool:
    """Whether ``theme`` means dark here: "system" asks the desktop (Qt 6.5's colour scheme);
    where it does not say (no desktop, an old Qt), dark, which suits video best."""
    if theme in ("light", "dark"):
        return theme == "dark"
    from PySide6.QtCore import Qt

    hints = app.styleHints()
    scheme = hints.colorScheme() if hasattr(hints, "colorScheme") else None
    return scheme != Qt.ColorScheme.Light


def apply_style(app, theme: str = "system") -> None:
    """Fusion (the same everywhere) in a light or a dark palette, following the system's colour
    scheme unless the person chose one (View → Theme); a system change applies at once."""
    from PySide6.QtCore import Qt

    app.setStyle("Fusion")
    app.setProperty("workstationTheme", theme)
    dark = is_dark(app, theme)
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    hints = app.styleHints()
    if hasattr(hints, "colorSchemeChanged") and not app.property("workstationThemeFollows"):
        app.setProperty("workstationThemeFollows", True)
        hints.colorSchemeChanged.connect(
            lambda _scheme: (
                apply_style(app, str(app.property("workstationTheme") or "system"))
                if app.property("workstationTheme") == "system"
                else None
            )
        )
    # Qt 6.8+: the native parts (title bars) follow a chosen theme too.
    if hasattr(hints, "setColorScheme") and theme != "system":
        app.setProperty("workstationSchemeSet", True)
        hints.setColorScheme(Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light)
    elif theme == "system" and app.property("workstationSchemeSet"):
        app.setProperty("workstationSchemeSet", False)
        hints.unsetColorScheme()  # back to the desktop's (colorSchemeChanged re-applies)


def dark_palette():
    """The dark palette: video looks right on dark grey."""
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    role = QPalette.ColorRole
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 48), QColor(220, 220, 220)
    for r, c in (
        (role.Window, window),
        (role.WindowText, text),
        (role.Base, base),
        (role.AlternateBase, QColor(38, 39, 42)),
        (role.ToolTipBase, window),
        (role.ToolTipText, text),
        (role.Text, text),
        (role.Button, window),
        (role.ButtonText, text),
        (role.BrightText, QColor(255, 90, 90)),
        (role.Highlight, QColor(53, 116, 240)),
        (role.HighlightedText, QColor(255, 255, 255)),
        (role.Link, QColor(100, 160, 255)),
        (role.PlaceholderText, QColor(130, 130, 130)),
    ):
        pal.setColor(r, c)
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(disabled, r, QColor(120, 120, 120))
    return pal


def _install_handlers(app) -> None:
    """Ctrl+C in the terminal closes the window; errors in slots reach the log panel."""
    import signal

    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGINT, lambda *_: app.closeAllWindows())
    # Qt's loop runs C++ code: a periodic no-op lets Python notice the signal.
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)

    previous = sys.excepthook

    def log_exception(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            return
        log.error("unexpected error: %s: %s", kind.__name__, value, exc_info=(kind, value, tb))

    sys.excepthook = log_exception


def _initial_project(args, settings) -> tuple[Path | None, str | None]:
    """Which project to open, or why the one named on the command line cannot be opened.

    A path that is not a project is refused (a mistyped one would otherwise become a new
    project); the last project opened is used only while it is still there."""
    chosen = args.project or args.project_dir
    if chosen:
        from workstation.ui.project_opening import no_project_at

        path = Path(chosen).expanduser()
        problem = no_project_at(path)
        return (None, problem) if problem else (path, None)
    last = settings.last_project
    if last and Path(last).exists():
        return Path(last), None
    return None, None


def main(argv: list[str] | None = None) -> int:
    """Run the GUI; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        # The terminal gets warnings and errors; the log panel shows info too.
        handler = logging.StreamHandler()
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
    if args.smoke:
        from workstation.ui.smoke import run_smoke

        return run_smoke(
            project=Path(args.project or args.project_dir)
            if (args.project or args.project_dir)
            else None,
            screenshot=Path(args.screenshot) if args.screenshot else None,
            view=args.view,
        )

    from workstation.core import settings as app_settings

    settings = app_settings.load()
    project, problem = _initial_project(args, settings)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    app = make_app(theme=settings.theme)
    from workstation.ui.main_window import MainWindow

    window = MainWindow(settings)
    _install_handlers(app)
    if args.screenshot:
        from workstation.ui.smoke import screenshot_when_ready

        window.projectOpened.connect(
            lambda _s: screenshot_when_ready(window, Path(args.screenshot))
        )
    if project is not None:
        window.open_when_shown(project)
    window.show()
    return app.exec()
