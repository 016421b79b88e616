"""Cut lists as files: the hand-editable sidecar, PySceneDetect's CSV, FFMETADATA and EDL.

The sidecar ``<video file name>.cuts.txt`` sits beside the video like chapter marks, so cut
decisions survive without the project database and can be fixed in any text editor.  Every
reader validates the whole file first and raises :class:`CutFileError` naming the line; nothing
is applied unless every line is good.

Frame numbers are authoritative everywhere (0-based, a cut is the first frame of a new shot);
timecodes are derived from the video's exact frame timestamps when the project has them, so
they are right for 24000/1001 and variable-frame-rate files too.

Each format lives in its own module (``sidecar``, ``scenecsv``, ``ffmetadata``, ``edl``;
``timing`` and ``imported`` are shared); this module moves cut lists between the project and
files: it sniffs and reads any format, imports all or nothing, exports, and writes the sidecar
atomically (falling back to the project folder when the video's folder is read-only).

An import never removes data silently: a file with no cuts is an error, and an import that
would remove cuts or reject marks is refused unless asked (``replace=True``, the CLI's
``--replace``, the GUI's question).  One that only adds (a merge) goes ahead.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Literal

from workstation.core import atomic
from workstation.core.cutfiles.edl import _EDL_EVENT, parse_edl, render_edl
from workstation.core.cutfiles.edl import _edl_tc as _edl_tc
from workstation.core.cutfiles.ffmetadata import parse_ffmetadata, render_ffmetadata
from workstation.core.cutfiles.imported import CutsWouldBeRemoved, ImportedCuts, ImportPlan
from workstation.core.cutfiles.scenecsv import parse_csv, render_csv
from workstation.core.cutfiles.sidecar import (
    SIDECAR_HEADER,
    SIDECAR_SUFFIX,
    SIDECAR_VERSION,
    fallback_sidecar_path,
    find_sidecar,
    parse_sidecar,
    render_sidecar,
    sidecar_path,
)
from workstation.core.cutfiles.timing import format_timecode, parse_timecode
from workstation.core.errors import CutFileError, WorkstationError
from workstation.core.media import FrameIndex
from workstation.core.owned import CannotWrite, sha256, write_owned_file
from workstation.core.store import Project, Video, Written

__all__ = [
    "FORMATS",
    "SIDECAR_SUFFIX",
    "SIDECAR_VERSION",
    "CutFormat",
    "CutsWouldBeRemoved",
    "ImportPlan",
    "ImportedCuts",
    "export_cuts",
    "fallback_sidecar_path",
    "find_sidecar",
    "format_timecode",
    "import_cuts",
    "parse_csv",
    "parse_edl",
    "parse_ffmetadata",
    "parse_sidecar",
    "parse_timecode",
    "plan_import",
    "read_cut_file",
    "render_csv",
    "render_edl",
    "render_ffmetadata",
    "render_sidecar",
    "sidecar_path",
    "sniff_format",
    "write_sidecar",
]

log = logging.getLogger(__name__)


CutFormat = Literal["sidecar", "csv", "ffmetadata", "edl"]
FORMATS: tuple[str, ...] = ("sidecar", "csv", "ffmetadata", "edl")
_EXTENSIONS = {
    "sidecar": SIDECAR_SUFFIX,
    "csv": ".scenes.csv",
    "ffmetadata": ".ffmetadata.txt",
    "edl": ".edl",
}


MAX_CUT_FILE_BYTES = 256 * 2**20  # a million cuts is ~60 MB of sidecar


def _write(path: Path, text: str) -> None:
    """Atomically, keeping an existing file's mode; OS errors in words (WorkstationError)."""
    try:
        atomic.write_text(path, text)
    except OSError as exc:
        raise atomic.write_error(path, exc) from None


def write_sidecar(project: Project, video_id: int) -> Path:
    """Write the sidecar from the project's cuts and flags; returns where it went.

    Beside the video when its folder is writable, otherwise in ``<project>/sidecars/`` (the
    returned path tells the caller which, so the GUI can say so).  Temp files a killed writer
    left in that folder are removed first.  Raises WorkstationError ("PATH: cannot write: the
    disk is full") when neither place can take it.
    """
    video = project.video(video_id)
    text = render_sidecar(
        video, project.cuts(video_id), _rejected(project, video_id), project.frame_index(video_id)
    )
    target = sidecar_path(video.path)
    atomic.sweep_temps(target.parent)
    try:
        write_owned_file(
            project, target, text, legacy=_is_a_sidecar, kept_hint=_KEPT_HINT.format(video.name)
        )
        return target
    except CannotWrite as exc:
        if not _is_unwritable(exc.os_error):
            raise
    fallback = fallback_sidecar_path(project, video)
    try:
        fallback.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise atomic.write_error(fallback.parent, exc) from None
    atomic.sweep_temps(fallback.parent)
    _write(fallback, text)
    log.warning("%s is not writable; the cut list was saved as %s", target.parent, fallback)
    return fallback


_KEPT_HINT = (
    "import it to take its cuts into {}, or delete it to let the workstation write it again"
)


def _is_a_sidecar(path: Path, data: bytes) -> bool:
    """A file written before the workstation recorded its writes: ours if it has our header."""
    return data.startswith(SIDECAR_HEADER.encode("utf-8"))


def _is_unwritable(exc: OSError) -> bool:
    return isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)


def _rejected(project: Project, video_id: int) -> set[int]:
    return {s.start for s in project.segments(video_id) if not s.keep}


def sniff_format(text: str) -> str:
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if first.startswith(";FFMETADATA"):
        return "ffmetadata"
    if first.startswith(("TITLE:", "FCM:")) or _EDL_EVENT.fullmatch(first):
        return "edl"
    head = first.lower()
    if any(ln.lower().startswith("scene number,") for ln in text.splitlines()[:3]):
        return "csv"
    if head.startswith(("timecode list", "scene number")) or (
        "," in first
        and not first.startswith("#")
        and parse_timecode(first.split(",")[0]) is not None
    ):
        return "csv"
    return "sidecar"


def read_cut_file(
    path: str | Path, video: Video, *, index: FrameIndex | None = None
) -> ImportedCuts:
    """Read and fully validate any supported cut file (the format is sniffed from its text).

    Pass the project's frame index for exact times on VFR videos.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CUT_FILE_BYTES:
            raise CutFileError(path, None, "is too large to be a cut list (over 256 MB)")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CutFileError(path, None, "file not found") from None
    except UnicodeDecodeError:
        raise CutFileError(path, None, "not a text file (expected UTF-8)") from None
    except OSError as exc:
        raise CutFileError(path, None, f"cannot be read: {atomic.os_problem(exc)}") from None
    fmt = sniff_format(text)
    if fmt == "ffmetadata":
        return parse_ffmetadata(text, path, video, index)
    if fmt == "edl":
        return parse_edl(text, path, video)
    if fmt == "csv":
        return parse_csv(text, path, video)
    return parse_sidecar(text, path, video, index)


def plan_import(project: Project, video_id: int, path: str | Path) -> ImportPlan:
    """Read and validate a cut file and work out what importing it would remove; changes nothing.

    A file that holds no cuts (empty, only comments or a header, one scene for the whole
    video) is a CutFileError: it is far more often a mistake than a wish to erase every cut.
    """
    video = project.video(video_id)
    imported = read_cut_file(path, video, index=project.frame_index(video_id))
    if not imported.cuts:
        raise CutFileError(
            path, None, f"holds no cuts; nothing was imported and {video.name} is unchanged"
        )
    listed = set(imported.frames)
    current = project.cuts(video_id)
    removed = [c for c in current if c.frame not in listed]
    return ImportPlan(
        path=Path(path),
        video_name=video.name,
        cuts=imported,
        current=len(current),
        removed=len(removed),
        removed_manual=sum(c.source == "manual" for c in removed),
        unrejected=len(_rejected(project, video_id) - set(imported.rejected_starts)),
    )


def import_cuts(
    project: Project, video_id: int, path: str | Path, *, replace: bool = False
) -> ImportedCuts:
    """Replace every cut and segment flag of a video with a file's, all or nothing.

    The file is validated completely before anything changes (see :func:`plan_import`); an
    import that would remove cuts or reject marks raises :class:`CutsWouldBeRemoved` unless
    ``replace``; one that only adds goes ahead.  The change is one transaction; the sidecar is
    rewritten afterwards so it matches the project.
    """
    plan = plan_import(project, video_id, path)
    if plan.removes_anything and not replace:
        raise CutsWouldBeRemoved(plan)
    imported = plan.cuts
    with project.transaction():
        project.replace_all_cuts(video_id, imported.cuts)
        project.clear_segment_flags(video_id)
        for start in imported.rejected_starts:
            project.set_segment_keep(video_id, start, False)
    source = Path(path)
    if source.resolve() == sidecar_path(project.video(video_id).path).resolve():
        # The person's edited sidecar is now the project's cuts: the workstation may rewrite it.
        data = source.read_bytes()
        project.record_written([(source, Written(len(data), sha256(data), None))])
    try:
        write_sidecar(project, video_id)
    except WorkstationError as exc:  # the import itself succeeded; the next edit rewrites it
        log.warning("cuts imported, but the sidecar could not be written: %s", exc)
    return imported


def export_cuts(
    project: Project, video_id: int, fmt: CutFormat = "sidecar", out: str | Path | None = None
) -> str | Path:
    """Render a video's cuts in ``fmt``; with ``out`` write it there (atomically) and return the path.

    ``out`` may be a folder: the file is then named after the video.  Temp files a killed
    export left beside the target are removed first (only the workstation's own naming).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown cut file format {fmt!r} (choose from {', '.join(FORMATS)})")
    video = project.video(video_id)
    cuts = project.cuts(video_id)
    rejected = _rejected(project, video_id)
    index = project.frame_index(video_id)
    if fmt == "sidecar":
        text = render_sidecar(video, cuts, rejected, index)
    elif fmt == "csv":
        text = render_csv(video, cuts)
    elif fmt == "ffmetadata":
        text = render_ffmetadata(video, cuts, rejected, index)
    else:
        text = render_edl(video, cuts, rejected)
    if out is None:
        return text
    target = Path(out)
    if target.is_dir():
        target = target / (video.name + _EXTENSIONS[fmt])
    atomic.sweep_temps(target.parent)  # what a killed export of ours left there, nothing else
    _write(target, text)
    return target
