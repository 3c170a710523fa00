"""Validation metrics for training: tensors in, the evaluation metrics underneath.

The definitions live in one place, :mod:`imgrestore.ops.metrics` (clamped to
[0, 1], fixed peak 1, BT.601 luma on RGB, scikit-image SSIM with Wang et al.'s window);
these wrappers take ``(..., C, H, W)`` tensors, on any device, as the training loop has
them. Unlike the MIRNet-v2 fork (training.md 1.6), outputs are clamped before measuring
and the peak never depends on the data.
"""

from __future__ import annotations

import numpy as np
import torch

from imgrestore.ops import metrics as _metrics


def _images(x: torch.Tensor) -> list[np.ndarray]:
    """``(..., C, H, W)`` tensor -> list of float64 ``H x W x C`` arrays."""
    array = x.detach().cpu().double().numpy()
    return [a.transpose(1, 2, 0) for a in array.reshape(-1, *array.shape[-3:])]


def prepare(
    image: torch.Tensor, *, y_channel: bool = False, crop_border: int = 0,
    quantize: bool = False,
) -> torch.Tensor:
    """Clamp to [0, 1], optionally round to 8 bits, take luma, crop the border
    (:func:`imgrestore.ops.metrics.prepare` on each image of the batch)."""
    done = [
        _metrics.prepare(a, y_channel=y_channel, crop_border=crop_border, quantize=quantize)
        for a in _images(image)
    ]
    out = np.stack([a.transpose(2, 0, 1) for a in done]).reshape(
        *image.shape[:-3], *done[0].shape[2:], *done[0].shape[:2]
    )
    dtype = image.dtype if image.is_floating_point() else torch.float32
    return torch.from_numpy(out).to(dtype)


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """PSNR in dB of two prepared images or batches (peak 1, one MSE over all values);
    ``inf`` when identical."""
    return _metrics.psnr(*(t.detach().cpu().double().numpy() for t in (x, y)))


def ssim(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean SSIM of two prepared images (Wang et al.'s settings; see
    :func:`imgrestore.ops.metrics.ssim`), averaged over a batch."""
    pairs = zip(_images(x), _images(y), strict=True)
    return float(np.mean([_metrics.ssim(a, b) for a, b in pairs]))


__all__ = ["prepare", "psnr", "ssim"]
