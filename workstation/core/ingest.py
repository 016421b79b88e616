"""Adding videos to a project: probe each file, record it, report bad files and go on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workstation.core.errors import MediaError
from workstation.core.media import content_id, find_videos, probe
from workstation.core.progress import Progress, Stage
from workstation.core.store import Project


@dataclass
class IngestResult:
    added: list[int] = field(default_factory=list)  # video ids (new or refreshed)
    relinked: list[int] = field(default_factory=list)  # known content found at a new path
    errors: list[MediaError] = field(default_factory=list)


def add_paths(project: Project, paths: list[str | Path]) -> Stage[IngestResult]:
    """Probe and add files and folders; a bad file becomes one error and the rest go on.

    A file whose content the project already knows under a path that no longer exists is
    re-linked to the new path (moved footage keeps its cuts and clips).
    """
    result = IngestResult()
    files, result.errors = find_videos(list(paths))
    for i, path in enumerate(files):
        yield Progress("add", i, len(files), path.name, "probing")
        try:
            moved = _moved_video(project, path)
            if moved is not None:
                project.relink(moved, path)
                result.relinked.append(moved)
            info = yield from probe(path)
        except MediaError as exc:
            result.errors.append(exc)
            continue
        except OSError as exc:
            result.errors.append(MediaError(path, f"cannot be read: {exc.strerror or exc}"))
            continue
        result.added.append(project.add_video(info))
    yield Progress("add", len(files), len(files), "", "done")
    return result


def _moved_video(project: Project, path: Path) -> int | None:
    resolved = str(path.resolve())
    if any(str(v.path) == resolved for v in project.videos()):
        return None
    try:
        cid = content_id(path)
    except OSError:
        return None
    for video in project.videos_by_content(cid):
        if not video.path.exists():
            return video.id
    return None
