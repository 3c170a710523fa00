"""Decoding with Pillow: 8-bit images of every format Pillow reads, 16-bit gray PNG, and
the metadata of 16-bit colour PNGs (whose pixels :mod:`.png16` decodes).

Pillow's own decompression-bomb check is switched off around ``Image.open`` (under a
lock) and imgrestore's limit applied instead; a file Pillow cannot open gets the reason
its format's plugin gives, not "cannot identify image file".
"""

from __future__ import annotations

import io
import struct
import threading
from typing import Any

import numpy as np

from imgrestore.errors import ImageError
from imgrestore.imaging import png16
from imgrestore.imaging.assemble import finish, reason
from imgrestore.imaging.limits import check_pixels
from imgrestore.imaging.metadata import estimate_jpeg_quality, exif_from_tiff, normalize_exif
from imgrestore.imaging.types import LoadedImage

# Pillow checks its global MAX_IMAGE_PIXELS inside Image.open; we switch that
# check off around open (under this lock) and apply our own limit instead.
_PILLOW_OPEN_LOCK = threading.Lock()
_SRGB_PROFILE: bytes | None = None


def decode_png16(data: bytes, base: dict[str, Any], limit: int | None) -> LoadedImage:
    name = base["name"]
    im = _open_pillow(data, name, limit, "PNG")  # header and metadata chunks only
    info = dict(im.info)
    try:
        samples = png16.decode_png16(data)
    except Exception as exc:
        raise ImageError(name, f"truncated or corrupt PNG ({reason(exc)})") from None
    try:  # Pillow decodes (at 8 bits) to reach chunks after the pixels
        exif_obj, text = im.getexif(), getattr(im, "text", {})
    except Exception:  # metadata never fails an image that decoded
        exif_obj, text = {}, {}
    channels = samples.shape[2] if samples.ndim == 3 else 1
    mode = {1: "I;16", 2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}[channels]
    return finish(
        samples,
        base,
        orientation=_orientation(exif_obj),
        alpha_last=channels in (2, 4),
        format="PNG",
        mode=mode,
        bit_depth=16,
        was_grayscale=channels <= 2,
        **_pillow_metadata(info, text),
    )


def _open_pillow(data: bytes, name: str, limit: int | None, kind: str):
    from PIL import Image, UnidentifiedImageError

    with _PILLOW_OPEN_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            im = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ImageError(name, _header_reason(data, kind, None)) from None
        except Exception as exc:
            raise ImageError(name, _header_reason(data, kind, exc)) from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    check_pixels(name, im.width, im.height, limit)
    return im


def _header_reason(data: bytes, kind: str, exc: Exception | None) -> str:
    """Why Pillow could not open a file whose content sniffed as ``kind``.

    ``Image.open`` hides the plugin's own error behind "cannot identify image
    file"; we know the format, so we ask that plugin again for the real reason.
    """
    from PIL import Image

    if exc is None:
        factory = Image.OPEN.get(kind, (None, None))[0]
        try:
            if factory is not None:
                factory(io.BytesIO(data))
        except Exception as plugin_exc:
            exc = plugin_exc
    if exc is None:
        return f"not an image, or a {kind} variant Pillow cannot read"
    text = reason(exc)
    if text == "not identified by this driver":  # Pillow found no size in the header
        text = "no image size in its header"
    short = "truncat" in text.lower()
    if any(isinstance(e, (EOFError, struct.error)) for e in (exc, exc.__cause__, exc.__context__)):
        short, text = True, "the file ends inside its header"
    if kind == "WEBP" and len(data) >= 8:  # RIFF declares the file's length
        short = short or struct.unpack_from("<I", data, 4)[0] + 8 > len(data)
    return f"{'truncated' if short else 'corrupt'} {kind} file ({text})"


def _orientation(exif_obj) -> int:
    try:
        value = int(exif_obj.get(0x0112, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def _pillow_metadata(info: dict[str, Any], text: dict[str, Any]) -> dict[str, Any]:
    """icc_profile, exif, xmp, dpi and PNG text from a Pillow ``info`` dict."""
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    dpi = info.get("dpi")
    pairs = tuple(
        (str(k), str(v)) for k, v in text.items() if k != "XML:com.adobe.xmp" and isinstance(v, str)
    )
    return {
        "icc_profile": info.get("icc_profile") or None,
        "exif": normalize_exif(info.get("exif")),
        "xmp": bytes(xmp) if xmp else None,
        "dpi": (float(dpi[0]), float(dpi[1])) if dpi else None,
        "text": pairs,
    }


def _srgb_profile() -> bytes:
    global _SRGB_PROFILE
    if _SRGB_PROFILE is None:
        from PIL import ImageCms

        _SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _SRGB_PROFILE


def decode_pillow(data: bytes, base: dict[str, Any], limit: int | None, kind: str) -> LoadedImage:
    from PIL import Image

    name = base["name"]
    im = _open_pillow(data, name, limit, kind)
    fmt = {"MPO": "JPEG"}.get(im.format or kind, im.format or kind)
    mode = im.mode
    info = dict(im.info)
    notes: list[str] = []
    if getattr(im, "n_frames", 1) > 1 and fmt != "JPEG":
        what = "animation" if fmt in ("GIF", "WEBP", "PNG") else "extra pages/frames"
        notes.append(f"{what} not kept: only the first frame is restored")
    try:
        exif_obj = im.getexif()
        im.load()
    except Image.DecompressionBombError as exc:
        raise ImageError(name, f"possible decompression bomb ({reason(exc)})") from None
    except Exception as exc:
        what = "truncated or corrupt" if "truncated" in str(exc) else "corrupt"
        raise ImageError(name, f"{what} {fmt} data ({reason(exc)})") from None

    fields = _pillow_metadata(info, getattr(im, "text", {}) if fmt == "PNG" else {})
    if fmt == "TIFF":
        fields["exif"] = exif_from_tiff(data)
        compression = str(info.get("compression", "")).replace("tiff_", "")  # Pillow's names
        fields["compression"] = {"raw": "none", "": None}.get(compression, compression)
    if fmt == "WEBP":
        fields["compression"] = "lossless" if b"VP8L" in data[:4096] else "lossy"
    if fmt == "JPEG":
        from PIL import JpegImagePlugin

        fields["jpeg_quality"] = estimate_jpeg_quality(getattr(im, "quantization", None))
        sampling = JpegImagePlugin.get_sampling(im)
        fields["jpeg_subsampling"] = sampling if sampling >= 0 else None
    # pillow-heif turns HEIF images upright itself; Pillow's own AVIF plugin does not
    orientation = 1 if fmt == "HEIF" else _orientation(exif_obj)

    gray = mode in ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
    im, bit_depth = _supported_mode(im, info, fields, notes, name)

    samples = np.asarray(im)
    if samples.dtype == np.int32:  # Pillow mode I: 16-bit data in 32-bit ints
        samples = np.clip(samples, 0, 65535).astype(np.uint16)
    alpha_last = im.mode in ("RGBA", "LA")
    return finish(
        samples,
        base,
        orientation=orientation,
        alpha_last=alpha_last,
        format=fmt,
        mode=mode,
        bit_depth=bit_depth,
        was_grayscale=gray,
        notes=tuple(notes),
        **fields,
    )


def _supported_mode(im: Any, info: dict[str, Any], fields: dict[str, Any],
                    notes: list[str], name: str) -> tuple[Any, int]:
    """``im`` in a mode the pipeline takes (RGB, RGBA, L, LA, 16-bit, float) and the bit
    depth of the file; conversions it cannot undo are added to ``notes``."""
    from PIL import ImageCms

    mode = im.mode
    bit_depth = 8
    if mode == "1":
        im = im.convert("L")
        bit_depth = 1
    elif mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        bit_depth = 16
    elif mode == "F":
        bit_depth = 32
    elif mode in ("P", "PA"):
        has_t = mode == "PA" or "transparency" in info or im.has_transparency_data
        im = im.convert("RGBA" if has_t else "RGB")
        if has_t and im.getextrema()[3][0] == 255:
            im = im.convert("RGB")  # declared transparency that no pixel uses
    elif mode == "CMYK":
        im, icc, note = _cmyk_to_rgb(im, fields["icc_profile"], ImageCms)
        fields["icc_profile"] = icc
        notes.append(note)
    elif mode in ("RGBa", "La"):
        im = im.convert("RGBA" if mode == "RGBa" else "LA")
    elif mode in ("RGBX", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
        notes.append(f"{mode} converted to RGB")
    elif mode not in ("RGB", "RGBA", "L", "LA"):
        raise ImageError(name, f"unsupported mode {mode!r}")
    return im, bit_depth


def _cmyk_to_rgb(im, icc: bytes | None, image_cms) -> tuple[Any, bytes | None, str]:
    """CMYK -> RGB through the embedded profile when there is one, else Pillow's formula."""
    if icc:
        try:
            src = image_cms.ImageCmsProfile(io.BytesIO(icc))
            dst = image_cms.ImageCmsProfile(image_cms.createProfile("sRGB"))
            rgb = image_cms.profileToProfile(im, src, dst, outputMode="RGB")
            return rgb, _srgb_profile(), "CMYK converted to sRGB with its embedded profile"
        except Exception:  # a broken profile must not lose the image
            pass
    return im.convert("RGB"), None, "CMYK converted to RGB without a profile (approximate)"


__all__ = ["decode_pillow", "decode_png16"]
