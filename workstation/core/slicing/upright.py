"""Turning frames upright: phone videos rely on a display rotation training loaders ignore."""

from __future__ import annotations

import av
import numpy as np


def quarter_turns(rotation: int) -> int:
    """Display rotation in degrees (counter-clockwise, as PyAV reports it) to np.rot90 turns."""
    return round((rotation or 0) / 90) % 4


def upright_rgb(frame: av.VideoFrame, width: int, height: int, turns: int) -> np.ndarray:
    """The frame as shown to a person: scaled to ``width``x``height`` and turned upright.

    Clips are stored upright because training loaders ignore the display matrix that phone
    videos rely on (the same turn ``ffmpeg`` applies by default).
    """
    sw, sh = (height, width) if turns % 2 else (width, height)
    rgb = frame.to_ndarray(width=sw, height=sh, format="rgb24", interpolation="AREA")
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb
