"""A local transformers captioner run in a child process of the managed environment's Python.

The packaged app never bundles torch; ``workstation setup-training`` builds an environment that
has it (:mod:`workstation.core.training_env`).  When torch or transformers cannot be imported in
this process but that environment is installed (and always in the packaged app), the model runs
in ``training_python() -m workstation.core.autotag.caption_child`` and :class:`ChildCaptioner`
talks to it: the same ``caption`` / ``caption_many`` / ``close`` as
:class:`~workstation.core.autotag.hf_captioner.HFCaptioner`.  No multiprocessing: a frozen
``sys.executable`` is the app, not a Python that runs ``-m``.

Protocol, one JSON object per line.  The child first answers ``{"ready": MODEL_ID}`` once the
model is loaded, or ``{"error": SENTENCE, "kind": "model"}``.  Then per batch the parent sends
``{"folder": DIR, "items": [{"frames": "0.npy", "prompt": ..., "numbers": [...] | null,
"fps": ... | null, "frame_count": ... | null}]}`` (each clip's frames stacked in one ``.npy``
in a temporary folder) and the child answers ``{"captions": [...]}`` (in order) or
``{"error": SENTENCE, "kind": "oom" | "server" | "error"}``.  The child ends at end of input.
Its stdout carries only the protocol (anything the libraries print goes to stderr, which the
parent keeps in a temporary log for the sentence about a child that died).

``--factory module:function`` (tests) names what loads the captioner instead of
``HFCaptioner.load``; it is called with the model and the keyword arguments ``device``,
``max_tokens``, ``temperature`` and ``sample_fps``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, Protocol, cast

import numpy as np

from workstation.core import training_env
from workstation.core.autotag.base import (
    BatchCaptioner,
    CaptionOutOfMemory,
    CaptionServerError,
    ModelError,
)
from workstation.core.errors import WorkstationError

MODULE = "workstation.core.autotag.caption_child"
STOP_GRACE_S = 5.0
LIBRARIES = ("torch", "transformers")


class LocalCaptioner(BatchCaptioner, Protocol):
    """A local model's captioner: batches, and :meth:`close` frees its (GPU) memory."""

    def close(self) -> None: ...


def missing_here() -> list[str]:
    """Which of torch and transformers this process cannot import."""
    import importlib.util

    return [m for m in LIBRARIES if importlib.util.find_spec(m) is None]


def needs_child() -> bool:
    """Whether a local captioner must run in the managed environment's Python.

    Always in the packaged app (it never bundles torch); in a development set-up only when
    torch or transformers is missing here and the environment is installed.
    """
    if training_env.is_frozen():
        return True
    return bool(missing_here()) and training_env.installed() is not None


def missing_problem() -> str:
    """Why a local model cannot run here (for a ModelError naming the model)."""
    if training_env.is_frozen():
        return (
            "needs the training components (torch and transformers), which are not installed; "
            "choose Install training components… (Help menu) or run `workstation setup-training`"
        )
    missing = missing_here() or list(LIBRARIES)
    return (
        f"needs {' and '.join(missing)}, which are not installed; run `workstation "
        "setup-training` (or pip install torch transformers) or use an OpenAI-compatible "
        "server (LM Studio, Ollama, vLLM) with the openai backend"
    )


def local_captioner(
    model: str,
    *,
    device: str = "auto",
    max_tokens: int = 300,
    temperature: float = 0.2,
    sample_fps: float = 1.0,
) -> LocalCaptioner:
    """The local captioner for ``model``: in this process when torch is here, else in a child
    of the managed environment; a ModelError saying what to install when neither can run."""
    if needs_child():
        if training_env.installed() is None:
            raise ModelError(model, missing_problem())
        load: Callable[..., LocalCaptioner] = ChildCaptioner.start
    elif missing_here():
        raise ModelError(model, missing_problem())
    else:
        from workstation.core.autotag.hf_captioner import HFCaptioner

        load = HFCaptioner.load
    return load(
        model, device=device, max_tokens=max_tokens, temperature=temperature, sample_fps=sample_fps
    )


def child_env() -> dict[str, str]:
    """This environment plus this app's source folder first on PYTHONPATH (development)."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    source = training_env.child_pythonpath()
    if source:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


class ChildCaptioner:
    """A captioner whose model lives in a child process (see the module docstring)."""

    def __init__(self, proc: subprocess.Popen[str], log: IO[str], model: str, model_id: str):
        self.proc = proc
        self.log = log
        self.model = model
        self.model_id = model_id
        self._lock = threading.Lock()  # one request at a time; close() does not take it

    @classmethod
    def start(
        cls,
        model: str,
        *,
        device: str = "auto",
        max_tokens: int = 300,
        temperature: float = 0.2,
        sample_fps: float = 1.0,
        factory: str | None = None,
        python: str | None = None,
    ) -> ChildCaptioner:
        """Start the child and wait until it has loaded the model (or said why it cannot)."""
        argv = [python or training_env.training_python(), "-m", MODULE, "--model", model]
        argv += ["--device", device, "--max-tokens", str(max_tokens)]
        argv += ["--temperature", str(temperature), "--sample-fps", str(sample_fps)]
        if factory:
            argv += ["--factory", factory]
        # The child's stderr, kept for the sentence about a child that died; closed by close().
        log = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                encoding="utf-8",
                env=child_env(),
            )
        except OSError as exc:
            log.close()
            raise ModelError(model, f"cannot start the captioning process: {exc}") from None
        self = cls(proc, log, model, f"transformers:{model}")
        try:
            answer = self._read()
            if "ready" not in answer:
                raise ModelError(model, "the captioning process did not say it was ready")
            self.model_id = str(answer["ready"])
        except BaseException:
            self.close()
            raise
        return self

    def _died(self) -> CaptionServerError:
        code = self.proc.poll()
        if code is None:
            self.proc.kill()
            code = self.proc.wait()
        self.log.seek(0)
        lines = [line.strip() for line in self.log.read().splitlines() if line.strip()]
        last = f" (last words: {lines[-1][:300]})" if lines else ""
        return CaptionServerError(
            f"{self.model}: the captioning process stopped unexpectedly (exit code {code})"
            f"{last}; the model may need more memory than is free",
            unreachable=True,
        )

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise self._died()
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise CaptionServerError(
                f"{self.model}: the captioning process answered nonsense: {line[:200]!r}",
                unreachable=True,
            )
        if "error" in answer:
            message = str(answer["error"])
            kind = answer.get("kind")
            if kind == "model":
                raise WorkstationError(message)
            if kind == "oom":
                raise CaptionOutOfMemory(message)
            if kind == "server":
                raise CaptionServerError(message)
            raise WorkstationError(message)
        return cast("dict[str, Any]", answer)

    def caption_many(self, items: Sequence[tuple[list[np.ndarray], str]]) -> list[str]:
        with self._lock, tempfile.TemporaryDirectory(prefix="ws-caption-") as folder:
            request: list[dict[str, Any]] = []
            for n, (frames, prompt) in enumerate(items):
                if not frames:
                    raise WorkstationError("no frames to caption")
                name = f"{n}.npy"
                np.save(Path(folder) / name, np.stack(frames))
                request.append(
                    {
                        "frames": name,
                        "prompt": prompt,
                        "numbers": getattr(frames, "numbers", None),
                        "fps": getattr(frames, "fps", None),
                        "frame_count": getattr(frames, "frame_count", None),
                    }
                )
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps({"folder": folder, "items": request}) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):  # ValueError: closed meanwhile
                raise self._died() from None
            answer = self._read()
        captions = answer.get("captions")
        if not isinstance(captions, list):
            raise CaptionServerError(f"{self.model}: the captioning process sent no captions")
        return [str(c) for c in captions]

    def caption(self, frames: list[np.ndarray], prompt: str) -> str:
        text = self.caption_many([(frames, prompt)])[0]
        if not text:
            raise CaptionServerError(f"{self.model_id}: the model returned an empty caption")
        return text

    def close(self) -> None:
        """End the child (its end of input first, then terminate/kill) and free its memory."""
        proc = self.proc
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        self.log.close()

    def __enter__(self) -> ChildCaptioner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the child side ----------------------------------------------------------------------------
def _factory(spec: str | None) -> Callable[..., BatchCaptioner]:
    if not spec:
        from workstation.core.autotag.hf_captioner import HFCaptioner

        return HFCaptioner.load
    module, _, name = spec.partition(":")
    return cast("Callable[..., BatchCaptioner]", getattr(importlib.import_module(module), name))


def _frames(folder: Path, item: dict[str, Any]) -> list[np.ndarray]:
    from workstation.core.autotag.frames import SampledFrames

    images = list(np.load(folder / str(item["frames"]), allow_pickle=False))
    numbers = item.get("numbers")
    if not numbers:
        return images
    return SampledFrames(images, numbers, item.get("fps"), item.get("frame_count"))


def _answer(captioner: BatchCaptioner, request: dict[str, Any]) -> dict[str, Any]:
    try:
        folder = Path(request["folder"])
        items = [(_frames(folder, it), str(it["prompt"])) for it in request["items"]]
        return {"captions": captioner.caption_many(items)}
    except CaptionOutOfMemory as exc:
        return {"error": str(exc), "kind": "oom"}
    except CaptionServerError as exc:
        return {"error": str(exc), "kind": "server"}
    except WorkstationError as exc:
        return {"error": str(exc), "kind": "error"}
    except Exception as exc:  # one sentence for the person; the details go to the log
        import traceback

        traceback.print_exc()
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return {"error": f"{captioner.model_id}: captioning failed: {first}", "kind": "error"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=MODULE)
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-tokens", type=int, default=300)
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--sample-fps", type=float, default=1.0)
    parser.add_argument("--factory", default=None)
    args = parser.parse_args(argv)
    # The protocol owns the real stdout; whatever the libraries print goes to stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    try:
        captioner = _factory(args.factory)(
            args.model,
            device=args.device,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            sample_fps=args.sample_fps,
        )
    except WorkstationError as exc:
        send({"error": str(exc), "kind": "model"})
        return 1
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        send({"error": f"{args.model}: cannot be loaded: {first}", "kind": "model"})
        return 1
    send({"ready": captioner.model_id})
    for line in sys.stdin:
        if line.strip():
            send(_answer(captioner, json.loads(line)))
    close = getattr(captioner, "close", None)
    if callable(close):
        close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
