"""Painting the cut timeline: ruler, score curve, keep/reject segments, cut markers, playhead.

A part the :class:`~workstation.ui.cut.timeline.widget.Timeline` holds; its ``paintEvent`` hands
it the painter, the damaged area and a :class:`PaintState` (playhead, selection, drag).  Each row
paints only the frames under the damaged area, using the column reductions of
:class:`TimelineGeometry`, so a repaint costs the same for a two-hour film as for a short clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)

from workstation.core.store import Cut
from workstation.ui.cut import why
from workstation.ui.cut.timeline.data import TimelineData
from workstation.ui.cut.timeline.geometry import (
    CURVE_H,
    RULER_H,
    THUMB_H,
    TimelineGeometry,
    _tick_step,
    _timecode,
)
from workstation.ui.cut.timeline.thumbs import ThumbStrip

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
C_UNSCORED = QColor(110, 112, 120)


def _rgb(color: QColor) -> tuple[int, int, int]:
    return color.red(), color.green(), color.blue()


@dataclass(frozen=True)
class PaintState:
    """What a paint reads from the timeline widget besides its geometry and data."""

    playhead: int
    selected: int | None  # frame of the selected cut
    drag: tuple[int, int] | None  # (old frame, preview frame) of a cut being dragged
    font: QFont  # the widget's (the ruler's labels are a size smaller)
    placeholder: QColor  # the palette's colour for "No video"


class TimelinePainter:
    """Paints the timeline's rows for a damaged area, given its geometry, data and thumbnails."""

    def __init__(self, geometry: TimelineGeometry, data: TimelineData, thumbs: ThumbStrip) -> None:
        self.geometry = geometry
        self.data = data
        self.thumbs = thumbs

    def paint(self, p: QPainter, rect: QRect, area: QRect, state: PaintState) -> None:
        """Paint the widget's ``rect``, touching only the frames under the damaged ``area``."""
        g, d = self.geometry, self.data
        p.fillRect(rect, C_BG)
        if d.frame_count <= 0:
            p.setPen(state.placeholder)
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, "No video")
            return
        # Paint only the frames under the damaged area (plus room for labels and heads
        # that reach in from outside it): a playhead step repaints a 13-pixel strip.
        v0, v1 = g.visible_range()
        f0 = max(v0, math.floor(g.frame_pos(area.left() - 64)))
        f1 = min(v1, math.ceil(g.frame_pos(area.right() + 8)) + 1)
        self.thumbs.paint(p, f0, f1)
        self._paint_curve(p, f0, f1)
        self._paint_segments(p, f0, f1)
        self._paint_ruler(p, f0, f1, state.font)
        self._paint_cuts(p, f0, f1, v0, v1, state)
        self._paint_playhead(p, state.playhead)

    def _paint_curve(self, p: QPainter, f0: int, f1: int) -> None:
        g, d = self.geometry, self.data
        r = g.curve_rect
        p.fillRect(r, QColor(24, 25, 28))
        s = d.scores
        if s is None or f1 <= f0:
            return
        top = d.score_top

        def y(v):
            return r.bottom() - 2 - (np.clip(v / top, 0, 1) * (r.height() - 6))

        path = QPainterPath()
        path.moveTo(QPointF(max(0.0, g.x_of(f0)), r.bottom()))
        if g.ppf < 1:
            # One maximum per pixel column: a spike one frame wide stays visible at any zoom.
            cols = g.curve_columns(f0, f1)
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
                x = g.x_of(f0 + i)
                path.lineTo(QPointF(x, float(yy)))
                path.lineTo(QPointF(x + g.ppf, float(yy)))
        path.lineTo(QPointF(path.currentPosition().x(), r.bottom()))
        path.closeSubpath()
        p.fillPath(path, QColor(C_CURVE.red(), C_CURVE.green(), C_CURVE.blue(), 90))
        p.setPen(QPen(C_CURVE, 1))
        p.drawPath(path)
        self._paint_unscored(p, f0, f1)
        if d.threshold is not None:
            ty = float(y(d.threshold))
            p.setPen(QPen(C_THRESH, 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(0, ty), QPointF(g.width, ty))

    def _paint_unscored(self, p: QPainter, f0: int, f1: int) -> None:
        """Stretches the detector never scored (its gate found no change): hatched and, where
        there is room, labelled, not drawn as a probability of 0."""
        g, runs = self.geometry, self.data.unscored
        r = g.curve_rect
        runs = runs[(runs[:, 1] > f0) & (runs[:, 0] < f1)]
        if not len(runs):
            return
        metrics = p.fontMetrics()
        label = why.NOT_SCORED
        for a, b in runs:
            xa, xb = max(-1.0, g.x_of(int(a))), min(g.width + 1.0, g.x_of(int(b)))
            if xb - xa < 1:
                continue
            band = QRectF(xa, r.top(), xb - xa, r.height())
            p.fillRect(band, QBrush(C_UNSCORED, Qt.BrushStyle.BDiagPattern))
            if xb - xa > metrics.horizontalAdvance(label) + 8:
                p.setPen(C_RULER)
                p.drawText(band, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_segments(self, p: QPainter, f0: int, f1: int) -> None:
        g, d = self.geometry, self.data
        r = g.segment_rect
        xa, xb = max(-1.0, g.x_of(0)), min(g.width + 1.0, g.x_of(d.frame_count))
        p.fillRect(QRectF(xa, r.top() + 2, max(0.0, xb - xa), r.height() - 4), C_KEEP)
        dim = QColor(120, 20, 20, 110)
        if g.ppf < 1:
            # Zoomed out: each pixel column is tinted by the share of its frames that are
            # rejected, drawn as two stretched 1-row images (not a fill per rejected run).
            cols = g.rejected_share(f0, f1)
            if cols is None:
                return
            x0, share = cols
            keep, rej = np.array(_rgb(C_KEEP)), np.array(_rgb(C_REJECT))
            bar = np.zeros((1, len(share), 4), np.uint8)
            bar[0, :, :3] = (keep * (1 - share[:, None]) + rej * share[:, None]).astype(np.uint8)
            bar[0, :, 3] = np.where(share > 0, 255, 0)
            tint = np.zeros((1, len(share), 4), np.uint8)
            tint[0, :, :3] = _rgb(dim)
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
        for xa, xb in g.rejected_columns(f0, f1):
            cell = QRectF(xa, r.top() + 2, xb - xa, r.height() - 4)
            p.fillRect(cell, C_REJECT)
            p.fillRect(cell, hatch)
            p.fillRect(QRectF(xa, RULER_H, xb - xa, THUMB_H + CURVE_H), dim)

    def _paint_ruler(self, p: QPainter, f0: int, f1: int, widget_font: QFont) -> None:
        g = self.geometry
        r = QRectF(0, 0, g.width, RULER_H)
        p.fillRect(r, QColor(38, 39, 44))
        fps = float(self.data.fps) or 25.0
        step = _tick_step(g.ppf, fps)
        font = QFont(widget_font)
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        p.setFont(font)
        p.setPen(C_RULER)
        first = (f0 // step) * step
        for f in range(first, f1, step):
            x = g.x_of(f)
            p.drawLine(QPointF(x, RULER_H - 5), QPointF(x, RULER_H))
            label = _timecode(f, fps) if step >= fps / 2 else f"{f}"
            p.drawText(QPointF(x + 3, RULER_H - 6), label)

    def _paint_cuts(
        self, p: QPainter, f0: int, f1: int, v0: int, v1: int, state: PaintState
    ) -> None:
        g, d = self.geometry, self.data
        top, bottom = RULER_H, g.content_bottom
        if len(d.live):
            a, b = np.searchsorted(d.live, [f0, f1])
            p.setPen(QPen(C_LIVE, 1, Qt.PenStyle.DotLine))
            xs = np.unique(np.round(g.x_of(d.live[a:b])))
            p.drawLines([QLineF(x, top, x, bottom) for x in xs])
        # Decide from the whole view (not the damaged strip) so partial repaints match.
        shown = g.visible_cut_indices(v0, v1)
        heads = len(shown) <= 400  # far out, heads would overlap into a smear
        # Denser than one cut per 4 pixels, full-height lines would paint over the curve and
        # the segments: show short ticks under the ruler instead (zoom in for the lines).
        dense = len(shown) > g.width / 4
        line_top, line_bottom = (RULER_H - 6, RULER_H + 8) if dense else (top, bottom)
        in_area = d.frames[shown]
        shown = shown[(in_area >= f0) & (in_area <= f1)]
        dragged = state.drag[0] if state.drag else None
        if heads:  # fades and dissolves: the frames the transition spans, as a light band
            band = QColor(255, 255, 255, 28)
            for i in shown:
                cut = d.cuts[int(i)]
                if cut.span_start is not None and cut.span_end is not None:
                    xa, xb = g.x_of(cut.span_start), g.x_of(cut.span_end + 1)
                    p.fillRect(QRectF(xa, top, max(1.0, xb - xa), bottom - top), band)
        for kind, color in (("auto", C_AUTO), ("manual", C_MANUAL), ("uncertain", C_UNCERTAIN)):
            if kind == "uncertain":
                mask = d.uncertain[shown]
            else:
                mask = ~d.uncertain[shown] & (d.manual[shown] == (kind == "manual"))
            sel = [int(i) for i in shown[mask] if int(d.frames[i]) != dragged]
            if not sel:
                continue
            xs = g.x_of(d.frames[sel]).astype(float)
            if kind == "uncertain" and heads:  # a soft halo (skipped when far out)
                for x in xs:
                    p.fillRect(QRectF(x - 3, top, 6, bottom - top), QColor(255, 130, 40, 50))
            p.setPen(QPen(color, 1 if dense else 1.5))
            p.drawLines([QLineF(x, line_top, x, line_bottom) for x in xs])
            if heads:
                for i, x in zip(sel, xs, strict=True):
                    self._draw_head(p, x, d.cuts[i], False)
        self._paint_selection(p, state, dragged)

    def _paint_selection(self, p: QPainter, state: PaintState, dragged: int | None) -> None:
        """The selected cut's marker, and the preview of a cut being dragged."""
        g, d = self.geometry, self.data
        if state.selected is not None and state.selected != dragged:
            cut = d.cut_at_frame(state.selected)
            if cut is not None:
                self._draw_marker(p, g.x_of(cut.frame), cut, True)
        if state.drag:
            old, new = state.drag
            moved = d.cut_at_frame(old) or Cut(new)
            x = g.x_of(new)
            self._draw_marker(p, x, Cut(new, "manual", uncertain=moved.uncertain), True)
            p.setPen(C_SELECTED)
            p.drawText(QPointF(x + 4, RULER_H + 12), f"{new}")

    def _draw_marker(self, p: QPainter, x: float, cut: Cut, selected: bool) -> None:
        top, bottom = RULER_H, self.geometry.content_bottom
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

    def _paint_playhead(self, p: QPainter, playhead: int) -> None:
        g = self.geometry
        x = g.x_of(playhead) + min(g.ppf, 6) / 2
        if not -2 <= x <= g.width + 2:
            return
        p.setPen(QPen(C_PLAYHEAD, 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, g.content_bottom))
        p.setBrush(C_PLAYHEAD)
        p.drawPolygon(QPolygonF([QPointF(x - 4, 0), QPointF(x + 4, 0), QPointF(x, 6)]))
        p.setBrush(Qt.BrushStyle.NoBrush)
