"""What the cut timeline shows, as arrays: the video's length, its cuts and keep flags, the score
curve and the cuts a running detection has found so far.

The timeline draws thousands of cuts at every repaint, so they are held as sorted numpy arrays
(frames, manual and uncertain masks, segment starts and keep flags, rejected frames counted up
to each frame) that painting and hit testing search and slice instead of walking ``Cut`` objects.
A plain class with no Qt in it: the widget, its geometry, painter and mouse all read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import numpy as np

from workstation.core.store import Cut, Segment


class TimelineData:
    """The shown video's cuts, segments and scores, kept as sorted arrays."""

    def __init__(self) -> None:
        self.frame_count = 0
        self.fps = Fraction(25)
        self.cuts: list[Cut] = []
        self.frames = np.zeros(0, dtype=np.int64)
        self.manual = np.zeros(0, dtype=bool)
        self.uncertain = np.zeros(0, dtype=bool)
        self.starts = np.zeros(1, dtype=np.int64)  # segment starts: 0 and every cut
        self.keep = np.ones(1, dtype=bool)
        self.rejected_cum = np.zeros(1, dtype=np.int64)
        self.flags: dict[int, bool] = {}
        self.live = np.zeros(0, dtype=np.int64)
        self.scores: np.ndarray | None = None
        #: (start, end) of each stretch the detector never scored (its gate found no change).
        self.unscored = np.zeros((0, 2), dtype=np.int64)
        self.threshold: float | None = None
        self.score_top = 1.0

    def reset(self, frame_count: int, fps: Fraction) -> None:
        """A new video: its length and rate, and none of the previous video's cuts."""
        self.frame_count = max(0, frame_count)
        self.fps = Fraction(fps) if fps else Fraction(25)
        self.live = np.zeros(0, dtype=np.int64)
        self.flags = {}
        self.apply_cuts([])

    def set_cuts(self, cuts: list[Cut], segments: list[Segment] | None = None) -> None:
        """Show these cuts and the keep flags of ``segments``."""
        self.flags = {s.start: s.keep for s in segments or []}
        self.apply_cuts(sorted(cuts, key=lambda c: c.frame))

    def patch_cuts(self, frames: Iterable[int], cuts: list[Cut], flags: dict[int, bool]) -> None:
        """Replace what is shown at ``frames`` only (an edit touched a few rows)."""
        fs = {int(f) for f in frames}
        kept = [c for c in self.cuts if c.frame not in fs]
        self.flags.update(flags)
        self.apply_cuts(sorted(kept + list(cuts), key=lambda c: c.frame))

    def apply_cuts(self, cuts: list[Cut]) -> None:
        """Rebuild the arrays from ``cuts`` (sorted by frame) and the current keep flags."""
        self.cuts = cuts
        self.frames = np.fromiter((c.frame for c in cuts), dtype=np.int64, count=len(cuts))
        self.manual = np.fromiter((c.source == "manual" for c in cuts), bool, len(cuts))
        self.uncertain = np.fromiter((c.uncertain for c in cuts), bool, len(cuts))
        self.starts = np.concatenate([[0], self.frames]).astype(np.int64)
        flags = self.flags
        self.keep = np.fromiter(
            (flags.get(int(s), True) for s in self.starts), bool, len(self.starts)
        )
        # Rejected frames counted up to each frame: the share per pixel column when zoomed out.
        lengths = np.diff(np.append(self.starts, max(self.frame_count, int(self.starts[-1]))))
        rejected = np.repeat(~self.keep, np.maximum(lengths, 0))
        self.rejected_cum = np.concatenate([[0], np.cumsum(rejected, dtype=np.int64)])
        pad = self.frame_count + 1 - len(self.rejected_cum)
        if pad > 0:
            self.rejected_cum = np.pad(self.rejected_cum, (0, pad), mode="edge")

    def set_scores(
        self,
        scores: np.ndarray | None,
        threshold: float | None = None,
        scored: np.ndarray | None = None,
    ) -> None:
        """The score curve; ``scored`` (0 where the detector's gate skipped a frame, as
        TransNetV2's run saves it) marks the stretches that are not scored rather than 0."""
        self.scores = None if scores is None or len(scores) == 0 else np.asarray(scores, np.float32)
        self.unscored = np.zeros((0, 2), dtype=np.int64)
        if self.scores is not None and scored is not None and len(scored) == len(self.scores):
            edges = np.flatnonzero(np.diff(np.concatenate([[0], scored == 0, [0]]).astype(np.int8)))
            self.unscored = edges.reshape(-1, 2).astype(np.int64)
        self.threshold = threshold
        top = float(np.nanmax(self.scores)) if self.scores is not None else 1.0
        if threshold:
            top = max(top, threshold * 1.25)
        self.score_top = top if top > 0 else 1.0

    def set_live_cuts(self, frames: Iterable[int]) -> None:
        """Cuts a running detection has found so far (drawn faintly until it finishes)."""
        self.live = np.unique(np.asarray(list(frames), dtype=np.int64))

    def is_scored(self, frame: int) -> bool:
        """False when ``frame`` lies in a stretch the detector never scored."""
        i = int(np.searchsorted(self.unscored[:, 0], frame, side="right")) - 1
        return not (i >= 0 and frame < self.unscored[i, 1])

    def cut_at_frame(self, frame: int) -> Cut | None:
        i = int(np.searchsorted(self.frames, frame))
        if i < len(self.frames) and self.frames[i] == frame:
            return self.cuts[i]
        return None

    def segment_at(self, frame: int) -> tuple[int, int, bool]:
        """(start, end, keep) of the segment holding ``frame``."""
        i = max(0, int(np.searchsorted(self.starts, frame, side="right")) - 1)
        end = int(self.starts[i + 1]) if i + 1 < len(self.starts) else self.frame_count
        return int(self.starts[i]), end, bool(self.keep[i])
