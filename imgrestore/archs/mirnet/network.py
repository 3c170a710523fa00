"""MIRNet: Learning Enriched Features for Real Image Restoration and Enhancement
(Zamir et al., ECCV 2020).

The network keeps a full-resolution stream and adds lower-resolution streams
(paper, Fig. 1):

- A **multi-scale residual block** (MSRB) runs ``height`` parallel streams at 1, 1/2,
  1/4 resolution (64, 128, 256 channels by default). Each stream applies a
  **dual attention unit** (DAU: spatial + channel attention) ``width`` times; between
  the applications every stream fuses all streams, resampled to its own scale, with
  **selective kernel feature fusion** (SKFF). Finally all streams are brought back to
  full resolution and fused once more.
- Resampling is residual and anti-aliased: down-sampling blurs with a fixed
  [1, 2, 1] x [1, 2, 1] / 16 filter before striding (its weights are ``filt`` buffers
  that the official checkpoints store, so we keep and load them); up-sampling adds a
  transposed convolution path to a bilinear path.
- ``n_RRG`` recursive residual groups of ``n_MSRB`` MSRBs, and a global residual.

Weight sharing exactly as the official code: within an MSRB, the ``width`` DAUs of a
stream are *one* module listed ``width`` times, and one PReLU is shared by all DAUs of
the network. (The official code shares that PReLU across every MIRNet in the process
through a default argument; we keep it per network.)
Height and width must be multiples of 4 (use :func:`imgrestore.archs.restore`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from imgrestore.archs.blocks import SKFF, ChannelAttention, conv


class AntiAliasDownsample(nn.Module):
    """Blur with a fixed binomial filter (reflect padding), then take every second pixel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        kernel = taps[:, None] * taps[None, :]
        kernel = kernel / kernel.sum()
        self.register_buffer("filt", kernel[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(x, self.filt, stride=2, groups=x.shape[1])


class _SpatialConv(nn.Module):
    """A 5x5 conv from the 2 pooled maps to 1 gate map (the official ``BasicConv``)."""

    def __init__(self, kernel_size: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SpatialAttention(nn.Module):
    """Gate each pixel by a conv over its channel-wise max and mean."""

    def __init__(self) -> None:
        super().__init__()
        self.spatial = _SpatialConv()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat(
            (torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1
        )
        return x * torch.sigmoid(self.spatial(pooled))


class DAU(nn.Module):
    """Dual attention unit: conv-act-conv, then spatial and channel attention in parallel."""

    def __init__(
        self, n_feat: int, act: nn.Module, kernel_size: int = 3, reduction: int = 8,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv(n_feat, n_feat, kernel_size, bias=bias), act,
            conv(n_feat, n_feat, kernel_size, bias=bias),
        )
        self.SA = SpatialAttention()
        self.CA = ChannelAttention(n_feat, reduction, bias=bias)
        self.conv1x1 = nn.Conv2d(n_feat * 2, n_feat, kernel_size=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.body(x)
        res = self.conv1x1(torch.cat([self.SA(res), self.CA(res)], dim=1))
        return res + x


class ResidualDownSample(nn.Module):
    """Halve the resolution and double the channels (anti-aliased, two paths)."""

    def __init__(self, in_channels: int, bias: bool = False) -> None:
        super().__init__()
        c = in_channels
        self.top = nn.Sequential(
            nn.Conv2d(c, c, 1, stride=1, padding=0, bias=bias), nn.PReLU(),
            nn.Conv2d(c, c, 3, stride=1, padding=1, bias=bias), nn.PReLU(),
            AntiAliasDownsample(c),
            nn.Conv2d(c, c * 2, 1, stride=1, padding=0, bias=bias),
        )
        self.bot = nn.Sequential(
            AntiAliasDownsample(c), nn.Conv2d(c, c * 2, 1, stride=1, padding=0, bias=bias)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.top(x) + self.bot(x)


class ResidualUpSample(nn.Module):
    """Double the resolution and halve the channels (transposed conv + bilinear paths)."""

    def __init__(self, in_channels: int, bias: bool = False) -> None:
        super().__init__()
        c = in_channels
        self.top = nn.Sequential(
            nn.Conv2d(c, c, 1, stride=1, padding=0, bias=bias), nn.PReLU(),
            nn.ConvTranspose2d(c, c, 3, stride=2, padding=1, output_padding=1, bias=bias),
            nn.PReLU(),
            nn.Conv2d(c, c // 2, 1, stride=1, padding=0, bias=bias),
        )
        self.bot = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=bias),
            nn.Conv2d(c, c // 2, 1, stride=1, padding=0, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.top(x) + self.bot(x)


def _log2(scale: int) -> int:
    return scale.bit_length() - 1


class DownSample(nn.Module):
    """Down-sample by ``scale_factor`` (a power of 2), channels times ``stride`` per 2x step."""

    def __init__(self, in_channels: int, scale_factor: int, stride: int = 2) -> None:
        super().__init__()
        steps = [ResidualDownSample(in_channels * stride**i) for i in range(_log2(scale_factor))]
        self.body = nn.Sequential(*steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class UpSample(nn.Module):
    """Up-sample by ``scale_factor`` (a power of 2), dividing channels by ``stride`` each 2x."""

    def __init__(self, in_channels: int, scale_factor: int, stride: int = 2) -> None:
        super().__init__()
        steps = [ResidualUpSample(in_channels // stride**i) for i in range(_log2(scale_factor))]
        self.body = nn.Sequential(*steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class MSRB(nn.Module):
    """Multi-scale residual block: ``height`` streams, ``width`` DAU columns, SKFF between."""

    def __init__(
        self, n_feat: int, height: int, width: int, stride: int, bias: bool, act: nn.Module
    ) -> None:
        super().__init__()
        self.n_feat, self.height, self.width = n_feat, height, width
        feats = [n_feat * stride**i for i in range(height)]
        # One DAU per stream, applied ``width`` times: the list repeats the same module.
        self.blocks = nn.ModuleList(nn.ModuleList([DAU(f, act)] * width) for f in feats)

        self.last_up = nn.ModuleDict(
            {f"{i}": UpSample(feats[i], 2**i, stride) for i in range(1, height)}
        )
        # Every resampler one stream may need to reach a coarser / finer one, keyed
        # "<channels>_<factor>" and registered in the official order.
        scales = [2**i for i in range(height - 1, 0, -1)]
        self.down = nn.ModuleDict(
            {f"{f}_{s}": DownSample(f, s, stride) for i, f in enumerate(feats) for s in scales[i:]}
        )
        self.up = nn.ModuleDict(
            {
                f"{f}_{s}": UpSample(f, s, stride)
                for i, f in enumerate(reversed(feats))
                for s in scales[i:]
            }
        )
        self.conv_out = nn.Conv2d(n_feat, n_feat, kernel_size=3, padding=1, bias=bias)
        self.selective_kernel = nn.ModuleList(SKFF(f, height, nn.PReLU()) for f in feats)

    def _resample(self, x: torch.Tensor, src: int, dst: int) -> torch.Tensor:
        """Bring stream ``src``'s features to stream ``dst``'s scale and width."""
        if src == dst:
            return x
        factor = 2 ** abs(dst - src)
        table = self.up if dst < src else self.down
        return table[f"{x.shape[1]}_{factor}"](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # First column: each stream starts from the previous stream, down-sampled.
        streams: list[torch.Tensor] = []
        feat = x
        for j in range(self.height):
            if j > 0:
                feat = self.down[f"{feat.shape[1]}_2"](feat)
            feat = self.blocks[j][0](feat)
            streams.append(feat)

        # Remaining columns: every stream fuses all streams, then applies its DAU again.
        for i in range(1, self.width):
            fused = [
                self.selective_kernel[j](
                    [self._resample(streams[k], k, j) for k in range(self.height)]
                )
                for j in range(self.height)
            ]
            streams = [self.blocks[j][i](fused[j]) for j in range(self.height)]

        # Back to full resolution and fuse.
        full = [s if k == 0 else self.last_up[f"{k}"](s) for k, s in enumerate(streams)]
        return self.conv_out(self.selective_kernel[0](full)) + x


class RRG(nn.Module):
    """Recursive residual group: ``n_MSRB`` MSRBs and a conv, with a residual."""

    def __init__(
        self, n_feat: int, n_MSRB: int, height: int, width: int, stride: int, bias: bool,
        act: nn.Module,
    ) -> None:
        super().__init__()
        body: list[nn.Module] = [
            MSRB(n_feat, height, width, stride, bias, act) for _ in range(n_MSRB)
        ]
        body.append(conv(n_feat, n_feat, kernel_size=3))  # the official code omits bias here
        self.body = nn.Sequential(*body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class MIRNet(nn.Module):
    """MIRNet (31.8 M parameters with the defaults, which all released weights use)."""

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, n_feat: int = 64,
        kernel_size: int = 3, stride: int = 2, n_RRG: int = 3, n_MSRB: int = 2,
        height: int = 3, width: int = 2, bias: bool = False,
    ) -> None:
        super().__init__()
        dau_act = nn.PReLU()  # shared by every DAU of this network
        padding = (kernel_size - 1) // 2
        self.conv_in = nn.Conv2d(in_channels, n_feat, kernel_size, padding=padding, bias=bias)
        self.body = nn.Sequential(
            *(RRG(n_feat, n_MSRB, height, width, stride, bias, dau_act) for _ in range(n_RRG))
        )
        self.conv_out = nn.Conv2d(n_feat, out_channels, kernel_size, padding=padding, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(self.body(self.conv_in(x))) + x


__all__ = ["MIRNet"]
