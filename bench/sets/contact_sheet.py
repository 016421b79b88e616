"""Contact sheets for labelling real footage by eye: a row of frames around each candidate.

    PYTHONPATH=. .venv/bin/python bench/sets/contact_sheet.py VIDEO OUT.png F1,F2,... [--before 3 --after 3]

Candidates came from every detector's cuts (bench/detect_sets.py) and from the peaks of a plain
frame difference (``candidates``: far lower than any detector's threshold), so a true cut that
every detector missed still gets a row.  The frame number is printed above each thumbnail; the
candidate's own frame in red.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw


def candidates(path: str | Path, ratio: float = 2.5, floor: float = 6.0) -> list[int]:
    """Frames whose grey difference to the previous one is a local peak well above its
    neighbours' (``ratio`` x the median of +-12 frames, and at least ``floor`` of 255), and the
    first and last frames of dips to black (fades)."""
    grey: list[np.ndarray] = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            grey.append(frame.reformat(64, 36, "gray").to_ndarray().astype(np.float32))
    d = np.array(
        [0.0] + [float(np.abs(a - b).mean()) for a, b in zip(grey[1:], grey[:-1], strict=True)]
    )
    out = []
    for i in range(1, len(d)):
        win = np.concatenate([d[max(1, i - 12) : i], d[i + 1 : i + 13]])
        if (
            d[i] >= floor
            and d[i] >= ratio * max(1.0, float(np.median(win)))
            and d[i] == d[max(1, i - 2) : i + 3].max()
        ):
            out.append(i)
    level = np.array([g.mean() for g in grey])
    dark = level < 12
    for i in range(1, len(dark)):
        if dark[i] != dark[i - 1]:
            out.append(i)
    return sorted(set(out))


def sheet(
    path: str | Path,
    centers: list[int],
    out: str | Path,
    before: int = 3,
    after: int = 3,
    width: int = 150,
) -> None:
    want = {f for c in centers for f in range(c - before, c + after + 1)}
    frames: dict[int, Image.Image] = {}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in want:
                im = frame.to_image()
                frames[i] = im.resize((width, max(1, im.height * width // im.width)))
    th = next(iter(frames.values())).height
    cols = before + after + 1
    img = Image.new("RGB", (cols * (width + 2), len(centers) * (th + 14)), (40, 40, 40))
    draw = ImageDraw.Draw(img)
    for r, center in enumerate(centers):
        for k, f in enumerate(range(center - before, center + after + 1)):
            if f in frames:
                img.paste(frames[f], (k * (width + 2), r * (th + 14) + 12))
            draw.text(
                (k * (width + 2) + 2, r * (th + 14)),
                str(f),
                fill=(255, 80, 80) if f == center else (255, 255, 255),
            )
    img.save(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("video")
    ap.add_argument("out")
    ap.add_argument("frames")
    ap.add_argument("--before", type=int, default=3)
    ap.add_argument("--after", type=int, default=3)
    a = ap.parse_args()
    sheet(a.video, [int(x) for x in a.frames.split(",")], a.out, a.before, a.after)


if __name__ == "__main__":
    main()
