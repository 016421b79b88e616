"""Gradient checkpointing that also covers the motion modules.

diffusers 0.42's ``UNetMotionModel.enable_gradient_checkpointing()`` checkpoints only the resnets
of the motion down/up blocks: each ``motion_module(hidden_states, num_frames=...)`` call still
keeps every activation of its temporal transformer for the backward pass.  At SD1.5 shapes
(256 px, 4 frames) those are 92 % of the saved activations (bench/train_memory.py).

:func:`checkpoint_motion_modules` wraps the ``forward`` of every module in each block's
``motion_modules`` list with ``torch.utils.checkpoint`` (``use_reentrant=False``, the variant
PyTorch recommends: it works with frozen inputs, keyword arguments and LoRA layers).  It is applied
to the built model, after any other change to the motion modules, and composes with them:

* a module replaced by a subclass, or a class whose ``forward`` is patched later, is honoured:
  the wrapper looks ``type(module).forward`` up on every call;
* a ``forward`` already patched on the instance before wrapping is the one the wrapper calls.

The wrapper recomputes only while gradients are enabled (no effect under ``torch.no_grad()``, so
sampling is unchanged) and is a no-op for the state dict: no module is added or renamed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

_WRAPPED = "_ws_checkpointed"


def motion_modules(unet: torch.nn.Module) -> list[torch.nn.Module]:
    """Every temporal transformer of a ``UNetMotionModel`` (down, mid and up blocks)."""
    found: list[torch.nn.Module] = []
    for block in unet.modules():
        mm = getattr(block, "motion_modules", None)
        if isinstance(mm, torch.nn.ModuleList):
            found.extend(mm)
    return found


def _wrap(module: torch.nn.Module) -> None:
    own = module.__dict__.get("forward")  # an instance-level patch made before this one

    def run(*args: Any, **kwargs: Any) -> Any:
        if own is not None:
            return own(*args, **kwargs)
        return type(module).forward(module, *args, **kwargs)

    def forward(*args: Any, **kwargs: Any) -> Any:
        if torch.is_grad_enabled() and getattr(module, _WRAPPED, False):
            return checkpoint(run, *args, use_reentrant=False, **kwargs)
        return run(*args, **kwargs)

    module.forward = forward  # type: ignore[method-assign]  # instance-level wrapper by design
    setattr(module, _WRAPPED, True)


def checkpoint_motion_modules(unet: torch.nn.Module, enabled: bool = True) -> int:
    """Checkpoint (or stop checkpointing) each motion module of ``unet``; returns how many.

    Call it after the model is built and its motion modules are final.  Calling it again only
    switches the existing wrappers on or off.
    """
    modules = motion_modules(unet)
    for module in modules:
        if _WRAPPED not in module.__dict__:
            if not enabled:
                continue
            _wrap(module)
        setattr(module, _WRAPPED, enabled)
    return len(modules)


class SavedTensors:
    """Bytes autograd keeps for the backward pass while this context is active.

    Counts each storage once (views and a tensor saved by two ops are one allocation) and leaves
    the model's own parameters and buffers out.  Inside a ``checkpoint`` region PyTorch's own hooks
    take over, so what a checkpointed call keeps is its inputs: list those modules in
    ``keep_inputs_of`` and their tensor arguments are counted when they run.  Bytes saved while a
    module of ``attribute_to`` runs are also summed in :attr:`inside`, and :attr:`largest` is
    the most one such call kept (what backward recomputes at once when that module is
    checkpointed).  Works on the meta device
    (sizes without memory), which is how bench/train_memory.py measures SD1.5 shapes.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        keep_inputs_of: list[torch.nn.Module] | tuple[torch.nn.Module, ...] = (),
        attribute_to: list[torch.nn.Module] | tuple[torch.nn.Module, ...] = (),
    ) -> None:
        self.total = 0
        self.inside = 0
        self.largest = 0
        self._call = 0
        self._seen: set[int] = set()
        self._alive: list[torch.UntypedStorage] = []
        self._own = {_key(t) for t in [*model.parameters(), *model.buffers()]}
        self._depth = 0
        self._keep = list(keep_inputs_of)
        self._attr = list(attribute_to)
        self._handles: list[Any] = []
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)

    def _add(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key = int(storage._cdata)
        if key in self._seen or key in self._own:
            return
        self._seen.add(key)
        self._alive.append(storage)  # no counted storage is freed and its address reused
        n = storage.nbytes()
        self.total += n
        if self._depth:
            self.inside += n
            self._call += n

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        self._add(t)
        return t

    def _keep_inputs(self, _m: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if torch.is_grad_enabled():
            for a in args:
                if isinstance(a, torch.Tensor):
                    self._add(a)

    def _enter(self, *_a: Any) -> None:
        if not self._depth:
            self._call = 0
        self._depth += 1

    def _leave(self, *_a: Any) -> None:
        self._depth -= 1
        if not self._depth:
            self.largest = max(self.largest, self._call)

    def __enter__(self) -> SavedTensors:
        for m in self._keep:
            self._handles.append(m.register_forward_pre_hook(self._keep_inputs))
        for m in self._attr:
            self._handles.append(m.register_forward_pre_hook(self._enter))
            self._handles.append(m.register_forward_hook(self._leave))
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)
        self._alive.clear()
        for h in self._handles:
            h.remove()
        self._handles.clear()


def _key(t: torch.Tensor) -> int:
    """One number per storage (meta tensors have no data pointer, so not data_ptr())."""
    return int(t.untyped_storage()._cdata)
