"""Camera RAW files through rawpy (LibRaw): camera white balance, sRGB, 16 bits."""

from __future__ import annotations

import io

import numpy as np

from imgrestore.errors import ImageError
from imgrestore.imaging.limits import check_pixels
from imgrestore.imaging.metadata import exif_from_tiff
from imgrestore.imaging.notes import libraw_messages
from imgrestore.imaging.pixels import to_float
from imgrestore.imaging.types import ImageMeta, LoadedImage

_TIFF_HEADERS = (b"II*\x00", b"MM\x00*")


def decode_raw(data: bytes, meta_base: dict, max_pixels: int | None) -> LoadedImage:
    """Demosaic a RAW file held in ``data`` into an upright 16-bit sRGB image.

    LibRaw settings: camera white balance (``use_camera_wb``), sRGB primaries and
    the sRGB tone curve (gamma 2.4, slope 12.92), 16 bits per sample, LibRaw's
    default auto-brightness, orientation applied by LibRaw. The output has no
    ICC profile (sRGB is assumed by every viewer); EXIF is taken from TIFF-based
    raws (DNG, CR2, NEF, ARW...) when piexif can read it.
    """
    import rawpy

    name = meta_base["name"]
    try:
        with libraw_messages() as said, rawpy.imread(io.BytesIO(data)) as raw:
            sizes = raw.sizes
            check_pixels(name, sizes.width, sizes.height, max_pixels)
            rgb = raw.postprocess(
                use_camera_wb=True,
                output_color=rawpy.ColorSpace.sRGB,
                output_bps=16,
                gamma=(2.4, 12.92),
            )
    except ImageError:
        raise
    except Exception as exc:  # LibRawError subclasses, MemoryError from odd headers...
        detail = exc.args[0] if len(exc.args) == 1 else str(exc)  # LibRaw's are bytes
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        reason = "; ".join([str(detail).strip() or type(exc).__name__, *said])
        raise ImageError(name, f"RAW file that LibRaw cannot decode ({reason})") from None

    exif = exif_from_tiff(data) if data[:4] in _TIFF_HEADERS else None
    pixels = to_float(np.ascontiguousarray(rgb))
    meta = ImageMeta(
        **meta_base,
        format="RAW",
        mode="raw",
        bit_depth=16,
        width=pixels.shape[1],
        height=pixels.shape[0],
        exif=exif,
        is_raw=True,
        notes=("RAW developed by LibRaw: camera white balance, sRGB, 16-bit", *said),
    )
    return LoadedImage(pixels, None, meta)

