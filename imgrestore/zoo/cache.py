"""Where weights are kept on disk, and how they get there without half-written files.

Layout (``imgrestore models path`` prints it)::

    $IMGRESTORE_HOME/                 default: platformdirs' user cache dir for "imgrestore"
        models/<card name>/           one model in imgrestore format
            model.safetensors
            imgrestore.json
        models/.staging-*/            being written; removed on failure
        failed-downloads/<card name>  the last failed automatic download (reason; mtime)

Models from the Hugging Face Hub stay in huggingface_hub's own cache.

Offline mode (``IMGRESTORE_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) forbids any network
access. This module is torch-free.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imgrestore.files import replacing

ENV_HOME = "IMGRESTORE_HOME"
ENV_OFFLINE = "IMGRESTORE_OFFLINE"
_TRUE = {"1", "true", "yes", "on"}
#: Seconds during which a failed automatic download is not tried again when a task can
#: fall back to its built-in model (a shell loop on a machine without network does not
#: wait for the network once per photo). ``imgrestore models download`` always tries.
RETRY_AFTER = 600.0


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


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is set to 1, true, yes or on."""
    return os.environ.get(name, "").strip().lower() in _TRUE


def offline() -> bool:
    """Whether the network must not be touched."""
    return any(env_flag(var) for var in (ENV_OFFLINE, "HF_HUB_OFFLINE"))


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


def verified_file() -> Path:
    """Where the hashes of verified weights files are remembered."""
    return home() / "verified.json"


def matches_sha256(path: Path, expected: str) -> bool:
    """Whether ``path`` hashes to ``expected``, hashing only when needed.

    A file that matched once is remembered with its size, modification and change times
    and inode (in :func:`verified_file`); it is hashed again only when one of them
    changes, so loading a cached model costs one ``stat`` instead of reading it twice.
    """
    st = os.stat(path)
    key = str(Path(path).resolve())
    stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    memo = _read_verified()
    if memo.get(key) == {"stamp": stamp, "sha256": expected}:
        return True
    if sha256_file(path) != expected:
        if memo.pop(key, None) is not None:
            _write_verified(memo)
        return False
    memo[key] = {"stamp": stamp, "sha256": expected}
    _write_verified(memo)
    return True


def _read_verified() -> dict:
    import json

    try:
        data = json.loads(verified_file().read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_verified(memo: dict) -> None:
    """Keep ``memo`` (files that are gone are dropped); a read-only cache only loses it."""
    import json

    path = verified_file()
    memo = {k: v for k, v in memo.items() if os.path.exists(k)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}-{uuid.uuid4().hex[:8]}")
        temp.write_text(json.dumps(memo, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        pass


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


# --- failed downloads -----------------------------------------------------------------------


def _failure_file(name: str) -> Path:
    return home() / "failed-downloads" / model_dir(name).name


def note_failure(name: str, reason: str) -> None:
    """Remember that the automatic download of model ``name`` just failed, and why."""
    try:
        with replacing(_failure_file(name)) as temp:
            temp.write_text(reason.strip().splitlines()[0] + "\n", encoding="utf-8")
    except OSError:  # a read-only cache only loses the memory, never the run
        pass


def recent_failure(name: str) -> tuple[float, str] | None:
    """``(seconds ago, reason)`` of a failed download of ``name`` in the last
    :data:`RETRY_AFTER` seconds, or ``None``."""
    path = _failure_file(name)
    try:
        age = time.time() - path.stat().st_mtime
        reason = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return (max(age, 0.0), reason) if age < RETRY_AFTER else None


def forget_failure(name: str) -> None:
    """Forget a failed download of ``name`` (it has been downloaded since)."""
    _failure_file(name).unlink(missing_ok=True)
