"""A summary of a project: what each video has been through (used by the CLI and the GUI)."""

from __future__ import annotations

from typing import Any

from workstation.core.store import Project


def video_states(project: Project, video_id: int) -> list[str]:
    """The stages a video has passed, in pipeline order: detected, reviewed, sliced."""
    states = []
    if project.latest_detection(video_id) is not None:
        states.append("detected")
    if project.video(video_id).cuts_reviewed:
        states.append("reviewed")
    if project.has_clips(video_id):
        states.append("sliced")
    return states


def project_status(project: Project) -> dict[str, Any]:
    videos = []
    for v in project.videos():
        segments = project.segments(v.id)
        videos.append(
            {
                "id": v.id,
                "name": v.name,
                "path": str(v.path),
                "missing": not v.path.exists(),
                "frames": v.frame_count,
                "fps": f"{v.fps.numerator}/{v.fps.denominator}",
                "duration": round(v.duration, 3),
                "size": [v.width, v.height],
                "vfr": v.vfr,
                "cuts": len(project.cuts(v.id)),
                "manual_cuts": sum(c.source == "manual" for c in project.cuts(v.id)),
                "segments": len(segments),
                "kept_segments": sum(s.keep for s in segments),
                "clips": len(project.clips(v.id)),
                "state": video_states(project, v.id),
            }
        )
    total, verified, failed = project.clip_counts()
    return {
        "root": str(project.root),
        "videos": videos,
        "clips": {"total": total, "verified": verified, "failed": failed},
    }
