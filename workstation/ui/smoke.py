"""Smoke mode: open the real window on a project, wait for the first video frame, report, exit.

``workstation --smoke [--project DIR] [--screenshot FILE]`` prints one JSON line::

    {"window_shown_ms": 812, "first_frame_ms": 1240, ...}

With ``--view clips`` it opens the Clips view instead and waits until the visible thumbnails are
drawn: ``{"window_shown_ms": .., "grid_shown_ms": .., "peak_rss_mb": ..}``.

Times count from the start of the process (read from /proc where available, else from the
call), so they include Python's start-up and imports, which is what a person waits for.  The
exit code is 0 on success; on a failure or after 30 s it is non-zero with a message on stderr.
Without ``--project`` the demo project (generated videos with known cuts) is used, created in
the user data folder the first time; that one-off creation is reported separately and not
counted in the start-up times.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when the smoke run starts: the module stays light
    from PySide6.QtCore import QCoreApplication

    from workstation.ui.main_window import MainWindow
    from workstation.ui.session import ProjectSession

TIMEOUT_S = 30.0
DB_FILE = "project.wsdb"  # store.DB_NAME; importing the store (numpy, PyAV) here would cost ~1 s


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc), None where unknown."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5): starttime
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def demo_project_dir() -> Path:
    from workstation.core.settings import data_dir

    return data_dir() / "demo"


def ensure_demo_project(root: Path | None = None) -> Path:
    """The demo project, created on first use (with detected cuts when detection is available)."""
    root = root or demo_project_dir()
    if (root / DB_FILE).exists() and (root / "videos").is_dir():
        return root  # made before; checked for real when the window opens it
    from workstation.core.demo import make_demo_project
    from workstation.core.progress import drive

    drive(make_demo_project(root, detect=True))
    return root


def _grab(window, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        raise OSError(f"{path}: could not write the screenshot")


def screenshot_when_ready(window, path: Path, *, timeout_s: float = TIMEOUT_S) -> None:
    """Save a screenshot once the player shows a frame (or after the timeout, as it is)."""
    from PySide6.QtCore import QTimer

    done = {"saved": False}

    def save() -> None:
        if done["saved"]:
            return
        done["saved"] = True
        try:
            _grab(window, path)
        except OSError as exc:
            print(exc, file=sys.stderr)

    player = window.player
    if player is not None:
        player.firstFrameShown.connect(lambda: QTimer.singleShot(200, save))
    QTimer.singleShot(int(timeout_s * 1000), save)


def run_smoke(
    *,
    project: Path | None = None,
    screenshot: Path | None = None,
    view: str = "cut",
    timeout_s: float = TIMEOUT_S,
) -> int:
    """Open the window, wait for the first frame, print one JSON line; returns the exit code."""
    t_call = time.monotonic()
    age = process_age_s()
    origin = t_call - age if age is not None else t_call  # monotonic time of process start
    extra: dict[str, object] = {}
    prepared = _prepare_project(project, extra)
    if prepared is None:
        return 2
    project, created = prepared
    origin += created  # a one-off: not part of start-up

    from workstation.ui.app import make_app

    app = make_app()
    from workstation.core.settings import AppSettings
    from workstation.ui.main_window import MainWindow

    # Never touches the user's settings, never waits for a click on a dialog.
    window = MainWindow(AppSettings(), persist=False, interactive=False)
    smoke = _Smoke(app, window, project, view, screenshot, origin)
    smoke.arm(timeout_s)
    window.open_when_shown(project)
    window.show()
    code = app.exec()
    window.close()
    window.deleteLater()
    app.processEvents()
    if smoke.failure or code != 0:
        print(
            smoke.failure[0] if smoke.failure else f"smoke: failed (exit code {code})",
            file=sys.stderr,
        )
        return code or 1
    result = {
        **smoke.measured(),
        "clock": "process start" if age is not None else "smoke start",
        "project": str(window.settings.last_project or project),
        **extra,
    }
    print(json.dumps(result), flush=True)
    return 0


def _prepare_project(project: Path | None, extra: dict[str, object]) -> tuple[Path, float] | None:
    """The project to open, and the seconds spent creating the demo project (0 when none was).

    None (with a message on stderr) when there is nothing to open.  A demo project created
    now is reported in ``extra`` as ``demo_created_ms``.
    """
    try:
        if project is None:
            t = time.monotonic()
            existed = (demo_project_dir() / DB_FILE).exists()
            project = ensure_demo_project()
            if not existed:
                created = time.monotonic() - t
                extra["demo_created_ms"] = round(created * 1000)
                return project, created
        elif not project.is_dir():
            print(f"{project}: no such project folder", file=sys.stderr)
            return None
    except Exception as exc:
        print(f"smoke: cannot prepare the demo project: {exc}", file=sys.stderr)
        return None
    return project, 0.0


class _Smoke:
    """One smoke run: the window's signals mark the times; the first failure ends the loop."""

    def __init__(
        self,
        app: QCoreApplication,
        window: MainWindow,
        project: Path,
        view: str,
        screenshot: Path | None,
        origin: float,
    ) -> None:
        self.app, self.window, self.project = app, window, project
        self.view, self.screenshot, self.origin = view, screenshot, origin
        self.marks: dict[str, int] = {}
        self.failure: list[str] = []

    def ms(self, t: float) -> int:
        return round((t - self.origin) * 1000)

    def arm(self, timeout_s: float) -> None:
        """Connect to the window and start the timeout (before the window is shown)."""
        from PySide6.QtCore import QTimer

        window = self.window
        window.firstPainted.connect(self._mark_shown)
        what = "thumbnails were" if self.view == "clips" else "video frame was"
        QTimer.singleShot(
            int(timeout_s * 1000),
            lambda: self.fail(f"smoke: no {what} shown within {timeout_s:.0f} s"),
        )
        window.projectOpened.connect(self.check_project)
        window.projectOpenFailed.connect(self.fail)

    def measured(self) -> dict[str, object]:
        """The times of a run that succeeded (and the peak memory for the Clips view)."""
        marks = self.marks
        return {
            "window_shown_ms": marks.get("window_shown_ms"),
            **(
                {"grid_shown_ms": marks["grid_shown_ms"], "peak_rss_mb": peak_rss_mb()}
                if self.view == "clips"
                else {"first_frame_ms": marks["first_frame_ms"]}
            ),
        }

    def fail(self, message: str) -> None:
        if not self.failure:
            self.failure.append(message)
        self.app.exit(1)

    def _mark_shown(self) -> None:
        self.marks.setdefault("window_shown_ms", self.ms(time.monotonic()))

    def _reached(self, mark: str) -> None:
        from PySide6.QtCore import QTimer

        self._mark_shown()
        self.marks[mark] = self.ms(time.monotonic())
        QTimer.singleShot(50, self.finish)

    def on_first_frame(self) -> None:
        self._reached("first_frame_ms")

    def on_grid_shown(self) -> None:
        self._reached("grid_shown_ms")

    def finish(self) -> None:
        if self.screenshot is not None:
            try:
                _grab(self.window, self.screenshot)
            except OSError as exc:
                self.fail(str(exc))
                return
        self.app.exit(0)

    def check_project(self, _session: object = None) -> None:
        window, project = self.window, self.project
        if window.session is None:
            self.fail(f"{project}: the project could not be opened")
            return
        if self.view == "clips":
            self._watch_clips(window.session)
            return
        if not window.session.project.videos():
            self.fail(f"{project}: the project has no videos to show")
            return
        if window.player is None:
            self.fail("smoke: the window has no player")
            return
        window.player.firstFrameShown.connect(self.on_first_frame)

    def _watch_clips(self, session: ProjectSession) -> None:
        window = self.window
        if not session.project.clips():
            self.fail(f"{self.project}: the project has no clips to show (slice it first)")
            return
        window.tabs.setCurrentIndex(window.clips_tab)
        clips_view = window.ensure_clips_view()
        signal = getattr(clips_view, "gridShown", None)
        if signal is None:
            self.fail("smoke: the Clips view is not available")
            return
        signal.connect(self.on_grid_shown)


def peak_rss_mb() -> float | None:
    """The process's peak resident memory (ru_maxrss), in MiB."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kib / 1024, 1)


class StallMeter:
    """Measures how long the GUI thread's event loop is blocked.

    A 0 ms timer ticks whenever the loop is idle; the longest gap between two ticks is the
    longest time a click or a repaint would have waited.  Used by the responsiveness bench.
    """

    def __init__(self, interval_ms: int = 0) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last: float | None = None

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now

    @property
    def ticks(self) -> int:
        return len(self.gaps)

    @property
    def max_gap_ms(self) -> float:
        return max(self.gaps, default=0.0) * 1000

    def percentile_ms(self, q: float) -> float:
        if not self.gaps:
            return 0.0
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000
