"""EXIF preparation, XMP orientation and the JPEG quality estimate."""

from __future__ import annotations

import io

import numpy as np
import piexif
import pytest
from PIL import Image

from imgrestore.imaging import metadata

from .conftest import assert_exif_kept, sample_exif


def test_prepare_exif_documented_updates_only() -> None:
    original = sample_exif(40, 30, orientation=6)
    assert piexif.load(original)["thumbnail"]
    assert_exif_kept(original, metadata.prepare_exif(original, 60, 80), 60, 80)


def test_prepare_exif_accepts_bare_tiff_and_rejects_garbage() -> None:
    block = sample_exif(4, 3)
    assert metadata.prepare_exif(block[6:], 4, 3) is not None
    assert metadata.prepare_exif(b"Exif\x00\x00garbage that is no TIFF", 4, 3) is None
    assert metadata.prepare_exif(b"", 4, 3) is None
    assert metadata.prepare_exif(None, 4, 3) is None


def test_exif_from_tiff_drops_structure_tags() -> None:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((4, 6), np.uint16), metadata=None,
                     extratags=[(271, 2, 0, "Maker", True), (33432, 2, 0, "(c) me", True)])
    block = metadata.exif_from_tiff(buf.getvalue())
    zeroth = piexif.load(block)["0th"]
    assert zeroth[271] == b"Maker" and zeroth[33432] == b"(c) me"
    assert set(zeroth) <= metadata.DESCRIPTIVE_0TH_TAGS
    assert not {256, 257, 258, 259, 273, 277, 278, 279} & set(zeroth)
    assert metadata.exif_from_tiff(b"II*\x00\xff\xff\xff\x7f broken") is None


def test_fix_xmp_orientation() -> None:
    attr = b'<rdf:Description tiff:Orientation="8" tiff:Make="x"/>'
    elem = b"<tiff:Orientation>6</tiff:Orientation>"
    fixed = b'<rdf:Description tiff:Orientation="1" tiff:Make="x"/>'
    assert metadata.fix_xmp_orientation(attr) == fixed
    assert metadata.fix_xmp_orientation(elem) == b"<tiff:Orientation>1</tiff:Orientation>"


@pytest.mark.parametrize("quality", [10, 50, 75, 90, 95, 100])
def test_jpeg_quality_estimate(quality: int) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 200)).save(buf, "JPEG", quality=quality)
    im = Image.open(buf)
    assert metadata.estimate_jpeg_quality(im.quantization) == quality


def test_jpeg_quality_estimate_without_tables() -> None:
    assert metadata.estimate_jpeg_quality(None) is None
    assert metadata.estimate_jpeg_quality({0: [1, 2, 3]}) is None
