"""TIFF at 16 bits and in floating point through tifffile (Pillow keeps 8 bits only).

tifffile cannot write EXIF sub-IFDs, so :func:`encode_tiff` writes the Exif and
GPS IFDs with Pillow's IFD serialiser after the image and points IFD0's
ExifTag/GPSTag (written as placeholders) at them.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

import numpy as np

TAG_ORIENTATION = 274
TAG_XMP = 700
TAG_ICC = 34675
TAG_EXIF_IFD = 34665
TAG_GPS_IFD = 34853
TAG_DNG_VERSION = 50706
# tifffile compression names that we write back as they were; others become zlib.
_KEEP_COMPRESSION = {"none", "zlib", "adobe_deflate", "deflate", "lzw", "packbits", "zstd", "lzma"}
_PREDICTOR_COMPRESSION = {"zlib", "lzw", "zstd", "lzma"}


@dataclass
class TiffInfo:
    """What the first page of a TIFF says about itself."""

    width: int
    height: int
    samples: int
    bits: int
    is_float: bool
    is_signed: bool
    photometric: str
    compression: str
    orientation: int
    pages: int
    is_dng: bool
    premultiplied: bool
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def high_depth(self) -> bool:
        """True when Pillow would lose precision (more than 8 bits, or floats)."""
        return self.bits > 8 or self.is_float


def _tag(page, code):
    tag = page.tags.get(code)
    return None if tag is None else tag.value


def tiff_info(data: bytes) -> TiffInfo:
    """Read the first page's header (no pixel decoding)."""
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        if not tif.pages:
            raise ValueError("no readable image directory")
        page = tif.pages.first
        extrasamples = tuple(page.extrasamples or ())
        icc = _tag(page, TAG_ICC)
        xmp = _tag(page, TAG_XMP)
        return TiffInfo(
            width=int(page.imagewidth),
            height=int(page.imagelength),
            samples=int(page.samplesperpixel),
            bits=int(page.bitspersample),
            is_float=int(page.sampleformat) == 3,
            is_signed=int(page.sampleformat) == 2,
            photometric=page.photometric.name.lower(),
            compression=page.compression.name.lower(),
            orientation=int(_tag(page, TAG_ORIENTATION) or 1),
            pages=len(tif.pages),
            is_dng=TAG_DNG_VERSION in page.tags,
            premultiplied=bool(extrasamples) and int(extrasamples[0]) == 1,
            icc_profile=bytes(icc) if icc else None,
            xmp=bytes(xmp) if xmp else None,
            dpi=_dpi(page),
        )


def _dpi(page) -> tuple[float, float] | None:
    res_x, res_y = _tag(page, 282), _tag(page, 283)
    unit_tag = _tag(page, 296)  # RESUNIT.NONE is falsy: test for None
    unit = 2 if unit_tag is None else int(unit_tag)
    if not res_x or not res_y or unit == 1:
        return None
    scale = 2.54 if unit == 3 else 1.0
    return (scale * res_x[0] / res_x[1], scale * res_y[0] / res_y[1])


def decode_tiff(data: bytes) -> np.ndarray:
    """First page's samples as H x W x S (S >= 1), in the file's dtype."""
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages.first
        array = page.asarray()
        axes = page.axes
    if "S" in axes and axes.index("S") < axes.index("Y"):
        array = np.moveaxis(array, axes.index("S"), -1)
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def encode_tiff(
    samples: np.ndarray,
    *,
    alpha: bool,
    icc_profile: bytes | None,
    xmp: bytes | None,
    dpi: tuple[float, float] | None,
    exif: bytes | None,
    compression: str | None,
    software: str,
) -> bytes:
    """Write H x W (x C) samples (uint8, uint16 or float32) as a little-endian TIFF.

    Colour with C = 3/4, gray with C = 1/2; the last channel is unassociated alpha
    when ``alpha``. ``exif`` is a prepared EXIF block (see ``prepare_exif``).
    """
    import tifffile

    comp = (compression or "zlib").lower()
    comp = "zlib" if comp in ("adobe_deflate", "deflate") or comp not in _KEEP_COMPRESSION else comp
    comp_arg = None if comp == "none" else comp
    channels = 1 if samples.ndim == 2 else samples.shape[2]
    photometric = "rgb" if channels >= 3 else "minisblack"
    extratags: list[tuple] = []
    if xmp:
        extratags.append((TAG_XMP, 1, len(xmp), xmp, True))
    zeroth, subifds, exif_dpi = split_exif(exif)
    extratags.extend(zeroth)
    dpi = dpi or exif_dpi
    for code in subifds:
        # named, not numbered: tifffile drops numbered IFD-pointer tags
        extratags.append(("ExifTag" if code == TAG_EXIF_IFD else "GPSTag", 4, 1, 0, True))

    buf = io.BytesIO()
    with tifffile.TiffWriter(buf, byteorder="<", bigtiff=False) as tif:
        tif.write(
            samples,
            photometric=photometric,
            extrasamples=("unassalpha",) if alpha else None,
            compression=comp_arg,
            predictor=comp in _PREDICTOR_COMPRESSION and samples.dtype != np.uint8,
            iccprofile=icc_profile,
            resolution=dpi,
            resolutionunit="inch" if dpi else "none",
            software=software,
            metadata=None,
            extratags=extratags,
        )
    out = bytearray(buf.getvalue())
    if subifds:
        append_subifds(out, exif)
    return bytes(out)


def split_exif(
    exif: bytes | None,
) -> tuple[list[tuple], list[int], tuple[float, float] | None]:
    """IFD0 tags for tifffile's extratags, the sub-IFDs (Exif, GPS) to append, EXIF's DPI."""
    if not exif:
        return [], [], None
    import piexif

    from imgrestore.imaging.metadata import DESCRIPTIVE_0TH_TAGS

    d = piexif.load(exif)
    tags = []
    for code, value in d["0th"].items():
        # Software is set by tifffile; resolution comes from dpi
        if code not in DESCRIPTIVE_0TH_TAGS or code in (282, 283, 296, 305):
            continue
        typ = piexif.TAGS["Image"][code]["type"]
        if isinstance(value, bytes):
            tags.append((code, 7 if typ == 7 else (1 if typ == 1 else 2), len(value), value, True))
        elif isinstance(value, int):
            tags.append((code, typ, 1, value, True))
        elif isinstance(value, tuple) and typ in (5, 10):
            pairs = value if isinstance(value[0], tuple) else (value,)
            flat = [v for pair in pairs for v in pair]
            tags.append((code, typ, len(flat) // 2, flat, True))
        elif isinstance(value, tuple):
            tags.append((code, typ, len(value), value, True))
    subifds = [c for c, key in ((TAG_EXIF_IFD, "Exif"), (TAG_GPS_IFD, "GPS")) if d[key]]
    return tags, subifds, _exif_dpi(d["0th"])


def _exif_dpi(zeroth: dict) -> tuple[float, float] | None:
    res_x, res_y, unit = zeroth.get(282), zeroth.get(283), zeroth.get(296, 2)
    if not (res_x and res_y) or unit not in (2, 3) or not (res_x[1] and res_y[1]):
        return None
    scale = 2.54 if unit == 3 else 1.0
    return (scale * res_x[0] / res_x[1], scale * res_y[0] / res_y[1])


def append_subifds(out: bytearray, exif: bytes) -> None:
    """Append the Exif, GPS and Interop IFDs and point IFD0's placeholders at them.

    Each IFD is serialised by Pillow's ``ImageFileDirectory_v2`` for the offset
    it will sit at, with the tag types piexif's table gives (so UNDEFINED stays
    UNDEFINED); a rational may come back reduced (28/10 -> 14/5), same value.
    """
    import piexif

    d = piexif.load(exif)
    pointers: dict[int, int] = {}
    interop = _serialise_ifd(out, "Interop", d["Interop"], {})
    exif_extra = {40965: interop} if interop else {}
    entries = {k: v for k, v in d["Exif"].items() if k != 40965}
    for code, name, items, extra in ((TAG_GPS_IFD, "GPS", d["GPS"], {}),
                                     (TAG_EXIF_IFD, "Exif", entries, exif_extra)):  # fmt: skip
        offset = _serialise_ifd(out, name, items, extra)
        if offset:
            pointers[code] = offset
    (ifd0,) = struct.unpack_from("<I", out, 4)
    (count,) = struct.unpack_from("<H", out, ifd0)
    for i in range(count):
        entry = ifd0 + 2 + 12 * i
        (code,) = struct.unpack_from("<H", out, entry)
        if code in pointers:
            struct.pack_into("<HII", out, entry + 2, 4, 1, pointers[code])  # LONG, 1, offset


_GROUPS = {"Exif": TAG_EXIF_IFD, "GPS": TAG_GPS_IFD, "Interop": 40965}


def _serialise_ifd(out: bytearray, name: str, items: dict, pointers: dict[int, int]) -> int:
    """Append one IFD (little-endian) at the end of ``out``; return its offset (0 if empty)."""
    import piexif
    from PIL.TiffImagePlugin import ImageFileDirectory_v2

    if not items:
        return 0
    if len(out) % 2:
        out += b"\x00"
    ifd = ImageFileDirectory_v2(ifh=b"II*\x00\x08\x00\x00\x00", group=_GROUPS[name])
    for tag, value in sorted(items.items()):
        spec = piexif.TAGS[name].get(tag)
        if spec is None:
            continue
        ifd.tagtype[tag] = spec["type"]
        ifd[tag] = _pillow_value(value, spec["type"])
    for tag, offset in pointers.items():
        ifd.tagtype[tag] = 4
        ifd[tag] = offset
    offset = len(out)
    out += ifd.tobytes(offset)
    return offset


def _pillow_value(value, typ: int):
    """A piexif value in the form Pillow's IFD writer takes for TIFF type ``typ``."""
    from PIL.TiffImagePlugin import IFDRational

    if typ in (5, 10):  # (SIGNED_)RATIONAL: (n, d) or ((n, d), ...)
        pairs = value if isinstance(value[0], tuple) else (value,)
        return tuple(IFDRational(n, den) for n, den in pairs)
    if typ in (1, 7) and isinstance(value, tuple):  # BYTE / UNDEFINED as bytes
        return bytes(value)
    return value
