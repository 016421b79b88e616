"""The scene detectors a person can pick, behind one small protocol and a registry keyed by an Enum.

TransNetV2 (:mod:`.learned`: its network through onnxruntime) is the default: trained on real
footage, it is the one that holds on footage nothing here was tuned on (issue 13); its project
runs resume, as the hand-tuned ensemble's (:func:`.stage.detect_stage`) do.  The ensemble and
PySceneDetect's own ``ContentDetector`` and ``AdaptiveDetector`` (:mod:`.pyscenedetect`, with
their defaults, through its PyAV backend) stay selectable for comparison.  Every detector
returns a :class:`DetectionResult` whose cuts name it in their ``detector`` field (and their
parameters in ``params``), so the project records where each cut came from.  Nothing here
imports torch or PySceneDetect until a detector runs.  The person's choice is kept in the app
settings (:func:`save_choice`, :func:`usable_choice`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from workstation.core.detect import transitions
from workstation.core.detect.project_runs import detect_video, learned_run, save_score
from workstation.core.detect.pyscenedetect import PySceneDetectDetector
from workstation.core.detect.stage import DetectionResult, DetectSettings, detect_stage
from workstation.core.errors import WorkstationError
from workstation.core.media import VideoInfo
from workstation.core.progress import Stage

if TYPE_CHECKING:
    from workstation.core.settings import AppSettings
    from workstation.core.store import Project

log = logging.getLogger(__name__)


class DetectorKind(StrEnum):
    """Which detector finds the cuts; the value is what the CLI, the settings and the store use."""

    TRANSNETV2 = "transnetv2"
    ENSEMBLE = "ensemble"
    CONTENT = "content"
    ADAPTIVE = "adaptive"


#: What runs unless a person picks another (the CLI's ``--detector``, the app's settings).
DEFAULT = DetectorKind.TRANSNETV2


class Probed(Protocol):
    """What a detector may know of a file before it runs: a :class:`~workstation.core.media.
    VideoInfo`, or a project's :class:`~workstation.core.store.Video`."""

    @property
    def frame_count(self) -> int: ...


class SceneDetector(Protocol):
    """What the app needs from a detector: a name for people, why it can't run, and a stage."""

    @property
    def kind(self) -> DetectorKind: ...

    @property
    def label(self) -> str:
        """What the person reads in the detector list."""

    @property
    def description(self) -> str:
        """One sentence: what it is good at."""

    def why_unavailable(self) -> str | None:
        """None when the detector can run here, otherwise what to do about it."""

    def params(self, settings: DetectSettings | None = None) -> dict[str, Any]:
        """What it runs with, recorded with the run and with each cut it finds."""

    def stage(
        self,
        path: str | Path,
        settings: DetectSettings | None = None,
        *,
        info: Probed | None = None,
    ) -> Stage[DetectionResult]:
        """Detect the cuts of one file (``settings`` are the ensemble's; others ignore them).

        ``info`` (its ``frame_count``) saves reading the container's claim."""


# ---------------------------------------------------------------------------------------------
# The detectors
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnsembleDetector:
    """The workstation's own detector: hard and jump cuts, fades and dissolves, flash filter."""

    kind: DetectorKind = DetectorKind.ENSEMBLE
    label: str = "Ensemble (hand-tuned)"
    description: str = (
        "Hand-tuned rules over cheap per-frame measures: fast, but tuned on generated "
        "footage; an interrupted run resumes."
    )

    def why_unavailable(self) -> str | None:
        return None

    def params(self, settings: DetectSettings | None = None) -> dict[str, Any]:
        return (settings or DetectSettings()).to_params()

    def stage(
        self,
        path: str | Path,
        settings: DetectSettings | None = None,
        *,
        info: Probed | None = None,
    ) -> Stage[DetectionResult]:
        """The ensemble's stage; of ``info`` it also uses a ``VideoInfo``'s frame index and
        keyframes (project runs of the ensemble go through :func:`detect_video` instead)."""
        probed = info if isinstance(info, VideoInfo) or info is None else None
        return detect_stage(path, settings or DetectSettings(), info=probed)


@dataclass(frozen=True)
class TransNetV2Detector:
    """The TransNetV2 network through onnxruntime (:mod:`.learned`): the default."""

    kind: DetectorKind = DetectorKind.TRANSNETV2
    label: str = "TransNetV2 (recommended)"
    description: str = (
        "TransNetV2, a neural network trained on real footage: hard cuts, fades and "
        "dissolves as spans, doubtful cuts flagged; an interrupted run resumes."
    )

    def why_unavailable(self) -> str | None:
        from workstation.core.detect import transnet_onnx

        return transnet_onnx.why_unavailable()

    def params(self, settings: DetectSettings | None = None) -> dict[str, Any]:
        from workstation.core.detect import learned

        return learned.params()

    def stage(
        self,
        path: str | Path,
        settings: DetectSettings | None = None,
        *,
        info: Probed | None = None,
    ) -> Stage[DetectionResult]:
        from workstation.core.detect import learned

        index = info.index if isinstance(info, VideoInfo) else None
        total = info.frame_count if info is not None else None
        return learned.learned_stage(path, total=total, index=index)


DETECTORS: dict[DetectorKind, SceneDetector] = {
    DetectorKind.TRANSNETV2: TransNetV2Detector(),
    DetectorKind.ENSEMBLE: EnsembleDetector(),
    DetectorKind.CONTENT: PySceneDetectDetector(
        DetectorKind.CONTENT,
        "PySceneDetect content",
        "PySceneDetect's ContentDetector with its defaults, for comparison: hard cuts only.",
        "ContentDetector",
    ),
    DetectorKind.ADAPTIVE: PySceneDetectDetector(
        DetectorKind.ADAPTIVE,
        "PySceneDetect adaptive",
        "PySceneDetect's AdaptiveDetector with its defaults, for comparison: hard cuts, "
        "fewer false ones on fast camera motion.",
        "AdaptiveDetector",
    ),
}


def kind_of(kind: DetectorKind | str) -> DetectorKind:
    """The Enum member for a name; a wrong name gets one message listing the right ones."""
    try:
        return DetectorKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in DetectorKind)
        raise WorkstationError(f"unknown detector {str(kind)!r}: choose one of {names}") from None


def detector(kind: DetectorKind | str) -> SceneDetector:
    return DETECTORS[kind_of(kind)]


def available() -> list[DetectorKind]:
    """The detectors that can run here, in the order they are offered."""
    return [k for k, d in DETECTORS.items() if d.why_unavailable() is None]


def require(kind: DetectorKind | str) -> SceneDetector:
    """The detector, or an error naming it and why it cannot run here."""
    det = detector(kind)
    reason = det.why_unavailable()
    if reason is not None:
        raise WorkstationError(f"detector {det.kind.value!r} is unavailable: {reason}")
    return det


# ---------------------------------------------------------------------------------------------
# Project runs (everything but the ensemble, which resumes chunk by chunk in detect_video)
# ---------------------------------------------------------------------------------------------
def detect_video_with(
    project: Project,
    video_id: int,
    kind: DetectorKind | str,
    settings: DetectSettings | None = None,
    *,
    restart: bool = False,
) -> Stage[DetectionResult]:
    """Detect one project video with a detector other than the ensemble and store its cuts.

    Cuts go through :meth:`Project.replace_auto_cuts` (manual cuts and deleted auto cuts stay);
    the score curve is stored with the run, so the timeline draws it.  TransNetV2's runs save
    the network's outputs as they go and resume (:func:`.project_runs.learned_run`, unless
    ``restart``); the others do not: a cancelled one leaves nothing and the next starts over.
    """
    det = require(kind)
    video = project.video(video_id)
    result: DetectionResult
    if det.kind == DetectorKind.TRANSNETV2:
        detection_id, result = yield from learned_run(project, video, restart=restart)
    else:
        # The probed frame count (a Video has frame_count as a VideoInfo does): the progress
        # total, and what a truncated file is measured against.
        result = yield from det.stage(video.path, settings, info=video)
        # Recorded only once complete: a cancelled or failed run leaves nothing half-written.
        detection_id = project.start_detection(
            video_id, det.kind.value, det.params(settings), result.threshold
        )
    state = "failed"
    try:
        yield from transitions.refine_result(
            result, video.path, video.fps, project.frame_index(video_id)
        )
        score = result.scores.get("score")
        if score is not None:
            save_score(project, detection_id, score, result.frames)
        transitions.store_cuts(project, video_id, result.cuts)
        state = "done"
    finally:
        project.finish_detection(detection_id, state)
    result.detection_id = detection_id
    return result


# ---------------------------------------------------------------------------------------------
# The person's choice, kept in the app settings
# ---------------------------------------------------------------------------------------------
def chosen(app: AppSettings) -> tuple[DetectorKind, DetectSettings]:
    """The detector and ensemble settings saved in the app settings."""
    return chosen_values(app.detector, app.detect_settings)


def chosen_values(
    detector_name: str, detect_settings: dict[str, Any]
) -> tuple[DetectorKind, DetectSettings]:
    """A saved choice as plain values; bad values fall back to the defaults with a warning
    naming the field, so detection always has something to run.

    "ensemble" with no ensemble settings beside it was never picked: :func:`save_choice`
    always writes them, and settings saved before TransNetV2 became the default hold
    "ensemble" only as the default of then.  It means today's default; picked, it stays.
    """
    if detector_name == DetectorKind.ENSEMBLE.value and not detect_settings:
        detector_name = DEFAULT.value
    try:
        kind = DetectorKind(detector_name)
    except ValueError:
        log.warning("settings: detector %r is unknown; using %s", detector_name, DEFAULT.value)
        kind = DEFAULT
    try:
        # The rules' version is the code's, never a saved one (it guards resumed runs).
        values = {k: v for k, v in detect_settings.items() if k != "version"}
        settings = DetectSettings.from_params(values)
    except (TypeError, ValueError) as exc:
        log.warning("settings: detect_settings unusable (%s); using the defaults", exc)
        settings = DetectSettings()
    return kind, settings


def detect_video_as_saved(
    project: Project,
    video_id: int,
    detector_name: str,
    detect_settings: dict[str, Any],
    *,
    restart: bool = False,
) -> Stage[DetectionResult]:
    """:func:`detect_video` with the choice saved in the app settings, given as plain values.

    The GUI's detection runs in a child process: the window reads the settings file (no
    detector import there) and the child builds the settings and runs the detector.
    """
    kind, settings = chosen_values(detector_name, detect_settings)
    return (yield from detect_video(project, video_id, settings, restart=restart, kind=kind))


def save_choice(
    kind: DetectorKind, settings: DetectSettings, path: str | Path | None = None
) -> AppSettings:
    """Remember the detector and the ensemble's settings for the next detection."""
    from workstation.core import settings as app_settings

    def change(s: AppSettings) -> None:
        s.detector = kind_of(kind).value
        s.detect_settings = {k: v for k, v in settings.to_params().items() if k != "version"}

    return app_settings.update(change, path)


def load_choice(path: str | Path | None = None) -> tuple[DetectorKind, DetectSettings]:
    from workstation.core import settings as app_settings

    return chosen(app_settings.load(path))


def usable_choice(
    path: str | Path | None = None,
) -> tuple[DetectorKind, DetectSettings, str | None]:
    """The saved choice as it can run here: a saved detector that cannot run is replaced by the
    ensemble (which always can), and the third value says so (None when the saved one is
    kept)."""
    kind, settings = load_choice(path)
    reason = DETECTORS[kind].why_unavailable()
    if reason is None:
        return kind, settings, None
    note = (
        f"The saved detector, {DETECTORS[kind].label}, cannot run here: "
        f"{reason}. The ensemble is selected instead."
    )
    return DetectorKind.ENSEMBLE, settings, note


__all__: list[str] = [
    "DEFAULT",
    "DETECTORS",
    "DetectorKind",
    "SceneDetector",
    "available",
    "chosen",
    "chosen_values",
    "detect_video_as_saved",
    "detect_video_with",
    "detector",
    "kind_of",
    "load_choice",
    "require",
    "save_choice",
    "usable_choice",
]
