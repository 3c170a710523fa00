"""Building blocks shared by more than one family.

Attribute names follow the official code, because they are the checkpoint format:
renaming one changes the ``state_dict`` keys and breaks loading of released weights.
"""

from __future__ import annotations

import torch
from torch import nn


def conv(
    in_channels: int, out_channels: int, kernel_size: int, bias: bool = False, stride: int = 1
) -> nn.Conv2d:
    """A ``kernel_size`` convolution with "same" padding (MPRNet and MIRNet's ``conv``)."""
    return nn.Conv2d(
        in_channels, out_channels, kernel_size,
        padding=kernel_size // 2, bias=bias, stride=stride,
    )


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation channel attention: global average pool, bottleneck, sigmoid.

    MPRNet's ``CALayer`` and MIRNet's ``ca_layer``. Note the global pooling: the gate of
    every pixel depends on the whole input, which is why tiled inference needs overlap.
    """

    def __init__(self, channel: int, reduction: int, bias: bool = False) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(
            nn.Conv2d(channel, channel // reduction, 1, padding=0, bias=bias),
            nn.ReLU(inplace=True),
            nn.Conv2d(channel // reduction, channel, 1, padding=0, bias=bias),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv_du(self.avg_pool(x))


class SKFF(nn.Module):
    """Selective Kernel Feature Fusion (MIRNet, MIRNet-v2).

    Fuses ``height`` same-shaped feature maps with per-channel softmax weights computed
    from their globally pooled sum. ``act`` is PReLU in MIRNet, LeakyReLU(0.2) in v2.
    """

    def __init__(
        self, in_channels: int, height: int, act: nn.Module, reduction: int = 8,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.height = height
        d = max(int(in_channels / reduction), 4)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(nn.Conv2d(in_channels, d, 1, padding=0, bias=bias), act)
        self.fcs = nn.ModuleList(
            nn.Conv2d(d, in_channels, kernel_size=1, stride=1, bias=bias) for _ in range(height)
        )
        self.softmax = nn.Softmax(dim=1)

    def forward(self, inp_feats: list[torch.Tensor]) -> torch.Tensor:
        n, c, h, w = inp_feats[0].shape
        feats = torch.cat(inp_feats, dim=1).view(n, self.height, c, h, w)
        feats_z = self.conv_du(self.avg_pool(torch.sum(feats, dim=1)))
        attention = torch.cat([fc(feats_z) for fc in self.fcs], dim=1)
        attention = self.softmax(attention.view(n, self.height, c, 1, 1))
        return torch.sum(feats * attention, dim=1)
