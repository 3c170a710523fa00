"""Where weights are kept on disk, and how they get there without half-written files.

Layout (``imgrestore models path`` prints it)::

    $IMGRESTORE_HOME/                 default: platformdirs' user cache dir for "imgrestore"
        models/<card name>/           one model in imgrestore format
            model.safetensors
            imgrestore.json
        models/.staging-*/            being written; removed on failure

Models from the Hugging Face Hub stay in huggingface_hub's own cache.

Offline mode (``IMGRESTORE_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) forbids any network
access. This module is torch-free.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV_HOME = "IMGRESTORE_HOME"
ENV_OFFLINE = "IMGRESTORE_OFFLINE"
_TRUE = {"1", "true", "yes", "on"}


def home() -> Path:
    """The root of imgrestore's cache: ``$IMGRESTORE_HOME`` or the user cache dir."""
    configured = os.environ.get(ENV_HOME)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("imgrestore", appauthor=False))


def models_dir() -> Path:
    """The folder holding one sub-folder per cached model."""
    return home() / "models"


def model_dir(name: str) -> Path:
    """The cache folder of the model called ``name`` (a canonical card name)."""
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        raise ValueError(f"not a model name: {name!r}")
    return models_dir() / name


def offline() -> bool:
    """Whether the network must not be touched."""
    return any(
        os.environ.get(var, "").strip().lower() in _TRUE
        for var in (ENV_OFFLINE, "HF_HUB_OFFLINE")
    )


def cached_dirs() -> list[Path]:
    """Every model folder in the cache (complete or not), sorted by name."""
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def staging_dir(target: Path) -> Iterator[Path]:
    """A fresh folder beside ``target`` that replaces ``target`` if the block succeeds.

    On any exception the staging folder is deleted and ``target`` is untouched, so a
    reader never sees a half-written model.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".staging-{target.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        replace_dir(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def replace_dir(source: Path, target: Path) -> None:
    """Move folder ``source`` to ``target``, replacing an existing ``target``."""
    if not target.exists():
        os.replace(source, target)
        return
    old = target.parent / f".old-{target.name}-{uuid.uuid4().hex[:8]}"
    os.replace(target, old)
    try:
        os.replace(source, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def remove(name: str) -> bool:
    """Delete the cached model ``name``; whether there was one."""
    path = model_dir(name)
    if not path.exists():
        return False
    trash = path.parent / f".old-{name}-{uuid.uuid4().hex[:8]}"
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)
    return True
