"""Folders the Train tab's quick checks accept or refuse, written without torch or diffusers."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from workstation.ui.common.jobs import JobsController
from workstation.ui.session import ProjectSession
from workstation.ui.train.view import TrainView


def fake_export(folder: Path, clips: int = 2) -> Path:
    """A pairs export as the checks see it: metadata.jsonl listing files that are there."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(clips):
        (folder / f"c{i}.mp4").write_bytes(b"\0")
        lines.append(json.dumps({"video_path": f"c{i}.mp4", "caption": f"clip {i}"}))
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def fake_sd_folder(folder: Path, pipeline: str = "StableDiffusionPipeline") -> Path:
    """The layout of a diffusers SD1.5 folder (configs, empty weight files): what the quick
    check reads; only the child's real load would find the weights empty."""
    for part in ("unet", "vae", "text_encoder", "tokenizer"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": pipeline}))
    (folder / "unet" / "config.json").write_text('{"cross_attention_dim": 768}')
    (folder / "vae" / "config.json").write_text("{}")
    for part in ("unet", "vae"):
        (folder / part / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    return folder


def safetensors_file(path: Path, shapes: dict[str, list[int]]) -> Path:
    """A .safetensors file with these tensors (float16 zeros), written by the format's spec:
    8 bytes of header length, the JSON header, the data."""
    header, offset = {}, 0
    for key, shape in shapes.items():
        size = 2
        for n in shape:
            size *= n
        header[key] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)
    return path


SD15_KEYS = {
    "model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3],
    "first_stage_model.encoder.conv_in.weight": [128, 3, 3, 3],
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": [4, 768],
}
SDXL_KEYS = {**SD15_KEYS, "conditioner.embedders.0.transformer.text_model.x.weight": [4, 768]}
MOTION_V2_KEYS = {
    "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0."
    "attention_blocks.0.pos_encoder.pe": [1, 32, 320],
    "mid_block.motion_modules.0.temporal_transformer.proj_in.weight": [4, 4],
}


def open_view(qtbot, root: Path) -> tuple[TrainView, JobsController, ProjectSession]:
    """A Train view on the project at ``root`` (its own session and jobs), 1280x800."""
    session = ProjectSession(root)
    jobs = JobsController(session)
    v = TrainView(session, jobs)
    qtbot.addWidget(v)
    v.resize(1280, 800)
    return v, jobs, session
