"""The tagger and captioner models on this machine: listing, downloading, a load check.

What the Models dialog shows and runs, without Qt: the model folders the person added (kept in
the project's settings) and the models in the Hugging Face cache with their size on disk, a
download stage and a "does it load" stage (generators yielding Progress, see
``workstation.core.progress``), so they run as jobs off the GUI thread and from tests alike.
huggingface_hub, onnxruntime and torch are imported only inside the functions that need them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workstation.core.autotag.base import ModelError
from workstation.core.autotag.hf_captioner import offline
from workstation.core.progress import Progress, Stage
from workstation.core.store import MODEL_FOLDERS, Project


@dataclass(frozen=True)
class ModelEntry:
    name: str  # hub id or folder path
    where: str  # "folder" | "folder (missing)" | "HF cache"
    size: int  # bytes on disk
    path: str
    kind: str  # "captioner" | "tagger" | "?"


def model_kind(folder: Path) -> str:
    """ "tagger" (a WD14 ONNX tagger), "captioner" (a transformers model) or "?"."""
    if (folder / "model.onnx").is_file() and (folder / "selected_tags.csv").is_file():
        return "tagger"
    if (folder / "config.json").is_file():
        return "captioner"
    return "?"


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def model_folders(project: Project) -> list[str]:
    folders: tuple[str, ...] = project.get(MODEL_FOLDERS)
    return list(folders)


def add_model_folder(project: Project, folder: str | Path) -> str:
    """Remember a local model folder; a folder that holds no model is refused with why."""
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise ModelError(path, "no such folder")
    if model_kind(path) == "?":
        raise ModelError(
            path,
            "holds no model: expected config.json + weights (a transformers "
            "captioner) or model.onnx + selected_tags.csv (a WD14 tagger)",
        )
    folders = model_folders(project)
    if str(path) not in folders:
        project.put(MODEL_FOLDERS, (*folders, str(path)))
    return str(path)


def cached_models(cache_dir: str | Path | None = None) -> list[ModelEntry]:
    """Models in the Hugging Face cache (empty when there is no cache yet)."""
    try:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound
    except ImportError:
        return []
    try:
        info = scan_cache_dir(cache_dir)
    except (CacheNotFound, OSError):
        return []
    out = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        snaps = sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True)
        path = str(snaps[0].snapshot_path) if snaps else str(repo.repo_path)
        kind = model_kind(Path(path)) if snaps else "?"
        out.append(ModelEntry(repo.repo_id, "HF cache", repo.size_on_disk, path, kind))
    return sorted(out, key=lambda e: e.name.lower())


def list_models(project: Project) -> list[ModelEntry]:
    """The project's model folders (in the order added), then the Hugging Face cache's."""
    entries = []
    for f in model_folders(project):
        p = Path(f)
        if p.is_dir():
            entries.append(ModelEntry(f, "folder", folder_size(p), f, model_kind(p)))
        else:
            entries.append(ModelEntry(f, "folder (missing)", 0, f, "?"))
    return entries + cached_models()


def download_stage(repo_id: str) -> Stage[str]:
    """Download a hub model into the HF cache; returns the snapshot folder."""
    if offline():
        raise ModelError(
            repo_id,
            "cannot download: HF_HUB_OFFLINE is set (offline); copy the "
            "model folder here and add it with “Add folder…”",
        )
    from huggingface_hub import snapshot_download

    yield Progress("download", 0, 1, repo_id, "downloading")
    try:
        path = snapshot_download(repo_id)
    except Exception as exc:  # no network, no such repo, gated model
        raise ModelError(repo_id, f"download failed: {str(exc).splitlines()[0]}") from None
    yield Progress("download", 1, 1, repo_id, "done")
    return path


def check_stage(name: str, kind: str, device: str) -> Stage[str]:
    """Load a model once and free it: tells whether it can be used before a long job."""
    yield Progress("check", 0, 1, name, "loading")
    if kind == "tagger":
        from workstation.core.autotag import TagSettings, create_tagger

        tagger = create_tagger(TagSettings(model=name))
        where = tagger.provider
        del tagger
    else:
        from workstation.core.autotag.hf_captioner import HFCaptioner

        cap = HFCaptioner.load(name, device=device)
        where = f"{cap.device} ({cap.dtype})"
        cap.close()
    yield Progress("check", 1, 1, name, "loaded")
    return f"{name} loads on {where}"
