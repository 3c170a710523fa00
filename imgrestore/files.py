"""Writing files without ever losing one: atomic replacement, and refusing report paths
that hold something else (a photo named by mistake, a folder).

Every file imgrestore writes goes through here: images and reports
(:func:`atomic_write`), model folders, checkpoints and run records (:func:`replacing`).
Outputs at fsspec URLs (:mod:`imgrestore.storage`) take the same road, each as safely as
its file system allows:

- a local file: a temporary file beside it, fsync, rename;
- an object store (S3, GCS, Azure, memory...): one upload of the complete object. A store
  publishes an object only when its upload completes, so no reader ever sees part of one;
- another file system (SFTP, SMB, HDFS...): a temporary name beside it, then a rename.

A process killed between writing a temporary file and renaming it leaves that file
behind; :func:`sweep_partials` removes them. This module is torch-free (and fsspec-free:
remote locations bring their own file system).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from imgrestore.errors import ImageError, UsageError


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()

#: fsspec protocols whose stores make an object visible only once its upload is complete.
OBJECT_STORES = frozenset(
    {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oci", "oss", "r2", "memory"}
)
#: How :func:`atomic_write` names its temporary files: ``.NAME.XXXXXXXX.part``.
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.part$")


def atomic_write(dest: Path | Any, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``dest``, fsync, then ``os.replace`` it in.

    ``dest`` may also be a location in an fsspec file system (a ``upath.UPath``): see the
    module for how each kind is written whole.
    """
    if not isinstance(dest, Path):
        _put_remote(dest, data)
        return
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise ImageError(dest, f"cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600
        os.replace(tmp, dest)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ImageError(dest, f"cannot write ({exc.strerror or exc})") from None
        raise
    _fsync_dir(dest.parent)


def _put_remote(dest: Any, data: bytes) -> None:
    """``data`` as the fsspec location ``dest``, never visible in part (see the module)."""
    fs, path = dest.fs, dest.path
    try:
        if dest.protocol in OBJECT_STORES:
            fs.pipe_file(path, data)
            return
        parent = dest.parent.path.rstrip("/")
        tmp = f"{parent}/.{dest.name}.{uuid.uuid4().hex[:8]}.part"
        try:
            fs.pipe_file(tmp, data)
            fs.mv(tmp, path)
        except BaseException:
            with contextlib.suppress(Exception):
                fs.rm(tmp)
            raise
    except (OSError, ValueError) as exc:
        raise ImageError(str(dest), f"cannot write ({exc})") from None


def sweep_partials(dests: Iterable[Path | Any]) -> list[Path]:
    """Remove what killed writers left of ``dests`` (local temporary ``.part`` files).

    :func:`atomic_write` writes ``.NAME.XXXXXXXX.part`` then renames it; a process killed
    in between leaves that file behind. Remote locations are passed over. Each folder is
    listed once. Returns what was removed.
    """
    stems: dict[Path, set[str]] = {}
    for dest in dests:
        if isinstance(dest, Path):
            stems.setdefault(dest.parent, set()).add(dest.stem)
    removed: list[Path] = []
    for folder, names in stems.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            match = _PARTIAL.match(entry.name)
            if match and Path(match.group("name")).stem in names and entry.is_file():
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def check_report_path(path: str | os.PathLike[str], option: str) -> None:
    """Refuse, before any work, a report path (``--json``, ``--csv``) that would destroy data.

    A folder, or an existing file that is not text (a photo named by mistake: every image
    format starts with bytes that are not UTF-8 text or holds NUL bytes), is a
    :class:`UsageError`; an earlier report, or any UTF-8 text file, may be replaced.
    """
    dest = Path(path)
    if dest.is_dir():
        raise UsageError(f"{option} {dest}: is a folder; name a file")
    if dest.is_file():
        with open(dest, "rb") as f:
            head = f.read(4096)
        if not _is_text(head):
            raise UsageError(f"{option} {dest}: exists and is not a text report; refused")


def _is_text(head: bytes) -> bool:
    """Whether the first bytes of a file are UTF-8 text (a character cut at the end is fine)."""
    if b"\0" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform (Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders
    finally:
        os.close(fd)




@contextlib.contextmanager
def replacing(dest: Path) -> Iterator[Path]:
    """A temporary path beside ``dest`` for a writer that needs a path (``torch.save``,
    safetensors): it replaces ``dest`` when the block succeeds and is removed otherwise,
    so ``dest`` is always either the old file or the complete new one."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


__all__ = ["OBJECT_STORES", "atomic_write", "check_report_path", "replacing",
           "sweep_partials"]
