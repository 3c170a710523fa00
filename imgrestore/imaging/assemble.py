"""From decoded samples to a :class:`~imgrestore.imaging.types.LoadedImage`: the last step
every decoder shares (alpha split, float scaling, gray to RGB, upright orientation)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgrestore.imaging.pixels import apply_orientation, gray_to_rgb, to_float
from imgrestore.imaging.types import ImageMeta, LoadedImage


def finish(
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


def reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


__all__ = ["finish", "reason"]
