"""Helpers for the auto-tagging tests: a tiny WD14-signature ONNX model and solid-colour clips.

The model reads the per-channel means of its BGR input, so a red clip fires ``red_background``
and a blue clip ``blue_background`` and the character ``hatsune_miku`` — an RGB/BGR mix-up in
preprocessing flips them and the tests notice.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from workstation.core import synth

# name, category, logit weights for (b, g, r) in 0..1, bias
TAGS = [
    ("general", 9, (0, 0, 0), 2.0),
    ("sensitive", 9, (0, 0, 6), -2.0),
    ("red_background", 0, (-6, 0, 12), -3.0),
    ("blue_background", 0, (12, 0, -6), -3.0),
    ("simple_background", 0, (0, 0, 0), 0.0),  # always 0.5: above general 0.35
    ("hatsune_miku", 4, (8, 0, -4), -2.0),
    ("maybe_someone", 4, (0, 0, 0), 0.0),  # always 0.5: below character 0.85
    ("^_^", 0, (0, 0, 0), 3.0),  # kaomoji: keeps its underscore
]


def write_tiny_model(folder: Path, size: int = 64, dynamic: bool = True, tags=TAGS) -> Path:
    """A WD14-signature model: NHWC float32 0-255 BGR input -> sigmoid probabilities."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = np.array([t[2] for t in tags], dtype=np.float32).T  # (3, T)
    bias = np.array([t[3] for t in tags], dtype=np.float32)
    batch = "batch" if dynamic else 1
    x = helper.make_tensor_value_info("input_1:0", TensorProto.FLOAT, [batch, size, size, 3])
    y = helper.make_tensor_value_info("predictions_sigmoid", TensorProto.FLOAT, [batch, len(tags)])
    nodes = [
        helper.make_node("ReduceMean", ["input_1:0", "axes"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "scale"], ["unit"]),
        helper.make_node("MatMul", ["unit", "w"], ["logits0"]),
        helper.make_node("Add", ["logits0", "b"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["predictions_sigmoid"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes"),
        numpy_helper.from_array(np.array(1 / 255, dtype=np.float32), "scale"),
        numpy_helper.from_array(weights, "w"),
        numpy_helper.from_array(bias, "b"),
    ]
    graph = helper.make_graph(nodes, "tiny_wd14", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, folder / "model.onnx")
    lines = ["tag_id,name,category,count"]
    lines += [f"{i},{name},{cat},{1000 - i}" for i, (name, cat, _, _) in enumerate(tags)]
    (folder / "selected_tags.csv").write_text("\n".join(lines) + "\n")
    return folder


def write_clip(
    path: Path, frames, *, fps: int = 24, codec: str = "libx264", stamp: bool = True
) -> Path:
    """Encode RGB uint8 frames (stamped with their numbers unless told) into a small clip."""
    frames = list(frames)
    h, w = frames[0].shape[:2]
    container = av.open(str(path), "w")
    try:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        for n, img in enumerate(frames):
            if stamp:
                img = synth.stamp(np.ascontiguousarray(img.copy()), n)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    return path


def solid(color, n: int = 12, w: int = 160, h: int = 96):
    return [np.full((h, w, 3), color, np.uint8) for _ in range(n)]


def add_clip(project, path: Path, frames: int, *, w: int = 160, h: int = 96, fps: int = 24) -> int:
    return project.upsert_clip(
        path,
        video_id=None,
        start_frame=None,
        end_frame=None,
        fps=Fraction(fps),
        frame_count=frames,
        width=w,
        height=h,
    )


def clip_tags(project, clip_id: int) -> dict[str, dict]:
    rows = project.db.execute(
        "SELECT t.name, t.category, ct.* FROM clip_tags ct JOIN tags t ON t.id=ct.tag_id "
        "WHERE ct.clip_id=? ORDER BY ct.position",
        (clip_id,),
    ).fetchall()
    return {r["name"]: dict(r) for r in rows}
