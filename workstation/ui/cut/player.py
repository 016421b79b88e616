"""A frame-exact video player: libmpv's render API drawing into a QOpenGLWidget.

Why this shape: embedding mpv by window id draws black in ``QWidget.grab()`` and fights Qt's
layouts; the render API draws into the widget's own framebuffer, so screenshots, docking and
tests work (also under Xvfb with Mesa's software GL).  mpv calls back from its own threads, so
every callback is turned into a queued Qt signal and handled on the main thread.

Frame numbers are 0-based presentation-order indices (see ``docs/architecture.md``).  Seeks
are exact (``hr-seek``) and map frame numbers to times through the video's ``FrameIndex`` when
one is given (VFR files), else through ``n / fps``.

Keys (``handle_key``): Space play/pause; J/K/L shuttle (see :meth:`PlayerWidget.jkl`);
``,``/``.`` or Left/Right step one frame; Shift+Left/Right step 10 frames; Home/End.
The bar under the player (``PlayerControls``) is in :mod:`workstation.ui.cut.player_controls`.
"""

from __future__ import annotations

import locale
import logging
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QOpenGLContext
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QSizePolicy, QWidget

from workstation.core.media import FrameIndex
from workstation.ui.cut.player_controls import SPEEDS, format_timecode

log = logging.getLogger(__name__)

# Keys with these held are the window's shortcuts, never the player's own keys.
_SHORTCUT_MODIFIERS = (
    Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.MetaModifier
)
mpv_log = logging.getLogger("mpv")

_MPV_LEVELS = {
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
}


def _mpv_log_handler(level: str, component: str, message: str) -> None:
    mpv_log.log(_MPV_LEVELS.get(level, logging.DEBUG), "%s: %s", component, message.rstrip())


class _Bridge(QObject):
    """Carries mpv's callbacks (from mpv threads) to the main thread as queued signals."""

    renderUpdate = Signal()
    timePos = Signal(object)
    paused = Signal(bool)
    speed = Signal(float)
    mpvEvent = Signal(str)  # not "event": that is QObject's event handler


class PlayerWidget(QOpenGLWidget):
    """Shows one video; seeks, steps and plays frame-exactly."""

    frameChanged = Signal(int)
    firstFrameShown = Signal()
    playingChanged = Signal(bool)
    speedChanged = Signal(float)
    loaded = Signal(str)  # path, once mpv opened it
    loadFailed = Signal(str)  # a message naming the file

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # libmpv's objects: the python-mpv binding has no type information.
        self._mpv: Any = None
        self._ctx: Any = None
        self._proc_fn: Any = None
        self._bridge = _Bridge()
        q = Qt.ConnectionType.QueuedConnection
        self._bridge.renderUpdate.connect(self._on_render_update, q)
        self._bridge.timePos.connect(self._on_time_pos, q)
        self._bridge.paused.connect(self._on_paused, q)
        self._bridge.speed.connect(self.speedChanged, q)
        self._bridge.mpvEvent.connect(self._on_event, q)

        self.path: Path | None = None
        self.fps = Fraction(25)
        self.frame_count = 0
        self.index: FrameIndex | None = None
        self._current = 0
        self._target: int | None = None  # a seek/step in flight (so key repeat accumulates)
        self._t0 = 0.0  # mpv's time of frame 0
        self._t0_known = False
        self._state = "empty"  # empty | pending | loading | ready
        self._first_pending = False
        self._pending_seek: int | None = None
        self._playing = False
        self._direction = 1
        self._frames_rendered = 0
        self._awaiting_start = False
        self._entry_id: int | None = None

    # -- mpv lifecycle ---------------------------------------------------------------------
    def _ensure_mpv(self):
        if self._mpv is None:
            import mpv

            locale.setlocale(locale.LC_NUMERIC, "C")
            self._mpv = mpv.MPV(
                vo="libmpv",
                hr_seek="yes",
                hwdec="no",
                hr_seek_framedrop="no",
                keep_open="yes",
                pause=True,
                idle="yes",
                osc="no",
                input_default_bindings="no",
                input_vo_keyboard="no",
                audio_display="no",
                log_handler=_mpv_log_handler,
                loglevel="warn",
            )
            b = self._bridge
            self._mpv.observe_property("time-pos", lambda _n, v: b.timePos.emit(v))
            self._mpv.observe_property("pause", lambda _n, v: b.paused.emit(bool(v)))
            self._mpv.observe_property("speed", lambda _n, v: b.speed.emit(float(v or 1.0)))
            self._mpv.register_event_callback(self._mpv_event)
        return self._mpv

    def _mpv_event(self, event) -> None:
        """mpv's event thread: forward the few events we need, tagged with the playlist entry."""
        try:
            from mpv import MpvEventEndFile, MpvEventID

            eid = event.event_id.value
            if eid == MpvEventID.START_FILE:
                self._bridge.mpvEvent.emit(f"start-file:{event.data.playlist_entry_id}")
            elif eid == MpvEventID.END_FILE:
                data = event.data
                error = "error" if data.reason == MpvEventEndFile.ERROR else "ok"
                self._bridge.mpvEvent.emit(f"end-file:{data.playlist_entry_id}:{error}")
            elif eid == MpvEventID.PLAYBACK_RESTART:
                self._bridge.mpvEvent.emit("playback-restart")
        except Exception:  # the event thread must never raise
            log.debug("mpv event not forwarded", exc_info=True)

    def initializeGL(self) -> None:
        from mpv import MpvGlGetProcAddressFn, MpvRenderContext

        player = self._ensure_mpv()

        def get_proc_address(_unused, name):
            glctx = QOpenGLContext.currentContext()
            if glctx is None:
                return 0
            address = glctx.getProcAddress(name.decode() if isinstance(name, bytes) else name)
            return int(address or 0)

        self._proc_fn = MpvGlGetProcAddressFn(get_proc_address)
        self._ctx = MpvRenderContext(
            player, "opengl", opengl_init_params={"get_proc_address": self._proc_fn}
        )
        self._ctx.update_cb = self._bridge.renderUpdate.emit
        # Re-parenting to another window recreates the GL context: free ours before it goes.
        self.context().aboutToBeDestroyed.connect(self._free_render_context)
        if self._state == "pending":
            self._start_loading()

    def paintGL(self) -> None:
        ratio = self.devicePixelRatioF()
        w, h = max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))
        if self._ctx is None or self._state == "empty":
            f = self.context().functions()
            f.glClearColor(0.08, 0.08, 0.08, 1.0)
            f.glClear(0x4000)  # GL_COLOR_BUFFER_BIT
            return
        # block_for_target_time=False: by default mpv waits here until the frame is due, which
        # would stall the GUI thread for up to a frame per paint while playing.
        self._ctx.render(
            flip_y=True,
            opengl_fbo={"w": w, "h": h, "fbo": self.defaultFramebufferObject()},
            block_for_target_time=False,
        )
        self._frames_rendered += 1
        if self._first_pending and self._state == "ready":
            self._first_pending = False
            QTimer.singleShot(0, self.firstFrameShown.emit)

    def _free_render_context(self) -> None:
        if self._ctx is not None:
            self.makeCurrent()
            self._ctx.free()
            self._ctx = None
            self.doneCurrent()
            if self._state in ("loading", "ready") and self.path is not None:
                self._state = "pending"  # reload when a new context exists, at the same frame
                self._pending_seek = self._current if self._current else self._pending_seek

    def unload(self) -> None:
        """Free the render context (GL context current), then end mpv.  Safe to call twice."""
        self._free_render_context()
        if self._mpv is not None:
            player, self._mpv = self._mpv, None
            try:
                player.terminate()
            except Exception:
                log.warning("mpv did not terminate cleanly", exc_info=True)
        self._state = "empty"
        self.path = None

    def closeEvent(self, event) -> None:
        self.unload()
        super().closeEvent(event)

    # -- loading ---------------------------------------------------------------------------
    def load(
        self,
        path: str | Path,
        *,
        fps: Fraction,
        frame_count: int,
        index: FrameIndex | None = None,
    ) -> None:
        """Open a video paused on frame 0; ``firstFrameShown`` follows once it is on screen."""
        self.path = Path(path)
        self.fps = Fraction(fps) if fps else Fraction(25)
        self.frame_count = int(frame_count)
        self.index = index if index is not None and len(index) else None
        self._current = 0
        self._target = None
        self._pending_seek = None
        self._t0, self._t0_known = 0.0, False
        self._first_pending = False
        self._state = "pending"
        if self._ctx is not None:
            self._start_loading()
        self.frameChanged.emit(0)

    def _start_loading(self) -> None:
        player = self._ensure_mpv()
        self._state = "loading"
        self._awaiting_start = True  # drop time reports and events of the previous file
        self._t0_known = False
        player.pause = True
        player.speed = 1.0
        player.play_direction = "forward"
        self._direction = 1
        reply = player.command("loadfile", str(self.path), "replace")
        # Events name their playlist entry: those of a file replaced meanwhile are ignored.
        self._entry_id = reply.get("playlist_entry_id") if isinstance(reply, dict) else None

    @property
    def is_ready(self) -> bool:
        return self._state == "ready"

    # -- frame <-> time --------------------------------------------------------------------
    def time_of(self, frame: int) -> float:
        """Seconds from frame 0 to ``frame`` (exact for VFR through the frame index)."""
        if self.index is not None:
            return self.index.time_of(max(0, min(frame, len(self.index) - 1)))
        return float(frame / self.fps)

    def frame_at(self, seconds: float) -> int:
        """The frame shown at ``seconds`` after frame 0 (tolerates mpv's rounding)."""
        if self.index is not None:
            tick = float(self.index.time_base)
            return self.index.frame_at_time(seconds + tick / 2)
        n = math.floor(seconds * self.fps + 0.01)
        return max(0, min(n, max(0, self.frame_count - 1)))

    # -- mpv events on the main thread -----------------------------------------------------
    def _on_render_update(self) -> None:
        if self._ctx is not None and self._ctx.update():
            self.update()

    def _on_event(self, name: str) -> None:
        kind, _, rest = name.partition(":")
        if kind == "start-file":
            if self._entry_id is None or rest == str(self._entry_id):
                self._awaiting_start = False
        elif kind == "end-file":
            entry, _, outcome = rest.partition(":")
            mine = self._entry_id is None or entry == str(self._entry_id)
            if mine and outcome == "error" and self._state == "loading":
                # The file ended before its first frame: mpv could not open or decode it.
                self._state = "empty"
                message = f"{self.path}: the player could not open this file (see the Log)"
                log.error("%s", message)
                self.loadFailed.emit(message)
                self.update()
        elif self._awaiting_start:
            return  # events of the file that was playing before this load
        elif kind == "playback-restart" and self._state == "loading":
            self._state = "ready"
            self._first_pending = True
            self.loaded.emit(str(self.path))
            if self._pending_seek is not None:
                n, self._pending_seek = self._pending_seek, None
                self.seek_frame(n)
            self.update()
        elif kind == "playback-restart":
            self.update()

    def _on_time_pos(self, value) -> None:
        if value is None or self._awaiting_start or self._state not in ("loading", "ready"):
            return
        t = float(value)
        if not self._t0_known:
            # The first time mpv reports after opening is frame 0 (it opens paused at the start).
            self._t0, self._t0_known = t, True
        frame = self.frame_at(t - self._t0)
        self._target = None
        if frame != self._current:
            self._current = frame
            self.frameChanged.emit(frame)

    def _on_paused(self, paused: bool) -> None:
        playing = not paused
        if playing != self._playing:
            self._playing = playing
            self.playingChanged.emit(playing)

    # -- commands --------------------------------------------------------------------------
    @property
    def current_frame(self) -> int:
        return self._current

    @property
    def is_playing(self) -> bool:
        return self._playing

    @property
    def speed(self) -> float:
        return float(self._mpv.speed) if self._mpv is not None else 1.0

    @property
    def direction(self) -> int:
        """+1 when playing forward, -1 when playing backward (J)."""
        return self._direction

    def _clamp(self, n: int) -> int:
        return max(0, min(int(n), max(0, self.frame_count - 1)))

    def seek_frame(self, n: int) -> None:
        """Show frame ``n`` exactly (hr-seek); before the video is ready the seek waits."""
        n = self._clamp(n)
        if self._state != "ready":
            self._pending_seek = n
            return
        self._target = n
        t = self._t0 + self.time_of(n)
        self._command("seek", f"{t:.6f}", "absolute+exact")

    def _command(self, *args: str) -> bool:
        """Run an mpv command; a refusal (file still opening) is logged, never raised."""
        try:
            self._mpv.command(*args)
            return True
        except SystemError as exc:
            log.debug("mpv refused %s: %s", args, exc)
            self._target = None
            return False

    def step(self, delta: int) -> None:
        """Step ``delta`` frames; pauses playback.  Key repeat accumulates on the target."""
        if self._state != "ready" or not delta:
            return
        if self._playing:
            self.pause()
        base = self._target if self._target is not None else self._current
        n = self._clamp(base + delta)
        if n == base:
            return
        if self._target is None and delta == 1:
            self._target = n
            self._command("frame-step")
        elif self._target is None and delta == -1:
            self._target = n
            self._command("frame-back-step")
        else:
            self.seek_frame(n)

    def play(self) -> None:
        if self._state != "ready":
            return
        if self._current >= self.frame_count - 1 and self._direction > 0:
            self.seek_frame(0)
        self._mpv.pause = False

    def pause(self) -> None:
        if self._mpv is not None:
            self._mpv.pause = True

    def toggle_play(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def set_speed(self, speed: float) -> None:
        if self._mpv is not None:
            self._mpv.speed = float(speed)

    def _set_direction(self, direction: int) -> None:
        if direction != self._direction and self._mpv is not None:
            self._direction = direction
            self._mpv.play_direction = "forward" if direction > 0 else "backward"

    def jkl(self, key: str) -> None:
        """J/K/L shuttle as in editing software.

        K pauses.  L plays forward; each further L doubles the speed (up to 8x), and while
        playing backward it halves the reverse speed first.  J mirrors it: plays backward
        (mpv's backward playback, heavier on memory than forward), each further J doubles the
        reverse speed, and while playing forward it halves the forward speed first.
        """
        key = key.upper()
        if key == "K":
            self.pause()
            return
        if self._state != "ready":
            return
        want = 1 if key == "L" else -1 if key == "J" else 0
        if not want:
            raise ValueError(f"jkl key must be J, K or L, not {key!r}")
        speed = self.speed
        if self._playing and self._direction == want:
            self.set_speed(min(SPEEDS[-1], speed * 2))
        elif self._playing and speed > 1.0:
            self.set_speed(speed / 2)
        else:
            self.pause()
            self._set_direction(want)
            self.set_speed(1.0)
            self._mpv.pause = False

    def handle_key(self, event: QKeyEvent) -> bool:
        """Player keys for whoever has focus (the Cut view forwards its key presses here)."""
        key = event.key()
        mods = event.modifiers()
        big = 10 if mods & Qt.KeyboardModifier.ShiftModifier else 1
        if key == Qt.Key.Key_Space:
            self.toggle_play()
        elif key in (Qt.Key.Key_J, Qt.Key.Key_K, Qt.Key.Key_L) and not mods & ~(
            Qt.KeyboardModifier.KeypadModifier
        ):
            self.jkl(chr(key))
        elif key in (Qt.Key.Key_Comma, Qt.Key.Key_Left):
            self.step(-big)
        elif key in (Qt.Key.Key_Period, Qt.Key.Key_Right):
            self.step(big)
        elif key == Qt.Key.Key_Home:
            self.seek_frame(0)
        elif key == Qt.Key.Key_End:
            self.seek_frame(self.frame_count - 1)
        else:
            return False
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.handle_key(event):
            super().keyPressEvent(event)

    def event(self, e: QEvent) -> bool:
        # Space/arrows would otherwise move focus; the player wants them.  With Alt, Ctrl or
        # Meta they belong to the window's shortcuts (Alt+Right nudges the selected cut).
        if (
            e.type() == QEvent.Type.ShortcutOverride
            and isinstance(e, QKeyEvent)
            and e.key() in (Qt.Key.Key_Space, Qt.Key.Key_Left, Qt.Key.Key_Right)
            and not e.modifiers() & _SHORTCUT_MODIFIERS
        ):
            e.accept()
            return True
        return super().event(e)

    # -- helpers for callers and tests -----------------------------------------------------
    def video_size(self) -> tuple[int, int] | None:
        """Display size of the video (after rotation and aspect), once mpv knows it."""
        if self._mpv is None or self._state != "ready":
            return None
        w, h = self._mpv.dwidth, self._mpv.dheight
        return (int(w), int(h)) if w and h else None

    def video_rect(self) -> QRect | None:
        """Where the video sits inside the widget (mpv letterboxes to keep the aspect)."""
        size = self.video_size()
        if size is None:
            return None
        scale = min(self.width() / size[0], self.height() / size[1])
        w, h = round(size[0] * scale), round(size[1] * scale)
        return QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def timecode(self, frame: int | None = None) -> str:
        return format_timecode(self.time_of(self._current if frame is None else frame), self.fps)
