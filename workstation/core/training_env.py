"""The managed training environment: torch and the training libraries, installed on first use.

The packaged app never bundles torch (2-6 GB, and the right build depends on the GPU driver).
``workstation setup-training`` and the window's "Install training components…" build a Python
environment of its own in the user's data folder (``$XDG_DATA_HOME/motion-dataset-workstation/
training-env``) with `uv <https://docs.astral.sh/uv/>`_ (bundled with the app; from PyPI in a
development set-up), picking the PyTorch build from the driver that ``nvidia-smi`` reports.
Training is then launched with that environment's Python (:func:`training_python`), also in a
development set-up when the environment exists.

The environment counts as installed only once :data:`MARKER` is written, at the very end: a
cancelled or failed build leaves no marker, and the next build (or ``--repair``) starts the
folder afresh.  :func:`build` is a stage (a generator yielding Progress): closing it between
yields stops the running ``uv`` and removes the half-built folder.

Which package index serves each PyTorch build: ``https://download.pytorch.org/whl/<variant>``;
``WORKSTATION_TORCH_INDEX`` overrides it (``default`` = only the indexes uv is configured with,
e.g. ``UV_INDEX_URL``/``UV_FIND_LINKS`` — PyPI's Linux torch wheel is a CUDA build that also
runs on the CPU).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from workstation.core import atomic
from workstation.core.errors import WorkstationError
from workstation.core.progress import Progress, Stage
from workstation.core.settings import data_dir

ENV_DIR = "training-env"
MARKER = "workstation-training-env.json"
VARIANTS = ("cu130", "cu128", "cu126", "cpu")
#: The training libraries, pinned like the project's ``train`` extra (pyproject.toml), plus the
#: core libraries the training child imports.
TORCH = ("torch==2.14.1", "torchvision==0.29.1")
LIBRARIES = (
    "diffusers>=0.42",
    "accelerate>=1.10",
    "transformers>=4.45",
    "peft>=0.17",
    "safetensors>=0.4",
    "tensorboard>=2.15",
    "numpy>=1.26",
    "av>=14",
    "pillow>=10",
    "tqdm>=4.66",
    "huggingface_hub>=0.23",
)
#: Minimum driver for each CUDA build (NVIDIA's CUDA toolkit release notes, table 3).
MIN_DRIVER = {"cu130": (580, 65), "cu128": (570, 26), "cu126": (560, 28)}
TORCH_INDEX = "https://download.pytorch.org/whl/{variant}"
STAGE = "training components"
HEARTBEAT_S = 0.5  # longest wait for uv output before a yield (cancel is checked at yields)


@dataclass(frozen=True)
class EnvInfo:
    """What :data:`MARKER` records about a finished environment."""

    variant: str
    torch: str
    cuda_available: bool
    python: str
    size_bytes: int
    seconds: float
    app_version: str


def app_version() -> str:
    """This app's version (its package metadata; the packaged app ships it too)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("motion-dataset-workstation")
    except PackageNotFoundError:
        return "unknown"


def env_dir() -> Path:
    """Where the managed environment lives (``WORKSTATION_TRAINING_ENV`` overrides it)."""
    override = os.environ.get("WORKSTATION_TRAINING_ENV")
    return Path(override) if override else data_dir() / ENV_DIR


def env_python(folder: Path | None = None) -> Path:
    folder = env_dir() if folder is None else folder
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def installed(folder: Path | None = None) -> EnvInfo | None:
    """The finished environment's record, or None (never built, half-built, damaged)."""
    folder = env_dir() if folder is None else folder
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        info = EnvInfo(**data)
    except (OSError, ValueError, TypeError):
        return None
    return info if env_python(folder).exists() else None


def is_frozen() -> bool:
    """True in the packaged app (PyInstaller): ``sys.executable`` is the app, not Python."""
    return bool(getattr(sys, "frozen", False))


def training_python() -> str:
    """The Python that runs training, captioning and TransNetV2 child processes.

    The managed environment's when it is installed; otherwise this interpreter in a development
    set-up.  The packaged app without it raises a WorkstationError saying how to install it.
    """
    if installed() is not None:
        return str(env_python())
    if is_frozen():
        raise WorkstationError(
            "Training components are not installed: choose Help > Install training "
            "components… or run `workstation setup-training`."
        )
    return sys.executable


def child_pythonpath() -> str | None:
    """The folder holding this app's ``workstation`` package, for a child that runs it.

    None in the packaged app: the managed environment has the app's own wheel installed.
    """
    if is_frozen():
        return None
    return str(Path(__file__).resolve().parents[2])


def parse_driver(text: str) -> tuple[int, int] | None:
    """``570.133.20`` -> (570, 133); None for anything else."""
    match = re.match(r"\s*(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2])) if match else None


def variant_for_driver(driver: tuple[int, int] | None) -> str:
    """The newest CUDA build the driver runs; ``cpu`` without a (new enough) driver."""
    if driver is None:
        return "cpu"
    for variant in VARIANTS[:-1]:
        if driver >= MIN_DRIVER[variant]:
            return variant
    return "cpu"


def detect_driver(nvidia_smi: str = "nvidia-smi") -> tuple[int, int] | None:
    """The NVIDIA driver version ``nvidia-smi`` reports (first GPU), None when there is none."""
    exe = shutil.which(nvidia_smi)
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_driver(out.stdout) if out.returncode == 0 else None


def choose_variant(cuda: str = "auto") -> str:
    if cuda == "auto":
        return variant_for_driver(detect_driver())
    if cuda not in VARIANTS:
        raise WorkstationError(f"--cuda: {cuda!r} is not one of auto, {', '.join(VARIANTS)}.")
    return cuda


def find_uv() -> str:
    """The ``uv`` to build with: ``WORKSTATION_UV``, the one next to this app, or on PATH."""
    candidates = [os.environ.get("WORKSTATION_UV", "")]
    exe_dir = Path(sys.executable).parent
    candidates += [str(exe_dir / "uv"), str(exe_dir / "_internal" / "bin" / "uv")]
    candidates.append(shutil.which("uv") or "")
    for path in candidates:
        if path and os.access(path, os.X_OK) and Path(path).is_file():
            return path
    raise WorkstationError(
        "uv was not found: it comes with the packaged app; in a development set-up run "
        "`pip install uv` (or set WORKSTATION_UV to its path)."
    )


def base_python() -> str:
    """The Python the environment is made from (the same minor version as this app's)."""
    override = os.environ.get("WORKSTATION_TRAINING_PYTHON")
    if override:
        return override
    if not is_frozen():
        return sys.executable
    return shutil.which("python3") or f"{sys.version_info.major}.{sys.version_info.minor}"


def app_wheel() -> Path | None:
    """The packaged app's own wheel (installed into the environment so it can run training)."""
    folder = Path(getattr(sys, "_MEIPASS", "")) / "wheels"
    wheels = sorted(folder.glob("motion_dataset_workstation-*.whl")) if is_frozen() else []
    return wheels[-1] if wheels else None


def torch_index_args(variant: str) -> list[str]:
    index = os.environ.get("WORKSTATION_TORCH_INDEX", TORCH_INDEX)
    if index == "default":
        return []
    return ["--index", index.format(variant=variant)]


def commands(uv: str, folder: Path, variant: str, python: str) -> list[tuple[str, list[str]]]:
    """Each step's label and command line (what ``--dry-run`` prints)."""
    target = ["--python", str(env_python(folder))]
    steps = [
        ("creating the environment", [uv, "venv", "--seed", "--python", python, str(folder)]),
        (
            f"installing PyTorch ({variant})",
            [uv, "pip", "install", *target, *torch_index_args(variant), *TORCH],
        ),
        ("installing the training libraries", [uv, "pip", "install", *target, *LIBRARIES]),
    ]
    wheel = app_wheel()
    if wheel is not None:
        steps.append(
            (
                "installing the app's training code",
                [uv, "pip", "install", *target, "--no-deps", str(wheel)],
            )
        )
    return steps


CHECK = (
    "import json, torch, torchvision, diffusers, transformers, accelerate; "
    "print(json.dumps({'torch': torch.__version__, 'cuda': torch.cuda.is_available()}))"
)


def folder_size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    """Forward the process's non-empty output lines, then None at its end."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip():
            lines.put(line.strip())
    lines.put(None)


def _run(label: str, argv: Sequence[str], step: int, total: int) -> Iterator[Progress]:
    """Run one command, yielding a Progress per output line; killed when the stage is closed."""
    try:
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env={**os.environ, "UV_NO_PROGRESS": "1", "NO_COLOR": "1"},
        )
    except OSError as exc:
        raise WorkstationError(f"{argv[0]}: cannot start: {atomic.os_problem(exc)}.") from exc
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc, lines), daemon=True).start()
    tail: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=HEARTBEAT_S)
            except queue.Empty:  # uv is silent (a download): a yield, so a cancel is seen
                yield Progress(STAGE, step, total, item=label)
                continue
            if line is None:
                break
            tail = [*tail[-9:], line]
            yield Progress(STAGE, step, total, item=label, message=line)
        code = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if code != 0:
        errors = [t for t in tail if t.lower().startswith(("error", "×"))]
        detail = (errors or tail or ["no output"])[-1]  # uv's own error, not a closing hint
        raise WorkstationError(f"Installing training components failed while {label}: {detail}")


def build(
    cuda: str = "auto", *, repair: bool = False, folder: Path | None = None
) -> Stage[EnvInfo]:
    """Build (or with ``repair``, rebuild) the managed environment; returns its record."""
    folder = env_dir() if folder is None else folder
    variant = choose_variant(cuda)
    existing = installed(folder)
    if existing is not None and not repair and existing.variant == variant:
        yield Progress(STAGE, 1, 1, message=f"already installed ({existing.torch})")
        return existing
    uv, python = find_uv(), base_python()
    steps = commands(uv, folder, variant, python)
    total = len(steps) + 1
    start = time.monotonic()
    _remove(folder)
    finished = False
    try:
        for step, (label, argv) in enumerate(steps):
            yield Progress(STAGE, step, total, item=label, message=label)
            yield from _run(label, argv, step, total)
            yield Progress(STAGE, step + 1, total, item=label, data={"bytes": folder_size(folder)})
        info = yield from _check(folder, variant, total, start)
        atomic.write_text(folder / MARKER, json.dumps(asdict(info), indent=1) + "\n")
        finished = True
    finally:
        if not finished:
            _remove(folder)
    yield Progress(STAGE, total, total, message="installed", data={"bytes": info.size_bytes})
    return info


def _check(folder: Path, variant: str, total: int, start: float) -> Stage[EnvInfo]:
    label = "checking the environment"
    yield Progress(STAGE, total - 1, total, item=label, message=label)
    out = subprocess.run(
        [str(env_python(folder)), "-c", CHECK], capture_output=True, text=True, check=False
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        problem = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise WorkstationError(f"The new training environment does not work: {problem}")
    result = json.loads(lines[-1])
    return EnvInfo(
        variant=variant,
        torch=str(result["torch"]),
        cuda_available=bool(result["cuda"]),
        python=str(env_python(folder)),
        size_bytes=folder_size(folder),
        seconds=round(time.monotonic() - start, 1),
        app_version=app_version(),
    )


def _remove(folder: Path) -> None:
    if folder.exists():
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            raise WorkstationError(f"{folder}: cannot remove: {atomic.os_problem(exc)}.") from exc


def remove(folder: Path | None = None) -> bool:
    """Delete the managed environment; False when there was none."""
    folder = env_dir() if folder is None else folder
    existed = folder.exists()
    _remove(folder)
    return existed
