"""The network's runtime: onnxruntime's CUDA provider when onnxruntime-gpu offers it, the CPU
otherwise, and a batch of windows per call only where the session really runs on the GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from workstation.core import synth
from workstation.core.detect import learned, transnet_onnx
from workstation.core.progress import drive

CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"


@pytest.mark.parametrize(
    ("available", "chosen"),
    [
        ([CPU], [CPU]),  # onnxruntime (the CPU package)
        ([CUDA, CPU], [CUDA, CPU]),  # onnxruntime-gpu
        (["TensorrtExecutionProvider", CUDA, CPU], [CUDA, CPU]),  # only those it knows
        ([CPU, CUDA], [CUDA, CPU]),  # its own order of preference
        ([CUDA], [CUDA, CPU]),  # the CPU as the fallback, always
        ([], [CPU]),
    ],
)
def test_providers_are_chosen_by_availability(available, chosen):
    assert transnet_onnx.providers(available) == chosen


def test_the_installed_runtime_gets_a_cpu_provider():
    chosen = transnet_onnx.providers()
    assert chosen[-1] == CPU
    assert (CUDA in chosen) == (CUDA in onnxruntime.get_available_providers())


class _FakeSession:
    def __init__(self, path, options, providers):
        self.path, self.options, self.asked = path, options, providers

    def get_providers(self):  # what loaded: CUDA may be listed yet fail to load
        return [p for p in self.asked if p != "broken"]


def test_session_asks_for_the_chosen_providers(monkeypatch, tmp_path):
    monkeypatch.setattr(onnxruntime, "InferenceSession", _FakeSession)
    model = tmp_path / "m.onnx"
    gpu = transnet_onnx.session(model, threads=1, available=[CUDA, CPU])
    cpu = transnet_onnx.session(model, threads=1, available=[CPU])
    assert gpu.asked == [CUDA, CPU] and cpu.asked == [CPU]
    assert transnet_onnx.on_gpu(gpu) and not transnet_onnx.on_gpu(cpu)
    assert gpu.options.intra_op_num_threads == 1
    assert learned.batch_size(gpu) == learned.GPU_BATCH > learned.BATCH
    assert learned.batch_size(cpu) == learned.batch_size(None) == learned.BATCH


def test_a_gpu_session_scores_a_batch_of_windows_per_call(monkeypatch, tmp_path):
    path = tmp_path / "v.mp4"
    shots = [synth.Shot("gradient", 300, seed=1), synth.Shot("shapes", 300, seed=2)]
    synth.write_video(path, synth.Sequence(shots), width=64, height=36)
    calls = []

    def predict(_sess, windows):
        calls.append(len(windows))
        single = np.zeros(windows.shape[:2], np.float32)
        single[:, :-1] = np.abs(np.diff(windows.mean(axis=(2, 3, 4)), axis=1)) > 20
        return single, single

    def fake_session(available):
        return lambda: _FakeSession(Path("m.onnx"), None, transnet_onnx.providers(available))

    monkeypatch.setattr(transnet_onnx, "ensure_model", lambda: Path("m.onnx"))
    monkeypatch.setattr(transnet_onnx, "predict", predict)
    results = {}
    for name, available in (("gpu", [CUDA, CPU]), ("cpu", [CPU])):
        calls.clear()
        monkeypatch.setattr(learned, "_session", fake_session(available))
        results[name] = drive(learned.learned_stage(path, gate=False))
        results[name + " calls"] = list(calls)
    windows = -(-600 // learned.STEP)  # 12
    assert results["cpu calls"] == [1] * windows
    assert results["gpu calls"] == [8, 4]
    assert [c.frame for c in results["gpu"].cuts] == [c.frame for c in results["cpu"].cuts] == [300]
    for name in learned.OUTPUTS:
        np.testing.assert_array_equal(results["gpu"].scores[name], results["cpu"].scores[name])
