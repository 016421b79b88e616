"""Motion modules saved by AnimateDiff's own train.py load through the real loading path.

train.py saves ``{"epoch", "global_step", "state_dict": ddp_unet.state_dict()}``: every key
carries DDP's ``module.`` prefix, the whole UNet is in it, and since AnimateDiff made
``pos_encoder.pe`` non-persistent there is no positional table. These tests build such files
from a tiny MotionAdapter (its state converted to original keys with convert.py) and load
them with ``models.load_motion_adapter``.
"""

from __future__ import annotations

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
