"""Files on disk: inputs opened safely and read within bounds; outputs told complete or cut.

Inputs are regular files only. A FIFO, socket, device, folder, broken link or link loop
is refused with a reason before anything can block on it or read it without end: the
path is checked with ``stat``, opened non-blocking, and checked again on the open
descriptor (nothing can swap it in between). Reads stop at a byte cap derived from the
pixel limit (``--max-pixels``), the same for a named file and for stdin.

This module is torch-free and imports neither numpy nor Pillow (planning uses it).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from imgrestore.errors import ImageError
from imgrestore.imaging.formats import sniff_format

#: Most bytes an image file can need per pixel: four float32 channels, uncompressed.
BYTES_PER_PIXEL = 16
#: Room for metadata beyond the pixels (ICC profiles, XMP, EXIF thumbnails, previews).
METADATA_BYTES = 64 << 20
_CHUNK = 1 << 20
_HEAD = 64

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str | None:
    """``'a FIFO (named pipe)'``, ``'a folder'``... for a ``st_mode`` that is not a
    regular file; None for a regular file."""
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
    """Why ``os.stat(path)`` failed, in a few words."""
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


def check_input(path: str | os.PathLike[str]) -> os.stat_result:
    """``os.stat(path)`` of an input that is a regular file; :class:`ImageError` otherwise."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ImageError(str(path), stat_reason(path, exc)) from None
    reason = not_regular_reason(st.st_mode)
    if reason is not None:
        raise ImageError(str(path), reason)
    return st


def byte_cap(max_pixels: int | None) -> int | None:
    """The most bytes read from one input: what any image of ``max_pixels`` pixels can take.

    ``max_pixels`` None means the default limit (:func:`~imgrestore.imaging.limits.
    default_max_pixels`); None is returned when there is no limit at all.
    """
    from imgrestore.imaging.limits import default_max_pixels

    limit = default_max_pixels() if max_pixels is None else max_pixels
    if limit is None:
        return None
    return max(int(limit), 0) * BYTES_PER_PIXEL + METADATA_BYTES


def _too_big(size: int, cap: int) -> str:
    megapixels = (cap - METADATA_BYTES) / BYTES_PER_PIXEL / 1e6
    return (
        f"{_size(size)} is more than any image within the {megapixels:.0f}-megapixel limit "
        f"needs ({_size(cap)}); if this is a genuine photo, raise the limit with --max-pixels"
    )


def _size(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def _open_regular(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """A read-only descriptor on ``path``, which must be a regular file (checked on the
    descriptor: opening is non-blocking, so a FIFO put there meanwhile cannot hang us)."""
    check_input(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ImageError(str(path), stat_reason(path, exc)) from None
    st = os.fstat(fd)
    reason = not_regular_reason(st.st_mode)
    if reason is not None:
        os.close(fd)
        raise ImageError(str(path), reason)
    return fd, st


def read_input(path: str | os.PathLike[str], *, max_bytes: int | None) -> bytes:
    """The whole content of the regular file ``path``, refused above ``max_bytes``."""
    fd, st = _open_regular(path)
    with os.fdopen(fd, "rb") as f:
        if max_bytes is not None and st.st_size > max_bytes:
            raise ImageError(str(path), _too_big(st.st_size, max_bytes))
        try:
            data = _read_at_most(f, max_bytes)
        except OSError as exc:
            raise ImageError(str(path), f"cannot read ({exc.strerror or exc})") from None
    if max_bytes is not None and len(data) > max_bytes:  # it grew while we read it
        raise ImageError(str(path), _too_big(len(data), max_bytes))
    return data


def read_head(path: str | os.PathLike[str], size: int = _HEAD) -> bytes | None:
    """The first ``size`` bytes of the regular file ``path``; None if it is not one or
    cannot be read (planning asks only "is this an image?")."""
    try:
        fd, _ = _open_regular(path)
    except ImageError:
        return None
    with os.fdopen(fd, "rb") as f:
        try:
            return f.read(size)
        except OSError:
            return None


def read_stream(stream: BinaryIO, *, max_bytes: int | None, name: str) -> bytes:
    """An image file arriving on ``stream`` (stdin), read up to ``max_bytes``.

    The first bytes must look like an image: ``/dev/zero`` or a text stream is refused
    after 64 bytes, never read to its end.
    """
    head = b""
    while len(head) < _HEAD and (block := stream.read(_HEAD - len(head))):
        head += block
    if len(head) >= 16 and sniff_format(head) is None:
        raise ImageError(name, "not an image (unrecognised content)")
    rest = _read_at_most(stream, None if max_bytes is None else max(max_bytes - len(head), 0))
    data = head + rest
    if max_bytes is not None and len(data) > max_bytes:
        raise ImageError(name, _too_big(len(data), max_bytes) + " (stopped reading)")
    return data


def _read_at_most(f: BinaryIO, limit: int | None) -> bytes:
    """Everything left in ``f``, or ``limit + 1`` bytes when there is more than ``limit``."""
    if limit is None:
        return f.read()
    parts, total = [], 0
    while total <= limit and (block := f.read(min(_CHUNK, limit + 1 - total))):
        parts.append(block)
        total += len(block)
    return b"".join(parts)


# --- is an existing output complete? -------------------------------------------------------


def output_state(path: Path) -> str | None:
    """What stands at an output's path: None (nothing), ``'complete'`` (an image file that
    ends as its format requires), ``'incomplete'`` (empty, or an image cut short), or a
    reason it may not be replaced (not a regular file, or not an image)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or exc})"
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(path)
        except OSError as exc:
            return f"is a symbolic link that cannot be followed ({stat_reason(path, exc)})"
    what = kind_of(st.st_mode)
    if what is not None:
        return f"is {what}, not an image file; refused"
    if st.st_size == 0:
        return "incomplete"
    head = read_head(path, 64)
    kind = sniff_format(head or b"")
    if kind is None:
        return "is not an image; refused (remove it, or use --overwrite to replace it)"
    try:
        return "complete" if _ends_well(path, kind, st.st_size, head or b"") else "incomplete"
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or exc})"


def _tail(path: Path, count: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(size - count, 0))
        return f.read()


_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _ends_well(path: Path, kind: str, size: int, head: bytes) -> bool:
    """Whether an image file of format ``kind`` is whole (cheap: header and tail only)."""
    if kind == "JPEG":
        return _tail(path, 4096).rstrip(b"\x00").endswith(b"\xff\xd9")
    if kind == "PNG":
        return _tail(path, len(_PNG_END)) == _PNG_END
    if kind == "GIF":
        return _tail(path, 1) == b";"
    if kind == "WEBP":
        return int.from_bytes(head[4:8], "little") + 8 <= size
    if kind == "BMP":
        declared = int.from_bytes(head[2:6], "little")
        return declared <= size
    if kind in ("HEIF", "AVIF", "RAW") and head[4:8] == b"ftyp":
        return _boxes_fill(path, size)
    if kind == "TIFF":
        return _tiff_whole(path, size)
    return True


def _boxes_fill(path: Path, size: int) -> bool:
    """ISO base media files (HEIF, AVIF): the top-level boxes reach the end exactly."""
    pos = 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            header = f.read(16)
            if len(header) < 8:
                return False
            length = int.from_bytes(header[:4], "big")
            if length == 1 and len(header) == 16:
                length = int.from_bytes(header[8:16], "big")
            elif length == 0:  # the last box runs to the end of the file
                return True
            if length < 8:
                return False
            pos += length
    return pos == size


def _tiff_whole(path: Path, size: int) -> bool:
    """Every strip or tile of the first page lies inside the file."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts, strict=False)]
    except Exception:
        return False
    return bool(ends) and max(ends) <= size
