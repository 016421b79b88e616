"""Encoding one planned clip: decode the source range from its keyframe, write H.264.

Frames are numbered by their timestamps (through the plan's pts window), so the clip holds
exactly the planned source frames; the frames around its first and last are kept as
references for the check that follows.

Byte-reproducible output: x264 reads each input picture up to the next multiple of 16 in both
directions (its macroblocks), past the visible width and height into the row padding and the
spare rows FFmpeg allocates but never fills.  That memory holds whatever was there before, so
two runs of the same clip at a size that is not a multiple of 16 gave different bytes (and
pixels up to 50 levels apart once the encoder's decisions drifted).  :func:`x264_frame` fills
that margin by repeating the edge pixels before a frame goes to the encoder; with it the same
input, settings and x264 thread count give the same bytes.  The thread count itself changes
x264's output (frame threads split the lookahead), so callers that want the same bytes on any
machine pin it (the export does); the slicer uses the machine's cores and is reproducible on
the same machine with the same number of workers.
"""

from __future__ import annotations

import bisect
import ctypes
from pathlib import Path
from typing import Any

import av
import numpy as np

from workstation.core.errors import MediaError
from workstation.core.media import _open, _video_stream
from workstation.core.slicing.plan import ClipPlan
from workstation.core.slicing.upright import upright_rgb


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
            ostream.options = {"crf": str(plan.crf), "preset": plan.preset}
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
        out = frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")
        if out is frame:
            # The decoder's own picture (already the right size and format): its margin holds
            # decoded macroblocks, the same every run, and the decoder may still read it.
            return out
    else:
        rgb = upright_rgb(frame, width, height, turns)
        out = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    return x264_frame(out)


def x264_frame(frame: av.VideoFrame) -> av.VideoFrame:
    """Fill a yuv420p frame's margin up to the next multiple of 16 with its edge pixels.

    x264 reads that margin (see the module docstring); left as FFmpeg allocates it, it holds
    stale memory and the encode is not reproducible.  FFmpeg allocates every frame buffer with
    its height rounded up to 32 and each row padded to the line size (``av_frame_get_buffer``),
    so the rows and columns written here lie inside the frame's own buffer.  A frame that does
    not own such a buffer (another format, a size with no margin) is returned unchanged.
    """
    if frame.format.name != "yuv420p":
        return frame
    full_w, full_h = -(-frame.width // 16) * 16, -(-frame.height // 16) * 16
    for i, plane in enumerate(frame.planes):
        sub = 1 if i == 0 else 2
        w, h = plane.width, plane.height
        rows, cols = full_h // sub, full_w // sub
        if (rows == h and cols == w) or cols > plane.line_size:
            continue
        raw = (ctypes.c_uint8 * (plane.line_size * rows)).from_address(plane.buffer_ptr)
        a = np.ctypeslib.as_array(raw).reshape(rows, plane.line_size)
        a[:h, w:cols] = a[:h, w - 1 : w]
        a[h:rows, :cols] = a[h - 1 : h, :cols]
    return frame
