"""The two records that travel from :func:`read_image` to :func:`write_image`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class CameraColour:
    """A camera's colour data, kept from a RAW file for a linear DNG (see imaging/dng.py)."""

    space: str
    """``camera``: the pixels are the camera's own linear RGB, not white balanced, described
    by the camera's matrices; ``srgb``: white-balanced linear sRGB (fallback)."""
    make: str
    model: str
    white_balance: tuple[float, float, float]
    """R, G, B multipliers of the chosen white balance (G = 1); the DNG's AsShotNeutral is
    their inverse. Not applied to ``camera`` pixels."""
    tags: tuple[tuple[int, int, int, Any], ...] = ()
    """DNG colour tags (code, TIFF type, count, value): ColorMatrix1, CalibrationIlluminant1,
    ... copied from a DNG input or made from LibRaw's matrix."""


@dataclass(frozen=True)
class ImageMeta:
    """Everything needed to write a restored image back faithfully.

    Sizes and metadata describe the image *as shown* (after EXIF orientation);
    ``exif`` and ``xmp`` are the original blocks, updated only when written.
    """

    source: Path | None
    """The input file, or None for bytes (stdin)."""
    name: str
    """How errors and notes name the input: the path, or ``<stdin>``."""
    format: str
    """Canonical format of the input: JPEG, PNG, TIFF, WEBP, BMP, GIF, HEIF, AVIF or RAW."""
    mode: str
    """Original pixel layout, e.g. ``RGB``, ``RGBA``, ``L``, ``I;16``, ``P``, ``CMYK``, ``1``,
    ``RGB;16``, ``RGBA;16``, ``RGB;32F``, ``raw``."""
    bit_depth: int
    """Bits per channel of the stored samples: 1, 8, 16 or 32 (float)."""
    width: int
    height: int
    was_grayscale: bool = False
    has_alpha: bool = False
    icc_profile: bytes | None = None
    """ICC profile bytes, copied to the output unchanged."""
    exif: bytes | None = None
    """EXIF block (``Exif\\0\\0`` + TIFF structure) as read; orientation not yet reset."""
    orientation: int = 1
    """EXIF orientation of the stored pixels (1-8); pixels are already upright."""
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None
    text: tuple[tuple[str, str], ...] = ()
    """PNG text chunks (key, value), XMP excluded."""
    jpeg_quality: int | None = None
    """Estimated IJG quality (1-100) of a JPEG input."""
    jpeg_subsampling: int | None = None
    """Pillow's code for a JPEG input's chroma subsampling: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0."""
    compression: str | None = None
    """TIFF compression (``zlib``, ``lzw``, ``none``...) or ``lossless``/``lossy`` for WebP."""
    is_raw: bool = False
    linear: bool = False
    """The pixels are linear light (a RAW developed linear or for DNG)."""
    camera: CameraColour | None = None
    """The camera's colour data of a RAW developed for DNG output."""
    notes: tuple[str, ...] = field(default=())
    """Things the user should know, e.g. ``CMYK converted to RGB``."""

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the upright image."""
        return self.height, self.width


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image: upright float32 pixels plus the record to write it back."""

    pixels: np.ndarray
    """float32, H x W x 3, RGB in [0, 1]."""
    alpha: np.ndarray | None
    """float32, H x W in [0, 1], or None."""
    meta: ImageMeta
