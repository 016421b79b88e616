"""Encoding one planned clip: decode the source range from its keyframe, write H.264.

Frames are numbered by their timestamps (through the plan's pts window), so the clip holds
exactly the planned source frames; the frames around its first and last are kept as
references for the check that follows.

Reproducible bytes: the same plan gives the same bytes on the same machine with the same x264
thread count (``plan.threads``, from the machine's cores and the worker count; x264's frame
threads change its output).  x264 runs without its macroblock-tree rate control
(:data:`X264_OPTIONS`): at sizes that are not multiples of 16 its lookahead depends on pixels past
the picture's edge, apparently memory FFmpeg never initialises, so two encodes of the same frames gave
other bytes (measured with PyAV 18.1 / FFmpeg 8.1: exports of the demo clips at 228x128 and
64x36 differed run to run; with ``mbtree=0`` they never did, and turning off weighted
prediction instead did not help).  The cost: ~18 % more bytes at the same CRF (the demo
videos at CRF 18), with quality spread evenly over the frames instead of shifted toward
the ones later frames refer to.  The frames, their number and the verification never
depended on it.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

import av
import numpy as np

from workstation.core.errors import MediaError
from workstation.core.media import _open, _video_stream
from workstation.core.slicing.plan import ClipPlan
from workstation.core.slicing.upright import upright_rgb

#: x264 options every encode adds, for reproducible bytes (see the module docstring).
X264_OPTIONS = {"x264-params": "mbtree=0"}


class _Interrupted(Exception):
    pass


def _encode(plan: ClipPlan, tmp: Path, cancel: Any, counter: Any) -> dict[int, np.ndarray]:
    """Decode the source range and encode the output frames; returns reference images."""
    src = plan.src
    first, last = src[0], src[-1]
    wanted_refs = {first - 1, first, first + 1, last - 1, last, last + 1}
    refs: dict[int, np.ndarray] = {}
    source = Path(plan.source)
    container = _open(source)
    try:
        stream = _video_stream(source, container)
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = plan.threads
        if plan.seek_frame > 0:
            container.seek(plan.pts_window[0], stream=stream, backward=True, any_frame=False)
        out = av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"})
        try:
            ostream = out.add_stream("libx264", rate=plan.out_rate)
            ostream.width, ostream.height, ostream.pix_fmt = plan.width, plan.height, "yuv420p"
            ostream.codec_context.time_base = plan.out_tb
            ostream.codec_context.thread_count = plan.threads
            ostream.options = {"crf": str(plan.crf), "preset": plan.preset, **X264_OPTIONS}
            k = 0
            counted = 0
            window, base = plan.pts_window, plan.seek_frame
            for frame in container.decode(stream):
                if cancel is not None and cancel.is_set():
                    raise _Interrupted()
                if frame.pts is None:
                    raise MediaError(source, "a decoded frame has no timestamp; cannot cut exactly")
                if frame.pts < window[0]:
                    continue
                number = base + bisect.bisect_right(window, frame.pts) - 1
                if number in wanted_refs:
                    refs[number] = upright_rgb(frame, plan.width, plan.height, plan.quarter_turns)
                if number > last:
                    break  # the frame after the clip was kept as a reference
                if k < len(src) and src[k] == number:
                    image = _output_frame(frame, plan.width, plan.height, plan.quarter_turns)
                    while k < len(src) and src[k] == number:  # repeated when raising the rate
                        image.pts = plan.out_pts[k] if plan.out_pts is not None else k
                        image.time_base = plan.out_tb
                        for packet in ostream.encode(image):
                            out.mux(packet)
                        k += 1
                        counted += 1
                    if counted >= 8 and counter is not None:
                        with counter.get_lock():
                            counter.value += counted
                        counted = 0
            if k < len(src):
                raise MediaError(
                    source,
                    f"ended at output frame {k} of {len(src)} (source frame {src[k]} missing)",
                )
            for packet in ostream.encode():
                out.mux(packet)
            if counted and counter is not None:
                with counter.get_lock():
                    counter.value += counted
        finally:
            out.close()
    finally:
        container.close()
    return refs


def _output_frame(frame: av.VideoFrame, width: int, height: int, turns: int) -> av.VideoFrame:
    if not turns:
        return frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")
    rgb = upright_rgb(frame, width, height, turns)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
