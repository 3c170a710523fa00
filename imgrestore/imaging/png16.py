"""16-bit PNG with colour or alpha, which Pillow reduces to 8 bits.

Pixels go through imagecodecs (libpng); metadata chunks (iCCP, eXIf, pHYs, text)
are encoded by Pillow on a 1 x 1 donor image and grafted in front of the pixel
data, so the chunk encoding stays Pillow's.
"""

from __future__ import annotations

import io
import struct

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks that describe the donor's own pixels, never grafted.
_PIXEL_CHUNKS = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"sBIT", b"bKGD"}


def png_header(data: bytes) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR, or None when not a PNG."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 26 or data[12:16] != b"IHDR":
        return None
    return data[24], data[25]


def needs_png16(data: bytes) -> bool:
    """True for 16-bit PNGs that Pillow cannot decode at full depth (all but plain gray)."""
    header = png_header(data)
    return header is not None and header[0] == 16 and header[1] != 0


def decode_png16(data: bytes) -> np.ndarray:
    """uint16 H x W x C (C = 2 gray+alpha, 3 RGB, 4 RGBA) from a 16-bit PNG."""
    import imagecodecs

    return np.asarray(imagecodecs.png_decode(data))


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, whole chunk bytes) for every chunk of a PNG."""
    out, pos = [], len(PNG_SIGNATURE)
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        end = pos + 12 + length
        out.append((png[pos + 4 : pos + 8], png[pos:end]))
        pos = end
    return out


def encode_png16(samples: np.ndarray, save_kwargs: dict) -> bytes:
    """Encode uint16 H x W (x C) samples as PNG with Pillow's metadata chunks.

    ``save_kwargs`` are the metadata arguments of Pillow's PNG writer
    (``icc_profile``, ``exif``, ``dpi``, ``pnginfo``).
    """
    import imagecodecs
    from PIL import Image

    body = imagecodecs.png_encode(np.ascontiguousarray(samples, dtype=np.uint16), level=6)
    donor = io.BytesIO()
    Image.new("RGB", (1, 1)).save(donor, "PNG", **save_kwargs)
    extra = [chunk for kind, chunk in _chunks(donor.getvalue()) if kind not in _PIXEL_CHUNKS]
    if not extra:
        return bytes(body)
    body_chunks = _chunks(bytes(body))
    assert body_chunks[0][0] == b"IHDR"
    parts = [PNG_SIGNATURE, body_chunks[0][1], *extra, *(c for _, c in body_chunks[1:])]
    return b"".join(parts)
