"""Small networks and images for the engine tests (no weights, no files)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn


class LocalNet(nn.Module):
    """Three 3x3 convolutions: every output pixel sees only a 7x7 input window.

    With ``scale`` > 1 a pixel shuffle makes the output ``scale`` times larger.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, scale: int = 1) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(8, 8, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(8, out_channels * scale * scale, 3, padding=1),
            nn.PixelShuffle(scale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@pytest.fixture(scope="session")
def local_net() -> LocalNet:
    return LocalNet().eval()


def smooth_image(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth float32 H x W x C test image in [0, 1] (low-frequency waves and a ramp)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = []
    for _ in range(channels):
        fy, fx = rng.uniform(0.5, 3, 2) / max(height, width)
        wave = np.sin(2 * np.pi * (fy * y + fx * x) + rng.uniform(0, 6))
        planes.append(0.5 + 0.3 * wave + 0.1 * (x / width - 0.5))
    return np.clip(np.stack(planes, axis=-1), 0, 1).astype(np.float32)


def noisy_image(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Uniform noise in [0, 1]: the hardest case for seams."""
    rng = np.random.default_rng(seed)
    return rng.random((height, width, channels), dtype=np.float32)
