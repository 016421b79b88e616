"""The Cut view's sidecar cut lists: written beside each video after edits, off the GUI thread.

Rendering a sidecar for thousands of cuts takes a noticeable fraction of a second, so edits only
mark their video; a debounce timer hands the marked videos to one writer thread (a burst of
nudges costs one write), and :meth:`SidecarLane.flush` writes what is pending synchronously when
the view switches video, closes or the app quits, so nothing is lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from workstation.core.store import Project

SIDECAR_DELAY_MS = 300


class SidecarSession(Protocol):
    """What the lane reads of the project session (``is_closed`` too, where it has one)."""

    @property
    def root(self) -> Path: ...
    @property
    def project(self) -> Project: ...


class SidecarWriter(QObject):
    """The single writer lane for sidecars: one thread, its own Project, writes in order.

    Rendering a sidecar for thousands of cuts takes a noticeable fraction of a second, which
    must not freeze the timeline after every nudge; one thread keeps the writes ordered, so the
    last one always reflects the last edit.
    """

    written = Signal(int, str)  # video id, path
    failed = Signal(str)

    def __init__(self, root: str | Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)

    def write(self, video_ids: list[int]) -> None:
        self.pool.start(lambda ids=tuple(video_ids): self._run(ids))

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)

    def _run(self, video_ids: tuple[int, ...]) -> None:  # in the writer thread
        from workstation.core.cutfiles import write_sidecar

        try:
            with Project(self.root) as project:
                for vid in video_ids:
                    try:
                        self.written.emit(vid, str(write_sidecar(project, vid)))
                    except Exception as exc:
                        self.failed.emit(f"Could not write the cut list beside the video: {exc}")
        except Exception as exc:
            self.failed.emit(f"Could not open the project to write cut lists: {exc}")


class SidecarLane(QObject):
    """Which videos' sidecars are stale, the debounce before writing them, and the writer.

    The session's ``root`` is for the writer's own Project, its main-thread ``project`` for
    :meth:`flush`; nothing is written once it ``is_closed``.
    """

    written = Signal(int, str)  # video id, path
    failed = Signal(str)

    def __init__(self, session: SidecarSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.dirty: set[int] = set()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(SIDECAR_DELAY_MS)
        self.timer.timeout.connect(self._write_later)
        self.writer = SidecarWriter(session.root, self)
        self.writer.written.connect(self.written)
        self.writer.failed.connect(self.failed)

    def changed(self, video_id: int) -> None:
        """An edit changed this video's cuts: write its sidecar after the debounce."""
        self.dirty.add(video_id)
        self.timer.start()

    def hand_over(self) -> None:
        """Give pending videos to the writer thread now, without waiting for it."""
        self.timer.stop()
        self._write_later()

    def stop(self) -> None:
        """The session is closing: no more writes; wait for the one in flight."""
        self.timer.stop()
        self.writer.wait()

    def _closed(self) -> bool:
        return bool(getattr(self.session, "is_closed", False))

    def _write_later(self) -> None:
        """Debounce timer: hand the edited videos to the single sidecar writer thread."""
        if not self.dirty or self._closed():
            return
        dirty, self.dirty = sorted(self.dirty), set()
        self.writer.write(dirty)

    def flush(self) -> None:
        """Write pending sidecars now and wait (video switch, close, quit): nothing is lost."""
        self.stop()
        if not self.dirty or self._closed():
            return
        from workstation.core.cutfiles import write_sidecar

        dirty, self.dirty = self.dirty, set()
        for vid in sorted(dirty):
            try:
                path = write_sidecar(self.session.project, vid)
            except Exception as exc:  # the edit is in the project; say why the file is not
                self.failed.emit(f"Could not write the cut list beside the video: {exc}")
                continue
            self.written.emit(vid, str(path))
