"""Linear DNG output: the restored, demosaicked camera RGB, still editable in a raw developer.

The file is a DNG 1.4 with one full-resolution IFD: ``PhotometricInterpretation``
LinearRaw (34892), three 16-bit samples per pixel, black 0, white 65535, upright
(Orientation 1). It carries the camera's colour data: from a DNG input its colour and
profile tags are copied (ColorMatrix, ForwardMatrix, CameraCalibration, illuminants,
AnalogBalance, BaselineExposure, embedded profile...); from other raws LibRaw's colour
matrix (XYZ D65 -> camera) becomes ColorMatrix1. AsShotNeutral is the white balance the
user chose; Make, Model, UniqueCameraModel, the original EXIF (in an Exif IFD), XMP,
``DNGVersion`` and ``Software`` are written as well. The tags are built with tifffile
(its ``extratags``) and the Exif IFD appended as for TIFF (:mod:`imgrestore.imaging.tiff`).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from imgrestore.imaging import icc, tiff
from imgrestore.imaging.types import CameraColour

PHOTOMETRIC_LINEAR_RAW = 34892
DNG_VERSION = bytes((1, 4, 0, 0))
DNG_BACKWARD_VERSION = bytes((1, 1, 0, 0))
TAG_UNIQUE_CAMERA_MODEL = 50708
TAG_COLOR_MATRIX1 = 50721
TAG_AS_SHOT_NEUTRAL = 50728
TAG_AS_SHOT_WHITE_XY = 50729
TAG_CALIBRATION_ILLUMINANT1 = 50778
ILLUMINANT_D65 = 21
_SRATIONAL, _RATIONAL, _ASCII, _BYTE, _SHORT, _LONG = 10, 5, 2, 1, 3, 4
#: Colour and profile tags of a DNG input that still describe our camera-RGB pixels.
COPIED_TAGS = frozenset({
    50708, 50709, 50721, 50722, 50723, 50724, 50725, 50726, 50727, 50730, 50731, 50732,
    50734, 50735, 50778, 50779, 50879, 50931, 50932, 50936, 50937, 50938, 50939, 50940,
    50941, 50942, 50964, 50965, 50981, 50982, 51107, 51108, 51109, 51110,
})  # fmt: skip
#: Tags that say which white the camera saw: copied only with ``--raw-wb camera``.
_AS_SHOT_TAGS = frozenset({TAG_AS_SHOT_NEUTRAL, TAG_AS_SHOT_WHITE_XY})
#: IFD0 tags the writer sets itself; the EXIF's copies are left out.
_OWN_0TH = {271, 272, 274, 305}


def _rationals(values: Any, den: int = 1_000_000) -> list[int]:
    out: list[int] = []
    for v in np.asarray(values, dtype=np.float64).ravel():
        out += [round(float(v) * den), den]
    return out


def _read_dng_tags(data: bytes) -> dict[int, tuple[int, int, Any]]:
    """IFD0 tags of a TIFF-structured raw: code -> (type, count, value)."""
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages.first
        return {t.code: (int(t.dtype), int(t.count), t.value) for t in page.tags.values()}


def camera_colour(raw, data: bytes, multipliers: tuple[float, float, float],
                  wb: str | tuple[float, float, float]) -> CameraColour:  # fmt: skip
    """The colour data a linear DNG of ``raw`` needs, for the white balance ``multipliers``.

    ``space`` is ``camera`` when LibRaw gives three camera channels and a colour matrix is
    known, else ``srgb`` (the pixels are then developed to white-balanced linear sRGB).
    """
    ifd0 = _read_dng_tags(data) if data[:4] in (b"II*\x00", b"MM\x00*") else {}
    make = _text(ifd0.get(271)) or "Unknown"
    model = _text(ifd0.get(272)) or "camera"
    three_colours = raw.num_colors == 3 or raw.color_desc in (b"RGBG", b"RGB")
    is_dng = tiff.TAG_DNG_VERSION in ifd0
    tags: list[tuple[int, int, int, Any]] = []
    if is_dng and TAG_COLOR_MATRIX1 in ifd0 and three_colours:
        keep = COPIED_TAGS | (_AS_SHOT_TAGS if wb == "camera" else frozenset())
        tags = [(code, *ifd0[code]) for code in sorted(ifd0) if code in keep]
    elif not is_dng and three_colours and np.abs(raw.rgb_xyz_matrix[:3]).sum() > 0:
        matrix = np.asarray(raw.rgb_xyz_matrix[:3], dtype=np.float64)
        tags = [(TAG_COLOR_MATRIX1, _SRATIONAL, 9, _rationals(matrix)),
                (TAG_CALIBRATION_ILLUMINANT1, _SHORT, 1, ILLUMINANT_D65)]  # fmt: skip
    if not tags:  # fall back to linear sRGB: XYZ (D65) -> linear sRGB
        xyz_to_srgb = np.linalg.inv(icc.rgb_to_xyz(icc.SPACES["srgb"]))
        tags = [(TAG_COLOR_MATRIX1, _SRATIONAL, 9, _rationals(xyz_to_srgb)),
                (TAG_CALIBRATION_ILLUMINANT1, _SHORT, 1, ILLUMINANT_D65)]  # fmt: skip
        return CameraColour("srgb", make, model, (1.0, 1.0, 1.0), tuple(tags))
    return CameraColour("camera", make, model, tuple(multipliers), tuple(tags))  # type: ignore[arg-type]


def _text(entry: tuple[int, int, Any] | None) -> str | None:
    if entry is None:
        return None
    value = entry[2]
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return str(value).strip("\0 ") or None


def encode_dng(
    samples: np.ndarray,
    camera: CameraColour,
    *,
    exif: bytes | None,
    xmp: bytes | None,
    software: str,
) -> bytes:
    """H x W x 3 uint16 linear samples as a LinearRaw DNG (bytes)."""
    import tifffile

    if samples.dtype != np.uint16 or samples.ndim != 3 or samples.shape[2] != 3:
        raise ValueError(f"DNG takes H x W x 3 uint16 samples, got {samples.dtype} "
                         f"{samples.shape}")  # fmt: skip
    extratags = _dng_tags(camera)
    if xmp:
        extratags.append((tiff.TAG_XMP, _BYTE, len(xmp), xmp, True))
    zeroth, subifds, _ = tiff.split_exif(exif)
    extratags.extend(t for t in zeroth if t[0] not in _OWN_0TH)
    for code in subifds:
        extratags.append(("ExifTag" if code == tiff.TAG_EXIF_IFD else "GPSTag", 4, 1, 0, True))
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf, byteorder="<", bigtiff=False) as tif:
        tif.write(
            np.ascontiguousarray(samples), photometric=PHOTOMETRIC_LINEAR_RAW,
            planarconfig="contig", compression=None, subfiletype=0, software=software,
            metadata=None, extratags=extratags,
        )  # fmt: skip
    out = bytearray(buf.getvalue())
    if subifds and exif:
        tiff.append_subifds(out, exif)
    return bytes(out)


def _dng_tags(camera: CameraColour) -> list[tuple]:
    codes = {code for code, *_ in camera.tags}
    tags: list[tuple] = [
        (50706, _BYTE, 4, DNG_VERSION, True),
        (50707, _BYTE, 4, DNG_BACKWARD_VERSION, True),
        (271, _ASCII, 0, camera.make, True),
        (272, _ASCII, 0, camera.model, True),
        (274, _SHORT, 1, 1, True),
        (50717, _LONG, 1, 65535, True),  # WhiteLevel; BlackLevel defaults to 0
    ]
    if TAG_UNIQUE_CAMERA_MODEL not in codes:
        tags.append((TAG_UNIQUE_CAMERA_MODEL, _ASCII, 0, f"{camera.make} {camera.model}", True))
    if not codes & _AS_SHOT_TAGS:
        neutral = 1.0 / np.asarray(camera.white_balance, dtype=np.float64)
        tags.append((TAG_AS_SHOT_NEUTRAL, _RATIONAL, 3, _rationals(neutral / neutral.max()),
                     True))  # fmt: skip
    for code, dtype, count, value in camera.tags:
        tags.append((code, dtype, count, value, True))
    return tags
