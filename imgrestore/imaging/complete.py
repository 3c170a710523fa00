"""Is an existing output whole? Told from its header and tail only, without decoding.

A batch skips an output that exists so that reruns resume; one that is empty or cut short
(a crash of another tool, a full disk, a copy interrupted) must be redone instead. Each
format says where it ends: JPEG with its EOI marker, PNG with IEND, GIF with its trailer,
WebP and BMP declare their length, TIFF strips lie inside the file, HEIF/AVIF boxes fill it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from imgrestore.files import kind_of, stat_reason
from imgrestore.imaging.formats import sniff_format
from imgrestore.imaging.inputs import read_head

_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


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
    head = read_head(path, 64) or b""
    kind = sniff_format(head)
    if kind is None:
        return "is not an image; refused (remove it, or use --overwrite to replace it)"
    try:
        return "complete" if _ends_well(path, kind, st.st_size, head) else "incomplete"
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or exc})"


def _tail(path: Path, count: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(f.tell() - count, 0))
        return f.read()


def _ends_well(path: Path, kind: str, size: int, head: bytes) -> bool:
    """Whether an image file of format ``kind`` is whole."""
    if kind == "JPEG":
        return _tail(path, 4096).rstrip(b"\x00").endswith(b"\xff\xd9")
    if kind == "PNG":
        return _tail(path, len(_PNG_END)) == _PNG_END
    if kind == "GIF":
        return _tail(path, 1) == b";"
    if kind == "WEBP":
        return int.from_bytes(head[4:8], "little") + 8 <= size
    if kind == "BMP":
        return int.from_bytes(head[2:6], "little") <= size
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
