"""The files of an export: written only inside OUT (:class:`OutFiles`), each atomically and
recorded with its size and sha256, re-encoded when asked, and every clip decoded back the way a
trainer's loader will read it before it is listed.

Why a checksum per file: a later run deletes a file it no longer exports only when the file is
still exactly what an export wrote (a person's edit or replacement stays, and the run says so).
sha256 costs about 280 MB/s on one core of the 2-core test machine, paid once when a file is
written (it is still in the page cache) and again only for the few files a run deletes; reused
videos keep the record of the run that wrote them.

Byte-reproducible: the re-encode pins x264's thread count (:data:`X264_THREADS`; its frame
threads change the output, so "as many as the machine has cores" would differ between
machines).  Decoding is bit-exact whatever its threads, and the resize gives the same pixels
every run.  With x264's macroblock tree off (``slicing.encode.X264_OPTIONS``, which says
why and what it costs) two exports with the same clips and settings give the same bytes, file for file, at
any size (a test exports 320x180 clips at ``size=128``, 228x128, twice).  Across
machines swscale (the resize and RGB/YUV conversions) may also pick other SIMD code, which is
not bit-exact, and PyAV gives no way to ask for its ``bitexact`` flag.
"""

from __future__ import annotations

import errno
import hashlib
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from workstation.core import atomic
from workstation.core.errors import WorkstationError
from workstation.core.export.settings import ExportSettings, parse_aspect
from workstation.core.media import FrameIndex
from workstation.core.slicing import _source_frames
from workstation.core.slicing.encode import X264_OPTIONS

#: x264 threads of an export's re-encode: fixed, not the machine's cores (they change the bytes).
X264_THREADS = 4


class WriteFailed(WorkstationError):
    """A file of the export could not be written; ``str()`` is "PATH: cannot write: WHY"."""

    def __init__(self, path: Path, exc: OSError) -> None:
        super().__init__(str(atomic.write_error(path, exc)))
        self.errno = exc.errno

    @property
    def disk_full(self) -> bool:
        return self.errno in (errno.ENOSPC, errno.EDQUOT)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class OutFiles:
    """Writes inside one export folder and records what it wrote: ``{rel: {size, sha256}}``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.root = out.resolve()
        self.written: dict[str, dict[str, Any]] = {}

    def inside(self, rel: str) -> Path | None:
        """``out/rel`` resolved (links followed), or None when that is not inside OUT."""
        target = (self.out / rel).resolve()
        return target if self.root in target.parents else None

    def target(self, path: Path) -> tuple[str, Path]:
        rel = path.relative_to(self.out).as_posix()
        if self.inside(rel) is None:
            raise WorkstationError(
                f"{path}: leads outside the export folder {self.out}; not written"
            )
        return rel, path

    def keep(self, rel: str, record: dict[str, Any] | None) -> None:
        """A file this run reuses as it is: its earlier record carries over."""
        if record is not None:
            self.written[rel] = dict(record)

    def _record(self, rel: str, path: Path, data: bytes | None = None) -> None:
        digest = hashlib.sha256(data).hexdigest() if data is not None else sha256_of(path)
        size = len(data) if data is not None else path.stat().st_size
        self.written[rel] = {"size": size, "sha256": digest}

    def write_bytes(self, path: Path, data: bytes) -> None:
        rel, path = self.target(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(path, data)
        except OSError as exc:
            raise WriteFailed(path, exc) from None
        self._record(rel, path, data)

    def write_text(self, path: Path, text: str) -> None:
        self.write_bytes(path, text.encode("utf-8"))

    def copy(self, src: Path, dst: Path) -> None:
        rel, dst = self.target(dst)
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            with atomic.replacing(dst) as tmp:
                shutil.copyfile(src, tmp)
            self._record(rel, dst)
        except OSError as exc:
            raise WriteFailed(dst, exc) from None

    def transcode(self, src: Path, dst: Path, settings: ExportSettings) -> None:
        rel, dst = self.target(dst)
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            with atomic.replacing(dst) as tmp:
                transcode(src, tmp, settings)
            self._record(rel, dst)
        except OSError as exc:
            raise WriteFailed(dst, exc) from None


def transcode(src: Path, dst: Path, settings: ExportSettings) -> None:
    """Re-encode a clip into ``dst`` with resize (short side), centre crop and fps change."""
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
    with av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        ostream = out.add_stream("libx264", rate=rate)
        ostream.width, ostream.height, ostream.pix_fmt = cw, ch, "yuv420p"
        ostream.codec_context.thread_count = X264_THREADS
        ostream.options = {"crf": str(settings.crf), "preset": "medium", **X264_OPTIONS}
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
