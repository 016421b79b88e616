"""The training child process: ``python -m workstation.train.run`` (or ``accelerate launch``).

stdout carries ONLY events, one JSON object per line (see :mod:`workstation.train.launch`);
:func:`main` points file descriptor 1 at stderr before anything is imported, so logs, warnings,
tqdm bars and stray prints of any library (C code too) end up on stderr.

The loop is the diffusers-examples shape: accelerate (real gradient accumulation, mixed
precision, multi-GPU through a config file), ``checkpoint-N`` folders holding only the trainable
weights plus optimizer/scheduler/RNG state, pruning, ``--resume latest``.  :func:`train` is
that loop with its set-up, one long function on purpose (it reads top to bottom like the
examples); what stands apart from it lives beside it: ``checks`` (settings, error events),
``resume`` (checkpoint folders, the resumed data order), ``latents`` (``--cache-latents``) and
``outputs`` (the exported motion module).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import logging
import math
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workstation.core.errors import WorkstationError
from workstation.train import checkpointing
from workstation.train.buckets import counts, describe
from workstation.train.checks import _check, _mixed_precision, _preflight, error_event
from workstation.train.latents import _cache_latents
from workstation.train.launch import (
    TrainSettings,
    add_arguments,
    save_settings,
    settings_from_args,
)
from workstation.train.outputs import export_outputs
from workstation.train.resume import checkpoints, resume_position

log = logging.getLogger("workstation.train")

Emit = Callable[[dict[str, Any]], None]


def train(
    s: TrainSettings, emit: Emit, *, on_batch: Callable[[dict[str, list]], None] | None = None
) -> dict[str, Any]:
    """Train as ``s`` says, sending events to ``emit`` (main process only); returns the
    "done" event. ``on_batch`` gets each batch trained on (this process) as ``{"index": clip
    indices, "window": [start frame, crop x, crop y, flipped] per clip}`` (cached latents:
    [window number, 0, 0, 0]), so tests can check
    that a resumed run sees the same data, crops included, as an uninterrupted one."""
    _check(s)
    _preflight(s)
    import torch
    import torch.nn.functional as F
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration, set_seed
    from diffusers.optimization import get_scheduler
    from diffusers.training_utils import cast_training_params

    from workstation.train import data, models
    from workstation.train.attention import check_device, use_attention
    from workstation.train.motion_norm import describe_norms
    from workstation.train.samples import render_validation, write_sanity

    output = Path(s.output)
    output.mkdir(parents=True, exist_ok=True)
    mp = _mixed_precision(s.mixed_precision)
    # TensorBoard beside the JSON lines, through accelerate's tracker, when it is installed.
    log_with = "tensorboard" if importlib.util.find_spec("tensorboard") else None
    accelerator = Accelerator(
        gradient_accumulation_steps=s.grad_accum,
        mixed_precision=mp,
        log_with=log_with,
        project_config=ProjectConfiguration(
            project_dir=str(output), logging_dir=str(output / "logs")
        ),
    )
    main = accelerator.is_main_process
    device = accelerator.device
    check_device(s.attention, device)

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        record = {"event": kind, **fields}
        if main:
            emit(record)
        return record

    set_seed(s.seed)

    # -- data ------------------------------------------------------------------------------
    entries = data.read_export(s.dataset)
    usable, skipped = data.scan_clips(entries, s.frames, s.stride, s.target_fps, s.short_clips)
    usable = data.assign_sizes(usable, s.resolution, s.bucket_step, s.aspect_buckets)
    if not usable:
        raise WorkstationError(
            f"{s.dataset}: none of the {len(entries)} clips can be used "
            f"({skipped[0].path.name}: {skipped[0].problem}); --frames "
            f"{s.frames} needs clips of at least {s.frames} frames"
        )

    # -- models ----------------------------------------------------------------------------
    base = models.load_base(s.base_model, s.base_config)
    adapter, described = models.load_motion_adapter(s.motion_module, base.unet, s.fresh_version)
    adapter_config = dict(adapter.config)
    max_len = adapter.config["motion_max_seq_length"]
    if s.frames > max_len:
        raise WorkstationError(
            f"--frames {s.frames}: this motion module handles at most {max_len} frames"
        )
    unet = models.build_motion_unet(base.unet, adapter)
    del adapter
    lora_scale = s.lora_alpha / s.lora_rank
    if s.mode == "lora":
        models.add_motion_lora(unet, s.lora_rank, s.lora_alpha)
    use_attention(unet, s.attention)  # spatial and motion attention alike
    vae, text_encoder, tokenizer = base.vae, base.text_encoder, base.tokenizer
    vae.requires_grad_(False)
    text_encoder.requires_grad_(False)
    if s.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
        checkpointing.checkpoint_motion_modules(unet)  # diffusers leaves the motion modules out
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mp, torch.float32)
    # Frozen weights in half precision, trained ones in fp32 (autocast computes in half).
    networks: tuple[torch.nn.Module, ...] = (unet, vae, text_encoder)
    for model in networks:
        model.to(device)
        if weight_dtype != torch.float32:
            model.to(dtype=weight_dtype)
    cast_training_params(unet, dtype=torch.float32)
    noise_scheduler = models.training_scheduler()
    trainable = [p for p in unet.parameters() if p.requires_grad]
    trainable_names = {n for n, p in unet.named_parameters() if p.requires_grad}
    fresh = not s.motion_module
    lr = s.learning_rate or (1e-4 if fresh or s.mode == "lora" else 2e-5)

    if s.adam_8bit:
        try:
            import bitsandbytes as bnb
        except ImportError:
            raise WorkstationError(
                "--adam-8bit needs the bitsandbytes package (pip install "
                "bitsandbytes; it runs on NVIDIA GPUs only)"
            ) from None
        optimizer_cls = bnb.optim.AdamW8bit
    else:
        optimizer_cls = torch.optim.AdamW
    optimizer = optimizer_cls(trainable, lr=lr, betas=(0.9, 0.999), weight_decay=1e-2, eps=1e-8)
    lr_scheduler = get_scheduler(
        "constant_with_warmup",
        optimizer,
        num_warmup_steps=s.lr_warmup_steps * accelerator.num_processes,
        num_training_steps=s.max_steps * accelerator.num_processes,
    )

    def encode_pixels(pixels: torch.Tensor) -> torch.Tensor:
        """(B, F, 3, H, W) in [-1, 1] -> latents (B, 4, F, h, w), scaled."""
        b, f = pixels.shape[:2]
        flat = pixels.flatten(0, 1).to(device, dtype=weight_dtype)
        lat = torch.cat([vae.encode(chunk).latent_dist.sample() for chunk in flat.split(16)])
        lat = lat * vae.config["scaling_factor"]
        return lat.unflatten(0, (b, f)).permute(0, 2, 1, 3, 4)

    dataset = data.ClipDataset(
        usable,
        frames=s.frames,
        resolution=s.resolution,
        hflip=s.hflip,
        caption_dropout=s.caption_dropout,
        seed=s.seed,
    )
    if s.cache_latents:
        dataset = _cache_latents(usable, s, encode_pixels, str(weight_dtype))
    loader, batches_of = data.bucket_loader(dataset, s.batch_size, s.seed, s.num_workers)

    # -- checkpoints hold the trainable weights only (not the frozen 2D UNet) ---------------
    def save_hook(models_, weights, output_dir):
        from workstation.train.convert import save_safetensors

        if main:
            for m in models_:
                sd = {
                    k: v
                    for k, v in accelerator.unwrap_model(m).state_dict().items()
                    if k in trainable_names
                }
                save_safetensors(sd, Path(output_dir) / "trainable.safetensors")
        while weights:
            weights.pop()

    def load_hook(models_, input_dir):
        from safetensors.torch import load_file

        path = Path(input_dir) / "trainable.safetensors"
        if not path.exists():
            raise WorkstationError(
                f"{input_dir}: not a checkpoint of this trainer (no trainable.safetensors)"
            )
        sd = load_file(str(path))
        while models_:
            m = accelerator.unwrap_model(models_.pop())
            missing = trainable_names - set(sd)
            if missing:
                raise WorkstationError(
                    f"{path}: does not match this run's model ({len(missing)} "
                    f"trained weights missing, e.g. {sorted(missing)[0]}); "
                    "was it written with another --mode or motion module?"
                )
            m.load_state_dict(sd, strict=False)

    accelerator.register_save_state_pre_hook(save_hook)
    accelerator.register_load_state_pre_hook(load_hook)
    unet, optimizer, loader, lr_scheduler = accelerator.prepare(
        unet, optimizer, loader, lr_scheduler
    )

    start_step = 0
    resumed_from = None
    if s.resume:
        found = checkpoints(output) if s.resume == "latest" else [Path(s.resume)]
        if found and found[-1].is_dir():
            resumed_from = found[-1]
            accelerator.load_state(str(resumed_from))
            start_step = int(resumed_from.name.rsplit("-", 1)[-1])
        elif s.resume == "latest":
            log.info("no checkpoint in %s yet: starting from step 0", output)
        else:
            raise WorkstationError(f"--resume {s.resume}: checkpoint folder not found")

    if main:
        save_settings(s, output / "train_settings.json")
    if log_with:
        accelerator.init_trackers("train", config=_tracker_config(s))
    prompts = s.sample_prompts or _default_prompts(usable)
    samples_dir = output / "samples"
    sample_fps = s.target_fps or 8.0
    event(
        "start",
        step=start_step,
        max_steps=s.max_steps,
        clips=len(usable),
        buckets=counts(dataset.buckets()),
        bucket_summary=describe(dataset.buckets()),
        skipped=[{"path": str(x.path), "problem": x.problem} for x in skipped],
        trainable_params=sum(p.numel() for p in trainable),
        mode=s.mode,
        motion_module=described,
        group_norm=describe_norms(adapter_config),
        mixed_precision=mp,
        attention=s.attention,
        device=str(device),
        processes=accelerator.num_processes,
        learning_rate=lr,
        resumed_from=str(resumed_from) if resumed_from else None,
        tensorboard=str(output / "logs" / "train") if log_with else None,
        message=f"training {described} ({s.mode}) on {len(usable)} clips",
    )

    def checkpoint(step: int) -> None:
        accelerator.wait_for_everyone()
        final = output / f"checkpoint-{step}"
        tmp = output / f".checkpoint-{step}.tmp"
        if main and tmp.exists():
            shutil.rmtree(tmp)
        accelerator.save_state(str(tmp))
        accelerator.wait_for_everyone()
        if not main:
            return
        (tmp / "step.json").write_text(json.dumps({"step": step}))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        removed = []
        for old in checkpoints(output)[: -s.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(str(old))
        event("checkpoint", step=step, path=str(final), removed=removed)

    def sample(step: int) -> None:
        if main:
            with accelerator.autocast():
                written = render_validation(
                    accelerator.unwrap_model(unet),
                    vae,
                    text_encoder,
                    tokenizer,
                    prompts,
                    frames=s.frames,
                    resolution=s.resolution,
                    steps=s.sample_steps,
                    seed=s.sample_seed,
                    device=device,
                    folder=samples_dir,
                    step=step,
                    fps=sample_fps,
                )
            for prompt, path in written:
                event("sample", step=step, path=str(path), prompt=prompt)
        accelerator.wait_for_everyone()

    # -- the loop ----------------------------------------------------------------------------
    step = start_step
    unet.train()
    timer_start = time.monotonic()
    sec_per_step: float | None = None
    losses: list[float] = []
    sanity_done = start_step > 0
    # A resume continues the epoch it stopped in: same order, the batches already trained on
    # skipped without being loaded.
    epoch, skip = resume_position(start_step, len(loader), s.grad_accum)
    while step < s.max_steps:
        loader.set_epoch(epoch)
        dataset.set_epoch(epoch)
        batches_of.set_epoch(epoch)
        batches = loader
        if skip:
            batches = accelerator.skip_first_batches(loader, skip)
            batches.set_epoch(epoch)
            skip = 0
        epoch += 1
        for batch in batches:
            if on_batch is not None:
                on_batch({k: batch[k].tolist() for k in ("index", "window") if k in batch})
            with accelerator.accumulate(unet):
                with torch.no_grad():
                    if "latents" in batch:
                        latents = batch["latents"].to(device, dtype=weight_dtype)
                    else:
                        latents = encode_pixels(batch["pixels"])
                    ids = tokenizer(
                        batch["caption"],
                        padding="max_length",
                        truncation=True,
                        max_length=tokenizer.model_max_length,
                        return_tensors="pt",
                    ).input_ids.to(device)
                    text = text_encoder(ids)[0]
                if not sanity_done and main:
                    write_sanity(batch, latents, vae, samples_dir, event, sample_fps)
                sanity_done = True
                b, _, f = latents.shape[:3]
                noise = torch.randn_like(latents)
                timesteps = torch.randint(
                    0, noise_scheduler.config["num_train_timesteps"], (b,), device=device
                ).long()
                # diffusers types the timesteps as the legacy torch.IntTensor; any integer
                # tensor is what it takes.
                noisy = noise_scheduler.add_noise(latents, noise, timesteps)  # type: ignore[arg-type]
                with accelerator.autocast():
                    pred = unet(
                        noisy, timesteps, encoder_hidden_states=text.repeat_interleave(f, 0)
                    ).sample
                loss = F.mse_loss(pred.float(), noise.float(), reduction="mean")
                losses.append(accelerator.gather(loss.detach().repeat(b)).mean().item())
                accelerator.backward(loss)
                if accelerator.sync_gradients and s.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(trainable, s.max_grad_norm)
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            if not accelerator.sync_gradients:
                continue
            step += 1
            now = time.monotonic()
            took = now - timer_start
            timer_start = now
            sec_per_step = took if sec_per_step is None else 0.9 * sec_per_step + 0.1 * took
            loss_value = sum(losses) / len(losses)
            losses.clear()
            if not math.isfinite(loss_value):
                raise WorkstationError(
                    f"the loss became {loss_value} at step {step}: lower "
                    f"--learning-rate (now {lr:g}) or use --mixed-precision bf16"
                )
            event(
                "step",
                step=step,
                max_steps=s.max_steps,
                loss=round(loss_value, 6),
                lr=lr_scheduler.get_last_lr()[0],
                sec_per_step=round(sec_per_step, 4),
                eta_s=round(sec_per_step * (s.max_steps - step), 1),
                **_gpu_memory(),
            )
            if log_with:
                accelerator.log({"loss": loss_value, "lr": lr_scheduler.get_last_lr()[0]}, step)
            if s.checkpoint_every and step % s.checkpoint_every == 0:
                checkpoint(step)
            if s.sample_every and step % s.sample_every == 0:
                sample(step)
            timer_start = time.monotonic()  # sec/step and the ETA leave saving/sampling out
            if step >= s.max_steps:
                break

    # -- the end: a resumable checkpoint, samples, and files that load everywhere ----------
    if not (s.checkpoint_every and step % s.checkpoint_every == 0) and step > start_step:
        checkpoint(step)
    if not (s.sample_every and step % s.sample_every == 0):
        sample(step)
    result = {"step": step, "path": str(output)}
    if main:
        result.update(
            export_outputs(
                accelerator.unwrap_model(unet),
                adapter_config,
                output,
                s.mode,
                lora_scale,
                described,
            )
        )
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return event("done", message=f"trained to step {step}", **result, **_gpu_memory())


def _gpu_memory() -> dict[str, float]:
    """Peak GPU memory so far (GiB, this process), for the step and done events."""
    import torch

    if not torch.cuda.is_available():
        return {}
    return {"gpu_peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}


def _tracker_config(s: TrainSettings) -> dict[str, Any]:
    """The settings as TensorBoard's hyperparameters take them (scalars and text only)."""
    out: dict[str, Any] = {}
    for key, value in dataclasses.asdict(s).items():
        out[key] = value if isinstance(value, int | float | str | bool) else json.dumps(value)
    return out


def _default_prompts(clips) -> list[str]:
    captions = []
    for c in clips:
        if c.caption and c.caption not in captions:
            captions.append(c.caption)
        if len(captions) == 2:
            break
    return captions or ["a video"]


def _event_stream() -> Emit:
    """Keep the real stdout for events and point fd 1 at stderr for everything else."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)

    def emit(record: dict[str, Any]) -> None:
        out.write(json.dumps(record, default=str) + "\n")
        out.flush()

    return emit


def main(argv: list[str] | None = None) -> int:
    emit = _event_stream()
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    parser = argparse.ArgumentParser(
        prog="python -m workstation.train.run",
        description="Motion-module training (JSON lines on stdout)",
    )
    add_arguments(parser, for_child=True)
    settings = settings_from_args(parser.parse_args(argv))
    rank0 = os.environ.get("RANK", "0") == "0"
    try:
        train(settings, emit)
        return 0
    except BaseException as exc:
        record = error_event(exc, settings)
        if record["kind"] in ("oom", "internal"):
            traceback.print_exc()
        if rank0:
            emit(record)
        return 1


if __name__ == "__main__":
    sys.exit(main())
