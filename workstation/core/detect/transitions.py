"""Transitions after detection: a fade out, a hold and a fade in, whichever detector found them.

A detector reports a fade or a dissolve as one cut with a span (``span_start..span_end``, both
inclusive).  A fade out to black, a second of black and a fade in is two transitions with a
shot of black between them, but a detector may report it as one span with its cut in the
black (the ensemble does), or as two fades around a black "shot" that clips would then keep.
This post-pass, run on any detector's cuts, reads only the frames of those spans (and of short
gaps between two of them), small, and looks for a *hold* there:

* a **hold** is a run of at least two frames that do not change: every frame of the run is
  within :data:`STILL_LEVELS` grey levels of the run's first frame at the median pixel.  That
  is "no change between frames" in absolute terms, not relative to the activity around it or
  to any threshold fit to one generator: a fade or a dissolve changes the picture every frame
  (the comparison is with the run's *first* frame, so a slow fade that changes a little per
  frame drifts out of the run within a few frames), while a held black, white, colour or still
  picture does not.  The median ignores what covers less than half the picture (a timecode,
  a logo, a frame counter), and comparing 64-pixel-wide luma averages away grain and
  compression noise.
* a hold is **solid** when it is also (nearly) one colour: half its pixels within
  :data:`FLAT_LEVELS` of its median level (black, white or any plain colour); otherwise a
  still picture.

Rules (``fps`` turns :data:`HOLD_SECONDS` into frames):

1. a hold of :data:`HOLD_SECONDS` or more inside a span, with changing frames on both sides of
   it in the span, splits it: the frames before the hold are one transition, those after it
   another, each with its cut in its middle; the segment between the two cuts is the hold
   and is marked to be rejected (``params["hold"] = [start, end)`` on the first cut).
2. two fades whose spans touch, or that are separated only by a solid hold shorter than that,
   are one transition, its cut in the middle of the hold; separated by a longer solid hold, the
   segment between them is marked as a hold.  (A still picture between two separate
   transitions is a shot: a title card, a photo of a slideshow; it stays.)
3. two transitions of other kinds (a detector may call a fade's two halves dissolves: each
   half alone does not pass through black) with only solid frames between them (each nearly
   one colour; still or not) are a fade out and a fade in: both become fades, joined as in
   rule 2 (one fade when the plain frames do not hold :data:`HOLD_SECONDS`, else two with the
   hold between).  Seen on the other generator's set (``bench/detect_events.py``): TransNetV2
   split 3 fades so, because its "in a transition" output dips in the black between them.

:func:`refine_result` refines a detector's result; :func:`store_cuts` stores refined cuts in a
project and rejects the hold segments, unless the person already decided about them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from workstation.core.detect.reader import FrameReader
from workstation.core.media import FrameIndex
from workstation.core.progress import Progress, Stage
from workstation.core.store import Cut

if TYPE_CHECKING:
    from workstation.core.detect.stage import DetectionResult
    from workstation.core.store import Project

#: Shortest hold that makes a fade out and a fade in two transitions (and a segment).
HOLD_SECONDS = 0.5
#: Grey levels (of 255) a held frame may differ from the hold's first frame, at the median pixel.
STILL_LEVELS = 2.0
#: A solid hold has half its pixels within this many grey levels of its median level.
FLAT_LEVELS = 6.0
#: Width the frames are read at (luma only).
WIDTH = 64
#: Longest gap between two transitions read to see whether it is a hold (seconds).
MAX_GAP_SECONDS = 10.0
#: The cut parameter that marks the segment starting at a cut as a hold: ``[start, end)``.
HOLD_PARAM = "hold"


@dataclass(frozen=True)
class Hold:
    """Frames ``[start, end)`` that do not change; ``solid``: nearly one colour as well."""

    start: int
    end: int
    solid: bool

    @property
    def length(self) -> int:
        return self.end - self.start


#: Luma of frames ``first..last`` (inclusive), one (H, W) float32 image each.
ReadLuma = Callable[[int, int], np.ndarray]


def luma_reader(path: str | Path, index: FrameIndex | None) -> ReadLuma:
    """Reads a stretch of frames at :data:`WIDTH` pixels (seeking with ``index`` if given,
    otherwise decoding from the start)."""

    def read(first: int, last: int) -> np.ndarray:
        frames: list[np.ndarray] = []
        reader = FrameReader(Path(path), WIDTH, first=first, index=index, threaded=False)
        with reader:
            for n, small in reader:
                if n > last:
                    break
                if n >= first:
                    frames.append(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32))
        if not frames:
            return np.zeros((0, 1, 1), np.float32)
        return np.stack(frames)

    return read


def solid(frame: np.ndarray) -> bool:
    """Whether a frame's luma is (nearly) one colour: half its pixels within
    :data:`FLAT_LEVELS` of its median level."""
    return float(np.median(np.abs(frame - np.median(frame)))) <= FLAT_LEVELS


def holds_in(luma: np.ndarray, first: int = 0) -> list[Hold]:
    """The runs of at least two unchanged frames in ``luma`` (frame ``first`` on), in order."""
    holds: list[Hold] = []
    k = len(luma)
    r = 0
    for j in range(1, k + 1):
        if j < k and float(np.median(np.abs(luma[j] - luma[r]))) <= STILL_LEVELS:
            continue
        if j - r >= 2:
            holds.append(Hold(first + r, first + j, solid(luma[r])))
        r = j
    return holds


def _frames_of(seconds: float, fps: Fraction) -> int:
    return max(2, math.ceil(seconds * float(fps) - 1e-9))


def _is_transition(c: Cut) -> bool:
    return c.kind != "cut" and c.span_start is not None and c.span_end is not None


def _span(c: Cut) -> tuple[int, int]:
    assert c.span_start is not None and c.span_end is not None, c
    return c.span_start, c.span_end


def split_at_hold(cut: Cut, hold: Hold) -> list[Cut]:
    """Rule 1: the transition before ``hold`` and the one after it, each cut in its middle."""
    s, e = _span(cut)
    before = replace(
        cut,
        frame=(s + hold.start) // 2,
        span_end=hold.start - 1,
        params={**cut.params, HOLD_PARAM: [hold.start, hold.end], "split_from": cut.frame},
    )
    after = replace(
        cut,
        frame=(hold.end + e + 1) // 2,
        span_start=hold.end,
        params={**cut.params, "split_from": cut.frame},
    )
    return [before, after]


def _split_spans(cuts: list[Cut], read: ReadLuma, hold_frames: int) -> Stage[list[Cut]]:
    def long(c: Cut) -> bool:  # a span that can hold a hold with frames on both sides
        return _is_transition(c) and _span(c)[1] - _span(c)[0] + 1 > hold_frames + 1

    out: list[Cut] = []
    total = sum(long(c) for c in cuts)
    done = 0
    for c in cuts:
        if not long(c):
            out.append(c)
            continue
        s, e = _span(c)
        inner = [h for h in holds_in(read(s, e), s) if h.start > s and h.end <= e]
        best = max(inner, key=lambda h: h.length, default=None)
        pieces = split_at_hold(c, best) if best and best.length >= hold_frames else [c]
        out.extend(p for p in pieces if p.frame > 0)
        done += 1
        yield Progress("detect", done, total, "", "looking for holds in fades")
    return out


def _merged(a: Cut, b: Cut, frame: int) -> Cut:
    params = {**a.params, "merged": [a.frame, b.frame]}
    params.pop(HOLD_PARAM, None)
    return replace(
        a,
        frame=frame,
        span_end=b.span_end,
        score=max(a.score or 0.0, b.score or 0.0) if a.score or b.score else None,
        uncertain=a.uncertain or b.uncertain,
        params=params,
    )


def _through_plain(
    a: Cut, c: Cut, read: ReadLuma, hold_frames: int, max_gap: int
) -> list[Cut] | None:
    """Rule 3: two transitions of any kind with only plain frames between them are a fade
    out and a fade in (what else goes down to one colour and comes up from it): one fade
    when the frames between them do not hold still for ``hold_frames``, otherwise two with
    the hold between them.  None when the frames between are not all plain."""
    g0, g1 = _span(a)[1] + 1, _span(c)[0]
    if g1 <= g0 or g1 - g0 > max_gap:
        return None
    luma = read(g0, g1 - 1)
    if len(luma) != g1 - g0 or not all(solid(f) for f in luma):
        return None
    a, c = replace(a, kind="fade"), replace(c, kind="fade")
    longest = max((h.length for h in holds_in(luma, g0)), default=0)
    if longest >= hold_frames:
        return [replace(a, params={**a.params, HOLD_PARAM: [g0, g1]}), c]
    return [_merged(a, c, (g0 + g1) // 2)]


def _join_pairs(
    cuts: list[Cut], read: ReadLuma, hold_frames: int, max_gap: int
) -> Stage[list[Cut]]:
    """Rules 2 and 3 over neighbouring transitions (no cut between them)."""
    out: list[Cut] = []
    for c in cuts:
        a = out[-1] if out else None
        pair = a is not None and _is_transition(a) and _is_transition(c)
        if not pair or a is None or HOLD_PARAM in a.params:
            out.append(c)
            continue
        if not a.kind == c.kind == "fade":
            joined = _through_plain(a, c, read, hold_frames, max_gap)
            yield Progress("detect", len(out), len(cuts), "", "looking for holds in fades")
            out[-1:] = joined or [a, c]
            continue
        g0, g1 = _span(a)[1] + 1, _span(c)[0]  # the gap [g0, g1) between the two spans
        if g1 - g0 > max_gap:
            out.append(c)
            continue
        if g1 <= g0:
            out[-1] = _merged(a, c, (a.frame + c.frame) // 2)
            continue
        holds = holds_in(read(g0, g1 - 1), g0)
        yield Progress("detect", len(out), len(cuts), "", "looking for holds in fades")
        hold = holds[0] if len(holds) == 1 else None
        if g1 - g0 > 1 and not (hold and hold.solid and (hold.start, hold.end) == (g0, g1)):
            out.append(c)  # something happens between them: two transitions
        elif g1 - g0 < hold_frames:
            out[-1] = _merged(a, c, (g0 + g1) // 2)
        else:
            out[-1] = replace(a, params={**a.params, HOLD_PARAM: [g0, g1]})
            out.append(c)
    return out


def refine(
    cuts: Sequence[Cut],
    read: ReadLuma,
    fps: Fraction,
) -> Stage[list[Cut]]:
    """The cuts with the rules of the module docstring applied (hard cuts untouched)."""
    ordered = sorted(cuts, key=lambda c: c.frame)
    if not any(_is_transition(c) for c in ordered) or not fps > 0:
        return ordered
    hold_frames = _frames_of(HOLD_SECONDS, fps)
    split = yield from _split_spans(ordered, read, hold_frames)
    joined = yield from _join_pairs(split, read, hold_frames, _frames_of(MAX_GAP_SECONDS, fps))
    unique: dict[int, Cut] = {}
    for c in joined:
        unique.setdefault(c.frame, c)
    return sorted(unique.values(), key=lambda c: c.frame)


def refine_result(
    result: DetectionResult, path: str | Path, fps: Fraction, index: FrameIndex | None
) -> Stage[DetectionResult]:
    """``result`` with its cuts refined (in place, and returned), reading ``path``."""
    result.cuts = yield from refine(result.cuts, luma_reader(path, index), fps)
    return result


def hold_starts(cuts: Sequence[Cut]) -> list[int]:
    """Frames of the cuts that open a hold segment (rule 1 or 2)."""
    return [c.frame for c in cuts if HOLD_PARAM in c.params]


def store_cuts(project: Project, video_id: int, cuts: Sequence[Cut]) -> int:
    """Store refined cuts (:meth:`Project.replace_auto_cuts`) and mark their hold segments
    rejected where the person has not flagged that segment already; returns cuts added."""
    added = project.replace_auto_cuts(video_id, cuts)
    starts = hold_starts(cuts)
    stored = {c.frame for c in project.cuts_at(video_id, starts) if c.source == "auto"}
    for frame in starts:
        if frame in stored and not project.cut_rows(video_id, [frame])["segments"]:
            project.set_segment_keep(video_id, frame, False)
    return added
