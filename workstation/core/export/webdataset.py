"""The ``webdataset`` layout, read by video2dataset: tar shards of samples.

``OUT/train/00000.tar`` … with ``{key}.mp4``, ``{key}.txt`` and ``{key}.json`` per sample (at
most ``shard_size`` samples a shard), plus ``OUT/val/…``.  The tars are deterministic (fixed
metadata); the videos are also kept beside the shards, in ``OUT/.videos/``, so a re-run only
re-encodes what changed.  Shards no longer written are removed by the stage, like every file,
only when the manifest recorded them and they are unchanged: a person's other ``.tar`` files stay.
"""

from __future__ import annotations

import io
import json
import tarfile

from workstation.core.export.files import OutFiles
from workstation.core.export.settings import ExportedClip, ExportSettings


def video_rel(split: str, key: str) -> str:
    return f".videos/{key}.mp4"  # kept beside the shards for incremental runs


def index_files(split: str, keys: list[str], settings: ExportSettings) -> list[str]:
    shards = -(-len(keys) // settings.shard_size)
    return [f"{split}/{shard:05d}.tar" for shard in range(shards)]


def write_split(
    files: OutFiles, split: str, items: list[ExportedClip], settings: ExportSettings
) -> None:
    out = files.out
    shard_size = settings.shard_size
    folder = out / split
    for s in range(0, len(items), shard_size):
        shard = s // shard_size
        name = f"{shard:05d}.tar"
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
        files.write_bytes(folder / name, buf.getvalue())
