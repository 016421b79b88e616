"""A second labelled synthetic set, from a generator no detector rule was tuned on.

The project's own generator (``workstation/core/synth.py``, ``core/labelled.py``; the ensemble's
rules were fitted to it) draws flat shapes, smooth-noise textures, gradients and flat-colour
"anime" on a fixed camera, stamps a frame-number barcode on every frame, and encodes at CRF 20
with a fixed 48-frame GOP and no scene-cut keyframes.  This one differs on purpose:

- pictures: 1/f ("photographic") noise fields with soft objects, sky/ground landscapes with a
  horizon, "city" blocks with window grids, text slides; a moving textured object in most shots;
- a camera: pans, zooms, hand-held shake, a few whip pans (motion-blurred);
- the look of a delivery: film grain, letterbox bars, interlacing (combing: odd rows half a
  frame later), a burnt-in timecode and subtitles that come and go;
- compression: low bitrate (x264 ABR with B-frames, GOPs of 12 to 250 with x264's scene-cut
  keyframes on, as real encoders do) and one MPEG-2 file;
- events: hard cuts (some 3-8 frame shots), fades to and from black (holds of 0, 0.3 s and
  1.0 s), cross-dissolves; traps: 1-3 frame flashes, an object passing close to the camera,
  whip pans, heavy shake.

Labels (``<video>.labels.json``): ``events`` (kind ``cut`` | ``fade`` | ``dissolve``; ``frame``,
the cut's frame, and ``span`` ``[a, b]``: any cut in it counts) and ``traps`` (kind ``flash`` |
``passer`` | ``whip`` | ``shake``; ``span``).  A fade out, a hold of 0.5 s or more and a fade in
are two events (span of the fade out up to the first black frame; span of the fade in from its
first frame to the first clean frame); with a shorter hold, one.  Everything is drawn from the
seed, so a set is rebuilt bit for bit (``make_set``); files are cached by a key of this file's
source and the spec.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from workstation.core import atomic

KINDS = ("photo", "landscape", "city", "slide")
WORDS = [
    "the",
    "of",
    "and",
    "river",
    "light",
    "north",
    "station",
    "morning",
    "after",
    "market",
    "over",
    "road",
    "window",
    "open",
]


# ---------------------------------------------------------------------------------------------
# Pictures: a canvas per shot, larger than the frame, that a camera looks at
# ---------------------------------------------------------------------------------------------
def _pink(rng: np.random.Generator, h: int, w: int, beta: float) -> np.ndarray:
    """A 1/f^beta noise field in [0, 1] (natural images have beta near 2)."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 2)
    spec[0, 0] = 0
    field_ = np.fft.irfft2(spec, s=(h, w)).astype(np.float32)
    lo, hi = np.percentile(field_, (1, 99))
    return np.clip((field_ - lo) / max(1e-6, hi - lo), 0, 1)


def _tint(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.35, 1.0, 3).astype(np.float32) * 255


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def canvas(kind: str, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """An HxWx3 float32 picture of one kind."""
    if kind == "photo":
        lum = _pink(rng, h, w, float(rng.uniform(1.7, 2.3)))
        chroma = [_pink(rng, h // 4, w // 4, 2.5) for _ in range(3)]
        img = np.stack([cv2.resize(c, (w, h)) for c in chroma], axis=2) * 0.5 + 0.25
        img = img * lum[..., None] * 1.6 * _tint(rng)
        for _ in range(4):  # soft objects
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.05, 0.15) * h
            d2 = (np.arange(h)[:, None] - cy) ** 2 + (np.arange(w)[None, :] - cx) ** 2
            img += (np.exp(-d2 / (2 * r * r)) * rng.uniform(-90, 90))[..., None]
        return img.astype(np.float32)
    if kind == "landscape":
        y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        horizon = rng.uniform(0.35, 0.6)
        sky = _tint(rng) * (0.6 + 0.4 * y / horizon)
        ground = _tint(rng) * 0.5 * (0.6 + _pink(rng, h, w, 1.8)[..., None])
        img = np.where(y < horizon, sky + np.zeros((h, w, 3), np.float32), ground)
        return img.astype(np.float32)
    if kind == "city":
        img = np.full((h, w, 3), _tint(rng) * 0.6, np.float32)
        for _ in range(40):
            x0, bw = int(rng.uniform(0, w)), int(rng.uniform(0.04, 0.15) * w)
            top = int(rng.uniform(0.1, 0.7) * h)
            img[top:, x0 : x0 + bw] = rng.uniform(30, 200)
            for wy in range(top + 6, h - 6, 14):
                img[wy : wy + 6, x0 + 3 : x0 + bw - 3 : 9] = rng.uniform(150, 255)
        return img
    # slide: text on a flat background (a screen recording, a title card)
    bg = tuple(int(v) for v in rng.uniform(0, 255, 3))
    ink = tuple(255 - v for v in bg)
    pic = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(pic)
    size = max(12, h // 18)
    for row in range(int(h / (size * 1.6))):
        words = " ".join(str(rng.choice(WORDS)) for _ in range(int(rng.integers(3, 9))))
        draw.text((size, int(row * size * 1.6) + size // 2), words, fill=ink, font=_font(size))
    return np.asarray(pic, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Shots, joins, traps
# ---------------------------------------------------------------------------------------------
@dataclass
class Shot:
    kind: str
    frames: int
    seed: int
    pan: tuple[float, float] = (0.0, 0.0)  # canvas pixels per frame, in units of frame width
    zoom: float = 0.0  # relative scale change per frame
    shake: float = 0.0  # in units of frame height
    flashes: list[tuple[int, int]] = field(default_factory=list)  # (offset, length 1-3)
    passer: int | None = None  # offset where an object passes close to the camera
    whip: int | None = None  # offset of a whip pan (8 frames)


@dataclass
class Join:
    """How a shot joins the previous one."""

    kind: str = "cut"  # cut | dissolve | fade
    length: int = 0  # dissolve length / each fade half
    hold: int = 0  # black frames between fade out and fade in


@dataclass
class Look:
    """What the delivery did to the picture and how it was encoded."""

    grain: float = 0.0
    letterbox: float = 0.0  # bar height as a fraction of the frame height
    interlaced: bool = False
    timecode: bool = False
    subtitles: bool = False
    codec: str = "libx264"
    bitrate_per_pixel: float = 1.2  # bits per pixel per second (x frame area)
    gop: int = 250
    bframes: int = 3


class ShotPainter:
    """Frames of one shot: the camera over its canvas, a moving object, the traps."""

    def __init__(self, shot: Shot, w: int, h: int) -> None:
        self.shot, self.w, self.h = shot, w, h
        rng = np.random.default_rng(shot.seed)
        self.rng = rng
        self.cw, self.ch = int(w * 1.6), int(h * 1.6)
        self.canvas = canvas(shot.kind, rng, self.ch, self.cw)
        self.start = rng.uniform(0.3, 0.7, 2) * [self.cw, self.ch]
        self.shake_path = rng.normal(0, 1, (shot.frames + 2, 2)).cumsum(axis=0) * 0.3 + rng.normal(
            0, 1, (shot.frames + 2, 2)
        )
        self.obj_color = _tint(rng)
        self.obj_pos = rng.uniform(0.2, 0.8, 2) * [w, h]
        self.obj_vel = rng.uniform(-0.006, 0.006, 2) * [w, w]
        self.obj_r = rng.uniform(0.06, 0.12) * h
        self.obj_tex = _pink(rng, int(self.obj_r * 2) + 2, int(self.obj_r * 2) + 2, 1.5)

    def _whip_offset(self, t: float) -> float:
        s = self.shot
        if s.whip is None:
            return 0.0
        u = np.clip((t - s.whip) / 8.0, 0, 1)  # smoothstep over 8 frames, a full frame width+
        return float((3 * u * u - 2 * u**3) * 1.3 * self.w)

    def view(self, t: float) -> np.ndarray:
        s, w, h = self.shot, self.w, self.h
        cx = self.start[0] + s.pan[0] * w * t + self._whip_offset(t)
        cy = self.start[1] + s.pan[1] * w * t
        k = min(len(self.shake_path) - 1, int(t))
        cx += self.shake_path[k, 0] * s.shake * h
        cy += self.shake_path[k, 1] * s.shake * h
        scale = (1 + s.zoom) ** t  # > 1: zooming in
        # output (x, y) -> canvas (cx + (x - w/2)/scale, cy + (y - h/2)/scale)
        m = np.array(
            [[1 / scale, 0, cx - w / 2 / scale], [0, 1 / scale, cy - h / 2 / scale]], np.float32
        )
        img = cv2.warpAffine(
            self.canvas,
            m,
            (w, h),
            flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        self._object(img, t)
        return img

    def _object(self, img: np.ndarray, t: float) -> None:
        p = self.obj_pos + self.obj_vel * t
        p = np.abs((p % (2 * np.array([self.w, self.h]))) - [self.w, self.h])
        r = self.obj_r
        x0, y0 = int(p[0] - r), int(p[1] - r)
        tex = self.obj_tex
        yy, xx = np.mgrid[0 : tex.shape[0], 0 : tex.shape[1]]
        mask = (xx - r) ** 2 + (yy - r) ** 2 < r * r
        ys = slice(max(0, y0), min(self.h, y0 + tex.shape[0]))
        xs = slice(max(0, x0), min(self.w, x0 + tex.shape[1]))
        sub_m = mask[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        sub_t = tex[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        region = img[ys, xs]
        region[sub_m] = (self.obj_color * (0.5 + sub_t[..., None]))[sub_m]

    def frame(self, i: int, interlaced: bool) -> np.ndarray:
        s = self.shot
        if s.whip is not None and s.whip <= i < s.whip + 8:  # motion blur: average sub-frames
            img = np.mean([self.view(i + d) for d in (-0.33, 0.0, 0.33)], axis=0)
        else:
            img = self.view(i)
        if interlaced:
            img[1::2] = self.view(i + 0.5)[1::2]
        if s.passer is not None and s.passer <= i < s.passer + 6:
            img = self._passer(img, i - s.passer)
        for at, n in s.flashes:
            if at <= i < at + n:
                img = img * 0.3 + 0.7 * 250
        return img

    def _passer(self, img: np.ndarray, k: int) -> np.ndarray:
        """A dark, blurred body crossing the frame close to the camera in 6 frames."""
        cx = (-0.4 + k * 0.36) * self.w
        yy, xx = np.mgrid[0 : self.h, 0 : self.w].astype(np.float32)
        rx, ry = 0.45 * self.w, 0.9 * self.h
        inside = ((xx - cx) / rx) ** 2 + ((yy - self.h * 0.7) / ry) ** 2
        alpha = np.clip(1.5 - inside, 0, 1)[..., None]
        return img * (1 - alpha) + alpha * np.array([35, 30, 28], np.float32)


# ---------------------------------------------------------------------------------------------
# A video: shots joined, the look applied, labels kept
# ---------------------------------------------------------------------------------------------
@dataclass
class Spec:
    name: str
    fps: Fraction
    shots: list[Shot]
    joins: list[Join]  # joins[i] joins shots[i] to shots[i + 1]
    look: Look


def _events(join: Join, start: int, half: float, events: list[dict[str, Any]]) -> int:
    """Label the join into a shot whose first frame would be ``start``; returns where the
    shot's own frames begin (after a fade's hold)."""
    if join.kind == "dissolve":
        n = join.length
        events.append({"kind": "dissolve", "frame": start + n // 2, "span": [start, start + n]})
        return start
    if join.kind == "fade":
        fade_out_first, hold_first = start - join.length, start
        start += join.hold
        clean = start + join.length
        if join.hold >= half:
            events.append(
                {"kind": "fade", "frame": hold_first, "span": [fade_out_first, hold_first]}
            )
            events.append({"kind": "fade", "frame": start, "span": [start, clean]})
        else:
            mid = (hold_first + start) // 2 if join.hold else start
            events.append({"kind": "fade", "frame": mid, "span": [fade_out_first, clean]})
        return start
    events.append({"kind": "cut", "frame": start, "span": [start, start]})
    return start


def _traps(shot: Shot, start: int) -> list[dict[str, Any]]:
    traps = [{"kind": "flash", "span": [start + at, start + at + n - 1]} for at, n in shot.flashes]
    if shot.passer is not None:
        traps.append({"kind": "passer", "span": [start + shot.passer, start + shot.passer + 5]})
    if shot.whip is not None:
        traps.append({"kind": "whip", "span": [start + shot.whip, start + shot.whip + 7]})
    if shot.shake >= 0.02:
        traps.append({"kind": "shake", "span": [start, start + shot.frames - 1]})
    return traps


def _frames(spec: Spec, w: int, h: int) -> Generator[np.ndarray, None, dict[str, Any]]:
    """Yield every frame (float) of a spec, one at a time (only a dissolve's tail is held
    back, so a 1080p video never sits in memory), and return its labels."""
    events: list[dict[str, Any]] = []
    traps: list[dict[str, Any]] = []
    half = float(spec.fps) * 0.5
    n_out = 0
    tail: list[np.ndarray] = []  # the previous shot's last frames, held back for a dissolve
    for si, shot in enumerate(spec.shots):
        painter = ShotPainter(shot, w, h)
        join = spec.joins[si - 1] if si > 0 else Join("none")
        nxt = spec.joins[si] if si < len(spec.joins) else Join("none")
        keep_back = nxt.length if nxt.kind == "dissolve" else 0
        fade_out = nxt.length if nxt.kind == "fade" else 0
        start = n_out
        if si > 0:
            start = _events(join, n_out, half, events)
            for _ in range(start - n_out):  # a fade's hold
                yield np.zeros((h, w, 3), np.float32)
            n_out = start
        traps += _traps(shot, start)
        held: list[np.ndarray] = []
        for i in range(shot.frames):
            img = painter.frame(i, spec.look.interlaced)
            if join.kind == "dissolve" and i < join.length:
                a = (i + 1) / (join.length + 1)
                img = tail[i] * (1 - a) + img * a
            elif join.kind == "fade" and i < join.length:
                img = img * ((i + 1) / (join.length + 1))
            k = i - (shot.frames - fade_out)
            if fade_out and k >= 0:
                img = img * (1 - (k + 1) / (fade_out + 1))
            if keep_back and i >= shot.frames - keep_back:
                held.append(img)
                continue
            yield img
            n_out += 1
        tail = held
    return {"frames": n_out, "fps": str(spec.fps), "events": events, "traps": traps}


def _finish(
    img: np.ndarray, n: int, look: Look, fps: Fraction, rng: np.random.Generator
) -> np.ndarray:
    """Grain, letterbox, burnt-in text, as uint8."""
    h, w = img.shape[:2]
    if look.grain:
        g = rng.normal(0, look.grain, (h // 2 + 1, w // 2 + 1)).astype(np.float32)
        img = img + cv2.resize(g, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    if look.letterbox:
        bar = int(h * look.letterbox)
        img[:bar] = 0
        img[h - bar :] = 0
    out = np.clip(img, 0, 255).astype(np.uint8)
    if look.timecode or look.subtitles:
        pic = Image.fromarray(out)
        draw = ImageDraw.Draw(pic)
        size = max(10, h // 20)
        if look.timecode:
            secs = n / float(fps)
            text = f"{int(secs // 60):02d}:{int(secs % 60):02d}:{int(n % round(float(fps))):02d}"
            draw.text((w - size * 6, size // 2), text, fill=(255, 255, 255), font=_font(size))
        if look.subtitles and (n // round(float(fps) * 2)) % 2 == 0:
            words = WORDS[(n // round(float(fps) * 2)) % len(WORDS)]
            draw.text(
                (w // 3, h - size * 3), f"- and the {words} -", fill=(240, 240, 0), font=_font(size)
            )
        out = np.asarray(pic).copy()
    return out


def write(spec: Spec, path: Path, w: int, h: int) -> dict[str, Any]:
    """Encode a spec at w x h and write its labels beside it; returns the labels."""
    rng = np.random.default_rng(_seed(spec.name))
    look = spec.look
    fmt = "matroska" if look.codec == "mpeg2video" else "mp4"
    with atomic.replacing(path) as tmp:
        container = av.open(str(tmp), "w", format=fmt)
        try:
            stream = container.add_stream(look.codec, rate=spec.fps)
            assert isinstance(stream, av.VideoStream)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.bit_rate = int(look.bitrate_per_pixel * w * h)
            stream.gop_size = look.gop
            if look.codec == "libx264":
                stream.options = {"preset": "faster", "bf": str(look.bframes)}
                stream.thread_type = "FRAME"
            else:
                stream.options = {"bf": "2"}
            frames = _frames(spec, w, h)
            n = 0
            while True:
                try:
                    img = next(frames)
                except StopIteration as stop:
                    labels: dict[str, Any] = stop.value
                    break
                frame = av.VideoFrame.from_ndarray(
                    _finish(img, n, look, spec.fps, rng), format="rgb24"
                )
                for packet in stream.encode(frame):
                    container.mux(packet)
                n += 1
            for packet in stream.encode():
                container.mux(packet)
        finally:
            container.close()
    labels.update({"size": [w, h], "set": "other_generator", "name": spec.name})
    atomic.write_text(path.with_name(path.name + ".labels.json"), json.dumps(labels, indent=1))
    return labels


def _seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")


# ---------------------------------------------------------------------------------------------
# The set: themes x looks, drawn from a seed
# ---------------------------------------------------------------------------------------------
LOOKS: tuple[Look, ...] = (
    Look(grain=6, letterbox=0.12, bitrate_per_pixel=1.0, gop=250, bframes=3),
    Look(interlaced=True, timecode=True, bitrate_per_pixel=1.6, gop=12, bframes=2),
    Look(grain=10, subtitles=True, bitrate_per_pixel=0.8, gop=60, bframes=3),
    Look(bitrate_per_pixel=2.5, gop=250, bframes=0, timecode=True),
)
FPS: tuple[Fraction, ...] = (Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30))


def _camera(rng: np.random.Generator) -> dict[str, Any]:
    move = str(rng.choice(("still", "pan", "zoom", "handheld")))
    if move == "pan":
        return {"pan": (float(rng.uniform(-0.012, 0.012)), float(rng.uniform(-0.004, 0.004)))}
    if move == "zoom":
        return {"zoom": float(rng.choice((-1, 1)) * rng.uniform(0.003, 0.008))}
    if move == "handheld":
        return {"shake": float(rng.uniform(0.004, 0.012))}
    return {}


def _shot(rng: np.random.Generator, seed: int, lo: int, hi: int, **kw: Any) -> Shot:
    cam = _camera(rng)
    cam.update(kw)
    return Shot(str(rng.choice(KINDS)), int(rng.integers(lo, hi)), seed, **cam)


def _theme_cuts(rng: np.random.Generator, s: int, fps: Fraction) -> tuple[list[Shot], list[Join]]:
    shots = [_shot(rng, s + i, 20, 50) for i in range(9)]
    for i in (3, 6):
        shots[i].frames = int(rng.integers(3, 9))  # very short shots
    return shots, [Join() for _ in shots[1:]]


def _theme_fades(rng: np.random.Generator, s: int, fps: Fraction) -> tuple[list[Shot], list[Join]]:
    shots = [_shot(rng, s + i, 40, 60) for i in range(7)]
    f = float(fps)
    joins = [
        Join("fade", int(rng.integers(8, 16)), 0),
        Join("fade", int(rng.integers(8, 14)), round(0.3 * f)),
        Join("fade", int(rng.integers(8, 14)), round(1.0 * f)),
        Join("dissolve", int(rng.integers(8, 20))),
        Join(),
        Join("dissolve", int(rng.integers(10, 24))),
    ]
    order = rng.permutation(len(joins))
    return shots, [joins[k] for k in order]


def _theme_traps(rng: np.random.Generator, s: int, fps: Fraction) -> tuple[list[Shot], list[Join]]:
    shots = [
        _shot(rng, s, 60, 80, flashes=[(12, 1), (40, 3)]),
        _shot(rng, s + 1, 60, 80, passer=20, flashes=[(50, 2)]),
        _shot(rng, s + 2, 60, 80, whip=25),
        _shot(rng, s + 3, 50, 70, shake=0.03),
    ]
    order = rng.permutation(len(shots))
    return [shots[k] for k in order], [Join() for _ in shots[1:]]


THEMES = {"cuts": _theme_cuts, "fades": _theme_fades, "traps": _theme_traps}


def specs(seed: int = 13, copies: int = 4) -> list[Spec]:
    """Every video of the set: each theme ``copies`` times, each copy with another look."""
    out = []
    for c in range(copies):
        for t, (theme, build) in enumerate(THEMES.items()):
            s = seed * 1000 + 100 * c + 10 * t
            rng = np.random.default_rng(s)
            fps = FPS[(c + t) % len(FPS)]
            shots, joins = build(rng, s, fps)
            look = LOOKS[(c + t) % len(LOOKS)]
            if theme == "fades" and c == 1:
                look = Look(**{**asdict(look), "codec": "mpeg2video", "bitrate_per_pixel": 4.0})
            ext = "mkv" if look.codec == "mpeg2video" else "mp4"
            out.append(Spec(f"{theme}_{c}.{ext}", fps, shots, joins, look))
    return out


def _key(spec: Spec, w: int, h: int) -> str:
    source = Path(__file__).read_bytes()
    text = repr((asdict(spec), w, h, av.__version__)).encode()
    return hashlib.sha256(source + text).hexdigest()[:16]


def make_set(
    folder: str | Path,
    size: tuple[int, int] = (640, 360),
    *,
    names: list[str] | None = None,
    seed: int = 13,
    on_video: Any = None,
) -> list[Path]:
    """Write (or keep, when cached with the same key) the videos and their labels."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    paths = []
    for spec in specs(seed):
        if names is not None and spec.name not in names:
            continue
        path = folder / spec.name
        key_file = path.with_name(path.name + ".key")
        key = _key(spec, w, h)
        labels = path.with_name(path.name + ".labels.json")
        fresh = key_file.exists() and key_file.read_text() == key
        if not (fresh and path.exists() and labels.exists()):
            if on_video:
                on_video(spec.name)
            write(spec, path, w, h)
            atomic.write_text(key_file, key)
        paths.append(path)
    return paths
