"""The Cut view's long work as job stages: detect, import, export and slice one video's cuts,
re-link a video to a moved file, plus the file dialogs that start an import or export and the
one-line summaries of results.

Each stage runs in a job worker with the worker's own Project (see
:meth:`~workstation.ui.common.jobs.JobsController.run_on_project`); the view only applies results on the
main thread.  :func:`detection_stage` is shared with the main window's batch detection.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from workstation.core.progress import Progress, Stage
from workstation.core.store import Project, Video

if TYPE_CHECKING:  # the modules themselves load in the job, not with the window
    from workstation.core.cutfiles import CutFormat, ImportedCuts
    from workstation.core.slicing import SliceResult, SliceSettings

EXPORT_FILTERS = {
    "sidecar": "Cut list sidecar (*.cuts.txt)",
    "csv": "PySceneDetect CSV (*.csv)",
    "ffmetadata": "FFmpeg chapters (*.ffmetadata.txt *.txt)",
    "edl": "CMX3600 EDL (*.edl)",
}


def project_detect_choice(project: Project | None) -> tuple[str, dict[str, Any]] | None:
    """The project's saved (detector name, ensemble settings), or None when it has none."""
    from workstation.core.store import DETECT

    if project is None:
        return None
    saved = project.get(DETECT)
    name, values = saved.get("detector"), saved.get("settings")
    if not isinstance(name, str) or not isinstance(values, dict):
        return None
    return name, values


def detection_stage(project: Project, video_id: int, *, restart: bool = False) -> Stage[Any]:
    """Cut detection in a child process at lower priority, so the window stays responsive
    (see workstation.core.isolate); the Cut view and the main window both use it.

    It runs the detector chosen in the Detect dialog: the project's choice (the ``DETECT``
    project setting), else the app settings', read here as plain values and turned into a
    detector in the child, so the window imports none."""
    from workstation.core import settings as app_settings
    from workstation.core.isolate import in_child_process, project_stage

    saved = project_detect_choice(project)
    if saved is None:
        app = app_settings.load()
        saved = app.detector, app.detect_settings
    name, values = saved
    return in_child_process(
        project_stage,
        str(project.root),
        "workstation.core.detect.registry",
        "detect_video_as_saved",
        video_id,
        name,
        values,
        restart=restart,
    )


def confirm_import(parent: QWidget, project: Project, video_id: int, path: Path) -> bool:
    """Ask before an import that would remove cuts or reject marks; True to go on.

    Reads the file on the main thread (a cut list reads in milliseconds) to count what would go.
    A file that cannot be read is not asked about: the import job reports its error the usual
    way.  An import that removes nothing (a merge) is not asked about either.
    """
    from workstation.core.cutfiles import plan_import
    from workstation.core.errors import WorkstationError

    try:
        plan = plan_import(project, video_id, path)
    except WorkstationError:
        return True
    if not plan.removes_anything:
        return True
    Button = QMessageBox.StandardButton
    answer = QMessageBox.question(
        parent,
        "Replace cuts?",
        f"Importing {path.name} would {plan.describe()}.\n\n"
        f"Replace the cuts of {plan.video_name} with the file's {len(plan.cuts.cuts)}?",
        Button.Yes | Button.No,
        Button.No,
    )
    return answer == Button.Yes


def import_stage(
    project: Project, video_id: int, path: Path, *, replace: bool = False
) -> Stage[ImportedCuts]:
    """Replace the video's cuts with a cut file's (returns the import result).

    Without ``replace`` an import that would remove cuts fails (CutsWouldBeRemoved); the view
    asks first (:func:`confirm_import`) and passes ``replace=True`` once the person said yes."""
    from workstation.core.cutfiles import import_cuts

    yield Progress("import", 0, 1, path.name, "reading")
    result = import_cuts(project, video_id, path, replace=replace)
    yield Progress("import", 1, 1, path.name, "done")
    return result


def export_stage(project: Project, video_id: int, fmt: str, path: Path) -> Stage[str | Path]:
    """Write the video's cuts as ``fmt`` to ``path`` (returns the path written)."""
    from workstation.core.cutfiles import export_cuts

    yield Progress("export", 0, 1, path.name, "writing")
    out = export_cuts(project, video_id, cast("CutFormat", fmt), path)
    yield Progress("export", 1, 1, path.name, "done")
    return out


def slice_stage(
    project: Project, video_id: int, settings: SliceSettings | None = None
) -> Stage[SliceResult]:
    """Write every kept segment of the video as a frame-exact clip (default settings: the
    core's own, as ``workstation split`` without ``--set``)."""
    from workstation.core.slicing import SliceSettings, split_video

    return split_video(project, video_id, settings or SliceSettings())


def merge_slice_results(results: list[Any]) -> SliceResult:
    """One SliceResult of a batch's per-video results (for its summary line)."""
    from workstation.core.slicing import SliceResult

    total = SliceResult()
    for r in results:
        total.clips += getattr(r, "clips", [])
        total.skipped += getattr(r, "skipped", [])
        total.errors += getattr(r, "errors", [])
    return total


def relink_stage(project: Project, video_id: int, path: Path) -> Stage[Video]:
    """Probe ``path`` and point the video at it when it has the same frames (frame count and
    rate; :meth:`Project.relink_video` names the difference otherwise)."""
    from workstation.core.media import probe

    info = yield from probe(path)
    return project.relink_video(video_id, info)


def delete_clip_files(paths: list[Path]) -> list[str]:
    """Delete clip files and their ``.txt`` sidecars; a sentence per file that could not go
    (a missing file is not a problem: it is gone either way)."""
    from workstation.core.cliptext import sidecar_path

    problems = []
    for clip in paths:
        for path in (clip, sidecar_path(clip)):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                problems.append(f"{path}: cannot delete ({exc.strerror or exc})")
    return problems


def ask_import_path(parent: QWidget, start: Path) -> str | None:
    path, _ = QFileDialog.getOpenFileName(
        parent,
        "Import cuts",
        str(start),
        "Cut files (*.cuts.txt *.txt *.csv *.edl);;All files (*)",
    )
    return path or None


def ask_export_path(parent: QWidget, video: Video) -> tuple[str, str] | None:
    """(path, format) chosen in the save dialog, or None when cancelled."""
    filters = ";;".join(EXPORT_FILTERS.values())
    path, chosen = QFileDialog.getSaveFileName(
        parent,
        "Export cuts",
        str(video.path.with_name(video.name + ".scenes.csv")),
        filters,
        EXPORT_FILTERS["csv"],
    )
    if not path:
        return None
    return path, next((k for k, v in EXPORT_FILTERS.items() if v == chosen), "csv")


def format_from_name(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".cuts.txt"):
        return "sidecar"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".edl"):
        return "edl"
    return "ffmetadata" if "ffmetadata" in name else "sidecar"


def slice_summary(result: Any) -> str:
    """One line about a SliceResult: what was written, reused, skipped, failed."""
    parts = []
    for label, items in (
        ("written", getattr(result, "written", [])),
        ("reused", getattr(result, "reused", [])),
    ):
        if items:
            parts.append(f"{len(items)} clip{'s' if len(items) != 1 else ''} {label}")
    skipped = getattr(result, "skipped", [])
    if skipped:
        parts.append(f"{len(skipped)} segment(s) too short, skipped")
    errors = getattr(result, "errors", [])
    if errors:
        parts.append(f"{len(errors)} failed: {errors[0]}")
    return ", ".join(parts) or "no kept segments to slice"
