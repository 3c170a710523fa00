"""The working space: feed the network sRGB whatever profile a photo carries, and go back.

Every shipped model was trained on sRGB images, so a photo in Adobe RGB, Display P3 or
ProPhoto is converted to sRGB through its embedded ICC profile before restoration, and
the result converted back to the original profile before it is written
(``--working-space srgb``, the default; ``native`` feeds the file's values as they are).

Matrix/TRC profiles (nearly every RGB photo) are converted in float32 by
:mod:`imgrestore.imaging.icc`, so 16-bit photos keep their precision; other RGB profiles
go through Pillow's ImageCms (littlecms) at 8 bits. Colours outside sRGB cannot reach
the network; they are not lost either: what the clipping to sRGB removed is kept as a
residual in the original space and added back afterwards (resized with the image when
upscaling), so an untouched pixel comes back exactly and a saturated one keeps its
saturation.
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from imgrestore.imaging import icc

log = logging.getLogger(__name__)

WorkingSpace = Literal["srgb", "native"]
WORKING_SPACES: tuple[str, ...] = ("srgb", "native")
_SRGB_TOLERANCE = 2e-3
#: A residual below this (about 1/65535) is float rounding, not a clipped colour.
_RESIDUAL_FLOOR = 1e-5


@dataclass(frozen=True)
class Conversion:
    """Two-way conversion between a file's values and the working space (H x W x 3 float32)."""

    forward: Callable[[np.ndarray], np.ndarray]
    """The file's values -> the working space."""
    backward: Callable[[np.ndarray], np.ndarray]
    #: Human-readable note for the user (how the conversion was made).
    note: str


def _matrix_conversion(profile: icc.MatrixProfile) -> Conversion:
    srgb = icc.srgb_matrix_profile()
    forward = (np.linalg.inv(srgb.to_xyz) @ profile.to_xyz).astype(np.float32)
    backward = np.linalg.inv(forward).astype(np.float32)

    def to_srgb(pixels: np.ndarray) -> np.ndarray:
        linear = profile.to_linear(pixels) @ forward.T
        return srgb.to_encoded(linear).astype(np.float32)

    def from_srgb(pixels: np.ndarray) -> np.ndarray:
        linear = srgb.to_linear(pixels) @ backward.T
        return profile.to_encoded(linear).astype(np.float32)

    return Conversion(to_srgb, from_srgb, "restored in sRGB (converted with the ICC profile)")


def _imagecms_conversion(data: bytes) -> Conversion:
    """Through littlecms at 8 bits, for profiles that are not matrix/TRC."""
    from PIL import Image, ImageCms

    source = ImageCms.ImageCmsProfile(io.BytesIO(data))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    intent = ImageCms.Intent.RELATIVE_COLORIMETRIC
    forward = ImageCms.buildTransform(source, srgb, "RGB", "RGB", renderingIntent=intent)
    backward = ImageCms.buildTransform(srgb, source, "RGB", "RGB", renderingIntent=intent)

    def apply(transform, pixels: np.ndarray) -> np.ndarray:
        im = Image.fromarray(np.rint(np.clip(pixels, 0, 1) * 255).astype(np.uint8))
        out = ImageCms.applyTransform(im, transform)
        return np.asarray(out, dtype=np.float32) / np.float32(255)

    return Conversion(lambda p: apply(forward, p), lambda p: apply(backward, p),
                      "restored in sRGB (converted with the ICC profile by littlecms, 8-bit)")


def _is_srgb(profile: icc.MatrixProfile) -> bool:
    srgb = icc.srgb_matrix_profile()
    if not np.allclose(profile.to_xyz, srgb.to_xyz, atol=_SRGB_TOLERANCE):
        return False
    ramp = np.linspace(0, 1, 256)
    reference = srgb.curves[0].to_linear(ramp)
    return all(np.abs(c.to_linear(ramp) - reference).max() < _SRGB_TOLERANCE
               for c in profile.curves)  # fmt: skip


def conversion_for(icc_profile: bytes | None) -> Conversion | None:
    """How to reach sRGB from pixels in ``icc_profile``; None when no conversion is needed.

    None for no profile (sRGB is assumed), an sRGB profile, a non-RGB profile (gray),
    or one that cannot be read (a damaged profile never fails the image; it is logged).
    """
    if not icc_profile:
        return None
    try:
        profile = icc.parse_matrix_profile(icc_profile)
    except (ValueError, struct.error) as exc:
        log.debug("ICC profile not readable (%s): restored in its own space", exc)
        return None
    if profile is not None:
        return None if _is_srgb(profile) else _matrix_conversion(profile)
    if icc_profile[16:20] != b"RGB ":
        return None
    try:
        return _imagecms_conversion(icc_profile)
    except Exception as exc:  # littlecms refuses a broken profile
        log.debug("littlecms cannot use the ICC profile (%s)", exc)
        return None


@dataclass
class InWorkingSpace:
    """An image converted for the network, with what is needed to convert it back."""

    pixels: np.ndarray
    """What the network gets (sRGB for a converted image, else the input itself)."""
    conversion: Conversion | None
    residual: np.ndarray | None = None
    """Original values minus the round trip of the clipped sRGB values (native space)."""

    def leave(
        self, restored: np.ndarray, resize: Callable[[np.ndarray, tuple[int, int]], np.ndarray]
    ) -> np.ndarray:
        """``restored`` (in the working space) back in the original profile.

        ``resize`` brings the residual to the restored size (upscaling).
        """
        if self.conversion is None:
            return restored
        back = self.conversion.backward(restored)
        if self.residual is not None:
            residual = self.residual
            if residual.shape[:2] != back.shape[:2]:
                residual = resize(residual, back.shape[:2])
            back = back + residual
        return np.clip(back, 0.0, 1.0).astype(np.float32, copy=False)


def enter(pixels: np.ndarray, icc_profile: bytes | None, space: str = "srgb") -> InWorkingSpace:
    """Convert ``pixels`` (in ``icc_profile``) to the working ``space`` for the network."""
    conversion = conversion_for(icc_profile) if space == "srgb" else None
    if conversion is None:
        return InWorkingSpace(pixels, None)
    srgb = conversion.forward(pixels)
    residual = pixels - conversion.backward(srgb)
    keep = float(np.abs(residual).max()) > _RESIDUAL_FLOOR
    return InWorkingSpace(srgb, conversion, residual.astype(np.float32) if keep else None)
