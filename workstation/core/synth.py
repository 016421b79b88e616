"""Synthetic test videos with exact ground truth.

Every frame carries its own frame number twice: as digits a person can read (top left) and as a
barcode along the bottom edge that :func:`read_frame_number` decodes from any scaled copy of the
frame (a thumbnail, a player screenshot, a decoded clip).  Shots of several kinds — plain moving
shapes, textures, flat-colour "anime" with held drawings, dark grainy footage, fast pans — are
joined by hard cuts, jump cuts, fades through black or white and cross-dissolves; camera flashes
and sudden brightness changes inside a shot are recorded as traps that must *not* be cut.

The demo project and the detector's labelled benchmark set are built from this module.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TypedDict

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

# ---------------------------------------------------------------------------------------------
# The frame-number barcode
# ---------------------------------------------------------------------------------------------
BITS = 16
CHECK_BITS = 4
CELLS = BITS + CHECK_BITS
BAR_FRACTION = 0.09  # of the frame height
HI, LO = 235, 20


def _checksum(n: int) -> int:
    return ((n & 0xF) + ((n >> 4) & 0xF) + ((n >> 8) & 0xF) + ((n >> 12) & 0xF) + 5) & 0xF


def _bar_rows(height: int) -> tuple[int, int]:
    bar = max(6, round(height * BAR_FRACTION))
    return height - bar, height


def draw_barcode(img: np.ndarray, n: int) -> None:
    """Write ``n`` (< 65536) into the bottom strip of an HxWx3 uint8 image in place."""
    h, w = img.shape[:2]
    top, bottom = _bar_rows(h)
    bits = [(n >> (BITS - 1 - i)) & 1 for i in range(BITS)]
    c = _checksum(n)
    bits += [(c >> (CHECK_BITS - 1 - i)) & 1 for i in range(CHECK_BITS)]
    edges = np.linspace(0, w, CELLS + 1).round().astype(int)
    for i, bit in enumerate(bits):
        img[top:bottom, edges[i] : edges[i + 1]] = HI if bit else LO


def read_frame_number(img: np.ndarray) -> int | None:
    """Decode the barcode of a frame (any size, RGB/BGR or gray); None when unreadable."""
    if img.ndim == 3:
        img = img[..., :3].mean(axis=2)
    h, w = img.shape[:2]
    top, bottom = _bar_rows(h)
    rows = slice(top + (bottom - top) // 4, bottom - (bottom - top) // 4 or bottom)
    edges = np.linspace(0, w, CELLS + 1)
    bits = []
    for i in range(CELLS):
        a, b = edges[i], edges[i + 1]
        pad = (b - a) * 0.3
        cols = slice(int(a + pad), max(int(a + pad) + 1, int(b - pad)))
        bits.append(1 if float(img[rows, cols].mean()) > (HI + LO) / 2 else 0)
    n = 0
    for bit in bits[:BITS]:
        n = (n << 1) | bit
    c = 0
    for bit in bits[BITS:]:
        c = (c << 1) | bit
    return n if c == _checksum(n) else None


_Font = ImageFont.ImageFont | ImageFont.FreeTypeFont
_FONT_CACHE: dict[int, _Font] = {}


def _font(size: int) -> _Font:
    if size not in _FONT_CACHE:
        try:
            _FONT_CACHE[size] = ImageFont.load_default(size=size)
        except TypeError:  # Pillow without FreeType
            _FONT_CACHE[size] = ImageFont.load_default()
    return _FONT_CACHE[size]


def stamp(img: np.ndarray, n: int) -> np.ndarray:
    """Add the barcode and a readable frame number label."""
    h, w = img.shape[:2]
    size = max(10, h // 14)
    label = Image.new("RGB", (size * 4, size + 6), (0, 0, 0))
    ImageDraw.Draw(label).text((3, 2), f"{n:05d}", fill=(255, 255, 255), font=_font(size))
    lab = np.asarray(label)
    img[4 : 4 + lab.shape[0], 4 : 4 + lab.shape[1]] = lab
    draw_barcode(img, n)
    return img


# ---------------------------------------------------------------------------------------------
# Shot renderers
# ---------------------------------------------------------------------------------------------
@dataclass
class Shot:
    """A continuous shot.  ``kind`` picks the renderer; ``seed`` fixes its look.

    ``t0`` offsets the shot's clock (a jump cut is the same shot with a later ``t0``).
    ``flashes``: frame offsets within the shot that flash to near white (traps).
    ``brighten_at``: offset where the lights come on (brightness x1.6 after it; a trap).
    """

    kind: str
    frames: int
    seed: int = 0
    t0: int = 0
    flashes: list[int] = field(default_factory=list)
    brighten_at: int | None = None
    speed: float = 1.0
    look: int | None = None  # seed of the colours/texture only: same look = similar-looking shots


@dataclass
class Transition:
    """How a shot joins the previous one: 'cut', 'fade_black', 'fade_white' or 'dissolve'."""

    kind: str = "cut"
    length: int = 0  # dissolve length, or each fade half
    hold: int = 0  # frames of plain black/white between fade out and fade in


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _palette(
    rng: np.random.Generator,
    n: int,
    sat: tuple[float, float] = (0.5, 1.0),
    val: tuple[float, float] = (0.5, 1.0),
) -> np.ndarray:
    hsv = np.stack([rng.uniform(0, 1, n), rng.uniform(*sat, n), rng.uniform(*val, n)], axis=1)
    return np.array([_hsv_to_rgb(*c) for c in hsv], dtype=np.float32)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return r * 255, g * 255, b * 255


def _smooth_noise(rng: np.random.Generator, h: int, w: int, scale: int) -> np.ndarray:
    small = rng.uniform(0, 1, (max(2, h // scale + 2), max(2, w // scale + 2), 3)).astype(
        np.float32
    )
    img = Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32)


class ShotRenderer:
    """Renders frames of one shot; built once per shot so textures are made once."""

    def __init__(self, shot: Shot, width: int, height: int) -> None:
        self.shot = shot
        self.w, self.h = width, height
        rng = _rng(shot.seed)
        self.rng = rng
        # With a `look`, colours and textures come from it and only the layout from `seed`.
        look = rng if shot.look is None else _rng(shot.look)
        self.yy, self.xx = np.mgrid[0:height, 0:width].astype(np.float32)
        kind = shot.kind
        if kind in ("shapes", "fast", "dark"):
            self.bg = _palette(look, 1, sat=(0.2, 0.7), val=(0.3, 0.9))[0]
            self.colors = _palette(look, 4)
            self.pos = rng.uniform(0.15, 0.85, (4, 2)) * [width, height]
            self.vel = rng.uniform(-2.5, 2.5, (4, 2)) * shot.speed
            self.radius = rng.uniform(0.08, 0.2, 4) * height
            self.texture = _smooth_noise(look, height * 2, width * 2, 24) * 0.35
        elif kind == "texture":
            self.texture = _smooth_noise(look, height * 2, width * 2, 12)
            self.vel = rng.uniform(-1.5, 1.5, 2) * shot.speed
        elif kind == "gradient":
            self.colors = _palette(look, 2)
            self.angle = rng.uniform(0, np.pi)
        elif kind == "anime":
            self.bg = _palette(look, 1, sat=(0.1, 0.4), val=(0.8, 1.0))[0]
            self.colors = _palette(look, 3, sat=(0.5, 0.9), val=(0.7, 1.0))
            self.hold = 3
            self.pos = rng.uniform(0.3, 0.7, 2) * [width, height]
        else:
            raise ValueError(f"unknown shot kind {kind!r}")

    def frame(self, i: int) -> np.ndarray:
        s = self.shot
        t = i + s.t0
        kind = s.kind
        img: npt.NDArray[np.floating]
        if kind in ("shapes", "fast", "dark"):
            img = np.empty((self.h, self.w, 3), np.float32)
            img[:] = self.bg
            ox = int(t * (14 if kind == "fast" else 0.6) * s.speed) % self.w
            img += self.texture[: self.h, ox : ox + self.w] - 40
            for k in range(len(self.pos)):
                p = self.pos[k] + self.vel[k] * t * (6 if kind == "fast" else 1)
                p = np.abs(
                    (p + [self.w, self.h]) % (2 * np.array([self.w, self.h])) - [self.w, self.h]
                )
                d2 = (self.xx - p[0]) ** 2 + (self.yy - p[1]) ** 2
                img[d2 < self.radius[k] ** 2] = self.colors[k]
            if kind == "dark":
                img = img * 0.18 + self.rng.normal(0, 9, img.shape).astype(np.float32)
        elif kind == "texture":
            ox = int(self.w / 2 + self.vel[0] * t) % self.w
            oy = int(self.h / 2 + self.vel[1] * t) % self.h
            img = self.texture[oy : oy + self.h, ox : ox + self.w].copy()
        elif kind == "gradient":
            a = self.angle + t * 0.01
            g = np.cos(a) * self.xx / self.w + np.sin(a) * self.yy / self.h
            g = ((g - g.min()) / max(1e-6, float(np.ptp(g))))[..., None]
            img = self.colors[0] * (1 - g) + self.colors[1] * g
            bar = int((t * 3) % self.w)
            img[:, bar : bar + 12] = 255 - img[:, bar : bar + 12]
        else:  # anime: flat colours, outlines, drawings held for `hold` frames
            drawing = t // self.hold
            img = np.empty((self.h, self.w, 3), np.float32)
            img[:] = self.bg
            cx = self.pos[0] + 3 * np.sin(drawing * 0.7) * 8
            cy = self.pos[1] + 2 * np.cos(drawing * 0.5) * 6
            for k, (dx, dy, r) in enumerate([(0, 0, 0.22), (0, -0.3, 0.12), (0.2, 0.1, 0.07)]):
                px, py, rad = cx + dx * self.h, cy + dy * self.h, r * self.h
                d = np.sqrt((self.xx - px) ** 2 + (self.yy - py) ** 2)
                img[d < rad + 2] = 0
                img[d < rad] = self.colors[k]
        if s.brighten_at is not None and i >= s.brighten_at:
            img = img * 1.6 + 20
        if i in s.flashes:
            img = img * 0.25 + 0.75 * 250
        return img


# ---------------------------------------------------------------------------------------------
# Sequences and truth
# ---------------------------------------------------------------------------------------------
@dataclass
class TruthCut:
    frame: int  # first frame of the new shot (for transitions: the middle)
    kind: str  # cut | jump | fade | dissolve
    span: tuple[int, int]  # any frame in [a, b] counts as this cut


class Trap(TypedDict):
    """A change inside a shot that must not be cut; ``span`` is ``[a, b]`` (frames)."""

    kind: str  # flash | brightness | motion
    span: list[int]


@dataclass
class Truth:
    frames: int
    fps: str
    cuts: list[TruthCut]
    traps: list[Trap]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        d = json.loads(Path(path).read_text())
        return cls(
            d["frames"],
            d["fps"],
            [TruthCut(c["frame"], c["kind"], tuple(c["span"])) for c in d["cuts"]],
            d["traps"],
        )


@dataclass
class Sequence:
    """Shots and the transitions into each (the first transition is ignored)."""

    shots: list[Shot]
    transitions: list[Transition] = field(default_factory=list)

    def transition(self, i: int) -> Transition:
        return self.transitions[i] if i < len(self.transitions) else Transition()


def render_sequence(seq: Sequence, width: int, height: int) -> Generator[np.ndarray, None, Truth]:
    """Yield float frames of the whole sequence and return the truth (frame numbers)."""
    cuts: list[TruthCut] = []
    traps: list[Trap] = []
    out = 0
    pending: list[np.ndarray] = []  # tail of the previous shot kept back for a dissolve
    for si, shot in enumerate(seq.shots):
        r = ShotRenderer(shot, width, height)
        tr = seq.transition(si)
        nxt = seq.transition(si + 1) if si + 1 < len(seq.shots) else Transition()
        keep_back = nxt.length if nxt.kind == "dissolve" else 0
        fade_out = nxt.length if nxt.kind.startswith("fade") else 0
        start = out
        frames = [r.frame(i) for i in range(shot.frames)]
        if si > 0:
            if tr.kind == "dissolve":
                n = len(pending)
                for k in range(n):
                    a = (k + 1) / (n + 1)
                    frames[k] = pending[k] * (1 - a) + frames[k] * a
                start = out - 0  # blended frames are emitted now
                cuts.append(TruthCut(out + n // 2, "dissolve", (out, out + n)))
            elif tr.kind.startswith("fade"):
                level = 0.0 if tr.kind == "fade_black" else 250.0
                mid_frames = []
                for _ in range(tr.hold):
                    mid_frames.append(np.full((height, width, 3), level, np.float32))
                for k in range(tr.length):
                    a = (k + 1) / (tr.length + 1)
                    frames[k] = frames[k] * a + level * (1 - a)
                span_start = out - tr.length  # fade out began in the previous shot
                yield from mid_frames
                out += len(mid_frames)
                cuts.append(TruthCut(out, "fade", (span_start, out + tr.length)))
                start = out
            else:
                jump = shot.kind == seq.shots[si - 1].kind and shot.seed == seq.shots[si - 1].seed
                cuts.append(TruthCut(out, "jump" if jump else "cut", (out, out)))
        if fade_out:
            level = 0.0 if nxt.kind == "fade_black" else 250.0
            for k in range(fade_out):
                a = (k + 1) / (fade_out + 1)
                idx = shot.frames - fade_out + k
                frames[idx] = frames[idx] * (1 - a) + level * a
        emit = frames[: shot.frames - keep_back] if keep_back else frames
        pending = frames[shot.frames - keep_back :] if keep_back else []
        for f in shot.flashes:
            traps.append({"kind": "flash", "span": [start + f, start + f]})
        if shot.brighten_at is not None:
            traps.append({"kind": "brightness", "span": [start + shot.brighten_at] * 2})
        if shot.kind == "fast":
            traps.append({"kind": "motion", "span": [start, start + shot.frames - 1 - keep_back]})
        yield from emit
        out += len(emit)
    return Truth(out, "", cuts, traps)


#: How the generator's x264 encoder threads (part of the labelled set's cache key).
ENCODER_THREADS = "FRAME"


def write_video(
    path: str | Path,
    seq: Sequence,
    *,
    width: int = 320,
    height: int = 180,
    fps: Fraction | int | str = 24,
    gop: int = 48,
    crf: int = 20,
    codec: str = "libx264",
) -> Truth:
    """Encode a sequence (each frame stamped with its number) and write ``<path>.truth.json``.

    Keyframes come every ``gop`` frames regardless of content (``sc_threshold=0``), so most cuts
    fall on non-keyframes, as in real footage.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps)
    container = av.open(str(path), "w")
    try:
        stream = container.add_stream(codec, rate=rate)
        if not isinstance(stream, av.VideoStream):
            raise ValueError(f"{codec!r} is not a video codec")
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {
                "crf": str(crf),
                "preset": "veryfast",
                "g": str(gop),
                "keyint_min": str(gop),
                "sc_threshold": "0",
            }
            # x264's frame threads, as the ffmpeg command line uses: one slice per frame, like
            # most real footage.  (PyAV's default, slice threads, splits every frame into
            # several slices, which decoders then parallelise unrealistically well.)
            stream.thread_type = ENCODER_THREADS
        gen = render_sequence(seq, width, height)
        n = 0
        try:
            while True:
                img = np.clip(next(gen), 0, 255).astype(np.uint8)
                stamp(img, n)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
                n += 1
        except StopIteration as stop:
            truth: Truth = stop.value
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    truth.fps = str(rate)
    path.with_name(path.name + ".truth.json").write_text(truth.to_json())
    return truth


def write_vfr_video(
    path: str | Path, durations_ms: list[int], *, width: int = 160, height: int = 96
) -> None:
    """A variable-frame-rate MKV whose frame i lasts ``durations_ms[i]`` (probe tests)."""
    container = av.open(str(path), "w")
    try:
        stream = container.add_stream("libx264", rate=1000)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for i, d in enumerate(durations_ms):
            img = np.full((height, width, 3), (i * 37) % 200, np.uint8)
            stamp(img, i)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += d
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()


# ---------------------------------------------------------------------------------------------
# The demo project's videos
# ---------------------------------------------------------------------------------------------
def demo_sequences() -> dict[str, Sequence]:
    """Three short videos covering every case the cut stage must handle."""
    live = Sequence(
        [
            Shot("shapes", 60, seed=1, flashes=[30]),
            Shot("texture", 48, seed=2),
            Shot("fast", 60, seed=3),
            Shot("gradient", 5, seed=4),  # a very short shot
            Shot("shapes", 50, seed=5, brighten_at=25),
            Shot("shapes", 45, seed=5, t0=90),  # jump cut: same shot, later
            Shot("texture", 40, seed=6),
        ]
    )
    transitions = Sequence(
        [
            Shot("shapes", 50, seed=11),
            Shot("texture", 50, seed=12),
            Shot("gradient", 50, seed=13),
            Shot("shapes", 50, seed=14),
            Shot("texture", 40, seed=15),
        ],
        [
            Transition(),
            Transition("fade_black", 10, hold=4),
            Transition("dissolve", 12),
            Transition("fade_white", 8, hold=2),
            Transition(),
        ],
    )
    anime = Sequence(
        [
            Shot("anime", 48, seed=21),
            Shot("anime", 36, seed=22),
            Shot("anime", 30, seed=21, t0=60),
            Shot("dark", 50, seed=23),
            Shot("dark", 40, seed=24),
            Shot("anime", 40, seed=25),
        ]
    )
    return {"demo_live.mp4": live, "demo_transitions.mp4": transitions, "demo_anime.mp4": anime}


def make_demo_videos(folder: str | Path, *, width: int = 640, height: int = 360) -> list[Path]:
    folder = Path(folder)
    paths = []
    for i, (name, seq) in enumerate(demo_sequences().items()):
        fps = (Fraction(24000, 1001), 25, 30)[i % 3]
        write_video(folder / name, seq, width=width, height=height, fps=fps)
        paths.append(folder / name)
    return paths
