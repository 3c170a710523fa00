"""Files without ever losing one: regular files only, atomic replacement, no leftovers.

Every file imgrestore writes goes through here: images and reports
(:func:`atomic_write`), model folders, checkpoints and run records (:func:`replacing`).
Only a regular file is ever replaced or opened for reading (:func:`open_regular`): a
FIFO, socket, device, folder or link loop is refused with its own reason, so nothing
blocks on a pipe, reads a device without end or replaces ``/dev/null``. A temporary file
that a killed run left is found and removed by :func:`remove_stale_parts`.

Outputs at fsspec URLs (:mod:`imgrestore.storage`) take the same road, each as safely as
its file system allows:

- a local file: a temporary file beside it, fsync, rename;
- an object store (S3, GCS, Azure, memory...): one upload of the complete object. A store
  publishes an object only when its upload completes, so no reader ever sees part of one;
- another file system (SFTP, SMB, HDFS...): a temporary name beside it, then a rename.

A process killed between writing a temporary file and renaming it leaves that file
behind; :func:`remove_stale_parts` removes them. This module is torch-free (and fsspec-free:
remote locations bring their own file system).
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import os
import socket
import stat
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from imgrestore.errors import ImageError, UsageError


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
PART_SUFFIX = ".part"
#: A temporary file older than this is stale whoever wrote it (another machine's run).
STALE_PART_SECONDS = 3600.0
_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


# --- what stands at a path -----------------------------------------------------------------


def kind_of(mode: int) -> str | None:
    """``'a FIFO (named pipe)'``, ``'a folder'``... for a ``st_mode`` that is not a regular
    file; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def not_regular_reason(mode: int) -> str | None:
    """The one-line reason an input of ``st_mode`` is refused; None for a regular file."""
    what = kind_of(mode)
    if what is None:
        return None
    if what == "a folder":
        return "is a folder, not an image"
    hint = "; to read a stream, pipe it to '-' (stdin)" if stat.S_ISFIFO(mode) else ""
    return f"is {what}, not a regular file; refused{hint}"


def stat_reason(path: str | os.PathLike[str], error: OSError) -> str:
    """Why ``os.stat(path)`` (or opening it) failed, in a few words."""
    if error.errno == errno.ELOOP:
        return "symbolic link loop (the link leads back to itself)"
    if error.errno == errno.ENOENT and os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"broken symbolic link (its target {target} does not exist)"
    if error.errno == errno.ENOENT:
        return "file not found"
    return f"cannot read ({error.strerror or error})"


def open_regular(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """A read-only descriptor on ``path`` and its ``fstat``; :class:`ImageError` unless it
    is a regular file (checked with ``stat`` first, opened non-blocking, and checked again
    on the descriptor, so a FIFO put there meanwhile cannot hang the caller)."""
    try:
        reason = not_regular_reason(os.stat(path).st_mode)
    except OSError as exc:
        reason = stat_reason(path, exc)
    if reason is not None:
        raise ImageError(str(path), reason)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ImageError(str(path), stat_reason(path, exc)) from None
    st = os.fstat(fd)
    if (reason := not_regular_reason(st.st_mode)) is not None:
        os.close(fd)
        raise ImageError(str(path), reason)
    return fd, st


# --- writing ----------------------------------------------------------------------------------

#: fsspec protocols whose stores make an object visible only once its upload is complete.
OBJECT_STORES = frozenset(
    {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oci", "oss", "r2", "memory"}
)
#: How :func:`atomic_write` names its temporary files: ``.NAME.XXXXXXXX.part``.

def atomic_write(dest: Path | Any, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``dest``, fsync, then ``os.replace`` it in.

    Only a regular file is ever replaced: a symbolic link, folder, FIFO, socket or device
    at ``dest`` (``/dev/null`` included) is refused with :class:`ImageError`, checked
    again right before the rename. The temporary file is ``.<name>.<pid>-<host>-*.part``,
    so a later run can tell a stale one from one being written (:func:`remove_stale_parts`).
    ``dest`` may also be a location in an fsspec file system (a ``upath.UPath``): see the
    module for how each kind is written whole.
    """
    if not isinstance(dest, Path) and hasattr(dest, "fs"):
        _put_remote(dest, data)
        return
    dest = Path(dest)
    _refuse_special(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"{_part_stem(dest)}{os.getpid()}-{_HOST}-",
                                   suffix=PART_SUFFIX, dir=dest.parent)
    except OSError as exc:
        raise ImageError(dest, f"cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600
        _refuse_special(dest)
        os.replace(tmp, dest)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ImageError(dest, f"cannot write ({exc.strerror or exc})") from None
        raise
    _fsync_dir(dest.parent)


def _part_stem(dest: Path) -> str:
    """``.<name>.``, the name shortened so that the temporary name fits in 255 bytes."""
    name = dest.name
    while len(os.fsencode(name)) > 200:
        name = name[:-1]
    return f".{name}."


def _refuse_special(dest: Path) -> None:
    """Refuse to replace anything at ``dest`` but a regular file."""
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ImageError(dest, f"cannot write ({exc.strerror or exc})") from None
    if (what := kind_of(st.st_mode)) is not None:
        raise ImageError(dest, f"is {what}, not a regular file; refused (imgrestore "
                               "replaces only regular files)")  # fmt: skip


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


def check_report_path(path: str | os.PathLike[str], option: str) -> None:
    """Refuse, before any work, a report path (``--json``, ``--csv``) that would destroy data.

    Reports are regular files replaced atomically: a folder, a symbolic link, a FIFO, a
    socket or a device (``/dev/null``) is a :class:`UsageError`, and so is an existing file
    that is not text (a photo named by mistake: every image format starts with bytes that
    are not UTF-8 text or holds NUL bytes); an earlier report, or any UTF-8 text file, may
    be replaced.
    """
    dest = Path(path)
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"{option} {dest}: cannot be checked ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{option} {dest}: is a folder; name a file")
    if (what := kind_of(st.st_mode)) is not None:
        raise UsageError(f"{option} {dest}: is {what}, not a regular file; refused (reports "
                         "are written as regular files; '-' writes to stdout)")
    try:
        fd, _ = open_regular(dest)
    except ImageError as exc:
        raise UsageError(f"{option} {exc}") from None
    with os.fdopen(fd, "rb") as f:
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
    so ``dest`` is always either the old file or the complete new one. As with
    :func:`atomic_write`, only a regular file is replaced: a link, folder, FIFO or device at
    ``dest`` is refused with :class:`ImageError`, before the block and before the rename."""
    dest = Path(dest)
    _refuse_special(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # safetensors writes 0600; every file gets the same
        _refuse_special(dest)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


# --- what killed runs left behind -------------------------------------------------------------


def remove_stale_parts(*dests: Path) -> list[Path]:
    """Delete the temporary files interrupted writes of ``dests`` left behind; the paths.

    A ``.part`` file of ours is stale when the process that wrote it (same machine) is
    gone, or when it is older than :data:`STALE_PART_SECONDS`; others' files, and ours
    being written right now, are left alone. Each folder is listed once.
    """
    by_folder: dict[Path, set[str]] = {}
    for dest in dests:
        by_folder.setdefault(Path(dest).parent, set()).add(_part_stem(Path(dest)))
    removed = []
    for folder, stems in by_folder.items():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            stem = _stem_of(name, stems) if name.endswith(PART_SUFFIX) else None
            path = folder / name
            if stem is not None and _is_stale(name[len(stem):-len(PART_SUFFIX)], path):
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    removed.append(path)
    return removed


def _stem_of(name: str, stems: set[str]) -> str | None:
    """The stem of ``stems`` (``.<output>.``) that temporary file ``name`` belongs to."""
    head = name[: -len(PART_SUFFIX)]
    while (cut := head.rfind(".")) > 0:
        head = head[:cut]
        if head + "." in stems:
            return head + "."
    return None


def _is_stale(tag: str, path: Path) -> bool:
    try:
        age = time.time() - os.lstat(path).st_mtime
    except OSError:
        return False
    if age > STALE_PART_SECONDS:
        return True
    pid, _, rest = tag.partition("-")
    if not pid.isdigit() or rest.partition("-")[0] != _HOST:
        return False
    return not _alive(int(pid))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


__all__ = ["OBJECT_STORES", "atomic_write", "check_report_path", "kind_of", "not_regular_reason",
           "open_regular", "remove_stale_parts", "replacing", "stat_reason"]
