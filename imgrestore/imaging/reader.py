"""``read_image``: any supported file -> upright float32 RGB + alpha + metadata.

Inputs are only ever opened for reading (the whole file is read into memory
once, then decoded from there). Decoders: Pillow for 8-bit images and 16-bit
gray PNG, imagecodecs for other 16-bit PNG, tifffile for TIFF above 8 bits or
in floating point, rawpy for camera RAW, pillow-heif (optional) for HEIF/AVIF.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from imgrestore.errors import ImageError
from imgrestore.imaging import png16, tiff
from imgrestore.imaging.assemble import finish, reason
from imgrestore.imaging.formats import (
    RAW_SUFFIXES,
    SUFFIX_FORMAT,
    heif_available,
    pillow_supports,
    sniff_format,
)
from imgrestore.imaging.inputs import byte_cap, read_input
from imgrestore.imaging.limits import check_pixels, default_max_pixels
from imgrestore.imaging.metadata import exif_from_tiff
from imgrestore.imaging.notes import collect_notes, summary
from imgrestore.imaging.pillow import decode_pillow, decode_png16
from imgrestore.imaging.pixels import to_float
from imgrestore.imaging.pngchunks import split_large_icc
from imgrestore.imaging.types import LoadedImage

STDIN_NAME = "<stdin>"


def read_image(
    source: str | os.PathLike[str] | bytes, *, max_pixels: int | None = None
) -> LoadedImage:
    """Decode ``source`` (a path, or the bytes of a file read from stdin).

    Returns float32 H x W x 3 RGB in [0, 1], already upright per EXIF
    orientation, an H x W alpha plane or None, and an :class:`ImageMeta`.
    ``max_pixels`` raises the decompression-bomb limit (default: Pillow's
    refusal threshold, about 179 megapixels). Raises :class:`ImageError` with a
    one-line reason for anything that cannot be decoded. What the decoders warn
    about (damaged EXIF...) ends the reason, or the image's ``meta.notes``.
    """
    is_path = not isinstance(source, (bytes, bytearray, memoryview))
    name = str(source) if is_path else STDIN_NAME
    with collect_notes(name) as heard:
        try:
            image = _read_image(source, max_pixels)
        except ImageError as exc:
            if not heard:
                raise
            raise ImageError(exc.path, f"{exc.reason} ({summary(heard)})") from None
    if not heard:
        return image
    meta = dataclasses.replace(image.meta, notes=image.meta.notes + tuple(heard))
    return dataclasses.replace(image, meta=meta)


def _read_image(source: str | os.PathLike[str] | bytes, max_pixels: int | None) -> LoadedImage:
    limit = default_max_pixels() if max_pixels is None else max_pixels
    path, name, data = _read_bytes(source, limit)
    if not data:
        raise ImageError(name, "empty file (0 bytes)")
    base: dict[str, Any] = {"source": path, "name": name}
    kind = sniff_format(data[:64])
    suffix = path.suffix.lower() if path is not None else ""

    if kind == "RAW" or (kind == "TIFF" and _tiff_is_raw(data, suffix)):
        from imgrestore.imaging.raw import decode_raw

        return decode_raw(data, base, limit)
    if kind is None:
        hint = f" despite its {path.suffix} extension" if suffix in SUFFIX_FORMAT else ""
        raise ImageError(name, f"not an image (unrecognised content{hint})")
    if kind == "HEIF" or (kind == "AVIF" and not pillow_supports("avif")):
        _register_heif(name, kind)
    if kind == "PNG":
        return _decode_png(data, base, limit)
    if kind == "TIFF":
        info = _tiff_info(data, name)
        if info.high_depth:
            return _decode_tiff(data, info, base, limit)
    return decode_pillow(data, base, limit, kind)


def _decode_png(data: bytes, base: dict[str, Any], limit: int | None) -> LoadedImage:
    """A PNG through Pillow, or imagecodecs for 16-bit colour; a colour profile larger than
    Pillow reads is taken out first and put back in the record."""
    data, large_icc = split_large_icc(data)
    if png16.needs_png16(data):
        image = decode_png16(data, base, limit)
    else:
        image = decode_pillow(data, base, limit, "PNG")
    if large_icc is None:
        return image
    return dataclasses.replace(image, meta=dataclasses.replace(image.meta, icc_profile=large_icc))


def _read_bytes(
    source: str | os.PathLike[str] | bytes, limit: int | None
) -> tuple[Path | None, str, bytes]:
    """(path, name, content); a path must be a regular file within the byte cap."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return None, STDIN_NAME, bytes(source)
    path = Path(source)
    return path, str(path), read_input(path, max_bytes=byte_cap(limit))


def _tiff_is_raw(data: bytes, suffix: str) -> bool:
    """TIFF-structured camera raws: by suffix, or DNG/CR2 by content (for stdin)."""
    if suffix in RAW_SUFFIXES:
        return True
    if suffix in SUFFIX_FORMAT:
        return False
    if data[8:10] == b"CR":
        return True
    try:
        return tiff.tiff_info(data).is_dng
    except Exception:
        return False


def _tiff_info(data: bytes, name: str) -> tiff.TiffInfo:
    try:
        return tiff.tiff_info(data)
    except Exception as exc:
        raise ImageError(name, f"corrupt TIFF ({reason(exc)})") from None


def _register_heif(name: str, kind: str) -> None:
    if not heif_available():
        raise ImageError(name, f"{kind} needs the optional 'heif' extra: "
                               "pip install 'imgrestore[heif]'")  # fmt: skip
    import pillow_heif

    pillow_heif.register_heif_opener()
    if hasattr(pillow_heif, "register_avif_opener"):
        pillow_heif.register_avif_opener()


def _decode_tiff(
    data: bytes, info: tiff.TiffInfo, base: dict[str, Any], limit: int | None
) -> LoadedImage:
    name = base["name"]
    check_pixels(name, info.width, info.height, limit)
    if info.photometric not in ("rgb", "minisblack", "miniswhite") or info.is_signed:
        kind = "signed-integer " if info.is_signed else ""
        raise ImageError(name, f"unsupported mode: {info.bits}-bit {kind}{info.photometric} TIFF")
    try:
        samples = tiff.decode_tiff(data)
    except Exception as exc:
        raise ImageError(name, f"truncated or corrupt TIFF ({reason(exc)})") from None
    notes: list[str] = []
    gray = info.photometric != "rgb"
    colour_channels = 1 if gray else 3
    has_alpha = samples.shape[2] > colour_channels
    samples = samples[:, :, : colour_channels + (1 if has_alpha else 0)]
    if info.is_float:
        samples = samples.astype(np.float32)
        if not np.isfinite(samples).all():
            samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=0.0)
            notes.append("NaN or infinite floating-point samples set to 0 or 1")
        if samples.min() < 0 or samples.max() > 1:
            notes.append("floating-point values outside [0, 1] were clipped")
    elif samples.dtype.itemsize > 2:
        samples = (samples >> (8 * samples.dtype.itemsize - 16)).astype(np.uint16)
        notes.append(f"{info.bits}-bit integer samples reduced to 16 bits")
    if info.photometric == "miniswhite":
        samples = (1.0 - to_float(samples)).astype(np.float32)
    if has_alpha and info.premultiplied:
        colour = to_float(samples[:, :, :-1])
        a = to_float(samples[:, :, -1:])
        colour = np.where(a > 0, colour / np.maximum(a, 1e-12), 0.0)
        samples = np.concatenate([colour, a], axis=2).astype(np.float32)
        notes.append("premultiplied alpha converted to straight alpha")
    if info.pages > 1:
        notes.append("multi-page TIFF: only the first page is restored")
    bits = 32 if info.is_float else 16
    layout = ("L" if gray else "RGB") + ("A" if has_alpha else "")
    return finish(
        samples,
        base,
        orientation=info.orientation,
        alpha_last=has_alpha,
        format="TIFF",
        mode=f"{layout};{'32F' if info.is_float else '16'}",
        bit_depth=bits,
        was_grayscale=gray,
        icc_profile=info.icc_profile,
        exif=exif_from_tiff(data),
        xmp=info.xmp,
        dpi=info.dpi,
        compression=info.compression,
        notes=tuple(notes),
    )
