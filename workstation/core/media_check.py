"""Why FFmpeg can't open a file: truncated MP4, damaged Matroska, text, zeros, or not a video.

FFmpeg answers every one of them with "Invalid data found when processing input".  A person
needs to know whether to re-download (an MP4 whose index, written last, never arrived), look for
another file (a text file named ``.mp4``) or give up on a damaged one, so :func:`why_unreadable`
reads the first bytes and, for MP4/MOV, the list of top-level boxes (a few reads: their headers
only) and says which.  Walking ISO-BMFF box headers is eight bytes a box; a parsing library
(pymp4, mutagen) would add a dependency for that.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

# Top-level ISO-BMFF / QuickTime boxes: a file starting with one of these is MP4/MOV.
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp", b"uuid"}
_MATROSKA = b"\x1a\x45\xdf\xa3"
_MAX_BOXES = 10_000  # a garbage file that happens to start like an MP4 is not walked forever

TRUNCATED_MP4 = (
    "truncated or incomplete file (the MP4 index is missing; was the download or recording "
    "interrupted?)"
)


def why_unreadable(path: Path) -> str:
    """The problem with a file FFmpeg reported as invalid data, as a phrase after its path."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
            if head[4:8] in _MP4_BOXES:
                return _mp4_problem(f, path.stat().st_size)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if head.startswith(_MATROSKA):
        return "damaged or truncated Matroska/WebM file (FFmpeg cannot read its header)"
    if not head.strip(b"\0"):
        return (
            "not a video file: it holds only zero bytes (space reserved for a download or copy "
            "that never finished?)"
        )
    if b"\0" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the 4096-byte edge
                return "not a video file (FFmpeg does not recognise its format)"
        return "not a video file: it holds text"
    return "not a video file (FFmpeg does not recognise its format)"


def _mp4_problem(stream: BinaryIO, size: int) -> str:
    """Walk the top-level boxes: no complete ``moov`` (the index) means the file was cut."""
    pos = 0
    complete: set[bytes] = set()
    for _ in range(_MAX_BOXES):
        if pos + 8 > size:
            break
        stream.seek(pos)
        header = stream.read(16)
        length, kind = struct.unpack(">I4s", header[:8])
        if length == 1 and len(header) == 16:  # a 64-bit size follows
            length = struct.unpack(">Q", header[8:16])[0]
        elif length == 0:  # the box runs to the end of the file
            length = size - pos
        if length < 8:
            return "damaged MP4 file (a box header is invalid)"
        if pos + length > size:  # this box was cut short
            break
        complete.add(kind)
        pos += length
    if b"moov" not in complete:
        return TRUNCATED_MP4
    return "damaged MP4 file (FFmpeg cannot read its index)"
