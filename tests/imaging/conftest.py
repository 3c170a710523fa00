"""Fixtures for the imaging tests: inputs the tests make themselves, guarded.

Every file made through the ``inputs`` fixture is hashed and its mtime recorded;
after the test, an autouse check asserts each one is byte-for-byte unchanged with
the same mtime, and that no temporary ``.part`` file was left behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image, ImageCms

OLD_MTIME_NS = 1_000_000_000 * 1_000_000_000  # 2001-09-09: any rewrite changes it


class Inputs:
    """Makes input files in one folder and remembers how they looked."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.records: dict[Path, tuple[str, int]] = {}

    def add(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        os.utime(path, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
        self.records[path] = (hashlib.sha256(data).hexdigest(), OLD_MTIME_NS)
        return path

    def pillow(self, name: str, image: Image.Image, fmt: str | None = None, **kw) -> Path:
        buf = io.BytesIO()
        image.save(buf, fmt or Image.registered_extensions()[Path(name).suffix.lower()], **kw)
        return self.add(name, buf.getvalue())

    def tiff(self, name: str, array: np.ndarray, **kw) -> Path:
        import tifffile

        buf = io.BytesIO()
        tifffile.imwrite(buf, array, metadata=None, **kw)
        return self.add(name, buf.getvalue())

    def png16(self, name: str, array: np.ndarray) -> Path:
        import imagecodecs

        return self.add(name, bytes(imagecodecs.png_encode(array)))

    def check(self) -> None:
        for path, (digest, mtime) in self.records.items():
            data = path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, f"input changed: {path}"
            assert path.stat().st_mtime_ns == mtime, f"input mtime changed: {path}"


@pytest.fixture
def inputs(tmp_path: Path) -> Iterator[Inputs]:
    made = Inputs(tmp_path / "in")
    yield made
    made.check()
    leftovers = [p for p in tmp_path.rglob("*.part")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "out"


# ---------------------------------------------------------------- test data


def rng_image(height: int, width: int, channels: int = 3, dtype=np.uint8, seed: int = 0):
    """Random samples of the given integer dtype, H x W x C (or H x W for C = 0)."""
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    shape = (height, width) if channels == 0 else (height, width, channels)
    return rng.integers(0, top + 1, shape, dtype=np.int64).astype(dtype)


def blocks_image(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth, asymmetric 8-bit RGB picture that survives JPEG well."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255 // (width - 1)).astype(np.uint8)
    g = (y * 255 // (height - 1)).astype(np.uint8)
    b = np.where((x < width // 4) & (y < height // 3), 230, 30).astype(np.uint8)
    return np.dstack([r, g, b])


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def adobe_like_profile() -> bytes:
    """An ICC profile with Adobe RGB (1998) primaries: lcms's sRGB with its XYZ tags changed."""
    data = bytearray(srgb_profile())
    primaries = {b"rXYZ": (0.6097, 0.3111, 0.0195), b"gXYZ": (0.2053, 0.6257, 0.0609),
                 b"bXYZ": (0.1492, 0.0632, 0.7446)}  # fmt: skip
    (count,) = struct.unpack_from(">I", data, 128)
    for i in range(count):
        sig, offset, _size = struct.unpack_from(">4sII", data, 132 + 12 * i)
        if sig in primaries:
            data[offset + 8 : offset + 20] = b"".join(_s15(v) for v in primaries[sig])
    data[84:100] = bytes(16)  # the profile ID (MD5) no longer matches: clear it
    ImageCms.ImageCmsProfile(io.BytesIO(bytes(data)))  # still a valid profile
    return bytes(data)


def sample_exif(width: int, height: int, orientation: int = 1, thumbnail: bool = True) -> bytes:
    """A camera-like EXIF block: 0th, Exif, GPS and Interop IFDs, and a thumbnail."""
    zeroth = {
        piexif.ImageIFD.Make: b"Imgrestore Test Camera",
        piexif.ImageIFD.Model: b"Model 7",
        piexif.ImageIFD.Orientation: orientation,
        piexif.ImageIFD.XResolution: (300, 1),
        piexif.ImageIFD.YResolution: (300, 1),
        piexif.ImageIFD.ResolutionUnit: 2,
        piexif.ImageIFD.Software: b"Camera Firmware 1.0",
        piexif.ImageIFD.DateTime: b"2021:06:01 12:34:56",
        piexif.ImageIFD.Artist: b"A. Photographer",
        piexif.ImageIFD.Copyright: b"(c) 2021 A. Photographer",
    }
    exif = {
        piexif.ExifIFD.DateTimeOriginal: b"2021:06:01 12:34:56",
        piexif.ExifIFD.ExposureTime: (1, 250),
        piexif.ExifIFD.FNumber: (28, 10),
        piexif.ExifIFD.ISOSpeedRatings: 400,
        piexif.ExifIFD.FocalLength: (350, 10),
        piexif.ExifIFD.LensModel: b"Test Lens 35mm",
        piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00restore me",
        piexif.ExifIFD.PixelXDimension: width,
        piexif.ExifIFD.PixelYDimension: height,
    }
    gps = {
        piexif.GPSIFD.GPSVersionID: (2, 2, 0, 0),
        piexif.GPSIFD.GPSAltitudeRef: 0,
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: ((48, 1), (51, 1), (2934, 100)),
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: ((2, 1), (17, 1), (4012, 100)),
    }
    interop = {piexif.InteropIFD.InteroperabilityIndex: b"R98"}
    first: dict = {}
    thumb = None
    if thumbnail:
        buf = io.BytesIO()
        Image.new("RGB", (16, 12), (200, 10, 10)).save(buf, "JPEG")
        thumb = buf.getvalue()
        first = {piexif.ImageIFD.XResolution: (72, 1), piexif.ImageIFD.YResolution: (72, 1)}
    return piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps, "Interop": interop,
                        "1st": first, "thumbnail": thumb})  # fmt: skip


def make_dng(height: int = 64, width: int = 96, seed: int = 0) -> bytes:
    """A tiny uncompressed 16-bit RGGB Bayer DNG built with pidng."""
    from imgrestore.testing import bayer_dng

    return bayer_dng(height, width, seed)




POINTER_TAGS = {34665, 34853, 40965}  # offsets of sub-IFDs: change whenever EXIF moves
UPDATED_TAGS = {  # the documented updates on write
    piexif.ImageIFD.Orientation, piexif.ImageIFD.Software,
    piexif.ExifIFD.PixelXDimension, piexif.ExifIFD.PixelYDimension,
}  # fmt: skip


def _as_number(value):
    """Rationals as Fractions (a writer may store 28/10 as 14/5), the rest unchanged."""
    from fractions import Fraction

    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return tuple(_as_number(v) for v in value)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return Fraction(*value) if value[1] else value
    return value


def assert_exif_kept(
    original: bytes, written: bytes, width: int, height: int, zeroth_only: set | None = None
) -> None:
    """Tag for tag: every original tag is in the output with the same value, except the
    documented updates (checked too); ``zeroth_only`` limits the 0th IFD compared."""
    from imgrestore.imaging.metadata import SOFTWARE

    src, out = piexif.load(original), piexif.load(written)
    for ifd in ("0th", "Exif", "GPS", "Interop"):
        for tag, value in src[ifd].items():
            if tag in POINTER_TAGS or tag in UPDATED_TAGS:
                continue
            if ifd == "0th" and zeroth_only is not None and tag not in zeroth_only:
                continue
            assert tag in out[ifd], f"{ifd} tag {tag} lost"
            assert _as_number(out[ifd][tag]) == _as_number(value), f"{ifd} tag {tag} changed"
    assert out["0th"][piexif.ImageIFD.Orientation] == 1
    assert out["0th"][piexif.ImageIFD.Software] == SOFTWARE.encode()
    if src["Exif"]:
        assert out["Exif"][piexif.ExifIFD.PixelXDimension] == width
        assert out["Exif"][piexif.ExifIFD.PixelYDimension] == height
    assert out["thumbnail"] is None and not out["1st"], "stale thumbnail kept"
