"""Flashes: a picture that leaves for 1-3 frames and comes back is no shot change (issue 13).

The default detector (:mod:`.learned`) drops a hard cut that :func:`flash` calls a flash.  The
measure, ``back1`` to ``back4`` per frame (:func:`backs`: the mean absolute difference in grey
levels, 48x27 RGB, to each of the 4 frames before it), is taken from the network's windows in
the same pass and saved with the run's other outputs.
"""

from __future__ import annotations

import numpy as np

#: A hard cut is a flash (a departure of 1-3 frames from a picture that then comes back: a
#: photo flash, a strobe, a frame of lightning) when the pictures either side of the departure
#: differ by less than this share of the cut's own jump (:func:`flash`).
FLASH_RETURN = 0.25
FLASH_FRAMES = 3


def backs(batch: np.ndarray, pad: int, step: int) -> np.ndarray:
    """``back1..back4`` of the kept frames ``pad..pad+step`` of each window (uint8
    ``[batch, frames, h, w, 3]``), ``[4, batch, step]``."""
    x = batch.astype(np.int16)
    kept = x[:, pad : pad + step]
    return np.stack(
        [
            np.abs(kept - x[:, pad - k : pad - k + step]).mean(axis=(2, 3, 4))
            for k in range(1, FLASH_FRAMES + 2)
        ]
    ).astype(np.float32)


def flash(diffs: np.ndarray, frame: int) -> bool:
    """Whether a hard cut at ``frame`` (the first frame after the jump) is a flash: a picture
    that leaves for 1 to :data:`FLASH_FRAMES` frames and comes back, the frames ``a`` before
    and ``b`` after the departure (``a < frame <= b``, ``b - a - 1`` frames apart) closer than
    :data:`FLASH_RETURN` of the cut's own jump.  ``diffs``: ``back1..back4`` (``[4, frames]``).

    A flash changes the picture as much as a cut, but the shot before it goes on after it; a
    cut leaves the old picture for good (across a cut the picture a few frames back differs as
    much as the one just before, or more when things move)."""
    n = diffs.shape[1]
    jump = float(diffs[0, frame]) if frame < n else 0.0
    if jump <= 0:
        return False
    for b in range(frame, min(n, frame + FLASH_FRAMES + 1)):
        for k in range(2, FLASH_FRAMES + 2):  # b - k = a, the frame before the departure
            if b - k < frame <= b and b - k >= 0 and diffs[k - 1, b] < FLASH_RETURN * jump:
                return True
    return False
