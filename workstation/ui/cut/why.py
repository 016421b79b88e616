"""Why a cut is there, in words: its kind and span, who made it, its evidence, and its doubt.

One wording for the review strip and the timeline's tooltip.  The score means what its
detector makes it mean: TransNetV2's is the network's probability of a shot change there; the
ensemble's, for a hard cut, is its evidence relative to the line it must pass (1 = on the
line); other scores are their detector's own.
"""

from __future__ import annotations

from collections.abc import Callable

from workstation.core.store import Cut

#: A stretch the detector never ran its network on: its gate found no change there.
NOT_SCORED = "not scored: no change"

#: Kinds of cut as a person reads them.
KINDS = {"cut": "hard cut", "fade": "fade", "dissolve": "dissolve"}


def what(cut: Cut) -> str:
    """'detected fade, frames 39–47' / 'manual cut'."""
    kind = KINDS.get(cut.kind, cut.kind)
    if cut.source == "manual":
        who = "accepted " + kind if cut.params.get("accepted") else f"manual {kind}"
    else:
        who = f"detected {kind}"
    if cut.span_start is not None and cut.span_end is not None and cut.kind != "cut":
        who += f", frames {cut.span_start}–{cut.span_end}"
    return who


def evidence(cut: Cut) -> str:
    """What the score says, by detector; '' without one."""
    if cut.score is None:
        return ""
    detector = (cut.detector or "").lower()
    if detector.startswith("transnet"):
        return f"network probability {cut.score:.2f}"
    if detector.startswith("ensemble") and cut.kind == "cut":
        return f"evidence {cut.score:.3g}× the line"
    return f"score {cut.score:.3g}"


def doubt(cut: Cut) -> str:
    """Why it is flagged for review; '' when it is not."""
    if not cut.uncertain:
        return ""
    detector = (cut.detector or "").lower()
    if detector.startswith("transnet"):
        return "uncertain: the network is not sure"
    if detector.startswith("ensemble"):
        return "uncertain: close to the line, or its measures disagree"
    return "uncertain"


def gate(cut: Cut, is_scored: Callable[[int], bool] | None) -> str:
    """'' unless the network never ran on the frames either side of the cut (TransNetV2's
    gate found no change there: it gave no probability, not a probability of 0)."""
    if is_scored is None or is_scored(cut.frame) or is_scored(max(0, cut.frame - 1)):
        return ""
    return f"{NOT_SCORED} (the picture holds still here, so the network never ran)"


def notes(cut: Cut) -> list[str]:
    """What the transition post-pass did (:mod:`workstation.core.detect.transitions`)."""
    out = []
    hold = cut.params.get("hold")
    if isinstance(hold, list) and len(hold) == 2:
        out.append(f"a hold follows (frames {hold[0]}–{hold[1] - 1}): its segment is rejected")
    if "split_from" in cut.params:
        out.append(f"split from one transition at {cut.params['split_from']}")
    if cut.kind != "cut" and cut.span_start is not None:
        out.append("its frames are left out of clips")
    return out


def summary(cut: Cut) -> str:
    """One line: what, evidence, doubt, detector."""
    parts = [what(cut), evidence(cut), doubt(cut)]
    if cut.detector and cut.source == "auto":
        parts.append(f"by {cut.detector}")
    return "; ".join(p for p in parts if p)
