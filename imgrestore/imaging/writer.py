"""``encode_image`` / ``write_image``: float pixels + metadata -> a faithful file.

Same format and bit depth as the input unless asked otherwise (see
:func:`~imgrestore.imaging.formats.plan_output`); EXIF, ICC, XMP, DPI and PNG
text carried over; written atomically next to the destination, never over the
input.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from imgrestore.errors import ImageError, UsageError
from imgrestore.files import atomic_write
from imgrestore.imaging import png16, tiff
from imgrestore.imaging.formats import (
    IMAGE_SUFFIXES,
    SUFFIX_FORMAT,
    OutputPlan,
    pillow_supports,
    plan_output,
)
from imgrestore.imaging.metadata import SOFTWARE, fix_xmp_orientation, prepare_exif
from imgrestore.imaging.pixels import from_float, gray_to_rgb, rgb_to_gray
from imgrestore.imaging.types import ImageMeta

log = logging.getLogger(__name__)

DEFAULT_QUALITY = 95
# Formats whose writer takes one-channel (gray) data; with alpha only PNG and TIFF.
_GRAY_FORMATS = {"JPEG", "PNG", "TIFF", "BMP", "GIF"}
_GRAY_ALPHA_FORMATS = {"PNG", "TIFF"}


def encode_image(
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    meta: ImageMeta,
    *,
    format: str | None = None,
    quality: int | None = None,
    bit_depth: int | None = None,
    strip_metadata: bool = False,
) -> bytes:
    """Encode float32 H x W x 3 RGB in [0, 1] (+ H x W alpha) as a file's bytes (for stdout).

    ``format`` (``jpg``, ``png``, ``tiff``...) and ``bit_depth`` (8, 16, 32)
    override the input's; ``quality`` (1-100, default 95) applies to JPEG, WebP
    and HEIF/AVIF. ``strip_metadata`` drops EXIF, XMP and PNG text (the ICC
    profile is kept: it defines the colours).
    """
    plan = plan_output(meta, format=format, bit_depth=bit_depth, has_alpha=alpha is not None)
    return _encode(plan, pixels, alpha, meta, quality, strip_metadata, meta.name)


def write_image(
    dest: str | os.PathLike[str],
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    meta: ImageMeta,
    *,
    format: str | None = None,
    quality: int | None = None,
    bit_depth: int | None = None,
    strip_metadata: bool = False,
) -> Path:
    """Write the image to ``dest`` atomically; returns the path actually written.

    The format is ``format`` if given, else the one ``dest``'s suffix names,
    else the input's. If the image must change format (alpha headed for JPEG
    becomes PNG) the suffix is changed to match and the new path returned.
    The data goes to a temporary file in the destination folder, is fsynced,
    then renamed over ``dest``. Refuses (UsageError) to write over the input.
    """
    dest, plan = plan_write(
        dest, meta, format=format, bit_depth=bit_depth, has_alpha=alpha is not None
    )
    _refuse_input(dest, meta)
    for note in plan.notes:
        log.info("%s: %s", dest, note)
    data = _encode(plan, pixels, alpha, meta, quality, strip_metadata, str(dest))
    atomic_write(dest, data)
    return dest


def plan_write(
    dest: str | os.PathLike[str],
    meta: ImageMeta,
    *,
    format: str | None = None,
    bit_depth: int | None = None,
    has_alpha: bool | None = None,
) -> tuple[Path, OutputPlan]:
    """The path :func:`write_image` will write for ``dest``, and its output plan.

    The plan's ``notes`` say what the output cannot keep (transparency in JPEG,
    16-bit samples in WebP...); the format is ``format``, else ``dest``'s suffix's.
    """
    dest = Path(dest)
    wanted = format or SUFFIX_FORMAT.get(dest.suffix.lower())
    plan = plan_output(meta, format=wanted, bit_depth=bit_depth, has_alpha=has_alpha)
    if SUFFIX_FORMAT.get(dest.suffix.lower()) != plan.format:
        known = dest.suffix.lower() in IMAGE_SUFFIXES
        dest = dest.with_suffix(plan.suffix) if known else dest.with_name(dest.name + plan.suffix)
    return dest, plan


def _refuse_input(dest: Path, meta: ImageMeta) -> None:
    source = meta.source
    if source is None:
        return
    same = dest.resolve() == source.resolve()
    if not same and dest.exists() and source.exists():
        same = os.path.samefile(dest, source)
    if same:
        raise UsageError(f"{dest}: refusing to write over the input image; "
                         "choose another output folder or suffix")  # fmt: skip


def _check_arrays(pixels: np.ndarray, alpha: np.ndarray | None) -> None:
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be H x W x 3, got shape {pixels.shape}")
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        raise ValueError(f"alpha shape {alpha.shape} does not match pixels {pixels.shape[:2]}")


def _samples(plan: OutputPlan, pixels: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Float pixels -> the integer (or float32) samples the file will hold."""
    gray = plan.grayscale and plan.format in (
        _GRAY_ALPHA_FORMATS if alpha is not None else _GRAY_FORMATS
    )
    colour = rgb_to_gray(pixels) if gray else pixels
    if alpha is not None:
        planes = colour[:, :, None] if gray else colour
        colour = np.concatenate([planes, alpha[:, :, None].astype(np.float32)], axis=2)
    return from_float(colour, plan.bit_depth)


def _encode(
    plan: OutputPlan,
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    meta: ImageMeta,
    quality: int | None,
    strip: bool,
    name: str,
) -> bytes:
    _check_arrays(pixels, alpha)
    height, width = pixels.shape[:2]
    samples = _samples(plan, pixels, alpha)
    exif = None if strip else prepare_exif(meta.exif, width, height)
    if meta.exif and not strip and exif is None:
        log.warning("%s: EXIF could not be parsed and was left out", name)
    xmp = None if strip or not meta.xmp else fix_xmp_orientation(meta.xmp)
    text = () if strip else meta.text
    try:
        if plan.format == "TIFF":
            return tiff.encode_tiff(
                samples,
                alpha=alpha is not None,
                icc_profile=meta.icc_profile,
                xmp=xmp,
                dpi=meta.dpi,
                exif=exif,
                compression=meta.compression if meta.format == "TIFF" else None,
                software=SOFTWARE,
            )
        kwargs = _pillow_kwargs(plan.format, meta, exif, xmp, text, quality)
        if plan.format == "PNG" and plan.bit_depth == 16:
            return png16.encode_png16(samples, kwargs)
        return _pillow_save(samples, plan.format, kwargs)
    except ImageError:
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ImageError(name, f"cannot encode as {plan.format} ({reason})") from None


def _pillow_kwargs(
    fmt: str,
    meta: ImageMeta,
    exif: bytes | None,
    xmp: bytes | None,
    text: tuple[tuple[str, str], ...],
    quality: int | None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if meta.icc_profile and fmt != "BMP":
        kwargs["icc_profile"] = meta.icc_profile
    if exif and fmt in ("JPEG", "PNG", "WEBP", "HEIF", "AVIF"):
        kwargs["exif"] = exif
    if meta.dpi and fmt in ("JPEG", "PNG", "BMP"):
        kwargs["dpi"] = meta.dpi if fmt == "PNG" else tuple(round(d) for d in meta.dpi)
    if xmp and fmt in ("JPEG", "WEBP", "HEIF", "AVIF"):
        kwargs["xmp"] = xmp
    if fmt == "PNG" and (text or xmp):
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in text:
            info.add_itxt(key, value)
        if xmp:
            info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"))
        kwargs["pnginfo"] = info
    if fmt == "JPEG":
        kwargs["quality"] = quality or DEFAULT_QUALITY
        if meta.format == "JPEG" and meta.jpeg_subsampling is not None:
            kwargs["subsampling"] = meta.jpeg_subsampling
    elif fmt == "WEBP":
        kwargs["exact"] = True  # keep the colour of fully transparent pixels
        if quality is None and meta.format == "WEBP" and meta.compression == "lossless":
            kwargs["lossless"] = True
        else:
            kwargs["quality"] = quality or DEFAULT_QUALITY
    elif fmt in ("HEIF", "AVIF"):
        kwargs["quality"] = quality or DEFAULT_QUALITY
    return kwargs


def _pillow_save(samples: np.ndarray, fmt: str, kwargs: dict[str, Any]) -> bytes:
    from PIL import Image

    if samples.ndim == 3 and samples.shape[2] == 1:
        samples = samples[:, :, 0]
    if samples.ndim == 2 and fmt not in _GRAY_FORMATS:
        samples = gray_to_rgb(samples)
    elif samples.ndim == 3 and samples.shape[2] == 2 and fmt not in _GRAY_ALPHA_FORMATS:
        samples = np.concatenate([gray_to_rgb(samples[:, :, 0]), samples[:, :, 1:]], axis=2)
    if fmt == "HEIF" or (fmt == "AVIF" and not pillow_supports("avif")):
        import pillow_heif

        pillow_heif.register_heif_opener()
        if hasattr(pillow_heif, "register_avif_opener"):
            pillow_heif.register_avif_opener()
    im = Image.fromarray(np.ascontiguousarray(samples))
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()
