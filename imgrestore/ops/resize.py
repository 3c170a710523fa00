"""Bicubic resizes: the super-resolution networks' input, ``--strength`` blends, and the
``identity`` baseline of ``imgrestore eval`` (which must match what the networks get).

PyTorch's bicubic (a = -0.75, no antialiasing), clamped to [0, 1]. For downsampling as
the papers do (MATLAB's ``imresize``), see the ``bicubic`` degradation in :mod:`.degrade`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812


def resize_tensor(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize of ``(C, H, W)`` to ``size`` (height, width), clamped to [0, 1]."""
    out = F.interpolate(image[None], size=tuple(size), mode="bicubic", align_corners=False)
    return out[0].clamp_(0, 1)


def upsample_bicubic(image: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic up-sampling of ``(C, H, W)`` by ``scale`` (the SR networks' input), in [0, 1]."""
    h, w = image.shape[-2:]
    return resize_tensor(image, (h * scale, w * scale))


def resize_bicubic(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a float32 ``H x W x C`` image to ``size`` (the same array when it
    already has that size)."""
    if pixels.shape[:2] == tuple(size):
        return pixels
    out = resize_tensor(torch.from_numpy(pixels).permute(2, 0, 1), size)
    return out.permute(1, 2, 0).contiguous().numpy()


__all__ = ["resize_bicubic", "resize_tensor", "upsample_bicubic"]
