"""Import an existing clip dataset: a folder of video clips with same-name ``.txt`` files.

This is how people keep datasets for other trainers (kohya, diffusion-pipe, musubi): ``a.mp4``
plus ``a.txt``.  Each clip becomes a clip row of the project (no source video); the ``.txt``
becomes its tags or its caption, both as *manual* entries (a person wrote them, so no auto
tagger may overwrite them).

Probing is cheap on purpose: open the container and read the stream header (no decoding),
~1 ms per file, run on a few threads since PyAV opens files without holding the GIL.  Only when
the container does not store a frame count (MKV, WebM) are the packets counted (still no
decoding).  Rows are written in one transaction per few hundred clips.

**The .txt rule** (:func:`read_clip_text`): the text is a *tag list* when it has at least two
comma-separated items, each short (at most 4 words and 60 characters), none ending a sentence
(``.``, ``!``, ``?``) and the text has one line; anything else is kept verbatim as the caption.
A short comma list that was meant as a caption ("a dog, running") therefore becomes two tags;
end it with a full stop to keep it a caption.  A leading trigger word equal to the project's
sidecar trigger is dropped (the sidecar writer puts it back), so export → import round-trips.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from workstation.core import cliptext, owned
from workstation.core.errors import MediaError, WorkstationError
from workstation.core.media import VIDEO_EXTENSIONS
from workstation.core.media_check import why_unreadable
from workstation.core.progress import Progress, Stage
from workstation.core.review.names import clean_tag
from workstation.core.store import Project, Written

BATCH = 300  # clips per transaction
_TAG_MAX_WORDS = 4
_TAG_MAX_CHARS = 60
_SENTENCE_END = re.compile(r"[.!?]$")


@dataclass
class ImportResult:
    added: list[int] = field(default_factory=list)  # new clip ids
    updated: list[int] = field(default_factory=list)  # already in the project: info refreshed
    captions: int = 0  # .txt files read as captions
    tag_lists: int = 0  # .txt files read as tag lists
    errors: list[WorkstationError] = field(default_factory=list)  # one per bad file


@dataclass(frozen=True)
class ClipProbe:
    """What a cheap look at one clip file found."""

    path: Path
    fps: Fraction
    frame_count: int
    width: int
    height: int
    codec: str
    text: str | None  # the .txt beside it, None when there is none
    text_error: WorkstationError | None = None


def read_clip_text(text: str, trigger: str = "") -> tuple[list[str], str]:
    """``(tags, caption)`` from a dataset ``.txt`` by the rule in the module docstring."""
    text = text.strip()
    if trigger:
        for sep in (",", " "):
            if text.startswith(trigger + sep):
                text = text[len(trigger) + 1 :].strip()
                break
        else:
            if text == trigger:
                return [], ""
    if not text:
        return [], ""
    items = [i.strip() for i in text.split(",")]
    items = [i for i in items if i]
    if "\n" not in text and len(items) >= 2 and all(_tag_like(i) for i in items):
        return list(dict.fromkeys(re.sub(r"\s+", " ", i) for i in items)), ""
    return [], text


def _tag_like(item: str) -> bool:
    return (
        len(item) <= _TAG_MAX_CHARS
        and len(item.split()) <= _TAG_MAX_WORDS
        and not _SENTENCE_END.search(item)
    )


def probe_clip(path: Path, *, count_frames: bool = True) -> ClipProbe:
    """Stream header of a clip (no decoding) and its ``.txt``; MediaError names the file."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise MediaError(path, f"cannot be read: {exc.strerror or exc}") from None
    if size == 0:
        raise MediaError(path, "file is empty (0 bytes)")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise MediaError(path, why_unreadable(path)) from None
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(
            path, f"cannot be opened: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        streams = [
            s
            for s in container.streams.video
            if not s.disposition & av.stream.Disposition.attached_pic
        ]
        if not streams:
            raise MediaError(path, "has no video stream")
        stream = streams[0]
        ctx = stream.codec_context
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not fps or not ctx.width or not ctx.height:
            raise MediaError(path, "video stream has no frame rate or size in its header")
        frames = int(stream.frames or 0)
        if not frames and count_frames:
            try:
                frames = sum(1 for p in container.demux(stream) if p.size)
            except av.error.FFmpegError as exc:
                raise MediaError(path, f"cannot be read: {exc}") from None
        if not frames:
            seconds = (
                float(stream.duration * stream.time_base)
                if stream.duration and stream.time_base
                else (container.duration or 0) / 1e6
            )
            frames = round(seconds * fps)
        if frames <= 0:
            raise MediaError(path, "has a video stream with no frames")
        codec = ctx.name
        width, height = ctx.width, ctx.height
    finally:
        container.close()
    text, text_error = _read_text(cliptext.sidecar_path(path))
    return ClipProbe(path, Fraction(fps), frames, width, height, codec, text, text_error)


def _read_text(path: Path) -> tuple[str | None, WorkstationError | None]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, WorkstationError(f"{path}: cannot be read: {exc.strerror or exc}")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        # Not skipped: the first edit of the clip would overwrite the person's text with an
        # empty sidecar.  Windows-1252 is what such files almost always are; Latin-1 never fails.
        try:
            text, codec = data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            text, codec = data.decode("latin-1"), "Latin-1"
        return text, WorkstationError(
            f"{path}: not UTF-8 text (bad byte at offset {exc.start}); read as {codec}, "
            "check its accents (it is saved as UTF-8 after the next edit)"
        )


def find_clips(folder: Path) -> list[Path]:
    """Video files under ``folder`` (recursively, hidden folders skipped), in path order."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(
            os.path.join(root, f)
            for f in files
            if os.path.splitext(f)[1].lower() in VIDEO_EXTENSIONS and not f.startswith(".")
        )
    return [Path(f) for f in sorted(found)]


def import_clip_folder(
    project: Project, folder: str | Path, *, workers: int = 2, count_frames: bool = True
) -> Stage[ImportResult]:
    """Add every clip under ``folder`` with its ``.txt`` as tags or caption.

    A bad clip is one error naming the file; the rest go on.  A clip already in the project has
    its stream info refreshed but keeps its tags and caption (the database is the truth once
    imported; its sidecars mirror it).  Cancelling keeps the clips probed so far.
    """
    folder = Path(folder)
    result = ImportResult()
    if not folder.is_dir():
        raise WorkstationError(f"{folder}: not a folder")
    folder = folder.resolve()  # once, so the clip paths below need no resolving
    yield Progress("import-clips", 0, None, folder.name, "looking for clips")
    paths = find_clips(folder)
    total = len(paths)
    trigger = cliptext.load_settings(project).trigger.strip()
    pending: list[ClipProbe] = []
    writer = _Writer(project, trigger, result)
    pool = ThreadPoolExecutor(max(1, workers)) if workers > 1 else None
    window: deque[Future[ClipProbe]] = deque()
    try:
        items = iter(paths)
        for i in range(total):
            if pool is not None:
                while len(window) < 8 * workers:
                    nxt = next(items, None)
                    if nxt is None:
                        break
                    window.append(pool.submit(probe_clip, nxt, count_frames=count_frames))
            path = paths[i]
            try:
                probe = (
                    window.popleft().result()
                    if pool
                    else probe_clip(path, count_frames=count_frames)
                )
            except MediaError as exc:
                result.errors.append(exc)
            else:
                if probe.text_error is not None:
                    result.errors.append(probe.text_error)
                pending.append(probe)
                if len(pending) >= BATCH:
                    writer.write(pending)
                    pending = []
            yield Progress("import-clips", i + 1, total, path.name)
        writer.write(pending)
        pending = []
    except GeneratorExit:
        writer.write(pending)  # cancelled: keep what was probed
        raise
    finally:
        if pool is not None:
            for fut in window:
                fut.cancel()
            pool.shutdown(wait=True)
    return result


class _Writer:
    """Writes probed clips in one transaction per batch, with their tags and caption."""

    def __init__(self, project: Project, trigger: str, result: ImportResult) -> None:
        self.project = project
        self.trigger = trigger
        self.result = result
        self.tag_ids = project.tag_ids()
        self.prefix = str(project.root) + os.sep

    def _stored(self, path: Path) -> str:
        """Relative to the project when inside it, like ``Project.upsert_clip`` stores it."""
        text = str(path)
        return text[len(self.prefix) :] if text.startswith(self.prefix) else text

    def _tag(self, name: str) -> int:
        tid = self.tag_ids.get(name)
        if tid is None:
            tid = self.tag_ids[name] = self.project.new_tag(name)
        return tid

    def write(self, probes: list[ClipProbe]) -> None:
        if not probes:
            return
        project = self.project
        now = time.time()
        settings = json.dumps({"imported": True})
        with self.project.transaction():
            for p in probes:
                stored = self._stored(p.path)
                info = (
                    p.fps.numerator,
                    p.fps.denominator,
                    p.frame_count,
                    p.width,
                    p.height,
                    float(p.frame_count / p.fps),
                )
                known = project.clip_id_at(stored)
                if known is not None:
                    project.refresh_clip_stream(known, info)
                    self.result.updated.append(known)
                    continue
                clip_id = project.add_imported_clip(stored, info, settings, now)
                self.result.added.append(clip_id)
                if p.text is None:
                    continue
                self._adopt(cliptext.sidecar_path(p.path))
                tags, caption = read_clip_text(p.text, self.trigger)
                if tags:
                    self.result.tag_lists += 1
                    project.add_manual_tags(clip_id, [self._tag(n) for n in _clean(tags)])
                elif caption:
                    self.result.captions += 1
                    project.add_manual_caption(clip_id, caption, now)

    def _adopt(self, txt: Path) -> None:
        """The person's ``.txt`` is now the clip's tags or caption: later edits in the app may
        rewrite it (:mod:`workstation.core.owned`)."""
        try:
            data = txt.read_bytes()
        except OSError:
            return
        self.project.record_written([(txt, Written(len(data), owned.sha256(data), None))])


def _clean(tags: list[str]) -> list[str]:
    out = []
    for t in tags:
        try:
            out.append(clean_tag(t))
        except WorkstationError:
            continue
    return list(dict.fromkeys(out))
