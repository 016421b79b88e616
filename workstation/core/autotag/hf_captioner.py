"""A local video captioner: a transformers vision-language model that takes the clip as video.

Default model: Qwen2.5-VL-3B-Instruct.  Why: it reads a real video input (frames + their
timing, so it can describe motion, not just a set of stills), it is Apache-2.0, and in bf16 it
needs about 8 GB with the video tokens of a few seconds at 1-2 fps and 448-px frames, so it fits
a 24 GB card with room to batch.  On a 12 GB card the same model works with ``sample_fps`` 1 and
``max_side`` 384 (fewer video tokens); SmolVLM2-2.2B-Instruct is the smaller fallback (about
5 GB) but describes motion less well.  Any model that ``AutoModelForImageTextToText`` loads and
whose processor takes ``videos=`` works.

torch and transformers are imported inside the functions that need them (the GUI starts fast).
A model is loaded from a local folder or from the Hugging Face cache; with ``HF_HUB_OFFLINE``
set nothing is downloaded (``local_files_only=True``).  :meth:`HFCaptioner.close` frees the GPU
memory; :func:`caption_and_free` runs the captioning stage and always closes the model.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from workstation.core.autotag.base import (
    CaptionOutOfMemory,
    CaptionServerError,
    CaptionSettings,
    CaptionSummary,
    ModelError,
)
from workstation.core.errors import WorkstationError
from workstation.core.progress import Progress, Stage
from workstation.core.store import AUTOTAG_DEVICE, DEVICES, Project

if TYPE_CHECKING:
    from transformers import BatchFeature

DEFAULT_HF_CAPTION_MODEL = "Qwen/Qwen2.5-VL-3B-Instruct"
SMALL_HF_CAPTION_MODEL = "HuggingFaceTB/SmolVLM2-2.2B-Instruct"
HF_CAPTION_MODELS: tuple[str, ...] = (DEFAULT_HF_CAPTION_MODEL, SMALL_HF_CAPTION_MODEL)


def avoid_triton_llvm_clash() -> bool:
    """Keep triton out when Mesa's libLLVM is already loaded in this process.

    The GUI's video player opens an OpenGL context; with Mesa (llvmpipe, AMD/Intel drivers)
    that maps Mesa's libLLVM, and loading triton's own LLVM afterwards crashes the process
    (segfault in triton/_C).  Captioning runs the model eagerly and never needs triton (it is
    only for torch.compile kernels), so when Mesa's LLVM is present triton is marked missing
    and torch carries on without it.  Returns whether it was blocked.
    """
    if "triton" in sys.modules:
        return sys.modules["triton"] is None
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            clash = any("libLLVM" in line for line in maps)
    except OSError:  # not Linux: no Mesa LLVM clash known there
        return False
    if clash:
        sys.modules["triton"] = None  # type: ignore[assignment]  # import triton -> ImportError
    return clash


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def choose_device(device: str = "auto") -> tuple[str, str]:
    """(torch device, dtype name): bf16 on a CUDA card that supports it, fp16 on other CUDA
    cards (half the memory of fp32), fp32 on the CPU (CPU half precision is slow or missing)."""
    import torch

    if device not in DEVICES:
        raise WorkstationError(f"device: {device!r} is not one of {', '.join(DEVICES)}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("cuda", "no CUDA GPU is available to torch; choose CPU or auto")
    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return "cpu", "float32"
    return "cuda", "bfloat16" if torch.cuda.is_bf16_supported() else "float16"


def check_model_source(model: str) -> Path | None:
    """The local folder ``model`` names (checked), or None when it is a hub id."""
    path = Path(model).expanduser()
    looks_local = path.is_absolute() or model.startswith(".") or path.exists()
    if not looks_local:
        if model.count("/") != 1:
            raise ModelError(model, "is neither a model folder nor a Hugging Face id (owner/name)")
        return None
    if not path.is_dir():
        raise ModelError(path, "no such model folder")
    if not (path / "config.json").is_file():
        raise ModelError(path, "has no config.json: not a transformers model folder")
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise ModelError(path, "has no weights (*.safetensors or *.bin)")
    return path


class HFCaptioner:
    """One loaded VLM + processor; :meth:`caption` turns frames + prompt into a caption."""

    def __init__(
        self,
        model: Any,  # the classes transformers' Auto factories chose for this model
        processor: Any,
        *,
        model_id: str,
        device: str,
        dtype: str,
        max_tokens: int = 300,
        temperature: float = 0.2,
        sample_fps: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self.model = model
        self.processor = processor
        self.model_id = model_id
        self.device = device
        self.dtype = dtype
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.sample_fps = sample_fps
        self.seed = seed
        # Set by close(): a generate still running in the stage's request thread (after a
        # cancel) stops at its next token instead of holding the GPU until it finishes.
        self.stop = threading.Event()

    @classmethod
    def load(
        cls,
        model: str,
        *,
        device: str = "auto",
        max_tokens: int = 300,
        temperature: float = 0.2,
        sample_fps: float = 1.0,
    ) -> HFCaptioner:
        """Load from a folder or the HF cache; every failure is one ModelError naming it."""
        source = check_model_source(model)
        avoid_triton_llvm_clash()
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError as exc:
            raise ModelError(
                model, f"needs torch and transformers ({exc}); pip install torch transformers"
            ) from None
        where = str(source) if source is not None else model
        dev, dtype = choose_device(device)
        local_only = source is not None or offline()
        try:
            # AutoProcessor is untyped in transformers; both objects' classes depend on the model.
            processor: Any = AutoProcessor.from_pretrained(where, local_files_only=local_only)  # type: ignore[no-untyped-call]
            net: Any = AutoModelForImageTextToText.from_pretrained(
                where, dtype=getattr(torch, dtype), local_files_only=local_only
            )
        except OSError as exc:
            if source is None and local_only:
                raise ModelError(
                    model,
                    "is not in the Hugging Face cache and HF_HUB_OFFLINE is "
                    "set; download it in the Models view (or `hf download "
                    f"{model}`) while online",
                ) from None
            raise ModelError(where, f"cannot be loaded: {_first_line(exc)}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                where,
                "is not a video-capable vision-language model that "
                f"transformers can load: {_first_line(exc)}",
            ) from None
        if not hasattr(processor, "video_processor") or processor.video_processor is None:
            raise ModelError(
                where,
                "its processor takes no video input; choose a video VLM "
                f"such as {DEFAULT_HF_CAPTION_MODEL}",
            )
        try:
            net.to(dev)
        except torch.cuda.OutOfMemoryError:
            del net
            free_gpu()
            raise ModelError(
                where,
                "does not fit in the GPU's memory; close other GPU jobs, "
                f"choose CPU or a smaller model ({SMALL_HF_CAPTION_MODEL})",
            ) from None
        net.eval()
        return cls(
            net,
            processor,
            model_id=f"transformers:{model}",
            device=dev,
            dtype=dtype,
            max_tokens=max_tokens,
            temperature=temperature,
            sample_fps=sample_fps,
        )

    def _inputs(self, items: Sequence[tuple[list[np.ndarray], str]]) -> BatchFeature:
        proc = self.processor
        texts: list[str] = []
        videos: list[np.ndarray] = []
        metadata: list[dict[str, Any]] = []
        for frames, prompt in items:
            if not frames:
                raise WorkstationError("no frames to caption")
            messages = [
                {"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]}
            ]
            texts.append(
                proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            )
            # Same-size frames: the sampler scales every frame of a clip alike.
            videos.append(np.stack(frames))
            metadata.append(video_metadata(frames, self.sample_fps))
        if len(items) > 1:
            proc.tokenizer.padding_side = "left"  # generation continues every row at its end
        batch: BatchFeature = proc(
            text=texts,
            videos=videos,
            padding=True,
            return_tensors="pt",
            # The frames are already sampled; the metadata says when they were taken (without
            # it transformers assumes 24 fps and an 8 s clip reads as a third of a second).
            videos_kwargs={"do_sample_frames": False, "video_metadata": metadata},
        )
        return batch

    def caption_many(self, items: Sequence[tuple[list[np.ndarray], str]]) -> list[str]:
        """Caption several clips in one batch (the processor pads them to one length)."""
        import torch

        inputs = self._inputs(items).to(self.device)
        if self.seed is not None:
            torch.manual_seed(self.seed)
        from transformers import StoppingCriteria, StoppingCriteriaList

        stop = self.stop

        class _Stop(StoppingCriteria):
            def __call__(
                self,
                input_ids: torch.LongTensor,
                scores: tuple[torch.Tensor] | None,
                **kwargs: object,
            ) -> torch.BoolTensor:
                done = torch.full(
                    (input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device
                )
                return cast("torch.BoolTensor", done)

        sample = self.temperature > 0
        extra = {"temperature": self.temperature} if sample else {}
        model = self.model
        if model is None:
            raise WorkstationError(f"{self.model_id}: the model was closed")
        try:
            with torch.inference_mode():
                out = model.generate(
                    **inputs,
                    max_new_tokens=self.max_tokens,
                    do_sample=sample,
                    stopping_criteria=StoppingCriteriaList([_Stop()]),
                    **extra,
                )
        except torch.cuda.OutOfMemoryError:
            del inputs
            free_gpu()
            what = "this clip" if len(items) == 1 else f"a batch of {len(items)} clips"
            raise CaptionOutOfMemory(
                f"{self.model_id}: out of GPU memory on {what}; lower the sampled fps, the "
                "maximum frames or the frame size, or choose a smaller model"
            ) from None
        new = out[:, inputs["input_ids"].shape[1] :]
        texts = self.processor.batch_decode(new, skip_special_tokens=True)
        return [t.strip() for t in texts]

    def caption(self, frames: list[np.ndarray], prompt: str) -> str:
        text = self.caption_many([(frames, prompt)])[0]
        if not text:
            raise CaptionServerError(f"{self.model_id}: the model returned an empty caption")
        return text

    def close(self) -> None:
        """Drop the model and give its GPU memory back (the next GPU job needs it)."""
        self.stop.set()
        self.model = None
        self.processor = None
        free_gpu()


def video_metadata(frames: Sequence[np.ndarray], sample_fps: float) -> dict[str, Any]:
    """transformers' ``VideoMetadata`` fields for frames sampled from a clip.

    The video processors place frames in time from it: Qwen2.5-VL's ``second_per_grid_ts``
    is ``temporal_patch_size / sampled_fps`` with ``sampled_fps = len(frames_indices) /
    total_num_frames * fps``; Qwen3-VL and SmolVLM2 write ``frames_indices / fps`` seconds
    into the prompt.  So ``fps`` is the clip's own rate and ``frames_indices`` the clip frames
    taken.  Frames without their timing (a plain list) are taken as consecutive frames of a
    video at ``sample_fps``.
    """
    n = len(frames)
    numbers = getattr(frames, "numbers", None)
    fps = getattr(frames, "fps", None)
    if not numbers or len(numbers) != n or not fps or fps <= 0:
        numbers, fps, total = list(range(n)), float(sample_fps), n
    else:
        numbers = [int(i) for i in numbers]
        total = getattr(frames, "frame_count", None) or numbers[-1] + 1
        total = max(int(total), numbers[-1] + 1)
    return {
        "total_num_frames": total,
        "fps": float(fps),
        "frames_indices": numbers,
        "duration": total / float(fps),
    }


def free_gpu() -> None:
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def caption_and_free(
    project: Project,
    clip_ids: Sequence[int] | None,
    settings: CaptionSettings,
    *,
    device: str = "auto",
) -> Stage[CaptionSummary]:
    """The captioning stage with a local model that is freed when the stage ends (done,
    failed or cancelled), so a later tagging or training job gets the GPU memory.  Without
    torch in this process (the packaged app) the model runs in a child process of the
    managed training environment (:mod:`~workstation.core.autotag.caption_child`)."""
    from workstation.core.autotag.caption_child import local_captioner
    from workstation.core.autotag.captioning import caption_clips

    model = settings.model or DEFAULT_HF_CAPTION_MODEL
    yield Progress("caption", 0, 0, "", f"loading {model}")
    # In this process, or in the managed environment's Python when torch is not here.
    captioner = local_captioner(
        model,
        device=device,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        sample_fps=settings.sample_fps,
    )
    try:
        return (yield from caption_clips(project, clip_ids, settings, captioner=captioner))
    finally:
        captioner.close()
        del captioner
        free_gpu()


def save_device(project: Project, device: str) -> None:
    """Remember the device choice (auto/cpu/cuda) in the project's autotag settings."""
    if device not in DEVICES:
        raise WorkstationError(f"device: {device!r} is not one of {', '.join(DEVICES)}")
    project.put(AUTOTAG_DEVICE, device)


def load_device(project: Project) -> str:
    return project.get(AUTOTAG_DEVICE)
