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

    def ms(t: float) -> int:
        return round((t - origin) * 1000)

    extra: dict[str, object] = {}
    try:
        if project is None:
            t = time.monotonic()
            existed = (demo_project_dir() / DB_FILE).exists()
            project = ensure_demo_project()
            if not existed:
                created = time.monotonic() - t
                extra["demo_created_ms"] = round(created * 1000)
                origin += created  # a one-off: not part of start-up
        elif not project.is_dir():
            print(f"{project}: no such project folder", file=sys.stderr)
            return 2
    except Exception as exc:
        print(f"smoke: cannot prepare the demo project: {exc}", file=sys.stderr)
        return 2

    from PySide6.QtCore import QTimer

    from workstation.ui.app import make_app

    app = make_app()
    from workstation.core.settings import AppSettings
    from workstation.ui.main_window import MainWindow

    # Never touches the user's settings, never waits for a click on a dialog.
    window = MainWindow(AppSettings(), persist=False, interactive=False)
    marks: dict[str, int] = {}
    failure: list[str] = []

    def fail(message: str) -> None:
        if not failure:
            failure.append(message)
        app.exit(1)

    window.firstPainted.connect(lambda: marks.setdefault("window_shown_ms", ms(time.monotonic())))

    def on_first_frame() -> None:
        marks.setdefault("window_shown_ms", ms(time.monotonic()))
        marks["first_frame_ms"] = ms(time.monotonic())
        QTimer.singleShot(50, finish)

    def finish() -> None:
        if screenshot is not None:
            try:
                _grab(window, screenshot)
            except OSError as exc:
                fail(str(exc))
                return
        app.exit(0)

    def on_grid_shown() -> None:
        marks.setdefault("window_shown_ms", ms(time.monotonic()))
        marks["grid_shown_ms"] = ms(time.monotonic())
        QTimer.singleShot(50, finish)

    def check_project(_session=None) -> None:
        if window.session is None:
            fail(f"{project}: the project could not be opened")
            return
        if view == "clips":
            if not window.session.project.clips():
                fail(f"{project}: the project has no clips to show (slice it first)")
                return
            window.tabs.setCurrentIndex(window.clips_tab)
            clips_view = window.ensure_clips_view()
            signal = getattr(clips_view, "gridShown", None)
            if signal is None:
                fail("smoke: the Clips view is not available")
                return
            signal.connect(on_grid_shown)
            return
        if not window.session.project.videos():
            fail(f"{project}: the project has no videos to show")
            return
        if window.player is None:
            fail("smoke: the window has no player")
            return
        window.player.firstFrameShown.connect(on_first_frame)

    QTimer.singleShot(
        int(timeout_s * 1000),
        lambda: fail(
            f"smoke: no {'thumbnails were' if view == 'clips' else 'video frame was'} shown within {timeout_s:.0f} s"
        ),
    )
    window.projectOpened.connect(check_project)
    window.projectOpenFailed.connect(fail)
    window.open_when_shown(project)
    window.show()
    code = app.exec()
    window.close()
    window.deleteLater()
    app.processEvents()
    if failure or code != 0:
        print(failure[0] if failure else f"smoke: failed (exit code {code})", file=sys.stderr)
        return code or 1
    result = {
        "window_shown_ms": marks.get("window_shown_ms"),
        **(
            {"grid_shown_ms": marks["grid_shown_ms"], "peak_rss_mb": peak_rss_mb()}
            if view == "clips"
            else {"first_frame_ms": marks["first_frame_ms"]}
        ),
        "clock": "process start" if age is not None else "smoke start",
        "project": str(window.settings.last_project or project),
        **extra,
    }
    print(json.dumps(result), flush=True)
    return 0


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
