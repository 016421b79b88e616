"""CMX3600 EDLs with non-drop-frame timecode: one event per shot, exact to the frame."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from workstation.core.cutfiles.imported import ImportedCuts, _scenes_to_cuts
from workstation.core.cutfiles.words import quoted
from workstation.core.errors import CutFileError
from workstation.core.store import Cut, Video


def _edl_base(video: Video) -> int:
    return max(1, round(Fraction(video.fps)))


def _edl_tc(frame: int, base: int) -> str:
    s, f = divmod(frame, base)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"


def render_edl(video: Video, cuts: list[Cut], rejected: set[int]) -> str:
    """A CMX3600 EDL with one event per segment, non-drop-frame timecode.

    Written here rather than by ``scenedetect.output.write_scene_list_edl``: that writer derives
    the frame field from float seconds and is off by one frame on thousands of frames at 25
    and 30 fps (and runs backwards at 24000/1001 after 16:41).  Timecodes count frames at the
    nominal rate (24 for 24000/1001), as NLEs read NDF timecode, so every frame is exact, and
    an out point equals the next event's in point (cf. PySceneDetect issues #502 and #516).
    """
    base = _edl_base(video)
    bounds = [0, *sorted(c.frame for c in cuts), video.frame_count]
    # one line each, whatever the name holds (str.splitlines breaks at \x0c, \x85, \u2028 too)
    title = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", video.name)
    lines = [f"TITLE: {title}", "FCM: NON-DROP FRAME", ""]
    event = 0
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b <= a:
            continue
        event += 1
        tin, tout = _edl_tc(a, base), _edl_tc(b, base)
        lines.append(f"{event:03d}  AX       V     C        {tin} {tout} {tin} {tout}")
        lines.append(f"* FROM CLIP NAME: {title}")
        if a in rejected:
            lines.append(_REJECTED)
    return "\n".join(lines) + "\n"


# ASCII digits only; the frame field may have 3-4 digits, as render_edl writes above 99 fps
_TC = r"([0-9]{2}:[0-9]{2}:[0-9]{2}[:;][0-9]{2,4})"
_EDL_EVENT = re.compile(
    r"([0-9]{3,})\s+\S+\s+\S+\s+\S+\s+(?:[0-9]+\s+)?" + r"\s+".join([_TC] * 4) + r"\s*"
)
_REJECTED = "* WORKSTATION: REJECTED"


def parse_edl(text: str, path: Path, video: Video) -> ImportedCuts:
    base = _edl_base(video)
    scenes: list[tuple[int, int, int | None]] = []
    rejected: set[int] = set()
    for lineno, raw in enumerate(text.split("\n"), 1):  # numbered as an editor does
        line = raw.strip()
        if not line or line.startswith("TITLE:"):
            continue
        if line.startswith("FCM:"):
            if "NON" not in line.upper():
                raise CutFileError(
                    path, lineno, "drop-frame EDLs are not supported; export non-drop-frame"
                )
            continue
        if line.startswith("*"):
            # the whole line: a clip name may hold the words (written before one event)
            if line.upper() == _REJECTED and scenes:
                rejected.add(scenes[-1][0])
            continue
        m = _EDL_EVENT.fullmatch(line)
        if not m:
            raise CutFileError(path, lineno, f"not a CMX3600 event line: {quoted(line, 60)}")
        frames = []
        for tc in (m.group(2), m.group(3)):
            h, mi, s, f = (int(x) for x in re.split(r"[:;]", tc))  # 2 ASCII digits each
            if mi >= 60 or s >= 60 or f >= base:
                raise CutFileError(path, lineno, f"timecode {tc} is invalid at {base} frames/s")
            frames.append(((h * 60 + mi) * 60 + s) * base + f)
        if frames[1] <= frames[0]:
            raise CutFileError(path, lineno, "event's source out point is not after its in point")
        if frames[1] > video.frame_count:
            raise CutFileError(
                path,
                lineno,
                f"source out point {m.group(3)} is past the video's {video.frame_count} frames",
            )
        scenes.append((frames[0], frames[1], lineno))
    if not scenes:
        raise CutFileError(path, None, "has no events")
    result = _scenes_to_cuts(path, scenes, video.frame_count)
    return ImportedCuts(result.cuts, sorted(set(result.rejected_starts) | rejected))
