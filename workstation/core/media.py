"""Probing and decoding video files with PyAV.

Frame numbers everywhere in the workstation are 0-based indices of frames in presentation order
as the decoder outputs them ("decode-order index" in the CLI docs).  :class:`FrameIndex` maps
between those numbers and stream timestamps, exactly for variable frame rate files too.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.container import InputContainer

from workstation.core.errors import MediaError
from workstation.core.media_check import why_unreadable
from workstation.core.progress import Progress, Stage, Throttle, drive

VIDEO_EXTENSIONS = frozenset(
    [
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".avi",
        ".ts",
        ".m2ts",
        ".mts",
        ".mpg",
        ".mpeg",
        ".wmv",
        ".flv",
        ".ogv",
        ".gif",
    ]
)
_HASH_CHUNK = 1 << 20


def content_id(path: str | Path) -> str:
    """Identity of a file's content that survives moves and renames.

    Hashes the size plus the first and last MiB, so it is instant on multi-GB videos and still
    tells different encodes apart.
    """
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with p.open("rb") as f:
        h.update(f.read(_HASH_CHUNK))
        if size > 2 * _HASH_CHUNK:
            f.seek(size - _HASH_CHUNK)
            h.update(f.read(_HASH_CHUNK))
    return h.hexdigest()[:32]


@dataclass(frozen=True)
class FrameIndex:
    """Sorted presentation timestamps of every frame (stream time base units)."""

    pts: tuple[int, ...]
    time_base: Fraction

    def __len__(self) -> int:
        return len(self.pts)

    def time_of(self, frame: int) -> float:
        """Presentation time in seconds of ``frame`` relative to the first frame."""
        return float((self.pts[frame] - self.pts[0]) * self.time_base)

    def frame_at_pts(self, pts: int) -> int:
        """Index of the frame shown at ``pts`` (the last frame starting at or before it)."""
        return max(0, bisect.bisect_right(self.pts, pts) - 1)

    def frame_at_time(self, seconds: float) -> int:
        ticks = self.pts[0] + round(seconds / self.time_base)
        return self.frame_at_pts(ticks)


@dataclass(frozen=True)
class VideoInfo:
    """What the workstation knows about a video after probing it."""

    path: str
    size_bytes: int
    content_id: str
    fps: Fraction
    frame_count: int
    duration: float
    width: int
    height: int
    rotation: int
    vfr: bool
    codec: str
    pix_fmt: str
    time_base: Fraction
    has_audio: bool
    keyframes: tuple[int, ...] = field(default=(), repr=False)
    index: FrameIndex | None = field(default=None, repr=False)

    def time_of(self, frame: int) -> float:
        if self.index is not None and not self.index_is_uniform:
            return self.index.time_of(min(frame, len(self.index) - 1))
        return float(frame / self.fps)

    @property
    def index_is_uniform(self) -> bool:
        return not self.vfr

    def frame_at_time(self, seconds: float) -> int:
        if self.index is not None and self.vfr:
            return self.index.frame_at_time(seconds)
        return max(0, min(self.frame_count - 1, math.floor(seconds * self.fps + 1e-6)))


def _open(path: Path) -> InputContainer:
    if not path.exists():
        raise MediaError(path, "file not found")
    if path.is_dir():
        raise MediaError(path, "is a folder, not a video file")
    if path.stat().st_size == 0:
        raise MediaError(path, "file is empty (0 bytes)")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.EOFError):  # FFmpeg can't say more than this
        raise MediaError(path, why_unreadable(path)) from None
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"cannot be opened: {exc.strerror or exc}") from None
    except OSError as exc:
        raise MediaError(path, f"cannot be read: {exc.strerror or exc}") from None


def _video_stream(path: Path, container: InputContainer) -> av.VideoStream:
    streams = [s for s in container.streams.video if not _is_cover_art(s)]
    if not streams:
        if container.streams.audio:
            raise MediaError(path, "has no video stream (audio only)")
        raise MediaError(path, "has no video stream")
    return streams[0]


def _is_cover_art(stream: av.VideoStream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def probe(path: str | Path) -> Stage[VideoInfo]:
    """Probe a video: exact frame count, timestamps, frame rate, VFR flag, decodability.

    Reads the container index when it has one for every frame (MP4/MOV), otherwise demuxes
    every packet (no decoding).  Then decodes the first frame and the last GOP so a truncated
    or corrupt tail is found now, not in the middle of a training run.
    """
    path = Path(path)
    name = path.name
    yield Progress("probe", 0, None, name, "opening")
    container = _open(path)
    try:
        stream = _video_stream(path, container)
        tb = stream.time_base
        if tb is None:
            raise MediaError(path, "video stream has no time base")
        size = path.stat().st_size
        pts_list, keyframe_pts, dts_based = yield from _timestamps(path, container, stream, size)
        if not pts_list:
            raise MediaError(path, "has a video stream with no frames")
        yield Progress("probe", size, size, name, "checking first and last frames")
        first, rotation = _decode_first(path, container, stream)
        if dts_based:
            pts_list, keyframe_pts = _presentation(first.pts, pts_list, keyframe_pts)
        tail = _decode_tail(path, container, stream, keyframe_pts, pts_list)
        # Decoders may drop undecodable leading frames (open GOP): trust what decodes.
        frame_count = len(pts_list)
        if tail is not None and tail < frame_count:
            frame_count = tail
            pts_list = pts_list[:frame_count]
        pts_array = np.asarray(pts_list, dtype=np.int64)
        deltas = np.diff(pts_array)
        vfr = not _is_uniform(pts_list)
        last_dur = int(np.median(deltas)) if len(deltas) else 0
        duration = float((pts_list[-1] - pts_list[0] + last_dur) * tb)
        fps = _frame_rate(stream, deltas, tb, frame_count, duration, vfr)
        claimed = _claimed_duration(container, stream)
        if claimed and duration < claimed - max(1.0, 0.05 * claimed):
            raise MediaError(
                path,
                f"is truncated: its header says {claimed:.2f} s but the frames end at "
                f"{duration:.2f} s",
            )
        if duration <= 0 and fps:
            duration = float(frame_count / fps)
        index = FrameIndex(tuple(pts_list), tb)
        keyframes = tuple(sorted({index.frame_at_pts(k) for k in keyframe_pts}))
        info = VideoInfo(
            path=str(path.resolve()),
            size_bytes=size,
            content_id=content_id(path),
            fps=fps,
            frame_count=frame_count,
            duration=duration,
            width=first.width,
            height=first.height,
            rotation=rotation,
            vfr=vfr,
            codec=stream.codec_context.name,
            pix_fmt=first.format.name,
            time_base=tb,
            has_audio=bool(container.streams.audio),
            keyframes=keyframes,
            index=index,
        )
        yield Progress("probe", size, size, name, "done")
        return info
    finally:
        container.close()


def _timestamps(
    path: Path, container: InputContainer, stream: av.VideoStream, size: int, *, reads: bool = True
) -> Stage[tuple[list[int], list[int], bool]]:
    """Sorted timestamps of every frame and those of the keyframes, without decoding.

    From the MP4 index when it lists every sample (then they are decode timestamps: the third
    value is True and :func:`_presentation` shifts them), otherwise by demuxing every packet;
    with ``reads=False`` nothing is read (empty lists when the index is not enough).
    """
    name = path.name
    entries = stream.index_entries
    pts_list: list[int]
    keyframe_pts: list[int] = []
    dts_based = False
    if stream.frames and len(entries) == stream.frames and container.format.name.startswith("mov"):
        # The MP4 index lists every sample: no need to read the file.
        last = entries[len(entries) - 1]
        if last.pos + last.size > size:
            raise MediaError(
                path,
                f"truncated or incomplete file (its index lists {stream.frames} frames but the "
                f"file ends at byte {size} of {last.pos + last.size}; was the download or "
                "recording interrupted?)",
            )
        dts = [e.timestamp for e in entries]
        keyframe_pts = [e.timestamp for e in entries if e.is_keyframe]
        pts_list = sorted(dts)
        dts_based = _is_uniform(pts_list)  # VFR MP4s are demuxed below for exact pts
    if not dts_based and not reads:
        return [], [], False
    if not dts_based:
        pts_list = []
        keyframe_pts = []
        throttle = Throttle(0.2)
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None:
                    continue
                pts_list.append(ts)
                if packet.is_keyframe:
                    keyframe_pts.append(ts)
                if throttle.ready() and packet.pos and packet.pos > 0:
                    yield Progress("probe", int(packet.pos), size, name, "reading packets")
        except av.error.FFmpegError as exc:
            if not pts_list:
                raise MediaError(path, f"cannot be read: {exc}") from None
        pts_list.sort()
    return pts_list, keyframe_pts, dts_based


def _presentation(
    first_pts: int | None, pts_list: list[int], keyframe_pts: list[int]
) -> tuple[list[int], list[int]]:
    """Decode timestamps (the MP4 index) shifted to presentation timestamps: with B-frames
    presentation starts later by a constant delay, which the first frame's timestamp tells."""
    if first_pts is None or first_pts == pts_list[0]:
        return pts_list, keyframe_pts
    shift = first_pts - pts_list[0]
    return [p + shift for p in pts_list], [p + shift for p in keyframe_pts]


def quick_index(
    path: str | Path, container: InputContainer | None = None
) -> tuple[FrameIndex, tuple[int, ...]] | None:
    """The frame index and keyframe numbers of a video, cheaply: no hash, no tail check.

    What :func:`probe` reads first (the MP4 index, or the packets), for a caller that needs
    exact frame numbers after a seek but has no probe at hand; ``None`` when the file has no
    frames or cannot be read (the caller's own reading then names the problem).  An MP4's
    index comes from the caller's open, unread ``container`` without reading a packet (it is
    left as it was); other files are read by a container of their own.
    """
    path = Path(path)
    if container is not None:
        found = _index_of(path, container, reads=False)
        if found is not None:
            return found
    try:
        own = _open(path)
    except MediaError:
        return None
    try:
        return _index_of(path, own, reads=True)
    finally:
        own.close()


def _index_of(
    path: Path, container: InputContainer, *, reads: bool
) -> tuple[FrameIndex, tuple[int, ...]] | None:
    try:
        stream = _video_stream(path, container)
        if stream.time_base is None:
            return None
        pts_list, keyframe_pts, dts_based = drive(
            _timestamps(path, container, stream, path.stat().st_size, reads=reads)
        )
        if not pts_list:
            return None
        if dts_based:
            # The first frame shown: FFmpeg's start time of the stream (the earliest
            # presentation timestamp of its first packets), not a decoded frame (a decoder
            # holds frames back for B-frames: at 720p that costs ~25 ms).
            pts_list, keyframe_pts = _presentation(stream.start_time, pts_list, keyframe_pts)
        index = FrameIndex(tuple(pts_list), stream.time_base)
        return index, tuple(sorted({index.frame_at_pts(k) for k in keyframe_pts}))
    except (MediaError, av.error.FFmpegError):
        return None


def _claimed_duration(container: InputContainer, stream: av.VideoStream) -> float | None:
    """The duration the container header claims for the video (None when it says nothing)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    text = (stream.metadata or {}).get("DURATION")
    if text:
        try:
            h, m, sec = text.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            pass
    if container.duration:
        return container.duration / 1_000_000
    return None


def _is_uniform(pts: list[int]) -> bool:
    if len(pts) < 3:
        return True
    pts_array = np.asarray(pts, dtype=np.int64)
    deltas = np.diff(pts_array)
    median = float(np.median(deltas))
    return bool(median > 0 and np.max(np.abs(deltas - median)) <= 0.1 * median + 1)


def _frame_rate(
    stream: av.VideoStream,
    deltas: npt.NDArray[np.int64],
    tb: Fraction,
    frame_count: int,
    duration: float,
    vfr: bool,
) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not vfr and len(deltas):
        # Exact CFR rate from the timestamps, snapped to the container's claim when they agree.
        measured = 1 / (Fraction(int(np.median(deltas))) * tb)
        if rate and abs(float(rate) - float(measured)) < 0.01 * float(measured):
            return Fraction(rate)
        return measured.limit_denominator(1001)
    if vfr and duration > 0:
        return Fraction(frame_count / duration).limit_denominator(1001)
    if rate:
        return Fraction(rate)
    return Fraction(25)


def _decode_first(
    path: Path, container: InputContainer, stream: av.VideoStream
) -> tuple[av.VideoFrame, int]:
    try:
        container.seek(0, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            return frame, int(getattr(frame, "rotation", 0) or 0)
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"cannot decode its first frame: {exc}") from None
    raise MediaError(path, "no frame could be decoded")


def _decode_tail(
    path: Path,
    container: InputContainer,
    stream: av.VideoStream,
    keyframe_pts: list[int],
    pts_list: list[int],
) -> int | None:
    """Decode from the last keyframe to the end; returns the frame count the decoder reaches."""
    if not keyframe_pts:
        return None
    last_key = max(keyframe_pts)
    expected_after = len(pts_list) - bisect.bisect_left(pts_list, last_key)
    got = 0
    try:
        container.seek(last_key, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts is not None and frame.pts < last_key:
                continue
            got += 1
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"is truncated or corrupt near the end ({exc})") from None
    if got == 0:
        raise MediaError(path, "is truncated or corrupt: its last frames cannot be decoded")
    if got < expected_after - 2:
        # Tolerate decoders that drop a frame or two at the end; a bigger gap is damage.
        raise MediaError(
            path,
            f"is truncated or corrupt near the end: {expected_after - got} of the last "
            f"{expected_after} frames cannot be decoded",
        )
    return len(pts_list) - expected_after + got


def iter_frames(
    path: str | Path,
    *,
    start: int = 0,
    end: int | None = None,
    width: int | None = None,
    height: int | None = None,
    fmt: str = "rgb24",
    index: FrameIndex | None = None,
    threads: bool = True,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_number, image)`` for frames ``start <= n < end`` in order.

    Seeks to the keyframe before ``start`` when an index is given (needed for exact numbering
    after a seek); otherwise decodes from the beginning and counts.  Scaling and pixel format
    conversion are done by FFmpeg's swscale, far faster than numpy.
    """
    path = Path(path)
    container = _open(path)
    try:
        stream = _video_stream(path, container)
        if threads:
            stream.thread_type = "AUTO"
        counting = True
        n = 0
        if start > 0 and index is not None:
            container.seek(index.pts[start], stream=stream, backward=True, any_frame=False)
            counting = False
        for frame in container.decode(stream):
            if counting:
                number = n
                n += 1
            else:
                if frame.pts is None:
                    continue
                number = index.frame_at_pts(frame.pts)  # type: ignore[union-attr]
            if number < start:
                continue
            if end is not None and number >= end:
                break
            image = frame.to_ndarray(width=width, height=height, format=fmt)
            yield number, image
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"decoding failed: {exc}") from None
    finally:
        container.close()


def find_videos(paths: list[str | Path]) -> tuple[list[Path], list[MediaError]]:
    """Expand files and folders (recursively) into video files; report paths that don't exist."""
    found: list[Path] = []
    errors: list[MediaError] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in sorted(files):
                    if Path(f).suffix.lower() in VIDEO_EXTENSIONS:
                        found.append(Path(root) / f)
        elif p.exists():
            found.append(p)
        else:
            errors.append(MediaError(p, "file not found"))
    return found, errors
