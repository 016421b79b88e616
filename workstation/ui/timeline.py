"""The cut timeline: thumbnails, score curve, cut markers, keep/reject segments, playhead.

A plain ``QWidget`` with its own ``paintEvent`` rather than a ``QGraphicsView``: a two-hour video
has ~200k frames and may have thousands of cuts, and a scene graph would hold an item per cut
and per thumbnail and re-index them on every zoom.  Painting directly lets each paint touch only
the visible frame range (cuts found by binary search, the score curve reduced to one maximum per
pixel column), so cost depends on the widget's width, not on the video's length.

The widget only *shows* cuts and *asks* for edits through signals; the cut view turns those into
undoable commands on the project and feeds the result back with :meth:`Timeline.set_cuts`.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from PySide6.QtCore import QEvent, QLineF, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QMenu, QScrollBar, QToolTip, QWidget

from workstation.core.store import Cut, Segment
from workstation.core.thumbs import ThumbSource

RULER_H = 18
THUMB_H = 54
CURVE_H = 56
SEG_H = 14
SCROLL_H = 12
HIT_PX = 5  # how close (pixels) a click must be to grab a cut marker
MAX_PPF = 48.0  # most zoomed in: pixels per frame
PEAK_SNAP_PX = 24  # Shift+drag looks for the score peak within this many pixels

C_BG = QColor(30, 31, 34)
C_RULER = QColor(150, 152, 160)
C_AUTO = QColor(80, 170, 255)
C_MANUAL = QColor(255, 220, 70)
C_UNCERTAIN = QColor(255, 130, 40)
C_SELECTED = QColor(255, 255, 255)
C_LIVE = QColor(160, 160, 160)
C_KEEP = QColor(60, 150, 90)
C_REJECT = QColor(190, 60, 60)
C_CURVE = QColor(120, 200, 255, 200)
C_THRESH = QColor(255, 90, 90)
C_PLAYHEAD = QColor(255, 60, 60)


class Timeline(QWidget):
    """Zoomable, scrollable view of one video's cuts.  Frame numbers are 0-based."""

    seekRequested = Signal(int)
    cutSelected = Signal(object)  # frame of the selected cut, or None
    addCutRequested = Signal(int)
    deleteCutRequested = Signal(int)
    moveCutRequested = Signal(int, int)  # old frame, new frame
    toggleRejectRequested = Signal(int)  # first frame of the segment
    mergeRequested = Signal(int)  # first frame of the segment to merge with the next
    viewChanged = Signal()

    def __init__(self, parent: QWidget | None = None, loader=None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.frame_count = 0
        self.fps = Fraction(25)
        self.source: ThumbSource | None = None
        self.ppf = 1.0  # pixels per frame
        self.x0 = 0.0  # frame at the left edge
        self.playhead = 0
        self._cuts: list[Cut] = []
        self._frames = np.zeros(0, dtype=np.int64)
        self._manual = np.zeros(0, dtype=bool)
        self._uncertain = np.zeros(0, dtype=bool)
        self._starts = np.zeros(1, dtype=np.int64)  # segment starts: 0 and every cut
        self._keep = np.ones(1, dtype=bool)
        self._rejected_cum = np.zeros(1, dtype=np.int64)
        self._flags: dict[int, bool] = {}
        self._keys = np.zeros(0, dtype=np.int64)
        self._gop = 1
        self._live = np.zeros(0, dtype=np.int64)
        self._scores: np.ndarray | None = None
        self._threshold: float | None = None
        self._score_top = 1.0
        self._selected: int | None = None
        self._press: tuple[float, int | None] | None = None  # (x, cut frame under the press)
        self._drag: tuple[int, int] | None = None  # (old frame, preview frame)
        self._fitted = True
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumHeight(RULER_H + THUMB_H + CURVE_H + SEG_H + SCROLL_H)
        self.setMinimumWidth(200)
        self.setAutoFillBackground(False)
        self.scrollbar = QScrollBar(Qt.Orientation.Horizontal, self)
        self.scrollbar.valueChanged.connect(self._on_scroll)
        if loader is not None:
            loader.thumbReady.connect(self._on_thumb)

    # -- data ------------------------------------------------------------------------------
    def set_video(self, frame_count: int, fps: Fraction, source: ThumbSource | None = None) -> None:
        self.frame_count = max(0, frame_count)
        self.fps = Fraction(fps) if fps else Fraction(25)
        self.source = source
        keys = np.asarray(source.keyframes if source else (), dtype=np.int64)
        self._keys = keys
        # The typical keyframe interval; 1 when unknown (then exact frames are always shown).
        self._gop = int(np.median(np.diff(keys))) if len(keys) > 2 else 1
        self.playhead = 0
        self._selected = None
        self._live = np.zeros(0, dtype=np.int64)
        self._flags = {}
        self._apply_cuts([])  # the previous video's cuts must not linger
        self._fitted = True
        self.fit()

    def set_cuts(self, cuts: list[Cut], segments: list[Segment] | None = None) -> None:
        """Show these cuts and the keep flags of ``segments``."""
        self._flags = {s.start: s.keep for s in segments or []}
        self._apply_cuts(sorted(cuts, key=lambda c: c.frame))

    def patch_cuts(self, frames, cuts: list[Cut], flags: dict[int, bool]) -> None:
        """Replace what is shown at ``frames`` only (an edit touched a few rows)."""
        fs = {int(f) for f in frames}
        kept = [c for c in self._cuts if c.frame not in fs]
        self._flags.update(flags)
        self._apply_cuts(sorted(kept + list(cuts), key=lambda c: c.frame))

    def _apply_cuts(self, cuts: list[Cut]) -> None:
        self._cuts = cuts
        self._frames = np.fromiter((c.frame for c in cuts), dtype=np.int64, count=len(cuts))
        self._manual = np.fromiter((c.source == "manual" for c in cuts), bool, len(cuts))
        self._uncertain = np.fromiter((c.uncertain for c in cuts), bool, len(cuts))
        self._starts = np.concatenate([[0], self._frames]).astype(np.int64)
        flags = self._flags
        self._keep = np.fromiter(
            (flags.get(int(s), True) for s in self._starts), bool, len(self._starts)
        )
        # Rejected frames counted up to each frame: the share per pixel column when zoomed out.
        lengths = np.diff(np.append(self._starts, max(self.frame_count, int(self._starts[-1]))))
        rejected = np.repeat(~self._keep, np.maximum(lengths, 0))
        self._rejected_cum = np.concatenate([[0], np.cumsum(rejected, dtype=np.int64)])
        pad = self.frame_count + 1 - len(self._rejected_cum)
        if pad > 0:
            self._rejected_cum = np.pad(self._rejected_cum, (0, pad), mode="edge")
        if self._selected is not None and self.cut_at_frame(self._selected) is None:
            self._selected = None
            self.cutSelected.emit(None)
        self.update()

    def set_scores(self, scores: np.ndarray | None, threshold: float | None = None) -> None:
        self._scores = (
            None if scores is None or len(scores) == 0 else np.asarray(scores, np.float32)
        )
        self._threshold = threshold
        top = float(np.nanmax(self._scores)) if self._scores is not None else 1.0
        if threshold:
            top = max(top, threshold * 1.25)
        self._score_top = top if top > 0 else 1.0
        self.update()

    def set_live_cuts(self, frames) -> None:
        """Cuts a running detection has found so far (drawn faintly until it finishes)."""
        self._live = np.unique(np.asarray(list(frames), dtype=np.int64))
        self.update()

    @property
    def scores(self) -> np.ndarray | None:
        """The per-frame detector scores shown (None before a detection)."""
        return self._scores

    @property
    def cuts(self) -> list[Cut]:
        return list(self._cuts)

    def cut_at_frame(self, frame: int) -> Cut | None:
        i = int(np.searchsorted(self._frames, frame))
        if i < len(self._frames) and self._frames[i] == frame:
            return self._cuts[i]
        return None

    def segment_at(self, frame: int) -> tuple[int, int, bool]:
        """(start, end, keep) of the segment holding ``frame``."""
        i = max(0, int(np.searchsorted(self._starts, frame, side="right")) - 1)
        end = int(self._starts[i + 1]) if i + 1 < len(self._starts) else self.frame_count
        return int(self._starts[i]), end, bool(self._keep[i])

    # -- selection and playhead ------------------------------------------------------------
    @property
    def selected_cut(self) -> int | None:
        return self._selected

    def select_cut(self, frame: int | None, *, reveal: bool = True) -> None:
        if frame is not None and self.cut_at_frame(frame) is None:
            frame = None
        if frame == self._selected:
            return
        self._selected = frame
        if frame is not None and reveal:
            self.ensure_visible(frame)
        self.update()
        self.cutSelected.emit(frame)

    def set_playhead(self, frame: int, *, follow: bool = True) -> None:
        frame = max(0, min(self.frame_count - 1, int(frame)))
        if frame == self.playhead:
            return
        old, x0 = self.playhead, self.x0
        self.playhead = frame
        if follow:
            self.ensure_visible(frame)
        if self.x0 == x0:
            # Only the playhead moved: repaint two thin strips, not the whole timeline (it
            # moves every frame during playback).
            self.update(self._playhead_rect(old))
            self.update(self._playhead_rect(frame))

    def _playhead_rect(self, frame: int) -> QRect:
        x = self.x_of(frame) + min(self.ppf, 6) / 2
        return QRect(math.floor(x) - 6, 0, 13, math.ceil(self.content_bottom) + 1)

    # -- view geometry ---------------------------------------------------------------------
    @property
    def view_width(self) -> int:
        return max(1, self.width())

    @property
    def visible_frames(self) -> float:
        return self.view_width / self.ppf

    def min_ppf(self) -> float:
        return self.view_width / max(1, self.frame_count)

    def x_of(self, frame: float) -> float:
        """x (pixels) of the left edge of ``frame`` — where a cut at ``frame`` is drawn."""
        return (frame - self.x0) * self.ppf

    def frame_pos(self, x: float) -> float:
        return self.x0 + x / self.ppf

    def frame_at(self, x: float) -> int:
        """The frame whose cell holds pixel ``x`` (for seeking)."""
        return max(0, min(self.frame_count - 1, math.floor(self.frame_pos(x))))

    def boundary_at(self, x: float) -> int:
        """The frame boundary nearest to pixel ``x`` (where a cut would go)."""
        return max(1, min(self.frame_count - 1, round(self.frame_pos(x))))

    def fit(self) -> None:
        """Show the whole video."""
        self._fitted = True
        self.ppf = self.min_ppf()
        self.x0 = 0.0
        self._view_changed()

    def zoom_by(self, factor: float, anchor_x: float | None = None) -> None:
        """Zoom keeping the frame under ``anchor_x`` (default: the playhead) where it is."""
        if anchor_x is None:
            anchor_x = (
                self.x_of(self.playhead)
                if 0 <= self.x_of(self.playhead) <= self.width()
                else self.width() / 2
            )
        anchor = self.frame_pos(anchor_x)
        self.ppf = max(self.min_ppf(), min(MAX_PPF, self.ppf * factor))
        self._fitted = self.ppf <= self.min_ppf() * 1.0001
        self.x0 = anchor - anchor_x / self.ppf
        self._clamp()
        self._view_changed()

    def scroll_frames(self, delta: float) -> None:
        self.x0 += delta
        self._clamp()
        self._view_changed()

    def ensure_visible(self, frame: int, margin: float = 0.1) -> None:
        x = self.x_of(frame)
        w = self.width()
        if 0 <= x <= w:
            return
        self.x0 = frame - self.visible_frames * (margin if x > w else 1 - margin)
        self._clamp()
        self._view_changed()

    def _clamp(self) -> None:
        self.x0 = max(0.0, min(self.x0, self.frame_count - self.visible_frames))

    def _view_changed(self) -> None:
        sb = self.scrollbar
        sb.blockSignals(True)
        page = max(1, int(self.visible_frames))
        sb.setRange(0, max(0, self.frame_count - page))
        sb.setPageStep(page)
        sb.setSingleStep(max(1, page // 20))
        sb.setValue(int(round(self.x0)))
        sb.blockSignals(False)
        self.update()
        self.viewChanged.emit()

    def _on_scroll(self, value: int) -> None:
        self.x0 = float(value)
        self._clamp()
        self.update()
        self.viewChanged.emit()

    def resizeEvent(self, event) -> None:  # noqa: N802
        self.scrollbar.setGeometry(0, self.height() - SCROLL_H, self.width(), SCROLL_H)
        if self._fitted:
            self.ppf = self.min_ppf()
            self.x0 = 0.0
        else:
            self.ppf = max(self.min_ppf(), self.ppf)
            self._clamp()
        self._view_changed()
        super().resizeEvent(event)

    # -- rows ------------------------------------------------------------------------------
    @property
    def thumb_rect(self) -> QRectF:
        return QRectF(0, RULER_H, self.width(), THUMB_H)

    @property
    def curve_rect(self) -> QRectF:
        return QRectF(0, RULER_H + THUMB_H, self.width(), CURVE_H)

    @property
    def segment_rect(self) -> QRectF:
        return QRectF(0, RULER_H + THUMB_H + CURVE_H, self.width(), SEG_H)

    @property
    def content_bottom(self) -> float:
        return RULER_H + THUMB_H + CURVE_H + SEG_H

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), C_BG)
            if self.frame_count <= 0:
                p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
                p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No video")
                return
            # Paint only the frames under the damaged area (plus room for labels and heads
            # that reach in from outside it): a playhead step repaints a 13-pixel strip.
            area = event.rect()
            v0 = max(0, math.floor(self.x0))
            v1 = min(self.frame_count, math.ceil(self.x0 + self.visible_frames) + 1)
            f0 = max(v0, math.floor(self.frame_pos(area.left() - 64)))
            f1 = min(v1, math.ceil(self.frame_pos(area.right() + 8)) + 1)
            self._paint_thumbs(p, f0, f1)
            self._paint_curve(p, f0, f1)
            self._paint_segments(p, f0, f1)
            self._paint_ruler(p, f0, f1)
            self._paint_cuts(p, f0, f1, v0, v1)
            self._paint_playhead(p)
        finally:
            p.end()

    def thumb_step(self) -> int:
        """Frames between thumbnails: a power of two, so scrolling reuses cached thumbnails."""
        tw = self.source.thumb_size(THUMB_H)[0] if self.source else THUMB_H * 16 // 9
        return max(1, 2 ** math.ceil(math.log2(max(1.0, tw / self.ppf))))

    def thumb_frame(self, slot: int, step: int) -> int:
        """The frame to show for the thumbnail cell of frames ``[slot, slot + step)``.

        When cells are at least a GOP wide, a keyframe inside the cell stands in for it: a
        keyframe decodes alone, any other frame needs its GOP decoded up to it (on a film with
        250-frame GOPs that is ~100x the work for an overview).  Zoomed in closer than a GOP,
        the exact frame is shown.
        """
        keys = self._keys
        if step < self._gop or not len(keys):
            return slot
        i = int(np.searchsorted(keys, slot, side="left"))
        if i < len(keys) and keys[i] < slot + step:
            return int(keys[i])
        return int(keys[i - 1]) if i > 0 else slot

    def _thumb_slots(self, f0: int, f1: int) -> list[tuple[int, int]]:
        step = self.thumb_step()
        return [(f, self.thumb_frame(f, step)) for f in range((f0 // step) * step, f1, step)]

    def wanted_thumbs(self) -> list[int]:
        """Frames whose thumbnails the visible strip shows."""
        f0 = max(0, math.floor(self.x0))
        f1 = min(self.frame_count, math.ceil(self.x0 + self.visible_frames) + 1)
        return list(dict.fromkeys(frame for _slot, frame in self._thumb_slots(f0, f1)))

    def _paint_thumbs(self, p: QPainter, f0: int, f1: int) -> None:
        r = self.thumb_rect
        p.fillRect(r, QColor(20, 20, 22))
        if self.source is None:
            return
        step = self.thumb_step()
        missing = []
        cid = self.source.content_id
        p.save()
        p.setClipRect(r)
        for slot, frame in self._thumb_slots(f0, f1):
            x = self.x_of(slot)
            cell = QRectF(x, r.top(), step * self.ppf, r.height())
            img = self.loader.image(cid, frame, THUMB_H) if self.loader else None
            if img is None:
                missing.append(frame)
                p.fillRect(cell.adjusted(1, 2, -1, -2), QColor(45, 46, 52))
                continue
            target = QRectF(x, r.top(), img.width() * r.height() / img.height(), r.height())
            p.drawImage(target, img)
        p.restore()
        if missing and self.loader is not None:
            # Only queues work; decoding happens in the loader's pool threads.
            self.loader.request("timeline", self.source, missing, THUMB_H)

    def _paint_curve(self, p: QPainter, f0: int, f1: int) -> None:
        r = self.curve_rect
        p.fillRect(r, QColor(24, 25, 28))
        s = self._scores
        if s is None or f1 <= f0:
            return
        top = self._score_top

        def y(v):
            return r.bottom() - 2 - (np.clip(v / top, 0, 1) * (r.height() - 6))

        path = QPainterPath()
        path.moveTo(QPointF(max(0.0, self.x_of(f0)), r.bottom()))
        if self.ppf < 1:
            # One maximum per pixel column: a spike one frame wide stays visible at any zoom.
            cols = self.curve_columns(f0, f1)
            if cols is None:
                return
            xs, vals = cols
            ys = y(vals)
            for x, yy in zip(xs, ys, strict=True):
                path.lineTo(QPointF(float(x), float(yy)))
        else:
            end = min(f1, len(s))
            vals = s[f0:end]
            ys = y(vals)
            for i, yy in enumerate(ys):
                x = self.x_of(f0 + i)
                path.lineTo(QPointF(x, float(yy)))
                path.lineTo(QPointF(x + self.ppf, float(yy)))
        path.lineTo(QPointF(path.currentPosition().x(), r.bottom()))
        path.closeSubpath()
        p.fillPath(path, QColor(C_CURVE.red(), C_CURVE.green(), C_CURVE.blue(), 90))
        p.setPen(QPen(C_CURVE, 1))
        p.drawPath(path)
        if self._threshold is not None:
            ty = float(y(self._threshold))
            p.setPen(QPen(C_THRESH, 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(0, ty), QPointF(self.width(), ty))

    def curve_columns(self, f0: int, f1: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(x of each pixel column, max score in it) for frames [f0, f1) when zoomed out."""
        s = self._scores
        if s is None:
            return None
        f1 = min(f1, len(s))
        if f1 <= f0:
            return None
        xs = np.arange(math.floor(self.x_of(f0)), math.ceil(self.x_of(f1)) + 1)
        starts = np.clip(np.floor(self.frame_pos(xs)).astype(np.int64), f0, f1 - 1)
        starts, keep = np.unique(starts, return_index=True)
        xs = xs[keep]
        return xs, np.maximum.reduceat(s[f0:f1], starts - f0)

    def _paint_segments(self, p: QPainter, f0: int, f1: int) -> None:
        r = self.segment_rect
        xa, xb = max(-1.0, self.x_of(0)), min(self.width() + 1.0, self.x_of(self.frame_count))
        p.fillRect(QRectF(xa, r.top() + 2, max(0.0, xb - xa), r.height() - 4), C_KEEP)
        dim = QColor(120, 20, 20, 110)
        if self.ppf < 1:
            # Zoomed out: each pixel column is tinted by the share of its frames that are
            # rejected, drawn as two stretched 1-row images (not a fill per rejected run).
            cols = self.rejected_share(f0, f1)
            if cols is None:
                return
            x0, share = cols
            keep, rej = np.array(C_KEEP.getRgb()[:3]), np.array(C_REJECT.getRgb()[:3])
            bar = np.zeros((1, len(share), 4), np.uint8)
            bar[0, :, :3] = (keep * (1 - share[:, None]) + rej * share[:, None]).astype(np.uint8)
            bar[0, :, 3] = np.where(share > 0, 255, 0)
            tint = np.zeros((1, len(share), 4), np.uint8)
            tint[0, :, :3] = dim.getRgb()[:3]
            tint[0, :, 3] = (share * dim.alpha()).astype(np.uint8)
            for row, top, height in (
                (bar, r.top() + 2, r.height() - 4),
                (tint, RULER_H, THUMB_H + CURVE_H),
            ):
                image = QImage(
                    row.data, len(share), 1, 4 * len(share), QImage.Format.Format_RGBA8888
                )
                p.drawImage(QRectF(x0, top, len(share), height), image)
            return
        hatch = QBrush(QColor(0, 0, 0, 90), Qt.BrushStyle.BDiagPattern)
        for xa, xb in self.rejected_columns(f0, f1):
            cell = QRectF(xa, r.top() + 2, xb - xa, r.height() - 4)
            p.fillRect(cell, C_REJECT)
            p.fillRect(cell, hatch)
            p.fillRect(QRectF(xa, RULER_H, xb - xa, THUMB_H + CURVE_H), dim)

    def _rejected_spans(self, f0: int, f1: int) -> tuple[np.ndarray, np.ndarray]:
        """Pixel spans (x start, x end) of the rejected segments overlapping frames [f0, f1)."""
        i0 = max(0, int(np.searchsorted(self._starts, f0, side="right")) - 1)
        i1 = int(np.searchsorted(self._starts, f1, side="left"))
        idx = np.arange(i0, max(i0 + 1, i1))
        idx = idx[~self._keep[idx]]
        ends = np.append(self._starts[1:], self.frame_count)
        xa = np.clip(self.x_of(self._starts[idx]), -1, self.width() + 1)
        xb = np.clip(self.x_of(ends[idx]), -1, self.width() + 1)
        return xa, xb

    def rejected_share(self, f0: int, f1: int) -> tuple[int, np.ndarray] | None:
        """(x of the first column, share of rejected frames in each pixel column) when zoomed out.

        Thousands of short segments collapse to one number per column, so drawing costs the
        same for a 2-hour film as for a 2-minute clip, and a mostly-kept column looks kept.
        """
        if f1 <= f0:
            return None
        xs = np.arange(math.floor(self.x_of(f0)), math.ceil(self.x_of(f1)) + 1)
        a = np.clip(np.floor(self.frame_pos(xs)).astype(np.int64), 0, self.frame_count)
        b = np.clip(np.floor(self.frame_pos(xs + 1)).astype(np.int64), 0, self.frame_count)
        b = np.maximum(b, np.minimum(a + 1, self.frame_count))
        n = np.maximum(1, b - a)
        cum = self._rejected_cum
        return int(xs[0]), ((cum[b] - cum[a]) / n).astype(np.float32)

    def rejected_columns(self, f0: int, f1: int) -> list[tuple[float, float]]:
        """Pixel runs ``(x_start, x_end)`` of the rejected segments in view."""
        xa, xb = self._rejected_spans(f0, f1)
        return [(float(a), float(b)) for a, b in zip(xa, xb, strict=True) if b > a]

    def _paint_ruler(self, p: QPainter, f0: int, f1: int) -> None:
        r = QRectF(0, 0, self.width(), RULER_H)
        p.fillRect(r, QColor(38, 39, 44))
        fps = float(self.fps) or 25.0
        step = _tick_step(self.ppf, fps)
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        p.setFont(font)
        p.setPen(C_RULER)
        first = (f0 // step) * step
        for f in range(first, f1, step):
            x = self.x_of(f)
            p.drawLine(QPointF(x, RULER_H - 5), QPointF(x, RULER_H))
            label = _timecode(f, fps) if step >= fps / 2 else f"{f}"
            p.drawText(QPointF(x + 3, RULER_H - 6), label)

    def _paint_cuts(self, p: QPainter, f0: int, f1: int, v0: int, v1: int) -> None:
        top, bottom = RULER_H, self.content_bottom
        if len(self._live):
            a, b = np.searchsorted(self._live, [f0, f1])
            p.setPen(QPen(C_LIVE, 1, Qt.PenStyle.DotLine))
            xs = np.unique(np.round(self.x_of(self._live[a:b])))
            p.drawLines([QLineF(x, top, x, bottom) for x in xs])
        # Decide from the whole view (not the damaged strip) so partial repaints match.
        shown = self.visible_cut_indices(v0, v1)
        heads = len(shown) <= 400  # far out, heads would overlap into a smear
        # Denser than one cut per 4 pixels, full-height lines would paint over the curve and
        # the segments: show short ticks under the ruler instead (zoom in for the lines).
        dense = len(shown) > self.width() / 4
        line_top, line_bottom = (RULER_H - 6, RULER_H + 8) if dense else (top, bottom)
        in_area = self._frames[shown]
        shown = shown[(in_area >= f0) & (in_area <= f1)]
        dragged = self._drag[0] if self._drag else None
        if heads:  # fades and dissolves: the frames the transition spans, as a light band
            band = QColor(255, 255, 255, 28)
            for i in shown:
                cut = self._cuts[int(i)]
                if cut.span_start is not None and cut.span_end is not None:
                    xa, xb = self.x_of(cut.span_start), self.x_of(cut.span_end + 1)
                    p.fillRect(QRectF(xa, top, max(1.0, xb - xa), bottom - top), band)
        for kind, color in (("auto", C_AUTO), ("manual", C_MANUAL), ("uncertain", C_UNCERTAIN)):
            if kind == "uncertain":
                mask = self._uncertain[shown]
            else:
                mask = ~self._uncertain[shown] & (self._manual[shown] == (kind == "manual"))
            sel = [int(i) for i in shown[mask] if int(self._frames[i]) != dragged]
            if not sel:
                continue
            xs = self.x_of(self._frames[sel]).astype(float)
            if kind == "uncertain" and heads:  # a soft halo (skipped when far out)
                for x in xs:
                    p.fillRect(QRectF(x - 3, top, 6, bottom - top), QColor(255, 130, 40, 50))
            p.setPen(QPen(color, 1 if dense else 1.5))
            p.drawLines([QLineF(x, line_top, x, line_bottom) for x in xs])
            if heads:
                for i, x in zip(sel, xs, strict=True):
                    self._draw_head(p, x, self._cuts[i], False)
        if self._selected is not None and self._selected != dragged:
            cut = self.cut_at_frame(self._selected)
            if cut is not None:
                self._draw_marker(p, self.x_of(cut.frame), cut, True)
        if self._drag:
            old, new = self._drag
            cut = self.cut_at_frame(old) or Cut(new)
            x = self.x_of(new)
            self._draw_marker(p, x, Cut(new, "manual", uncertain=cut.uncertain), True)
            p.setPen(C_SELECTED)
            p.drawText(QPointF(x + 4, RULER_H + 12), f"{new}")

    def visible_cut_indices(self, f0: int, f1: int) -> np.ndarray:
        """Indices of the cuts to draw: at most one per pixel column, the notable ones first."""
        a, b = (int(i) for i in np.searchsorted(self._frames, [f0, f1 + 1]))
        idx = np.arange(a, b)
        if len(idx) <= self.width() // 3:
            return idx
        cols = np.round(self.x_of(self._frames[idx])).astype(np.int64)
        rank = np.where(self._uncertain[idx], 0, np.where(self._manual[idx], 1, 2))
        order = np.lexsort((rank, cols))
        cols, idx = cols[order], idx[order]
        first = np.concatenate([[True], cols[1:] != cols[:-1]])
        return np.sort(idx[first])

    def _draw_marker(self, p: QPainter, x: float, cut: Cut, selected: bool) -> None:
        top, bottom = RULER_H, self.content_bottom
        color = C_UNCERTAIN if cut.uncertain else (C_MANUAL if cut.source == "manual" else C_AUTO)
        if cut.uncertain:
            p.fillRect(QRectF(x - 3, top, 6, bottom - top), QColor(255, 130, 40, 50))
        p.setPen(QPen(C_SELECTED if selected else color, 3 if selected else 1.5))
        p.drawLine(QPointF(x, top), QPointF(x, bottom))
        self._draw_head(p, x, cut, selected)

    def _draw_head(self, p: QPainter, x: float, cut: Cut, selected: bool) -> None:
        color = C_UNCERTAIN if cut.uncertain else (C_MANUAL if cut.source == "manual" else C_AUTO)
        p.setBrush(color)
        p.setPen(QPen(C_SELECTED if selected else color.darker(150), 1))
        if cut.source == "manual":  # a diamond: a person put it here
            head = QPolygonF([QPointF(x, 1), QPointF(x + 5, 7), QPointF(x, 13), QPointF(x - 5, 7)])
        else:  # a triangle: the detector put it here
            head = QPolygonF([QPointF(x - 5, 2), QPointF(x + 5, 2), QPointF(x, 12)])
        p.drawPolygon(head)
        p.setBrush(Qt.BrushStyle.NoBrush)
        if cut.uncertain:
            p.setPen(C_UNCERTAIN)
            p.drawText(QPointF(x + 6, 12), "?")

    def _paint_playhead(self, p: QPainter) -> None:
        x = self.x_of(self.playhead) + min(self.ppf, 6) / 2
        if not -2 <= x <= self.width() + 2:
            return
        p.setPen(QPen(C_PLAYHEAD, 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, self.content_bottom))
        p.setBrush(C_PLAYHEAD)
        p.drawPolygon(QPolygonF([QPointF(x - 4, 0), QPointF(x + 4, 0), QPointF(x, 6)]))
        p.setBrush(Qt.BrushStyle.NoBrush)

    def _on_thumb(self, cid: str, frame: int, height: int, _img) -> None:
        if self.source is not None and cid == self.source.content_id and height == THUMB_H:
            self.update()

    # -- mouse -----------------------------------------------------------------------------
    def cut_near(self, x: float) -> int | None:
        """Frame of the cut whose marker is within a few pixels of ``x``."""
        if not len(self._frames):
            return None
        pos = self.frame_pos(x)
        i = int(np.searchsorted(self._frames, pos))
        best, best_d = None, HIT_PX + 0.5
        for j in (i - 1, i):
            if 0 <= j < len(self._frames):
                d = abs(self.x_of(int(self._frames[j])) - x)
                if d < best_d:
                    best, best_d = int(self._frames[j]), d
        return best

    def peak_near(self, frame: int) -> int:
        """The frame with the highest score within a few pixels of ``frame`` (Shift+drag)."""
        s = self._scores
        if s is None:
            return frame
        reach = max(2, int(PEAK_SNAP_PX / self.ppf))
        lo, hi = max(1, frame - reach), min(len(s), self.frame_count - 1, frame + reach + 1)
        if hi <= lo:
            return frame
        return lo + int(np.argmax(s[lo:hi]))

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and self.frame_count > 0:
            QToolTip.showText(e.globalPos(), self.tooltip_at(e.pos().x()), self)
            return True
        return super().event(e)

    def tooltip_at(self, x: float) -> str:
        """What a person hovering at pixel ``x`` is looking at."""
        cut_frame = self.cut_near(x)
        if cut_frame is not None:
            cut = self.cut_at_frame(cut_frame)
            who = "manual" if cut.source == "manual" else f"detected {cut.kind}"
            score = f", score {cut.score:.3g}" if cut.score is not None else ""
            flag = ", uncertain" if cut.uncertain else ""
            return (
                f"Cut at frame {cut.frame} ({who}{score}{flag})\n"
                "Drag to move it (Shift: to the nearest score peak); right-click for more"
            )
        frame = self.frame_at(x)
        start, end, keep = self.segment_at(frame)
        state = "kept" if keep else "rejected"
        score = ""
        if self._scores is not None and frame < len(self._scores):
            score = f", score {float(self._scores[frame]):.3g}"
        return (
            f"Frame {frame} ({_timecode(frame, float(self.fps))}{score})\n"
            f"Segment {start}–{end - 1}: {state}. Double-click to add a cut here"
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() != Qt.MouseButton.LeftButton or self.frame_count <= 0:
            return super().mousePressEvent(event)
        x = event.position().x()
        cut = self.cut_near(x)
        self._press = (x, cut)
        if cut is not None:
            self.select_cut(cut, reveal=False)
        else:
            frame = self.frame_at(x)
            self.set_playhead(frame, follow=False)
            self.seekRequested.emit(frame)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        x = event.position().x()
        if self._press is None:
            near = self.cut_near(x) is not None and event.position().y() < self.content_bottom
            self.setCursor(Qt.CursorShape.SizeHorCursor if near else Qt.CursorShape.ArrowCursor)
            return
        start_x, cut = self._press
        if cut is None:  # scrubbing: the playhead follows the mouse
            frame = self.frame_at(x)
            if frame != self.playhead:
                self.set_playhead(frame, follow=False)
                self.seekRequested.emit(frame)
            return
        if self._drag is None and abs(x - start_x) < 3:
            return
        new = self.boundary_at(x)
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            new = self.peak_near(new)
        self._drag = (cut, new)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        drag, self._drag, self._press = self._drag, None, None
        if drag is not None:
            old, new = drag
            self.update()
            if new != old and self.cut_at_frame(new) is None:
                self.moveCutRequested.emit(old, new)
        event.accept()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self._press is not None:
            self._press, self._drag = None, None  # Esc drops a drag in progress
            self.update()
            return
        super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or self.frame_count <= 1:
            return
        x = event.position().x()
        if self.cut_near(x) is not None:
            return
        frame = self.boundary_at(x)
        if self.cut_at_frame(frame) is None:
            self.addCutRequested.emit(frame)
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        dy = event.angleDelta().y() or event.angleDelta().x()
        if not dy:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.25 ** (dy / 120), event.position().x())
        else:
            self.scroll_frames(-dy / 120 * self.visible_frames / 10)
        event.accept()

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        if self.frame_count <= 0:
            return
        menu = self.context_menu(event.pos().x())
        menu.exec(event.globalPos())

    def context_menu(self, x: float) -> QMenu:
        """The right-click menu for pixel ``x`` (built separately so tests can trigger it)."""
        menu = QMenu(self)
        cut = self.cut_near(x)
        boundary = self.boundary_at(x)
        frame = self.frame_at(x)
        start, end, keep = self.segment_at(frame)
        add = menu.addAction(f"Add cut at frame {boundary}")
        add.setEnabled(self.cut_at_frame(boundary) is None)
        add.triggered.connect(lambda: self.addCutRequested.emit(boundary))
        if cut is not None:
            menu.addAction(f"Delete cut at frame {cut}").triggered.connect(
                lambda: self.deleteCutRequested.emit(cut)
            )
        label = "Keep this segment" if not keep else "Reject this segment"
        menu.addAction(f"{label} ({start}–{end - 1})").triggered.connect(
            lambda: self.toggleRejectRequested.emit(start)
        )
        merge = menu.addAction("Merge with next segment")
        merge.setEnabled(end < self.frame_count)
        merge.triggered.connect(lambda: self.mergeRequested.emit(start))
        menu.addSeparator()
        menu.addAction(f"Seek here (frame {frame})").triggered.connect(
            lambda: (self.set_playhead(frame, follow=False), self.seekRequested.emit(frame))
        )
        return menu


def _tick_step(ppf: float, fps: float) -> int:
    """Frames between ruler ticks: at least ~90 px apart, on round frame or second counts."""
    need = 90 / ppf
    for n in (1, 2, 5, 10):
        if n >= need and n < fps / 2:
            return n
    for sec in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        frames = max(1, round(sec * fps))
        if frames >= need:
            return frames
    return max(1, round(7200 * fps))


def _timecode(frame: int, fps: float) -> str:
    t = frame / fps
    h, rem = divmod(int(t), 3600)
    m, s = divmod(rem, 60)
    frac = t - int(t)
    base = f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
    return base + (f".{int(frac * 10)}" if frac > 1e-6 else "")
