"""The thumbnail strip of the cut timeline: which frames stand for which cells, and drawing them.

A mixin of :class:`~workstation.ui.cut.timeline.widget.Timeline`.  Thumbnails come from the timeline's
``loader`` (a :class:`~workstation.ui.common.thumb_loader.ThumbLoader`); painting only asks for the
missing ones, which are decoded in the loader's pool threads.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter

from workstation.ui.cut.timeline.geometry import THUMB_H


class ThumbStrip:
    """Thumbnail cells of the timeline: the frame per cell, painting, and repaint on arrival."""

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

    def _on_thumb(self, cid: str, frame: int, height: int, _img) -> None:
        if self.source is not None and cid == self.source.content_id and height == THUMB_H:
            self.update()
