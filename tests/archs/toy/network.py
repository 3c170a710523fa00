"""ToyNet: one residual 3x3 convolution (the smallest network the engine can run)."""

from __future__ import annotations

import torch
from torch import nn


class ToyNet(nn.Module):
    def __init__(self, channels: int = 3, width: int = 4) -> None:
        super().__init__()
        self.toy_in = nn.Conv2d(channels, width, 3, padding=1)
        self.toy_out = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.1 * self.toy_out(torch.relu(self.toy_in(x)))
