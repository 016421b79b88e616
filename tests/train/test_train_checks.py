"""The quick checks of a run's paths and numbers: real (tiny) model folders pass, others are
refused with what was found, and none of it imports torch or diffusers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workstation.core.errors import WorkstationError
from workstation.train import checks, folders
from workstation.train.launch import TrainSettings


def test_real_tiny_models_pass_and_are_described(tiny_models):
    assert folders.inspect_base_model(tiny_models["sd"]).startswith(
        "diffusers folder (StableDiffusionPipeline"
    )
    assert folders.inspect_motion_module(tiny_models["adapter"]) == "diffusers MotionAdapter folder"
    assert folders.inspect_motion_module(tiny_models["motion_file"]) == (
        "AnimateDiff v3 motion module"
    )
    with pytest.raises(folders.NotAModel, match="an AnimateDiff motion module, not a base"):
        folders.inspect_base_model(tiny_models["motion_file"])
    with pytest.raises(folders.NotAModel, match="a MotionAdapter folder, not a base model"):
        folders.inspect_base_model(tiny_models["adapter"])
    unet = tiny_models["sd"] / "unet" / "diffusion_pytorch_model.safetensors"
    with pytest.raises(folders.NotAModel, match="not a Stable Diffusion checkpoint"):
        folders.inspect_base_model(unet)
    (tiny_models["sd"] / "vae" / "diffusion_pytorch_model.safetensors").rename(
        tiny_models["sd"] / "vae" / "weights.moved"
    )
    try:
        with pytest.raises(folders.NotAModel, match=r"vae/ has no weights"):
            folders.inspect_base_model(tiny_models["sd"])
    finally:
        (tiny_models["sd"] / "vae" / "weights.moved").rename(
            tiny_models["sd"] / "vae" / "diffusion_pytorch_model.safetensors"
        )


def test_the_checks_read_layouts_only_no_torch(tiny_models, tiny_export, tmp_path):
    code = (
        "import sys; from workstation.train.checks import check_form; "
        "from workstation.train.launch import TrainSettings; "
        f"c = check_form(TrainSettings(dataset={str(tiny_export)!r}, "
        f"base_model={str(tiny_models['sd'])!r}, motion_module={str(tiny_models['motion_file'])!r}, "
        f"output={str(tmp_path / 'out')!r})); "
        "print(sorted(k for k, v in c.items() if v.problem)); "
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers', 'av') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "[]"]


def test_the_child_refuses_a_folder_that_is_not_a_model_before_loading(tiny_export, tmp_path):
    junk = tmp_path / "photos"
    junk.mkdir()
    s = TrainSettings(dataset=str(tiny_export), base_model=str(junk), output=str(tmp_path / "o"))
    with pytest.raises(folders.NotAModel, match=r"photos: not a model folder"):
        checks._preflight(s)
    s = TrainSettings(
        dataset=str(tiny_export), base_model=str(junk), output=str(tiny_export / "run")
    )
    assert checks.check_form(s)["output"].problem.startswith("inside the dataset folder")


def test_numbers_are_checked_field_by_field_and_the_child_names_the_flag():
    s = TrainSettings(resolution=250, frames=0, caption_dropout=1.5, mode="lora", lora_rank=0)
    assert checks.number_problems(s) == {
        "resolution": "must be a multiple of 8, >= 32",
        "frames": "must be >= 1",
        "caption_dropout": "must be within 0..1",
        "lora_rank": "must be >= 1 to train a LoRA",
    }
    with pytest.raises(WorkstationError, match=r"^--resolution 250: must be a multiple of 8"):
        checks._check(s)
    assert checks.field_of_error("--frames 40: too many", s) == "frames"
    # Aspect buckets: sides step by --bucket-step, so the base size must be a multiple of it.
    assert checks.number_problems(TrainSettings(resolution=288)) == {
        "resolution": "must be a multiple of --bucket-step (64) with aspect buckets "
        "(or --no-aspect-buckets)"
    }
    assert checks.number_problems(TrainSettings(resolution=288, aspect_buckets=False)) == {}
    assert checks.number_problems(TrainSettings(resolution=288, bucket_step=32)) == {}
    assert checks.number_problems(TrainSettings(bucket_step=12)) == {
        "bucket_step": "must be a multiple of 8 (the VAE's factor), >= 8"
    }
    s = TrainSettings(dataset="/d/x")
    assert checks.field_of_error("/d/x: none of the 2 clips can be used", s) == "dataset"
    assert checks.field_of_error("the GPU ran out of memory", s) is None
