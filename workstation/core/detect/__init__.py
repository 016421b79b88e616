"""Scene and jump-cut detection: one decode pass, an ensemble of detectors, resumable.

Where things live:

* :mod:`.stage`: the ensemble's stage: :class:`DetectSettings`, :func:`detect_stage` (one file,
  no project); :mod:`.project_runs`: :func:`detect_video` (one project video, resumable) and
  :func:`detect_project` (all of them).
* :mod:`.features` measures each frame against the ones before it, :mod:`.decide` turns those
  curves into cuts; :mod:`.reader` decodes, :mod:`.segments` splits one video's pass over
  processes, :mod:`.parallel` runs several videos at once.
* :mod:`.registry`: the detectors a person can pick (:class:`~.registry.DetectorKind`), their
  project runs and the saved choice; :mod:`.learned` is the default, TransNetV2's network
  through onnxruntime (:mod:`.transnet_onnx` exports and loads it, :mod:`.neural` loads the
  torch package); :mod:`.pyscenedetect` runs PySceneDetect's detectors.

This module only re-exports the stage's public names for code outside the core.
"""

from __future__ import annotations

from workstation.core.detect.project_runs import detect_project, detect_video
from workstation.core.detect.stage import (
    CHUNK,
    DETECTOR,
    DetectionResult,
    DetectSettings,
    detect_stage,
)

__all__ = [
    "CHUNK",
    "DETECTOR",
    "DetectSettings",
    "DetectionResult",
    "detect_project",
    "detect_stage",
    "detect_video",
]
