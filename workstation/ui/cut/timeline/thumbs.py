"""The thumbnail strip of the cut timeline: which frames stand for which cells, and drawing them.

A part the :class:`~workstation.ui.cut.timeline.widget.Timeline` holds: it knows the shown video's
:class:`ThumbSource` (and so its keyframes) and asks the timeline's geometry where cells go.
Thumbnails come from a :class:`~workstation.ui.common.thumb_loader.ThumbLoader`; painting only
asks for the missing ones, which are decoded in the loader's pool threads.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter

from workstation.core.thumbs import ThumbSource
from workstation.ui.common.thumb_loader import ThumbLoader
from workstation.ui.cut.timeline.geometry import THUMB_H, TimelineGeometry


class ThumbStrip:
    """Thumbnail cells of the timeline: the frame per cell, painting, and what to repaint for."""

    def __init__(self, loader: ThumbLoader | None, geometry: TimelineGeometry) -> None:
        self.loader = loader
        self.geometry = geometry
        self.source: ThumbSource | None = None
        self.keys = np.zeros(0, dtype=np.int64)
        self.gop = 1

    def set_source(self, source: ThumbSource | None) -> None:
        """The video whose frames the strip shows (None: no thumbnails)."""
        self.source = source
        self.keys = np.asarray(source.keyframes if source else (), dtype=np.int64)
        # The typical keyframe interval; 1 when unknown (then exact frames are always shown).
        self.gop = int(np.median(np.diff(self.keys))) if len(self.keys) > 2 else 1

    def thumb_step(self) -> int:
        """Frames between thumbnails: a power of two, so scrolling reuses cached thumbnails."""
        tw = self.source.thumb_size(THUMB_H)[0] if self.source else THUMB_H * 16 // 9
        return max(1, 2 ** math.ceil(math.log2(max(1.0, tw / self.geometry.ppf))))

    def thumb_frame(self, slot: int, step: int) -> int:
        """The frame to show for the thumbnail cell of frames ``[slot, slot + step)``.

        When cells are at least a GOP wide, a keyframe inside the cell stands in for it: a
        keyframe decodes alone, any other frame needs its GOP decoded up to it (on a film with
        250-frame GOPs that is ~100x the work for an overview).  Zoomed in closer than a GOP,
        the exact frame is shown.
        """
        keys = self.keys
        if step < self.gop or not len(keys):
            return slot
        i = int(np.searchsorted(keys, slot, side="left"))
        if i < len(keys) and keys[i] < slot + step:
            return int(keys[i])
        return int(keys[i - 1]) if i > 0 else slot

    def _slots(self, f0: int, f1: int) -> list[tuple[int, int]]:
        step = self.thumb_step()
        return [(f, self.thumb_frame(f, step)) for f in range((f0 // step) * step, f1, step)]

    def wanted_thumbs(self) -> list[int]:
        """Frames whose thumbnails the visible strip shows."""
        f0, f1 = self.geometry.visible_range()
        return list(dict.fromkeys(frame for _slot, frame in self._slots(f0, f1)))

    def shows(self, content_id: str, height: int) -> bool:
        """Whether a thumbnail that just arrived belongs in this strip (then repaint)."""
        source = self.source
        return source is not None and content_id == source.content_id and height == THUMB_H

    def paint(self, p: QPainter, f0: int, f1: int) -> None:
        """Draw the cells of frames [f0, f1) and ask the loader for the missing thumbnails."""
        g = self.geometry
        r = g.thumb_rect
        p.fillRect(r, QColor(20, 20, 22))
        if self.source is None:
            return
        step = self.thumb_step()
        missing = []
        cid = self.source.content_id
        p.save()
        p.setClipRect(r)
        for slot, frame in self._slots(f0, f1):
            x = g.x_of(slot)
            cell = QRectF(x, r.top(), step * g.ppf, r.height())
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
