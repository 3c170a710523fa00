"""A corpus of malformed and unusual image files, made by code, for batch tests.

``make_corpus(folder)`` writes every file into ``folder`` and returns one
:class:`Case` per file: whether imgrestore should restore it and, if not, a
lowercase piece of the one-line error it must give. Every file is small (at most
64 x 64 pixels) and the whole corpus is made in a fraction of a second, from
Pillow, piexif, tifffile, imagecodecs, pidng and raw bytes; nothing is downloaded.

Every file gets the same old modification time (:data:`CORPUS_MTIME_NS`), so a
test can tell that no input was rewritten or touched.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The mtime every corpus file gets (2001-09-09): any rewrite changes it.
CORPUS_MTIME_NS = 1_000_000_000 * 1_000_000_000


@dataclass(frozen=True)
class Case:
    """One corpus file and what imgrestore must do with it."""

    name: str
    """File name inside the corpus folder."""
    usable: bool
    """True when imgrestore must restore it."""
    reason: str | None
    """Lowercase piece of the error for an unusable file; None for usable or ignored files."""
    note: str
    """What the case is; ``ignored`` for a non-image that the batch layer passes over."""
    size: tuple[int, int] | None = None
    """(height, width) of a usable image as read, upright."""

    @property
    def ignored(self) -> bool:
        """A non-image with a non-image extension: not a job, not a failure."""
        return self.note == "ignored"


# ------------------------------------------------------------------ pictures


def picture(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    """A small 8-bit RGB picture: smooth ramps plus a little seeded noise."""
    y, x = np.mgrid[0:height, 0:width]
    base = np.dstack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                      (x + y) * 255 // max(width + height - 2, 1)])  # fmt: skip
    noise = np.random.default_rng(seed).integers(-12, 13, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _pillow(image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _rgb(height: int = 24, width: int = 32, seed: int = 0):
    from PIL import Image

    return Image.fromarray(picture(height, width, seed))


def _tiff(array: np.ndarray, **kwargs) -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, array, metadata=None, **kwargs)
    return buf.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _chunk_offset(png: bytes, kind: bytes) -> int:
    """Offset of the first ``kind`` chunk's length field in a PNG."""
    pos = 8
    while pos < len(png):
        (length,) = struct.unpack_from(">I", png, pos)
        if png[pos + 4 : pos + 8] == kind:
            return pos
        pos += 12 + length
    raise ValueError(f"no {kind!r} chunk")


# ------------------------------------------------------------------ builders


def jpeg(**kwargs) -> bytes:
    return _pillow(_rgb(), "JPEG", quality=90, **kwargs)


def png() -> bytes:
    return _pillow(_rgb(), "PNG")


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def png_bad_header_crc() -> bytes:
    data = bytearray(png())
    data[29] ^= 0xFF  # the IHDR chunk's CRC (8 signature + 8 + 13 IHDR bytes)
    return bytes(data)


def png_corrupt_idat() -> bytes:
    """A PNG whose IDAT holds garbage (with a correct CRC): the zlib stream fails."""
    data = png()
    pos = _chunk_offset(data, b"IDAT")
    (length,) = struct.unpack_from(">I", data, pos)
    body = bytearray(data[pos + 8 : pos + 8 + length])
    body[2:] = np.random.default_rng(1).integers(0, 256, len(body) - 2, dtype=np.uint8).tobytes()
    return data[:pos] + _png_chunk(b"IDAT", bytes(body)) + data[pos + 12 + length :]


def png_huge(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header declaring ``width`` x ``height`` RGB, with a few bytes of IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))  # fmt: skip


def jpeg_huge(width: int = 60_000, height: int = 60_000) -> bytes:
    """A real small JPEG whose SOF0 marker is rewritten to declare ``width`` x ``height``."""
    data = bytearray(jpeg())
    pos = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, pos + 5, height, width)
    return bytes(data)


def tiff_huge() -> bytes:
    """A 16-bit TIFF whose tags claim 60000 x 60000 (in one strip, so tifffile stays quiet)."""
    data = bytearray(_tiff(np.zeros((8, 8), np.uint16)))
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, typ = struct.unpack_from("<HH", data, entry)
        if tag in (256, 257, 278):  # ImageWidth, ImageLength, RowsPerStrip
            fmt = "<H" if typ == 3 else "<I"
            struct.pack_into(fmt, data, entry + 8, 60_000)
    return bytes(data)


def jpeg_garbage_exif() -> bytes:
    """A JPEG whose APP1 says ``Exif`` but holds random bytes."""
    garbage = np.random.default_rng(2).integers(0, 256, 200, dtype=np.uint8).tobytes()
    return _insert_app1(jpeg(), b"Exif\x00\x00" + garbage)


def jpeg_broken_exif_ifd() -> bytes:
    """A JPEG whose EXIF has a valid TIFF header pointing its IFD far past the end."""
    tiff_header = b"II*\x00" + struct.pack("<I", 0x7FFFFF00)
    return _insert_app1(jpeg(), b"Exif\x00\x00" + tiff_header + bytes(8))


def _insert_app1(jpeg_data: bytes, payload: bytes) -> bytes:
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg_data[:2] + segment + jpeg_data[2:]


def jpeg_orientation(value: int) -> bytes:
    import piexif

    exif = piexif.dump({"0th": {piexif.ImageIFD.Orientation: value, piexif.ImageIFD.Make: b"T"}})
    return _pillow(_rgb(24, 32), "JPEG", quality=90, exif=exif)


def jpeg_bad_orientation() -> bytes:
    """Orientation stored as ASCII text instead of a SHORT (a real-world writer bug)."""
    ifd = struct.pack("<HHHI4sI", 1, 0x0112, 2, 4, b"six\x00", 0)  # one entry, no next IFD
    exif = b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd
    return _pillow(_rgb(), "JPEG", quality=90, exif=exif)


def cmyk_jpeg() -> bytes:
    return _pillow(_rgb().convert("CMYK"), "JPEG", quality=90)


def cmyk_tiff() -> bytes:
    return _pillow(_rgb().convert("CMYK"), "TIFF")


def cmyk16_tiff() -> bytes:
    array = (picture().astype(np.uint16) * 257)[:, :, [0, 1, 2, 0]]
    return _tiff(array, photometric="separated")


def cmyk_garbage_icc() -> bytes:
    return _pillow(_rgb().convert("CMYK"), "JPEG", quality=90, icc_profile=b"not a profile" * 20)


def jpeg_garbage_icc() -> bytes:
    return jpeg(icc_profile=bytes(range(256)) * 2)


def palette_png(transparency: bool = False) -> bytes:
    im = _rgb().quantize(16)
    if transparency:
        return _pillow(im, "PNG", transparency=0)
    return _pillow(im, "PNG")


def mode_png(mode: str) -> bytes:
    from PIL import Image

    rgba = np.dstack([picture(), np.linspace(0, 255, 24 * 32).reshape(24, 32).astype(np.uint8)])
    return _pillow(Image.fromarray(rgba).convert(mode), "PNG")


def gray16_png() -> bytes:
    from PIL import Image

    ramp = (np.arange(24 * 32, dtype=np.uint16).reshape(24, 32) * 85).astype(np.uint16)
    return _pillow(Image.fromarray(ramp), "PNG")  # Pillow writes mode I;16 as 16-bit gray


def rgb16_png() -> bytes:
    import imagecodecs

    return bytes(imagecodecs.png_encode(picture().astype(np.uint16) * 257))


def bilevel_png() -> bytes:
    return _pillow(_rgb().convert("1"), "PNG")


def animated_gif() -> bytes:
    frames = [_rgb(seed=i).quantize(32) for i in range(3)]
    return _pillow(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)


def tiff16() -> bytes:
    return _tiff(picture().astype(np.uint16) * 257, photometric="rgb")


def tiff_float() -> bytes:
    return _tiff(picture().astype(np.float32) / 255, photometric="rgb")


def tiff_signed() -> bytes:
    return _tiff((picture()[:, :, 0].astype(np.int16) - 128) * 200, photometric="minisblack")


def tiff_multipage() -> bytes:
    import tifffile

    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tif:
        for seed in range(2):
            tif.write(picture(seed=seed).astype(np.uint16) * 257, photometric="rgb", metadata=None)
    return buf.getvalue()


def tiff_pages(count: int) -> bytes:
    """An 8-bit RGB TIFF of ``count`` pages with tifffile's shaped description."""
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.stack([picture(seed=s) for s in range(count)]), photometric="rgb")
    return buf.getvalue()


def tiff_cut() -> bytes:
    """A 16-bit TIFF whose strip data is cut off (the header and IFD come first)."""
    data = _tiff(picture().astype(np.uint16) * 257, photometric="rgb")
    return data[: len(data) // 3]


def random_bytes(size: int = 2000, seed: int = 3) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def dng(height: int = 32, width: int = 48, seed: int = 0) -> bytes:
    """A tiny uncompressed 16-bit RGGB Bayer DNG built with pidng."""
    from imgrestore.testing import bayer_dng

    return bayer_dng(height, width, seed, model="Corpus")


def png_with_chunk(kind: bytes, body: bytes) -> bytes:
    """The standard PNG with one more chunk just before its IDAT."""
    data = png()
    pos = _chunk_offset(data, b"IDAT")
    return data[:pos] + _png_chunk(kind, body) + data[pos:]


def tiff_nan() -> bytes:
    values = picture().astype(np.float32) / 255
    values[0, :4, 0] = [np.nan, np.inf, -np.inf, 2.0]
    return _tiff(values, photometric="rgb")


def la16_png() -> bytes:
    import imagecodecs

    gray = picture()[:, :, :2].astype(np.uint16) * 257
    return bytes(imagecodecs.png_encode(gray))


# ------------------------------------------------------------------ the corpus


def lab_tiff() -> bytes:
    # Built from channels, not convert("LAB"): Pillow's first RGB->LAB transform in a
    # process can differ by one level from later ones, and the corpus must be the same
    # bytes every time.
    from PIL import Image

    r, g, b = _rgb().split()
    lab = Image.merge("LAB", (g, Image.eval(r, lambda v: 128 + (v - 128) // 4),
                              Image.eval(b, lambda v: 128 - (v - 128) // 4)))
    return _pillow(lab, "TIFF")


def _case(name: str, note: str, size: tuple[int, int], build: Callable[[], bytes]) -> Case:
    _BUILDERS[name] = build
    return Case(name, True, None, note, size)


def _bad(name: str, reason: str | None, note: str, build: Callable[[], bytes]) -> Case:
    _BUILDERS[name] = build
    return Case(name, False, reason, note)


_BUILDERS: dict[str, Callable[[], bytes]] = {}

#: Every case, in the order the files are written.
CASES: tuple[Case, ...] = (
    # usable: unusual but valid, or with metadata that must not fail the image
    _case("tiny_1x1.png", "1 x 1 pixel", (1, 1), lambda: _pillow(_rgb(1, 1), "PNG")),
    _case("tiny_2x3.jpg", "2 x 3 pixels, smaller than one JPEG block", (2, 3),
          lambda: _pillow(_rgb(2, 3), "JPEG", quality=90)),
    _case("max_size.png", "64 x 64, the largest in the corpus", (64, 64),
          lambda: _pillow(_rgb(64, 64), "PNG")),
    _case("orientation6.jpg", "EXIF orientation 6: turned upright on read", (32, 24),
          lambda: jpeg_orientation(6)),
    _case("orientation_text.jpg", "EXIF orientation stored as text: ignored", (24, 32),
          jpeg_bad_orientation),
    _case("exif_garbage.jpg", "APP1 'Exif' holding random bytes", (24, 32), jpeg_garbage_exif),
    _case("exif_bad_offset.jpg", "EXIF IFD offset far past the end of the block", (24, 32),
          jpeg_broken_exif_ifd),
    _case("exif_garbage.png", "eXIf chunk holding a TIFF header then garbage", (24, 32),
          lambda: png_with_chunk(b"eXIf", b"MM\x00*" + bytes(range(100)))),
    _case("icc_garbage.jpg", "ICC profile that is garbage bytes", (24, 32), jpeg_garbage_icc),
    _case("icc_garbage.png", "iCCP chunk whose compressed profile is garbage", (24, 32),
          lambda: png_with_chunk(b"iCCP", b"icc\x00\x00garbage")),
    _case("cmyk.jpg", "CMYK JPEG without a profile", (24, 32), cmyk_jpeg),
    _case("cmyk_icc_garbage.jpg", "CMYK JPEG whose ICC profile is garbage", (24, 32),
          cmyk_garbage_icc),
    _case("cmyk.tif", "8-bit CMYK TIFF", (24, 32), cmyk_tiff),
    _case("lab.tif", "8-bit CIELAB TIFF", (24, 32), lab_tiff),
    _case("palette.png", "16-colour palette PNG", (24, 32), palette_png),
    _case("palette_trns.png", "palette PNG with a transparent index", (24, 32),
          lambda: palette_png(transparency=True)),
    _case("rgba.png", "RGBA PNG", (24, 32), lambda: mode_png("RGBA")),
    _case("la.png", "8-bit gray + alpha PNG", (24, 32), lambda: mode_png("LA")),
    _case("la16.png", "16-bit gray + alpha PNG", (24, 32), la16_png),
    _case("gray8.png", "8-bit grayscale PNG", (24, 32), lambda: mode_png("L")),
    _case("gray8.jpg", "8-bit grayscale JPEG", (24, 32),
          lambda: _pillow(_rgb().convert("L"), "JPEG", quality=90)),
    _case("gray16.png", "16-bit grayscale PNG", (24, 32), gray16_png),
    _case("rgb16.png", "16-bit RGB PNG", (24, 32), rgb16_png),
    _case("bilevel.png", "1-bit PNG", (24, 32), bilevel_png),
    _case("rgb16.tif", "16-bit RGB TIFF", (24, 32), tiff16),
    _case("float32.tif", "32-bit float RGB TIFF", (24, 32), tiff_float),
    _case("float_nan.tif", "float TIFF holding NaN, +inf, -inf and 2.0", (24, 32), tiff_nan),
    _case("multipage.tif", "two-page 16-bit TIFF: first page restored", (24, 32),
          tiff_multipage),
    _case("three_pages.tif", "three-page 8-bit TIFF whose description claims the pages",
          (24, 32), lambda: tiff_pages(3)),
    _case("big_icc.png", "PNG whose colour profile inflates to 1.3 MB (over Pillow's 1 MB)",
          (24, 32), lambda: _pillow(_rgb(), "PNG", icc_profile=bytes(range(256)) * 5000)),
    _case("animated.gif", "animated GIF, 3 frames: first frame restored", (24, 32),
          animated_gif),
    _case("animated.png", "APNG, 2 frames: first frame restored", (24, 32),
          lambda: _pillow(_rgb(), "PNG", save_all=True, append_images=[_rgb(seed=5)])),
    _case("lossy.webp", "lossy WebP", (24, 32), lambda: _pillow(_rgb(), "WEBP", quality=80)),
    _case("lossless_alpha.webp", "lossless WebP with alpha", (24, 32),
          lambda: _pillow(_rgb().convert("RGBA"), "WEBP", lossless=True)),
    _case("photo.bmp", "24-bit BMP", (24, 32), lambda: _pillow(_rgb(), "BMP")),
    _case("png_named.jpg", "a PNG named .jpg: read by content", (24, 32), png),
    _case("jpeg_named.png", "a JPEG named .png: read by content", (24, 32), jpeg),
    _case("bayer.dng", "a small DNG made with pidng", (32, 48), dng),
    # unusable: each must fail with one line naming the file and the reason
    _bad("empty.jpg", "empty file", "zero bytes", lambda: b""),
    _bad("text.jpg", "not an image", "a text file renamed .jpg",
         lambda: b"These are my holiday notes, not a photo.\n" * 4),
    _bad("random.png", "not an image", "random bytes named .png", random_bytes),
    _bad("truncated.jpg", "truncated", "JPEG cut inside its scan data",
         lambda: truncated(jpeg(), 0.8)),
    _bad("truncated_header.jpg", "truncated", "JPEG cut before its scan starts",
         lambda: truncated(jpeg(), 0.5)),
    _bad("soi_eoi.jpg", "no image size", "JPEG start and end markers and nothing between",
         lambda: b"\xff\xd8\xff\xd9"),
    _bad("truncated.png", "truncated", "PNG cut in half", lambda: truncated(png())),
    _bad("header_only.png", "truncated", "PNG signature and IHDR, nothing after",
         lambda: png()[:33]),
    _bad("truncated16.png", "truncated", "16-bit RGB PNG cut in half",
         lambda: truncated(rgb16_png())),
    _bad("zero_size.png", "no image size", "PNG header declaring 0 x 0",
         lambda: png_huge(0, 0)),
    _bad("bad_crc.png", "checksum", "PNG whose IHDR checksum is wrong", png_bad_header_crc),
    _bad("corrupt_idat.png", "corrupt", "PNG whose IDAT holds garbage", png_corrupt_idat),
    _bad("huge.png", "decompression bomb", "PNG header declaring 100000 x 100000", png_huge),
    _bad("huge.jpg", "decompression bomb", "JPEG header declaring 60000 x 60000", jpeg_huge),
    _bad("huge.tif", "decompression bomb", "16-bit TIFF tags declaring 60000 x 60000",
         tiff_huge),
    _bad("truncated.bmp", "truncated", "BMP cut in half",
         lambda: truncated(_pillow(_rgb(), "BMP"))),
    _bad("truncated.gif", "truncated", "GIF cut in half",
         lambda: truncated(_pillow(_rgb().quantize(64), "GIF"))),
    _bad("truncated.webp", "truncated", "WebP cut in half",
         lambda: truncated(_pillow(_rgb(), "WEBP", quality=80))),
    _bad("truncated16.tif", "truncated", "16-bit TIFF cut inside its strips", tiff_cut),
    _bad("broken.tif", "corrupt tiff", "TIFF header then garbage",
         lambda: b"II*\x00\x08\x00\x00\x00" + random_bytes(500, seed=6)),
    _bad("no_ifd.tif", "no readable image directory", "TIFF whose first IFD is past the end",
         lambda: b"II*\x00" + struct.pack("<I", 1_000_000) + bytes(64)),
    _bad("signed16.tif", "unsupported mode", "signed 16-bit integer TIFF", tiff_signed),
    _bad("cmyk16.tif", "unsupported mode", "16-bit CMYK TIFF", cmyk16_tiff),
    _bad("broken.dng", "libraw cannot decode", "TIFF header then garbage, named .dng",
         lambda: b"II*\x00\x08\x00\x00\x00" + random_bytes(4000, seed=4)),
    # not an image, and not named like one: the batch layer passes over it
    _bad("notes.txt", None, "ignored", lambda: b"shot list: beach, harbour, sunset\n"),
)  # fmt: skip


def make_corpus(folder: Path) -> list[Case]:
    """Write every corpus file into ``folder`` (created if needed); return the cases.

    Every file gets the modification time :data:`CORPUS_MTIME_NS`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        path = folder / case.name
        path.write_bytes(_BUILDERS[case.name]())
        os.utime(path, ns=(CORPUS_MTIME_NS, CORPUS_MTIME_NS))
    return list(CASES)


# ------------------------------------------------------------------ mutants

#: Valid files the mutants start from, one per decoder path.
SEEDS: dict[str, Callable[[], bytes]] = {
    "jpeg.jpg": jpeg, "png.png": png, "png16.png": rgb16_png, "tiff8.tif": cmyk_tiff,
    "tiff16.tif": tiff16, "gif.gif": lambda: _pillow(_rgb().quantize(64), "GIF"),
    "webp.webp": lambda: _pillow(_rgb(), "WEBP", quality=80), "bmp.bmp": lambda: _pillow(
        _rgb(), "BMP"), "dng.dng": dng,
}  # fmt: skip


def _flip(data: bytes, rng: np.random.Generator, low: int, high: int, count: int = 8) -> bytes:
    out = bytearray(data)
    high = max(min(high, len(out)), low + 1)
    for i in rng.integers(low, high, count):
        out[i] ^= int(rng.integers(1, 256))
    return bytes(out)


#: How a seed is damaged: cut short, header or body bytes flipped, a run zeroed, the header
#: repeated, garbage appended.
MUTATIONS: dict[str, Callable[[bytes, np.random.Generator], bytes]] = {
    "cut10": lambda d, r: d[: len(d) // 10],
    "cut50": lambda d, r: d[: len(d) // 2],
    "cut90": lambda d, r: d[: len(d) * 9 // 10],
    "header": lambda d, r: _flip(d, r, 4, 64),
    "body": lambda d, r: _flip(d, r, len(d) // 3, len(d)),
    "zeroed": lambda d, r: d[: len(d) // 2] + bytes(64) + d[len(d) // 2 + 64 :],
    "doubled": lambda d, r: d[:48] + d,
}


def make_mutants(folder: Path) -> list[str]:
    """Write every seed damaged by every mutation into ``folder`` (the same bytes every
    time, old mtimes); returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, (seed_name, build) in enumerate(SEEDS.items()):
        data = build()
        stem, ext = seed_name.rsplit(".", 1)
        for j, (mutation, damage) in enumerate(MUTATIONS.items()):
            name = f"mutant_{stem}_{mutation}.{ext}"
            path = folder / name
            path.write_bytes(damage(data, np.random.default_rng([i, j])))
            os.utime(path, ns=(CORPUS_MTIME_NS, CORPUS_MTIME_NS))
            names.append(name)
    return names
