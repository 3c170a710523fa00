"""Small networks and images for the engine tests (no weights, no files)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from imgrestore import archs


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


def narrow_members(prefix: str, width: int) -> dict[str, archs.ArchSpec]:
    """Narrow members of the three released families (the same operations as the released
    networks, a fraction of the channels), named ``<prefix>_<family>``: MPRNet and MIRNet
    with ``width`` features (MPRNet's U-Net and ORSNet steps ``width // 2``, two CABs from
    16 on), MIRNet-v2 with 16 (its narrowest whose three scales stay whole at x1.5)."""
    return {
        "mprnet": archs.ArchSpec(f"{prefix}_mprnet", "mprnet", dict(
            in_c=3, out_c=3, n_feat=width, scale_unetfeats=width // 2,
            scale_orsnetfeats=width // 2, num_cab=1 if width < 16 else 2, kernel_size=3,
            reduction=4, bias=False)),
        "mirnet": archs.ArchSpec(f"{prefix}_mirnet", "mirnet", dict(
            in_channels=3, out_channels=3, n_feat=width, kernel_size=3, stride=2, n_RRG=1,
            n_MSRB=1, height=3, width=2, bias=False)),
        "mirnetv2": archs.ArchSpec(f"{prefix}_mirnetv2", "mirnetv2", dict(
            inp_channels=3, out_channels=3, n_feat=16, chan_factor=1.5, n_RRG=4, n_MRB=1,
            height=3, width=2, scale=1, bias=False, task=None)),
    }


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
