"""Validation metrics on clamped images with a fixed peak of 1.

Unlike the MIRNet-v2 fork (training.md 1.6), outputs are clamped to [0, 1] before
measuring and the peak never depends on the data; the luma option uses RGB (not BGR)
BT.601 weights on [0, 1] values.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812


def prepare(
    image: torch.Tensor, *, y_channel: bool = False, crop_border: int = 0,
    quantize: bool = False,
) -> torch.Tensor:
    """Clamp to [0, 1], optionally round to 8 bits, take luma, crop the border."""
    image = image.detach().float().clamp(0, 1)
    if quantize:
        image = torch.round(image * 255) / 255
    if y_channel and image.shape[-3] == 3:
        r, g, b = image.unbind(-3)
        image = ((65.481 * r + 128.553 * g + 24.966 * b + 16) / 255).unsqueeze(-3)
    if crop_border:
        image = image[..., crop_border:-crop_border, crop_border:-crop_border]
    return image


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """PSNR in dB of two prepared images (peak 1); ``inf`` when identical."""
    mse = float(F.mse_loss(x.double(), y.double()))
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def ssim(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean SSIM (Wang et al.: 11 x 11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, peak 1),
    per channel then averaged, over the valid (unpadded) window positions."""
    x, y = x.double().reshape(-1, 1, *x.shape[-2:]), y.double().reshape(-1, 1, *y.shape[-2:])
    t = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-(t**2) / (2 * 1.5**2))
    g = g / g.sum()
    window = torch.outer(g, g)[None, None]
    if min(x.shape[-2:]) < 11:
        window = window[..., : x.shape[-2], : x.shape[-1]]
        window = window / window.sum()
    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = F.conv2d(x, window), F.conv2d(y, window)
    sxx = F.conv2d(x * x, window) - mu_x**2
    syy = F.conv2d(y * y, window) - mu_y**2
    sxy = F.conv2d(x * y, window) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    value = num / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return float(value.mean())


__all__ = ["prepare", "psnr", "ssim"]
