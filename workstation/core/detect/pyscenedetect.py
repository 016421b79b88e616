"""PySceneDetect's ContentDetector and AdaptiveDetector as workstation detectors, for comparison.

They run with their default arguments through PySceneDetect's PyAV backend, frame by frame here
(so a run reports progress and stops when cancelled), and their cuts are numbered in decode
order as the rest of the workstation numbers frames.  :mod:`.registry` lists them beside the
ensemble; PySceneDetect is imported only when one runs.
"""

from __future__ import annotations

import importlib.util
import logging
import queue
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workstation.core import media
from workstation.core.detect.stage import DetectionResult, DetectSettings, found_cut
from workstation.core.errors import MediaError
from workstation.core.progress import Progress, Stage

if TYPE_CHECKING:
    from workstation.core.detect.registry import DetectorKind, Probed

log = logging.getLogger(__name__)

#: Most frames between two progress reports of a PySceneDetect run.
REPORT_EVERY = 128
#: Decoded frames waiting for the detector (each a small downscaled image).
FRAMES_AHEAD = 16


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

    def params(self, settings: DetectSettings | None = None) -> dict[str, Any]:
        return _scenedetect_params(self._new())

    def _new(self) -> Any:
        from scenedetect import detectors

        return getattr(detectors, self.class_name)()

    def stage(
        self,
        path: str | Path,
        settings: DetectSettings | None = None,
        *,
        info: Probed | None = None,
    ) -> Stage[DetectionResult]:
        return _scenedetect_stage(Path(path), self, info.frame_count if info else None)


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
    scores: array[float] = array("f")  # content_val per frame (the curve the timeline draws)
    pts: array[int] = array(
        "q"
    )  # pts per frame in decode order: maps cut timecodes to frame numbers
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
    cuts = [found_cut(f, det.kind.value, float(curve[f]), params) for f in cut_frames]
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
        self.queue: queue.Queue[tuple[Any, Any] | None] = queue.Queue(maxsize=FRAMES_AHEAD)
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

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
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


def _frames_of(times: list[Any], pts: array[int]) -> list[int]:
    """Decode-order frame numbers of cut timecodes, found by their pts (frames are decoded in
    presentation order, so pts increase); one not found falls back to its CFR frame number."""
    out: set[int] = set()
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
