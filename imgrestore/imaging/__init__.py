"""Image I/O that loses nothing: numpy arrays in and out, no torch.

Read any supported photo into upright float32 RGB in [0, 1] plus an alpha plane
and an :class:`ImageMeta` record; write it back in the same format, bit depth,
colour profile and metadata. See docs/imaging.md for every rule and choice.

Names load on first use, so ``imgrestore.imaging.formats`` (used when planning
a batch) imports neither numpy nor Pillow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "IMAGE_SUFFIXES": "formats",
    "RAW_SUFFIXES": "formats",
    "OutputPlan": "formats",
    "is_supported": "formats",
    "normalize_format": "formats",
    "output_suffix": "formats",
    "plan_output": "formats",
    "sniff_format": "formats",
    "unsupported_reason": "formats",
    "default_max_pixels": "limits",
    "apply_orientation": "pixels",
    "resize_alpha": "pixels",
    "read_image": "reader",
    "ImageMeta": "types",
    "LoadedImage": "types",
    "encode_image": "writer",
    "plan_write": "writer",
    "write_image": "writer",
}

__all__ = [
    "IMAGE_SUFFIXES",
    "RAW_SUFFIXES",
    "ImageMeta",
    "LoadedImage",
    "OutputPlan",
    "apply_orientation",
    "default_max_pixels",
    "encode_image",
    "is_supported",
    "normalize_format",
    "output_suffix",
    "plan_output",
    "plan_write",
    "read_image",
    "resize_alpha",
    "sniff_format",
    "unsupported_reason",
    "write_image",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
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
    from imgrestore.imaging.writer import (
        encode_image,
        plan_write,
        write_image,
    )
