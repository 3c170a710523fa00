"""Writing files without ever losing one: atomic replacement, and refusing report paths
that hold something else (a photo named by mistake, a folder).

Every file imgrestore writes goes through here: images and reports
(:func:`atomic_write`), model folders, checkpoints and run records (:func:`replacing`).
This module is torch-free.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from imgrestore.errors import ImageError, UsageError


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write(dest: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``dest``, fsync, then ``os.replace`` it in."""
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
        os.chmod(tmp, 0o666 & ~_UMASK)  # safetensors writes 0600; every file gets the same
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


__all__ = ["atomic_write", "check_report_path", "replacing"]
