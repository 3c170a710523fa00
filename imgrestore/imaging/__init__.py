"""Image I/O that loses nothing: numpy arrays in and out, no torch.

Read any supported photo into upright float32 RGB in [0, 1] plus an alpha plane
and an :class:`ImageMeta` record; write it back in the same format, bit depth,
colour profile and metadata. See docs/imaging.md for every rule and choice.
"""

from imgrestore.imaging.formats import (
    IMAGE_SUFFIXES,
    RAW_SUFFIXES,
    OutputPlan,
    is_supported,
    normalize_format,
    output_suffix,
    plan_output,
    sniff_format,
    unsupported_reason,
)
from imgrestore.imaging.limits import default_max_pixels
from imgrestore.imaging.pixels import apply_orientation, resize_alpha
from imgrestore.imaging.reader import read_image
from imgrestore.imaging.types import ImageMeta, LoadedImage
from imgrestore.imaging.writer import atomic_write, encode_image, write_image

__all__ = [
    "IMAGE_SUFFIXES",
    "RAW_SUFFIXES",
    "ImageMeta",
    "LoadedImage",
    "OutputPlan",
    "apply_orientation",
    "atomic_write",
    "default_max_pixels",
    "encode_image",
    "is_supported",
    "normalize_format",
    "output_suffix",
    "plan_output",
    "read_image",
    "resize_alpha",
    "sniff_format",
    "unsupported_reason",
    "write_image",
]
