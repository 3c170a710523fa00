"""``read_image``: any supported file -> upright float32 RGB + alpha + metadata.

Inputs are only ever opened for reading (the whole file is read into memory
once, then decoded from there). Decoders: Pillow for 8-bit images and 16-bit
gray PNG, imagecodecs for other 16-bit PNG, tifffile for TIFF above 8 bits or
in floating point, rawpy for camera RAW, pillow-heif (optional) for HEIF/AVIF.
"""

from __future__ import annotations

import io
import os
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imgrestore.errors import ImageError
from imgrestore.imaging import png16, tiff
from imgrestore.imaging.formats import (
    RAW_SUFFIXES,
    SUFFIX_FORMAT,
    heif_available,
    pillow_supports,
    sniff_format,
)
from imgrestore.imaging.limits import check_pixels, default_max_pixels
from imgrestore.imaging.metadata import estimate_jpeg_quality, exif_from_tiff, normalize_exif
from imgrestore.imaging.pixels import apply_orientation, gray_to_rgb, to_float
from imgrestore.imaging.types import ImageMeta, LoadedImage

if TYPE_CHECKING:
    from imgrestore.imaging.raw import RawOptions

STDIN_NAME = "<stdin>"
# Pillow checks its global MAX_IMAGE_PIXELS inside Image.open; we switch that
# check off around open (under this lock) and apply our own limit instead.
_PILLOW_OPEN_LOCK = threading.Lock()
_SRGB_PROFILE: bytes | None = None


def read_image(
    source: str | os.PathLike[str] | bytes,
    *,
    max_pixels: int | None = None,
    raw: RawOptions | None = None,
) -> LoadedImage:
    """Decode ``source`` (a path, or the bytes of a file read from stdin).

    Returns float32 H x W x 3 RGB in [0, 1], already upright per EXIF
    orientation, an H x W alpha plane or None, and an :class:`ImageMeta`.
    ``max_pixels`` raises the decompression-bomb limit (default: Pillow's
    refusal threshold, about 179 megapixels). ``raw`` says how LibRaw develops
    a camera RAW file (default: sRGB, camera white balance). Raises
    :class:`ImageError` with a one-line reason for anything that cannot be decoded.
    """
    path, name, data = _read_bytes(source)
    if not data:
        raise ImageError(name, "empty file (0 bytes)")
    limit = default_max_pixels() if max_pixels is None else max_pixels
    base: dict[str, Any] = {"source": path, "name": name}
    kind = sniff_format(data[:64])
    suffix = path.suffix.lower() if path is not None else ""

    if kind == "RAW" or (kind == "TIFF" and _tiff_is_raw(data, suffix)):
        from imgrestore.imaging.raw import decode_raw

        return decode_raw(data, base, limit, raw)
    if kind is None:
        hint = f" despite its {path.suffix} extension" if suffix in SUFFIX_FORMAT else ""
        raise ImageError(name, f"not an image (unrecognised content{hint})")
    if kind == "HEIF" or (kind == "AVIF" and not pillow_supports("avif")):
        _register_heif(name, kind)
    if kind == "PNG" and png16.needs_png16(data):
        return _decode_png16(data, base, limit)
    if kind == "TIFF":
        info = _tiff_info(data, name)
        if info.high_depth:
            return _decode_tiff(data, info, base, limit)
    return _decode_pillow(data, base, limit, kind)


def _read_bytes(source: str | os.PathLike[str] | bytes) -> tuple[Path | None, str, bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return None, STDIN_NAME, bytes(source)
    path = Path(source)
    try:
        return path, str(path), path.read_bytes()
    except FileNotFoundError:
        raise ImageError(str(path), "file not found") from None
    except IsADirectoryError:
        raise ImageError(str(path), "is a folder, not an image") from None
    except OSError as exc:
        raise ImageError(str(path), f"cannot read ({exc.strerror or exc})") from None


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
        raise ImageError(name, f"corrupt TIFF ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


def _register_heif(name: str, kind: str) -> None:
    if not heif_available():
        raise ImageError(name, f"{kind} needs the optional 'heif' extra: "
                               "pip install 'imgrestore[heif]'")  # fmt: skip
    import pillow_heif

    pillow_heif.register_heif_opener()
    if hasattr(pillow_heif, "register_avif_opener"):
        pillow_heif.register_avif_opener()


def _finish(
    samples: np.ndarray,
    base: dict[str, Any],
    *,
    orientation: int,
    alpha_last: bool,
    **fields: Any,
) -> LoadedImage:
    """Split alpha, scale to float, expand gray to RGB, turn upright, build the record."""
    if samples.ndim == 2:
        samples = samples[:, :, None]
    alpha = to_float(samples[:, :, -1]) if alpha_last else None
    colour = samples[:, :, :-1] if alpha_last else samples
    pixels = to_float(colour)
    if pixels.shape[2] == 1:
        pixels = gray_to_rgb(pixels[:, :, 0])
    pixels = apply_orientation(pixels, orientation)
    if alpha is not None:
        alpha = apply_orientation(alpha, orientation)
    meta = ImageMeta(
        **base,
        width=pixels.shape[1],
        height=pixels.shape[0],
        has_alpha=alpha is not None,
        orientation=orientation,
        **fields,
    )
    return LoadedImage(np.ascontiguousarray(pixels), alpha, meta)


def _decode_png16(data: bytes, base: dict[str, Any], limit: int | None) -> LoadedImage:
    name = base["name"]
    im = _open_pillow(data, name, limit, "PNG")  # header and metadata chunks only
    info = dict(im.info)
    try:
        samples = png16.decode_png16(data)
    except Exception as exc:
        raise ImageError(name, f"truncated or corrupt PNG ({_reason(exc)})") from None
    try:  # Pillow decodes (at 8 bits) to reach chunks after the pixels
        exif_obj, text = im.getexif(), getattr(im, "text", {})
    except Exception:  # metadata never fails an image that decoded
        exif_obj, text = {}, {}
    channels = samples.shape[2] if samples.ndim == 3 else 1
    mode = {1: "I;16", 2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}[channels]
    return _finish(
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
        raise ImageError(name, f"truncated or corrupt TIFF ({_reason(exc)})") from None
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
    return _finish(
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
    text = _reason(exc)
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


def _decode_pillow(data: bytes, base: dict[str, Any], limit: int | None, kind: str) -> LoadedImage:
    from PIL import Image, ImageCms

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
        raise ImageError(name, f"possible decompression bomb ({_reason(exc)})") from None
    except Exception as exc:
        what = "truncated or corrupt" if "truncated" in str(exc) else "corrupt"
        raise ImageError(name, f"{what} {fmt} data ({_reason(exc)})") from None

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

    samples = np.asarray(im)
    if samples.dtype == np.int32:  # Pillow mode I: 16-bit data in 32-bit ints
        samples = np.clip(samples, 0, 65535).astype(np.uint16)
    alpha_last = im.mode in ("RGBA", "LA")
    return _finish(
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
