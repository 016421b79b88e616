"""The ``webdataset`` layout, read by video2dataset: tar shards of samples.

``OUT/train/00000.tar`` … with ``{key}.mp4``, ``{key}.txt`` and ``{key}.json`` per sample (at
most ``shard_size`` samples a shard), plus ``OUT/val/…``.  The tars are deterministic (fixed
metadata); the videos are also kept beside the shards, in ``OUT/.videos/``, so a re-run only
re-encodes what changed.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from workstation.core.export.files import write_bytes
from workstation.core.export.settings import ExportedClip, ExportSettings


def video_rel(split: str, key: str) -> str:
    return f".videos/{key}.mp4"  # kept beside the shards for incremental runs


def write_split(out: Path, split: str, items: list[ExportedClip], settings: ExportSettings) -> None:
    shard_size = settings.shard_size
    folder = out / split
    folder.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for s in range(0, len(items), shard_size):
        shard = s // shard_size
        name = f"{shard:05d}.tar"
        wanted.add(name)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for j, c in enumerate(items[s : s + shard_size]):
                key = f"{shard:05d}{j:04d}"
                meta = {
                    "key": key,
                    "videoid": c.key,
                    "caption": c.caption,
                    "frames": c.frames,
                    "fps": c.fps,
                    "width": c.width,
                    "height": c.height,
                }
                video = (out / video_rel(c.split, c.key)).read_bytes()
                for ext, data in (
                    ("mp4", video),
                    ("txt", c.caption.encode("utf-8")),
                    ("json", json.dumps(meta, sort_keys=True).encode()),
                ):
                    info = tarfile.TarInfo(f"{key}.{ext}")
                    info.size, info.mtime, info.mode = len(data), 0, 0o644
                    tar.addfile(info, io.BytesIO(data))
        write_bytes(folder / name, buf.getvalue())
    # Only shards of our own naming are ours to remove: a person's other .tar files stay.
    for old in folder.glob("[0-9][0-9][0-9][0-9][0-9].tar"):
        if old.name not in wanted:
            old.unlink()
