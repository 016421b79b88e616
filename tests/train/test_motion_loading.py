"""Motion files other tools made load here; motion LoRAs made here load in other tools.

Motion modules saved by AnimateDiff's own train.py load through the real loading path.

train.py saves ``{"epoch", "global_step", "state_dict": ddp_unet.state_dict()}``: every key
carries DDP's ``module.`` prefix, the whole UNet is in it, and since AnimateDiff made
``pos_encoder.pe`` non-persistent there is no positional table. These tests build such files
from a tiny MotionAdapter (its state converted to original keys with convert.py) and load
them with ``models.load_motion_adapter``.

The motion LoRA files are loaded with diffusers' own ``AnimateDiffPipeline.load_lora_weights``
and with re-implementations of sd-webui-animatediff's ``mm_load_network`` key mapping (with
A1111's LoRA arithmetic) and of ComfyUI-AnimateDiff-Evolved's
``load_motion_lora_as_patches``; each must give the weights training merged.
"""

from __future__ import annotations

import re

import pytest
import torch

from workstation.core.errors import WorkstationError
from workstation.train import convert, models


def _tiny_adapter(mid: bool = False, max_len: int = 32):
    from diffusers import MotionAdapter

    torch.manual_seed(1)
    return MotionAdapter(
        block_out_channels=(32, 64),
        motion_layers_per_block=2,
        motion_norm_num_groups=2,
        motion_max_seq_length=max_len,
        use_motion_mid_block=mid,
    )


def _unet_stub():
    class Stub:
        config = {"norm_num_groups": 2}

    return Stub()


def _train_py_checkpoint(adapter, drop_pe: bool) -> dict:
    original = convert.to_original(adapter.state_dict())
    if drop_pe:
        original = {k: v for k, v in original.items() if ".pos_encoder." not in k}
    unet_state = {
        **original,
        # the image layers of AnimateDiff's UNet3D are in the same state dict
        "conv_in.weight": torch.zeros(32, 4, 3, 3),
        "down_blocks.0.attentions.0.proj_in.weight": torch.zeros(32, 32, 1, 1),
    }
    return {
        "epoch": 3,
        "global_step": 1200,
        "state_dict": {f"module.{k}": v for k, v in unet_state.items()},
    }


def _assert_same_weights(loaded, adapter):
    want = adapter.state_dict()
    got = loaded.state_dict()
    assert got.keys() == want.keys()
    for k in want:
        assert torch.equal(got[k], want[k]), k


@pytest.mark.parametrize(
    ("mid", "max_len", "drop_pe", "version"),
    [
        (False, 32, True, "v3"),  # current train.py: no pe, module. prefix
        (True, 32, True, "v2"),
        (False, 24, False, "v1"),  # older train.py: pe kept, module. prefix
    ],
)
def test_train_py_checkpoint_loads(tmp_path, mid, max_len, drop_pe, version):
    adapter = _tiny_adapter(mid, max_len)
    path = tmp_path / "checkpoint.ckpt"
    torch.save(_train_py_checkpoint(adapter, drop_pe), path)
    loaded, described = models.load_motion_adapter(path, _unet_stub())
    assert described == f"AnimateDiff {version} motion module checkpoint.ckpt"
    _assert_same_weights(loaded, adapter)


def test_prefixed_safetensors_without_wrapper_loads(tmp_path):
    from safetensors.torch import save_file

    adapter = _tiny_adapter()
    state = _train_py_checkpoint(adapter, drop_pe=True)["state_dict"]
    path = tmp_path / "mm.safetensors"
    save_file(state, str(path))
    loaded, _ = models.load_motion_adapter(path, _unet_stub())
    _assert_same_weights(loaded, adapter)


def test_missing_pe_is_the_sinusoidal_table():
    adapter = _tiny_adapter()
    full = convert.to_original(adapter.state_dict())
    dropped = {k: v for k, v in full.items() if ".pos_encoder." not in k}
    back = models.motion_state({"state_dict": {f"module.{k}": v for k, v in dropped.items()}})
    assert back.keys() == full.keys()
    for k in full:
        assert torch.equal(back[k], full[k]), k
    pe = back[models.PE_KEY]
    assert pe.shape == (1, 32, 32)
    assert pe[0, 3, 0] == pytest.approx(torch.sin(torch.tensor(3.0)).item())


def test_a_model_wrapper_is_unwrapped_and_a_non_motion_file_is_refused(tmp_path):
    adapter = _tiny_adapter()
    original = convert.to_original(adapter.state_dict())
    assert models.motion_state({"model": original}).keys() == original.keys()
    path = tmp_path / "sd.ckpt"
    torch.save({"state_dict": {"module.conv_in.weight": torch.zeros(1)}}, path)
    with pytest.raises(WorkstationError, match=r"sd\.ckpt: not an AnimateDiff motion module"):
        models.load_motion_adapter(path, _unet_stub())


# -- motion LoRA in other tools -------------------------------------------------------------
SCALE = 0.5  # alpha 2 / rank 4


@pytest.fixture(scope="module")
def trained_lora(tiny_models):
    """A tiny UNet with a motion LoRA whose up weights are non-zero (as after training):
    (peft state dict, the merged motion weights, the base motion weights, the UNet, the
    adapter's config)."""
    from diffusers import MotionAdapter

    base = models.load_base(tiny_models["sd"])
    adapter = MotionAdapter.from_pretrained(tiny_models["adapter"])
    unet = models.build_motion_unet(base.unet, adapter)
    models.add_motion_lora(unet, rank=4, alpha=2.0)
    torch.manual_seed(5)
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if ".lora_B." in name:
                p.normal_(0, 0.05)
    state = {k: v.detach().clone() for k, v in unet.state_dict().items()}
    motion = {k: v for k, v in state.items() if ".motion_modules." in k}
    merged = convert.merge_lora(motion, SCALE)
    unmerged = convert.merge_lora(motion, 0.0)
    return state, merged, unmerged, unet, dict(adapter.config)


def test_diffusers_load_lora_weights_gives_the_merged_weights(tiny_models, trained_lora, tmp_path):
    from diffusers import AnimateDiffPipeline, DDIMScheduler, MotionAdapter

    state, merged, unmerged, *_ = trained_lora
    convert.save_safetensors(
        convert.lora_to_diffusers(state, SCALE), tmp_path / "motion_lora_diffusers.safetensors"
    )
    base = models.load_base(tiny_models["sd"])
    pipe = AnimateDiffPipeline(
        vae=base.vae,
        text_encoder=base.text_encoder,
        tokenizer=base.tokenizer,
        unet=base.unet,
        motion_adapter=MotionAdapter.from_pretrained(tiny_models["adapter"]),
        scheduler=DDIMScheduler(),
    )
    pipe.load_lora_weights(str(tmp_path), weight_name="motion_lora_diffusers.safetensors")
    lora_layers = [n for n, _ in pipe.unet.named_modules() if n.endswith(".lora_A")]
    assert len(lora_layers) == 10 * 2 * 4  # motion modules x attention blocks x q/k/v/out
    pipe.fuse_lora()
    pipe.unload_lora_weights()
    got = {k: v for k, v in pipe.unet.state_dict().items() if ".motion_modules." in k}
    assert got.keys() == merged.keys()
    changed = 0
    for k in merged:
        assert torch.allclose(got[k], merged[k], atol=1e-6), k
        changed += not torch.equal(merged[k], unmerged[k])
    assert changed == 10 * 2 * 4  # every LoRA'd projection moved, nothing else


def _a1111_load_motion_lora(path, module_names: set[str], strength: float = 1.0):
    """sd-webui-animatediff's ``mm_load_network`` (scripts/animatediff_lora.py: the file read
    as ``sd_models.read_state_dict`` reads a .safetensors, a motion LoRA told by its FIRST key,
    ``convert_mm_name_to_compvis``, the module looked up in ``network_layer_mapping``, which
    ``animatediff_mm._set_layer_mapping`` fills with the motion module's ``named_modules()``)
    and A1111's ``NetworkModuleLora`` (``ModuleTypeLora`` needs ``lora_up/down.weight``;
    ``finalize_updown``: ``up @ down * calc_scale() * multiplier()``, ``calc_scale`` = scale,
    else alpha / dim, else 1.0): {module name: weight delta}."""
    from safetensors.torch import load_file

    sd = load_file(str(path))
    assert "motion_modules" in list(sd.keys())[0]  # else A1111's own LoRA loader takes it
    weights: dict[str, dict[str, torch.Tensor]] = {}
    for key_network, weight in sd.items():
        module, _, part = re.split(r"(_lora\.)", key_network)
        module = module.replace("processor.", "").replace("to_out", "to_out.0")
        assert module in module_names, f"Failed to find sd module for key {module}."
        weights.setdefault(module, {})["lora_" + part] = weight
    deltas = {}
    for module, w in weights.items():
        assert all(x in w for x in ["lora_up.weight", "lora_down.weight"]), module
        up, down = w["lora_up.weight"], w["lora_down.weight"]
        dim = down.shape[0]
        if "scale" in w:
            scale = w["scale"].item()
        elif "alpha" in w:
            scale = w["alpha"].item() / dim
        else:
            scale = 1.0
        deltas[module] = (up.reshape(up.shape[0], -1) @ down.reshape(dim, -1)) * scale * strength
    return deltas


def test_a1111_motion_lora_mapping_gives_the_merged_weights(trained_lora, tmp_path):
    state, merged, unmerged, *_ = trained_lora
    path = convert.save_safetensors(
        convert.lora_to_original(state, SCALE), tmp_path / "motion_lora.safetensors"
    )
    base = convert.to_original(unmerged)
    want = convert.to_original(merged)
    # The extension loads the motion module file strictly, so the names of its modules that
    # hold weights are the file's key prefixes.
    module_names = {k.rsplit(".", 1)[0] for k in base}
    deltas = _a1111_load_motion_lora(path, module_names)
    assert len(deltas) == 10 * 2 * 4
    for module, delta in deltas.items():
        key = f"{module}.weight"
        assert torch.allclose(base[key] + delta, want[key], atol=1e-6), key
        assert delta.abs().sum() > 0


def _ad_evolved_patches(lora: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """ComfyUI-AnimateDiff-Evolved's ``load_motion_lora_as_patches`` (model_injection.py):
    {motion module weight key: up @ down}, added at the LoRA node's strength (1.0 here)."""
    lora = {k: v for k, v in lora.items() if "temporal" in k}
    assert lora, "contains no temporal keys; it is not a valid motion LoRA!"
    patches = {}
    for key in lora:
        if "up." in key:
            continue
        up_key = key.replace(".down.", ".up.")
        model_key = (
            key.replace("processor.", "")
            .replace("_lora", "")
            .replace("down.", "")
            .replace("up.", "")
        )
        model_key = model_key.replace("to_out.", "to_out.0.")
        patches[model_key] = torch.mm(lora[up_key], lora[key])
    return patches


def test_ad_evolved_motion_lora_patches_give_the_merged_weights(trained_lora):
    state, merged, unmerged, *_ = trained_lora
    base = convert.to_original(unmerged)
    want = convert.to_original(merged)
    patches = _ad_evolved_patches(convert.lora_to_original(state, SCALE))
    assert len(patches) == 10 * 2 * 4 and set(patches) <= set(base)
    for key, patch in patches.items():
        assert torch.allclose(base[key] + patch, want[key], atol=1e-6), key
        assert patch.abs().sum() > 0


def test_a_lora_run_exports_both_lora_files(trained_lora, tmp_path):
    from safetensors.torch import load_file

    from workstation.train.outputs import export_outputs

    state, _, _, unet, config = trained_lora
    written = export_outputs(unet, config, tmp_path, "lora", SCALE, "tiny")
    for name, want in (
        ("motion_lora", convert.lora_to_original(state, SCALE)),
        ("motion_lora_diffusers", convert.lora_to_diffusers(state, SCALE)),
    ):
        assert written[name] == str(tmp_path / f"{name}.safetensors")
        got = load_file(written[name])
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    assert not list(tmp_path.glob(".*tmp"))
