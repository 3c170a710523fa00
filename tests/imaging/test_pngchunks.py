"""Large PNG colour profiles are taken out before Pillow, within a bound of their own."""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image, PngImagePlugin

from imgrestore.imaging.pngchunks import MAX_ICC_BYTES, split_large_icc


def _png(profile: bytes | None) -> bytes:
    buf = io.BytesIO()
    kwargs = {} if profile is None else {"icc_profile": profile}
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(buf, "PNG", **kwargs)
    return buf.getvalue()


def test_small_profiles_and_plain_pngs_are_left_to_pillow() -> None:
    for data in (_png(None), _png(b"small profile")):
        assert split_large_icc(data) == (data, None)


def test_a_large_profile_is_taken_out_and_the_rest_reads() -> None:
    profile = b"\x01" * (PngImagePlugin.MAX_TEXT_CHUNK + 1)
    data, icc = split_large_icc(_png(profile))
    assert icc == profile and b"iCCP" not in data
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert im.size == (4, 4) and "icc_profile" not in im.info


def test_a_profile_beyond_our_bound_is_not_inflated() -> None:
    original = _png(b"\x00" * 16)
    body = b"icc\x00\x00" + zlib.compress(b"\x00" * (MAX_ICC_BYTES + 1))
    chunk = len(body).to_bytes(4, "big") + b"iCCP" + body
    chunk += zlib.crc32(b"iCCP" + body).to_bytes(4, "big")
    start = original.index(b"iCCP") - 4
    end = start + 12 + int.from_bytes(original[start : start + 4], "big")
    bomb = original[:start] + chunk + original[end:]
    assert split_large_icc(bomb) == (bomb, None)  # Pillow then refuses it, as before
