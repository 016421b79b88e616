"""Dataset export: the layouts trainers read, every clip decoded back before it is listed.

Layouts (``OUT`` is the export folder; the validation split only exists when asked for):

* ``pairs`` (diffusion-pipe, musubi-tuner, ai-toolkit): ``OUT/<key>.mp4`` + ``OUT/<key>.txt`` and
  ``OUT/metadata.jsonl`` (``{"video_path", "caption"}``); validation in ``OUT/val/`` alike.
* ``webvid`` (AnimateDiff's WebVid10M loader): ``OUT/videos/<key>.mp4`` and ``OUT/train.csv``
  (+ ``OUT/val.csv``) with columns ``videoid,contentUrl,duration,page_dir,name``.
* ``webdataset`` (video2dataset): ``OUT/train/00000.tar`` … with ``{key}.mp4``, ``{key}.txt`` and
  ``{key}.json`` per sample, plus ``OUT/val/…``.

Each run is deterministic (sorted keys, fixed tar metadata) and incremental: ``OUT/export.json``
remembers what every file was made from, so a re-run only re-encodes what changed and removes
what is no longer selected.  Every file is written to a temp name and renamed.  ``OUT/report.json``
says, per clip, what the target trainers will do with it.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from workstation.core.cliptext import SidecarFormat, SidecarSettings, sidecar_texts
from workstation.core.errors import WorkstationError
from workstation.core.media import FrameIndex
from workstation.core.progress import Progress, Stage
from workstation.core.slicing import _source_frames
from workstation.core.store import Clip, Project

MANIFEST = "export.json"
REPORT = "report.json"
MANIFEST_VERSION = 1

# AnimateDiff's default sampling: 16 frames at stride 4 spans 61 source frames.
ANIMATEDIFF_FRAMES = 16
ANIMATEDIFF_STRIDE = 4


class ExportFormat(StrEnum):
    PAIRS = "pairs"
    WEBVID = "webvid"
    WEBDATASET = "webdataset"


@dataclass(frozen=True)
class ExportSettings:
    """What to export and how; declared once with defaults, stored in the manifest."""

    format: ExportFormat = ExportFormat.PAIRS
    selection: str = "all"  # "all", "reviewed", or a clip filter query
    text_format: SidecarFormat = SidecarFormat.TAGS_CAPTION
    separator: str = ", "
    trigger: str = ""  # written first in every caption
    keep_first_tags: int = 0
    spaces_for_underscores: bool = False
    include_auto: bool = True  # auto tags nobody accepted yet
    size: int | None = None  # resize so the SHORT side is this many pixels
    crop: str | None = None  # centre crop to an aspect: "1:1", "16:9", "4:3" ...
    fps: Fraction | None = None  # resample to this rate (sample and hold by timestamps)
    val_fraction: float = 0.0  # share of source videos held out for validation
    seed: int = 0
    shard_size: int = 500  # samples per WebDataset tar
    crf: int = 16

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "format", ExportFormat(self.format))
        except ValueError:
            raise WorkstationError(
                f"export setting 'format': must be one of "
                f"{'|'.join(f.value for f in ExportFormat)}, not {self.format!r}"
            ) from None
        object.__setattr__(self, "text_format", SidecarFormat(self.text_format))
        if self.fps is not None:
            object.__setattr__(self, "fps", Fraction(self.fps))
            if not 0 < self.fps <= 240:
                raise WorkstationError(f"export setting 'fps': {self.fps} is not a usable rate")
        if self.size is not None and self.size < 16:
            raise WorkstationError(f"export setting 'size': {self.size} is too small (at least 16)")
        if self.crop is not None:
            _parse_aspect(self.crop)
        if not 0 <= self.val_fraction < 1:
            raise WorkstationError("export setting 'val_fraction': must be at least 0 and below 1")
        if self.shard_size < 1:
            raise WorkstationError("export setting 'shard_size': must be at least 1")

    @property
    def transforms(self) -> bool:
        return self.size is not None or self.crop is not None or self.fps is not None

    def text_settings(self) -> SidecarSettings:
        return SidecarSettings(
            format=self.text_format,
            separator=self.separator,
            trigger=self.trigger,
            keep_first_tags=self.keep_first_tags,
            spaces_for_underscores=self.spaces_for_underscores,
            include_auto=self.include_auto,
        )

    def to_params(self) -> dict[str, Any]:
        d = asdict(self)
        d["format"] = self.format.value
        d["text_format"] = self.text_format.value
        d["fps"] = None if self.fps is None else f"{self.fps.numerator}/{self.fps.denominator}"
        return d


def _parse_aspect(text: str) -> Fraction:
    m = re.fullmatch(r"\s*(\d+)\s*[:x/]\s*(\d+)\s*", text)
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        raise WorkstationError(f"export setting 'crop': {text!r} is not an aspect like 1:1 or 16:9")
    return Fraction(int(m.group(1)), int(m.group(2)))


@dataclass
class TrainerNote:
    trainer: str
    ok: bool
    message: str


@dataclass
class ExportedClip:
    key: str
    clip_id: int
    split: str  # train | val
    frames: int
    fps: str
    width: int
    height: int
    caption: str
    notes: list[TrainerNote] = field(default_factory=list)


@dataclass
class ExportResult:
    out: Path
    format: str
    clips: list[ExportedClip] = field(default_factory=list)
    reused: int = 0
    encoded: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)  # one sentence per clip left out
    errors: list[str] = field(default_factory=list)  # one sentence per clip that failed

    @property
    def train(self) -> int:
        return sum(c.split == "train" for c in self.clips)

    @property
    def val(self) -> int:
        return sum(c.split == "val" for c in self.clips)


# ---------------------------------------------------------------------------------------------
# Selection, keys and the split
# ---------------------------------------------------------------------------------------------
def select_clips(project: Project, selection: str) -> list[Clip]:
    """The clips a selection names: "all", "reviewed" or a filter query (raises on a bad one)."""
    clips = project.clips()
    sel = selection.strip()
    if sel in ("", "all"):
        return clips
    if sel == "reviewed":
        return [c for c in clips if c.reviewed]
    from workstation.core.review import QueryError, filter_clip_ids

    ids = filter_clip_ids(project, sel)
    if isinstance(ids, QueryError):
        raise WorkstationError(f"export filter: {ids}")
    wanted = set(ids)
    return [c for c in clips if c.id in wanted]


_KEY_BAD = re.compile(r"[^A-Za-z0-9_-]+")


def clip_keys(clips: list[Clip]) -> dict[int, str]:
    """A stable, file-system-safe key per clip (its file stem; clashes get the clip id)."""
    stems: dict[str, int] = {}
    for c in clips:
        stem = _KEY_BAD.sub("_", c.path.stem).strip("_") or "clip"
        stems[stem] = stems.get(stem, 0) + 1
    keys = {}
    for c in clips:
        stem = _KEY_BAD.sub("_", c.path.stem).strip("_") or "clip"
        keys[c.id] = stem if stems[stem] == 1 else f"{stem}_{c.id}"
    return keys


def split_by_video(
    project: Project, clips: list[Clip], fraction: float, seed: int
) -> dict[int, str]:
    """``{clip_id: "train"|"val"}``; all clips of one source video land on the same side.

    Groups are ranked by a seeded hash of the source's content id (the clip's own path when it
    has no source video), and the first ``fraction`` of them (at least one, when asked and when
    there are two groups or more) is held out: deterministic, and stable as clips are added.
    """
    groups: dict[str, list[int]] = {}
    content = {v.id: v.content_id for v in project.videos()}
    for c in clips:
        g = content.get(c.video_id, "") if c.video_id is not None else ""
        groups.setdefault(g or f"clip:{c.path}", []).append(c.id)
    side = {c.id: "train" for c in clips}
    if fraction <= 0 or len(groups) < 2:
        return side
    ranked = sorted(groups, key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest())
    n_val = min(len(groups) - 1, max(1, round(fraction * len(groups))))
    for g in ranked[:n_val]:
        for cid in groups[g]:
            side[cid] = "val"
    return side


# ---------------------------------------------------------------------------------------------
# What trainers do with a clip
# ---------------------------------------------------------------------------------------------
def trainer_notes(frames: int) -> list[TrainerNote]:
    """How AnimateDiff and 4N+1 trainers (Wan, HunyuanVideo) will read a clip of ``frames``."""
    notes = []
    span = (ANIMATEDIFF_FRAMES - 1) * ANIMATEDIFF_STRIDE + 1
    if frames >= span:
        notes.append(
            TrainerNote(
                "animatediff",
                True,
                f"{ANIMATEDIFF_FRAMES} frames at stride {ANIMATEDIFF_STRIDE} fit",
            )
        )
    elif frames >= ANIMATEDIFF_FRAMES:
        stride = (frames - 1) // (ANIMATEDIFF_FRAMES - 1)
        notes.append(
            TrainerNote(
                "animatediff",
                False,
                f"{frames} frames < {span}: the official loader repeats frames at stride "
                f"{ANIMATEDIFF_STRIDE}; stride {stride} would fit (the workstation trainer uses it)",
            )
        )
    else:
        notes.append(
            TrainerNote(
                "animatediff",
                False,
                f"{frames} frames < {ANIMATEDIFF_FRAMES}: too short for a {ANIMATEDIFF_FRAMES}-frame "
                "sample; the official loader repeats frames",
            )
        )
    usable = frames - (frames - 1) % 4 if frames >= 1 else 0
    if usable == frames:
        notes.append(TrainerNote("4n+1", True, f"{frames} = 4N+1 frames"))
    else:
        notes.append(
            TrainerNote("4n+1", False, f"{frames} frames is not 4N+1: trimmed to {usable}")
        )
    return notes


# ---------------------------------------------------------------------------------------------
# Writing files atomically
# ---------------------------------------------------------------------------------------------
def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_text(path: Path, text: str) -> None:
    _write_bytes(path, text.encode("utf-8"))


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(dst)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _transcode(src: Path, dst: Path, settings: ExportSettings) -> None:
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
            aspect = _parse_aspect(settings.crop)
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
                img = frames[src_index].to_ndarray(width=w, height=h, format="rgb24")
                img = np.ascontiguousarray(img[y0 : y0 + ch, x0 : x0 + cw])
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


# ---------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------
def _video_rel(fmt: ExportFormat, split: str, key: str) -> str:
    if fmt == ExportFormat.PAIRS:
        return f"{key}.mp4" if split == "train" else f"val/{key}.mp4"
    if fmt == ExportFormat.WEBVID:
        return f"videos/{key}.mp4"
    return f".videos/{key}.mp4"  # WebDataset: kept beside the shards for incremental runs


def _fingerprint(clip: Clip, settings: ExportSettings) -> str:
    st = clip.path.stat()
    transform = {k: settings.to_params()[k] for k in ("size", "crop", "fps", "crf")}
    raw = json.dumps([str(clip.path), st.st_size, st.st_mtime_ns, transform], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _load_manifest(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / MANIFEST).read_text())
        if data.get("version") == MANIFEST_VERSION:
            return data
    except (OSError, ValueError):
        pass
    return {"version": MANIFEST_VERSION, "items": {}}


def export_dataset(
    project: Project, out: str | Path, settings: ExportSettings = ExportSettings()
) -> Stage[ExportResult]:
    """Export the selected clips into ``out`` in the chosen layout (see the module docstring)."""
    out = Path(out).resolve()
    if out == project.root or out == project.clips_dir or project.clips_dir in out.parents:
        raise WorkstationError(f"{out}: choose an export folder outside the project's clip folder")
    out.mkdir(parents=True, exist_ok=True)
    result = ExportResult(out, settings.format.value)
    clips = select_clips(project, settings.selection)
    usable = []
    for c in clips:
        if c.verified is False:
            result.skipped.append(
                f"{c.path.name}: failed verification when sliced ({c.verify_error})"
            )
        elif not c.path.exists():
            result.skipped.append(f"{c.path.name}: file is missing ({c.path})")
        else:
            usable.append(c)
    keys = clip_keys(usable)
    sides = split_by_video(project, usable, settings.val_fraction, settings.seed)
    texts = sidecar_texts(project, [c.id for c in usable], settings.text_settings())
    manifest = _load_manifest(out)
    old_items: dict[str, Any] = manifest["items"]
    new_items: dict[str, Any] = {}
    total = len(usable)
    try:
        for i, clip in enumerate(sorted(usable, key=lambda c: keys[c.id])):
            key, split = keys[clip.id], sides[clip.id]
            yield Progress("export", i, total, f"{key}.mp4", "exporting")
            rel = _video_rel(settings.format, split, key)
            dst = out / rel
            fp = _fingerprint(clip, settings)
            prev = old_items.get(key)
            try:
                if (
                    prev
                    and prev.get("fingerprint") == fp
                    and prev.get("video") == rel
                    and dst.exists()
                ):
                    check = DecodedCheck(
                        prev["frames"], prev["width"], prev["height"], Fraction(prev["fps"])
                    )
                    result.reused += 1
                else:
                    if settings.transforms:
                        _transcode(clip.path, dst, settings)
                    else:
                        _copy(clip.path, dst)
                    check = decode_back(dst)
                    result.encoded += 1
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise WorkstationError(f"{dst}: disk full while exporting") from None
                result.errors.append(
                    f"{clip.path.name}: cannot be exported ({exc.strerror or exc})"
                )
                continue
            except WorkstationError as exc:
                result.errors.append(str(exc))
                with contextlib.suppress(FileNotFoundError):
                    dst.unlink()
                continue
            caption = texts[clip.id][1]
            new_items[key] = {
                "clip_id": clip.id,
                "source": str(clip.path),
                "fingerprint": fp,
                "video": rel,
                "split": split,
                "frames": check.frames,
                "width": check.width,
                "height": check.height,
                "fps": f"{check.fps.numerator}/{check.fps.denominator}",
                "video_id": clip.video_id,
                "start_frame": clip.start_frame,
                "end_frame": clip.end_frame,
            }
            result.clips.append(
                ExportedClip(
                    key,
                    clip.id,
                    split,
                    check.frames,
                    new_items[key]["fps"],
                    check.width,
                    check.height,
                    caption,
                    trainer_notes(check.frames),
                )
            )
        yield Progress("export", total, total, "", "writing index files")
        result.removed = _remove_stale(out, old_items, new_items)
        _write_layout(out, settings, result)
    finally:
        # The manifest records exactly the videos complete on disk: after a cancel or a crash
        # the earlier run's items stay listed (nothing was removed yet) and the next run
        # reuses them.
        items = new_items
        if not _completed(result, total):
            items = {k: v for k, v in old_items.items() if (out / v["video"]).exists()}
            items.update(new_items)
        _write_text(
            out / MANIFEST,
            json.dumps(
                {"version": MANIFEST_VERSION, "settings": settings.to_params(), "items": items},
                indent=1,
                sort_keys=True,
            ),
        )
    yield Progress("export", total, total, "", "done")
    return result


def _completed(result: ExportResult, total: int) -> bool:
    return len(result.clips) + len(result.errors) >= total


def _remove_stale(out: Path, old: dict[str, Any], new: dict[str, Any]) -> int:
    removed = 0
    live = {v["video"] for v in new.values()}
    for item in old.values():
        rel = item["video"]
        if rel in live:
            continue
        for p in (out / rel, (out / rel).with_suffix(".txt")):
            if p.exists():
                p.unlink()
                removed += p.suffix == ".mp4"
    return removed


def _write_layout(out: Path, settings: ExportSettings, result: ExportResult) -> None:
    by_split: dict[str, list[ExportedClip]] = {"train": [], "val": []}
    for c in sorted(result.clips, key=lambda c: c.key):
        by_split[c.split].append(c)
    fmt = settings.format
    for split, items in by_split.items():
        if fmt == ExportFormat.PAIRS:
            base = out if split == "train" else out / "val"
            lines = []
            for c in items:
                _write_text(base / f"{c.key}.txt", c.caption)
                lines.append(
                    json.dumps(
                        {"video_path": f"{c.key}.mp4", "caption": c.caption}, ensure_ascii=False
                    )
                )
            if items or (base / "metadata.jsonl").exists():
                _write_text(base / "metadata.jsonl", "".join(line + "\n" for line in lines))
        elif fmt == ExportFormat.WEBVID:
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(["videoid", "contentUrl", "duration", "page_dir", "name"])
            for c in items:
                seconds = c.frames / float(Fraction(c.fps)) if Fraction(c.fps) else 0
                writer.writerow(
                    [c.key, f"videos/{c.key}.mp4", _iso_duration(seconds), "workstation", c.caption]
                )
            if items or (out / f"{split}.csv").exists():
                _write_text(out / f"{split}.csv", buf.getvalue())
        else:
            _write_shards(out, split, items, settings.shard_size)
    report = {
        "format": fmt.value,
        "train": result.train,
        "val": result.val,
        "skipped": result.skipped,
        "errors": result.errors,
        "clips": [
            {
                "key": c.key,
                "split": c.split,
                "frames": c.frames,
                "fps": c.fps,
                "size": [c.width, c.height],
                "trainers": {n.trainer: {"ok": n.ok, "message": n.message} for n in c.notes},
            }
            for c in sorted(result.clips, key=lambda c: c.key)
        ],
    }
    _write_text(out / REPORT, json.dumps(report, indent=1))


def _iso_duration(seconds: float) -> str:
    """WebVid's duration format, e.g. ``PT00H00M07S``."""
    s = max(0, round(seconds))
    return f"PT{s // 3600:02d}H{s % 3600 // 60:02d}M{s % 60:02d}S"


def _write_shards(out: Path, split: str, items: list[ExportedClip], shard_size: int) -> None:
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
                video = (out / _video_rel(ExportFormat.WEBDATASET, c.split, c.key)).read_bytes()
                for ext, data in (
                    ("mp4", video),
                    ("txt", c.caption.encode("utf-8")),
                    ("json", json.dumps(meta, sort_keys=True).encode()),
                ):
                    info = tarfile.TarInfo(f"{key}.{ext}")
                    info.size, info.mtime, info.mode = len(data), 0, 0o644
                    tar.addfile(info, io.BytesIO(data))
        _write_bytes(folder / name, buf.getvalue())
    for old in folder.glob("*.tar"):
        if old.name not in wanted:
            old.unlink()
