"""The files of an export: written to a temp name and renamed, re-encoded when asked, and every
clip decoded back the way a trainer's loader will read it before it is listed."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from workstation.core.errors import WorkstationError
from workstation.core.export.settings import ExportSettings, parse_aspect
from workstation.core.media import FrameIndex
from workstation.core.slicing import _source_frames


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(dst)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def transcode(src: Path, dst: Path, settings: ExportSettings) -> None:
    """Re-encode a clip with resize (short side), centre crop and fps change applied."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(dst)
    try:
        with av.open(str(src)) as inp:
            stream = inp.streams.video[0]
            stream.thread_type = "AUTO"
            frames = list(inp.decode(stream))
            in_rate = Fraction(stream.average_rate or stream.guessed_rate or 25)
            tb = stream.time_base
        if not frames:
            raise WorkstationError(f"{src}: no frames to export")
        w, h = frames[0].width, frames[0].height
        if settings.size is not None:
            scale = settings.size / min(w, h)
            w, h = round(w * scale), round(h * scale)
        cw, ch = w, h
        if settings.crop is not None:
            aspect = parse_aspect(settings.crop)
            if Fraction(w, h) > aspect:
                cw = round(h * aspect)
            else:
                ch = round(w / aspect)
        cw, ch = max(2, cw // 2 * 2), max(2, ch // 2 * 2)
        rate = settings.fps or in_rate
        order = list(range(len(frames)))
        if settings.fps is not None:
            # The slicer's sample-and-hold by timestamps, so both resample alike.
            pts = tuple(f.pts if f.pts is not None else i for i, f in enumerate(frames))
            index = FrameIndex(pts, tb or Fraction(1, int(in_rate) or 1))
            order = _source_frames(index, 0, len(pts), settings.fps)
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            ostream = out.add_stream("libx264", rate=rate)
            ostream.width, ostream.height, ostream.pix_fmt = cw, ch, "yuv420p"
            ostream.options = {"crf": str(settings.crf), "preset": "medium"}
            x0, y0 = (w - cw) // 2, (h - ch) // 2
            for i, src_index in enumerate(order):
                rgb = frames[src_index].to_ndarray(width=w, height=h, format="rgb24")
                img = np.ascontiguousarray(rgb[y0 : y0 + ch, x0 : x0 + cw], dtype=np.uint8)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                for packet in ostream.encode(frame):
                    out.mux(packet)
            for packet in ostream.encode():
                out.mux(packet)
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@dataclass(frozen=True)
class DecodedCheck:
    frames: int
    width: int
    height: int
    fps: Fraction


def decode_back(path: Path) -> DecodedCheck:
    """Decode every frame the way a trainer's loader will (PyAV, RGB); raises on damage."""
    try:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            rate = Fraction(stream.average_rate or stream.guessed_rate or 0)
            n = 0
            w = h = 0
            for frame in c.decode(stream):
                frame.to_ndarray(format="rgb24")
                w, h = frame.width, frame.height
                n += 1
    except (av.error.FFmpegError, IndexError) as exc:
        raise WorkstationError(f"{path.name}: cannot be decoded back ({exc})") from None
    if n == 0:
        raise WorkstationError(f"{path.name}: decodes to no frames")
    return DecodedCheck(n, w, h, rate)
