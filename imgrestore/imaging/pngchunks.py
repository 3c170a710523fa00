"""PNG colour profiles larger than Pillow reads (its limit is 1 MB, for text chunks).

Pillow refuses any PNG whose compressed ``iCCP`` profile inflates beyond
``PngImagePlugin.MAX_TEXT_CHUNK``, a guard meant for text chunks; print and camera
profiles (LUT-based, DeviceLink) can be larger. :func:`split_large_icc` takes such a
profile out before Pillow sees the file, inflating it with a bound of its own, so
text chunks keep Pillow's limit and only the profile gets more room.
"""

from __future__ import annotations

import struct
import zlib

#: The largest colour profile read from a PNG (inflated bytes).
MAX_ICC_BYTES = 64 << 20
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def split_large_icc(data: bytes) -> tuple[bytes, bytes | None]:
    """``(data, None)``, or the PNG without its ``iCCP`` chunk and the inflated profile
    when that profile is larger than Pillow reads (and at most :data:`MAX_ICC_BYTES`)."""
    from PIL import PngImagePlugin

    found = _find_chunk(data, b"iCCP")
    if found is None:
        return data, None
    start, end = found
    body = data[start + 8 : end - 4]
    name_end = body.find(b"\0")
    if name_end < 0 or name_end + 2 > len(body) or body[name_end + 1] != 0:
        return data, None  # malformed, or not deflate: Pillow says what is wrong
    inflater = zlib.decompressobj()
    try:
        profile = inflater.decompress(body[name_end + 2 :], MAX_ICC_BYTES + 1)
    except zlib.error:
        return data, None
    if len(profile) <= PngImagePlugin.MAX_TEXT_CHUNK or len(profile) > MAX_ICC_BYTES:
        return data, None
    return data[:start] + data[end:], profile


def _find_chunk(data: bytes, kind: bytes) -> tuple[int, int] | None:
    """``(start, end)`` of the first ``kind`` chunk before the image data, or None."""
    if not data.startswith(_SIGNATURE):
        return None
    pos = len(_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        chunk = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if chunk == kind:
            return (pos, end) if end <= len(data) else None
        if chunk in (b"IDAT", b"IEND"):
            return None
        pos = end
    return None
