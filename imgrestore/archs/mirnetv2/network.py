"""MIRNet-v2: Learning Enriched Features for Fast Image Restoration and Enhancement
(Zamir et al., TPAMI 2022).

A lighter MIRNet (5.9 M parameters instead of 31.8 M):

- A **multi-scale residual block** (MRB) has three streams at 1, 1/2, 1/4 resolution
  whose widths grow by ``chan_factor`` (80, 120, 180 by default). Each stream applies
  a **residual contextual block** (RCB: group convs + a GCNet-style global context
  block) twice, with the *same* weights; after each pass the coarser streams are
  fused into the finer ones with two-input SKFF, bottom-up.
- Down-sampling is average pooling + 1x1 conv; up-sampling is 1x1 conv + bilinear.
- Four recursive residual groups (RRG) of ``n_MRB`` MRBs; their group-conv counts are
  1, 2, 4, 4. Then a global residual: image-level, except for dual-pixel defocus
  deblurring (6 input channels: left and right views), where the residual is added to
  the features instead.

``n_RRG``, ``height``, ``width`` and ``scale`` are accepted for compatibility with the
official signature but, as there, do not change the network: super-resolution models
take the low-resolution image already upsampled (bicubic) to the output size.
Height and width must be multiples of 4 (use :func:`imgrestore.archs.restore`).
"""

from __future__ import annotations

import torch
from torch import nn

from imgrestore.archs.blocks import SKFF


class ContextBlock(nn.Module):
    """GCNet global context: attention-pooled descriptor added to every pixel."""

    def __init__(self, n_feat: int, bias: bool = False) -> None:
        super().__init__()
        self.conv_mask = nn.Conv2d(n_feat, 1, kernel_size=1, bias=bias)
        self.softmax = nn.Softmax(dim=2)
        self.channel_add_conv = nn.Sequential(
            nn.Conv2d(n_feat, n_feat, kernel_size=1, bias=bias),
            nn.LeakyReLU(0.2),
            nn.Conv2d(n_feat, n_feat, kernel_size=1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        weights = self.softmax(self.conv_mask(x).view(n, 1, h * w)).unsqueeze(3)
        context = torch.matmul(x.view(n, c, h * w).unsqueeze(1), weights).view(n, c, 1, 1)
        return x + self.channel_add_conv(context)


class RCB(nn.Module):
    """Residual contextual block: group conv, LeakyReLU, group conv, context, residual."""

    def __init__(self, n_feat: int, bias: bool = False, groups: int = 1) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2)
        self.body = nn.Sequential(
            nn.Conv2d(n_feat, n_feat, 3, stride=1, padding=1, bias=bias, groups=groups),
            act,
            nn.Conv2d(n_feat, n_feat, 3, stride=1, padding=1, bias=bias, groups=groups),
        )
        self.act = act
        self.gcnet = ContextBlock(n_feat, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.gcnet(self.body(x))) + x


class Down(nn.Module):
    """2x average-pool down-sampling, channels times ``chan_factor``."""

    def __init__(self, in_channels: int, chan_factor: float, bias: bool = False) -> None:
        super().__init__()
        self.bot = nn.Sequential(
            nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),
            nn.Conv2d(in_channels, int(in_channels * chan_factor), 1, padding=0, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bot(x)


class Up(nn.Module):
    """2x bilinear up-sampling, channels divided by ``chan_factor``."""

    def __init__(self, in_channels: int, chan_factor: float, bias: bool = False) -> None:
        super().__init__()
        self.bot = nn.Sequential(
            nn.Conv2d(in_channels, int(in_channels // chan_factor), 1, padding=0, bias=bias),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bot(x)


class DownSample(nn.Module):
    """One :class:`Down` step, wrapped as in the official module tree (``body.0``)."""

    def __init__(self, in_channels: int, chan_factor: float) -> None:
        super().__init__()
        self.body = nn.Sequential(Down(in_channels, chan_factor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class UpSample(nn.Module):
    """One :class:`Up` step, wrapped as in the official module tree (``body.0``)."""

    def __init__(self, in_channels: int, chan_factor: float) -> None:
        super().__init__()
        self.body = nn.Sequential(Up(in_channels, chan_factor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class MRB(nn.Module):
    """Multi-scale residual block: three streams, two passes of shared RCBs, SKFF fusion."""

    def __init__(self, n_feat: int, chan_factor: float, bias: bool, groups: int) -> None:
        super().__init__()
        top, mid, bot = (int(n_feat * chan_factor**i) for i in range(3))
        self.dau_top = RCB(top, bias=bias, groups=groups)
        self.dau_mid = RCB(mid, bias=bias, groups=groups)
        self.dau_bot = RCB(bot, bias=bias, groups=groups)

        self.down2 = DownSample(top, chan_factor)
        self.down4 = nn.Sequential(DownSample(top, chan_factor), DownSample(mid, chan_factor))
        # Separate up-samplers for the first (_1) and second (_2) pass.
        self.up21_1 = UpSample(mid, chan_factor)
        self.up21_2 = UpSample(mid, chan_factor)
        self.up32_1 = UpSample(bot, chan_factor)
        self.up32_2 = UpSample(bot, chan_factor)

        self.conv_out = nn.Conv2d(n_feat, n_feat, kernel_size=1, padding=0, bias=bias)
        # Two-input fusions, reused by both passes.
        self.skff_top = SKFF(top, 2, nn.LeakyReLU(0.2))
        self.skff_mid = SKFF(mid, 2, nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_top, x_mid, x_bot = x, self.down2(x), self.down4(x)
        for up32, up21 in ((self.up32_1, self.up21_1), (self.up32_2, self.up21_2)):
            x_top, x_mid, x_bot = self.dau_top(x_top), self.dau_mid(x_mid), self.dau_bot(x_bot)
            x_mid = self.skff_mid([x_mid, up32(x_bot)])
            x_top = self.skff_top([x_top, up21(x_mid)])
        return self.conv_out(x_top) + x


class RRG(nn.Module):
    """Recursive residual group: ``n_MRB`` MRBs and a 3x3 conv, with a residual."""

    def __init__(
        self, n_feat: int, n_MRB: int, chan_factor: float, bias: bool = False, groups: int = 1
    ) -> None:
        super().__init__()
        body: list[nn.Module] = [MRB(n_feat, chan_factor, bias, groups) for _ in range(n_MRB)]
        body.append(nn.Conv2d(n_feat, n_feat, kernel_size=3, stride=1, padding=1, bias=bias))
        self.body = nn.Sequential(*body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class MIRNetV2(nn.Module):
    """MIRNet-v2. Defaults are the released configuration (5.86 M parameters)."""

    #: Group-conv counts of the four RRGs (fixed in the official code).
    RRG_GROUPS = (1, 2, 4, 4)

    def __init__(
        self, inp_channels: int = 3, out_channels: int = 3, n_feat: int = 80,
        chan_factor: float = 1.5, n_RRG: int = 4, n_MRB: int = 2, height: int = 3,
        width: int = 2, scale: int = 1, bias: bool = False, task: str | None = None,
    ) -> None:
        super().__init__()
        self.task = task
        self.conv_in = nn.Conv2d(inp_channels, n_feat, kernel_size=3, padding=1, bias=bias)
        self.body = nn.Sequential(
            *(RRG(n_feat, n_MRB, chan_factor, bias, groups=g) for g in self.RRG_GROUPS)
        )
        self.conv_out = nn.Conv2d(n_feat, out_channels, kernel_size=3, padding=1, bias=bias)

    def forward(self, inp_img: torch.Tensor) -> torch.Tensor:
        shallow = self.conv_in(inp_img)
        deep = self.body(shallow)
        if self.task == "defocus_deblurring":
            return self.conv_out(deep + shallow)
        return self.conv_out(deep) + inp_img


__all__ = ["MIRNetV2"]
