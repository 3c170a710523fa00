"""EXIF, XMP and JPEG-quality helpers (piexif for EXIF, Pillow as its fallback).

Metadata handling is best effort: a block that cannot be parsed is dropped with a
note, it never fails the image. The documented updates on write are: Orientation
= 1, pixel dimensions set to the output size, Software = ``imgrestore <version>``,
and the embedded thumbnail (IFD1) dropped, as it shows the unrestored photo.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from imgrestore import __version__

log = logging.getLogger(__name__)

SOFTWARE = f"imgrestore {__version__}"
EXIF_HEADER = b"Exif\x00\x00"
_TIFF_HEADERS = (b"II*\x00", b"MM\x00*")

# 0th-IFD tags that describe the photo rather than how a TIFF stores its pixels;
# only these are taken from a TIFF or RAW file's first IFD.
DESCRIPTIVE_0TH_TAGS: frozenset[int] = frozenset({
    269, 270, 271, 272, 274, 282, 283, 285, 296, 305, 306, 315, 316, 33432, 33723,
    18246, 18249, 40091, 40092, 40093, 40094, 40095,
})  # fmt: skip
TAG_ORIENTATION = 0x0112
TAG_IMAGE_DESCRIPTION = 0x010E
TAG_SOFTWARE = 0x0131
TAG_IMAGE_WIDTH = 0x0100
TAG_IMAGE_LENGTH = 0x0101
TAG_PIXEL_X = 0xA002
TAG_PIXEL_Y = 0xA003


def normalize_exif(raw: bytes | None) -> bytes | None:
    """Give an EXIF block the ``Exif\\0\\0`` prefix Pillow and piexif expect."""
    if not raw:
        return None
    if raw.startswith(EXIF_HEADER):
        return raw
    if raw[:4] in _TIFF_HEADERS:
        return EXIF_HEADER + raw
    return None


def exif_from_tiff(data: bytes) -> bytes | None:
    """The EXIF of a TIFF-structured file (TIFF, DNG, CR2, NEF...) as an EXIF block.

    Keeps the descriptive 0th-IFD tags plus the Exif, GPS and Interop IFDs; the
    tags that describe the file's own strips, tiles and samples are left out.
    """
    import piexif

    try:
        loaded = piexif.load(data)
        zeroth = {k: v for k, v in loaded["0th"].items() if k in DESCRIPTIVE_0TH_TAGS}
        if _describes_layout(zeroth.get(TAG_IMAGE_DESCRIPTION)):
            del zeroth[TAG_IMAGE_DESCRIPTION]
        exif = {"0th": zeroth, "Exif": loaded["Exif"], "GPS": loaded["GPS"],
                "Interop": loaded["Interop"], "1st": {}, "thumbnail": None}
        if not any(exif[k] for k in ("0th", "Exif", "GPS")):
            return None
        return piexif.dump(exif)
    except Exception as exc:  # piexif raises many types on odd files
        log.debug("EXIF in TIFF structure not readable: %s", exc)
        return None


def _describes_layout(description: object) -> bool:
    """An ImageDescription that describes how a TIFF stores its pages, not the photo:
    tifffile's ``{"shape": [3, 24, 32, 3]}``, ImageJ's ``ImageJ=...``, OME-XML. Copied to
    a one-page output, it would claim pages that are not there."""
    if not isinstance(description, bytes):
        return False
    head = description.lstrip()[:200]
    return head.startswith((b'{"shape":', b"shape=", b"ImageJ=")) or (
        head.startswith(b"<?xml") and b"OME" in description[:2000]
    )


def prepare_exif(exif: bytes | None, width: int, height: int) -> bytes | None:
    """EXIF for an output of ``width`` x ``height``: the documented updates applied.

    Uses piexif; if piexif cannot handle the block, Pillow's EXIF support is
    tried; if neither can, returns None (the caller notes that EXIF was dropped).
    """
    exif = normalize_exif(exif)
    if exif is None:
        return None
    try:
        return _prepare_with_piexif(exif, width, height)
    except Exception as exc:
        log.debug("piexif could not rewrite EXIF (%s); trying Pillow", exc)
    try:
        return _prepare_with_pillow(exif, width, height)
    except Exception as exc:
        log.debug("Pillow could not rewrite EXIF either: %s", exc)
        return None


def _prepare_with_piexif(exif: bytes, width: int, height: int) -> bytes:
    import piexif

    d = piexif.load(exif)
    zeroth = d["0th"]
    zeroth[TAG_ORIENTATION] = 1
    zeroth[TAG_SOFTWARE] = SOFTWARE.encode("ascii")
    for tag, value in ((TAG_IMAGE_WIDTH, width), (TAG_IMAGE_LENGTH, height)):
        if tag in zeroth:
            zeroth[tag] = value
    if d["Exif"]:
        d["Exif"][TAG_PIXEL_X] = width
        d["Exif"][TAG_PIXEL_Y] = height
    d["1st"] = {}
    d["thumbnail"] = None
    return piexif.dump(d)


def _prepare_with_pillow(exif: bytes, width: int, height: int) -> bytes:
    from PIL import ExifTags, Image

    e = Image.Exif()
    e.load(exif)
    e[TAG_ORIENTATION] = 1
    e[TAG_SOFTWARE] = SOFTWARE
    sub = e.get_ifd(ExifTags.IFD.Exif)
    if sub:
        sub[TAG_PIXEL_X] = width
        sub[TAG_PIXEL_Y] = height
    return e.tobytes()  # IFD1 (thumbnail) is not written by Pillow


def fix_xmp_orientation(xmp: bytes) -> bytes:
    """Set ``tiff:Orientation`` in an XMP packet to 1 (the pixels are upright now)."""
    for pattern, repl in (
        (rb'tiff:Orientation="[0-9]"', b'tiff:Orientation="1"'),
        (rb"<tiff:Orientation>[0-9]</tiff:Orientation>", b"<tiff:Orientation>1</tiff:Orientation>"),
    ):
        xmp = re.sub(pattern, repl, xmp)
    return xmp


# IJG (libjpeg) base quantisation tables, the ones "quality" scales.
_IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
])  # fmt: skip
_IJG_CHROMA = np.array(
    [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
     24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32
)  # fmt: skip


def _ijg_table(base: np.ndarray, quality: int) -> np.ndarray:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((base * scale + 50) // 100, 1, 255)


def estimate_jpeg_quality(qtables: dict[int, list[int]] | None) -> int | None:
    """Estimate the IJG quality (1-100) a JPEG was saved at from its quantisation tables.

    Compares sorted table values, so the zigzag/natural order does not matter;
    exact for files written by libjpeg-based encoders, approximate otherwise.
    """
    if not qtables or 0 not in qtables:
        return None
    tables = [(np.sort(np.asarray(qtables[0])), np.sort(_IJG_LUMA))]
    if 1 in qtables:
        tables.append((np.sort(np.asarray(qtables[1])), np.sort(_IJG_CHROMA)))
    if any(t.size != 64 for t, _ in tables):
        return None
    errors = [
        sum(int(np.abs(t - np.sort(_ijg_table(base, q))).sum()) for t, base in tables)
        for q in range(1, 101)
    ]
    return int(np.argmin(errors)) + 1
