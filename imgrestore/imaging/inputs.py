"""Reading an input: a regular file or a stream, within a byte cap, never without end.

A FIFO, socket, device, folder, broken link or link loop is refused with a reason before
anything can block on it or read it without end (:func:`imgrestore.files.open_regular`).
Reads stop at a byte cap derived from the pixel limit (``--max-pixels``), the same for a
named file and for stdin; a stream that does not start like an image is refused after
64 bytes.

This module imports neither numpy nor Pillow (planning uses it).
"""

from __future__ import annotations

import os
from typing import BinaryIO

from imgrestore.errors import ImageError
from imgrestore.files import open_regular
from imgrestore.imaging.formats import sniff_format
from imgrestore.imaging.limits import default_max_pixels

#: Most bytes an image file can need per pixel: four float32 channels, uncompressed.
BYTES_PER_PIXEL = 16
#: Room for metadata beyond the pixels (ICC profiles, XMP, EXIF thumbnails, previews).
METADATA_BYTES = 64 << 20
_CHUNK = 1 << 20
_HEAD = 64


def byte_cap(max_pixels: int | None) -> int | None:
    """The most bytes read from one input: what any image of ``max_pixels`` pixels can take.

    ``max_pixels`` None means the default limit (:func:`~imgrestore.imaging.limits.
    default_max_pixels`); None is returned when there is no limit at all.
    """
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


def read_input(path: str | os.PathLike[str], *, max_bytes: int | None) -> bytes:
    """The whole content of the regular file ``path``, refused above ``max_bytes``."""
    fd, st = open_regular(path)
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
        fd, _ = open_regular(path)
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
