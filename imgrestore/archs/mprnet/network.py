"""MPRNet: Multi-Stage Progressive Image Restoration (Zamir et al., CVPR 2021).

Three stages restore the image progressively (paper, Fig. 2):

1. **Stage 1** cuts the input into four quadrants, runs each through a shallow feature
   extractor and an encoder-decoder U-Net, and turns the decoder output into an image
   with a *supervised attention module* (SAM).
2. **Stage 2** works on the top and bottom halves; its encoder also receives stage 1's
   encoder and decoder features (*cross-stage feature fusion*, CSFF), and its SAM gives
   the stage-2 image.
3. **Stage 3** works on the full image at original resolution (ORSNet: no down-sampling)
   and fuses the stage-2 U-Net features in.

Every block is a channel-attention block (CAB). One PReLU module is shared by all CABs,
as in the official code (one learnable slope, stored under 55 state-dict keys).
``forward`` returns ``[stage3, stage2, stage1]`` images; index 0 is the result.
Height and width must be multiples of 8 (use :func:`imgrestore.archs.restore`).
"""

from __future__ import annotations

import torch
from torch import nn

from imgrestore.archs.blocks import ChannelAttention, conv


class CAB(nn.Module):
    """Channel attention block: conv, act, conv, channel attention, residual."""

    def __init__(
        self, n_feat: int, kernel_size: int, reduction: int, bias: bool, act: nn.Module
    ) -> None:
        super().__init__()
        # ``CA`` is registered before ``body``: that order is the checkpoint's key order.
        self.CA = ChannelAttention(n_feat, reduction, bias=bias)
        self.body = nn.Sequential(
            conv(n_feat, n_feat, kernel_size, bias=bias),
            act,
            conv(n_feat, n_feat, kernel_size, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.CA(self.body(x))
        res += x
        return res


def cab_stack(
    n: int, n_feat: int, kernel_size: int, reduction: int, bias: bool, act: nn.Module
) -> nn.Sequential:
    return nn.Sequential(*(CAB(n_feat, kernel_size, reduction, bias, act) for _ in range(n)))


class SAM(nn.Module):
    """Supervised attention module: predicts a stage image and gates the features with it."""

    def __init__(self, n_feat: int, kernel_size: int, bias: bool) -> None:
        super().__init__()
        self.conv1 = conv(n_feat, n_feat, kernel_size, bias=bias)
        self.conv2 = conv(n_feat, 3, kernel_size, bias=bias)
        self.conv3 = conv(3, n_feat, kernel_size, bias=bias)

    def forward(self, x: torch.Tensor, x_img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        img = self.conv2(x)
        img += x_img
        gate = torch.sigmoid(self.conv3(img))
        out = self.conv1(x) * gate
        out += x
        return out, img


class DownSample(nn.Module):
    """Bilinear 2x down-sampling, then a 1x1 conv adding ``s_factor`` channels."""

    def __init__(self, in_channels: int, s_factor: int) -> None:
        super().__init__()
        self.down = nn.Sequential(
            nn.Upsample(scale_factor=0.5, mode="bilinear", align_corners=False),
            nn.Conv2d(in_channels, in_channels + s_factor, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(x)


class UpSample(nn.Module):
    """Bilinear 2x up-sampling, then a 1x1 conv removing ``s_factor`` channels."""

    def __init__(self, in_channels: int, s_factor: int) -> None:
        super().__init__()
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(in_channels + s_factor, in_channels, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        x = self.up(x)
        if skip is not None:
            x += skip
        return x


class Encoder(nn.Module):
    """Three-scale U-Net encoder (2 CABs per scale); ``csff`` adds stage-fusion 1x1 convs."""

    def __init__(
        self, n_feat: int, kernel_size: int, reduction: int, act: nn.Module, bias: bool,
        scale_unetfeats: int, csff: bool,
    ) -> None:
        super().__init__()
        widths = [n_feat + i * scale_unetfeats for i in range(3)]
        self.encoder_level1 = cab_stack(2, widths[0], kernel_size, reduction, bias, act)
        self.encoder_level2 = cab_stack(2, widths[1], kernel_size, reduction, bias, act)
        self.encoder_level3 = cab_stack(2, widths[2], kernel_size, reduction, bias, act)
        self.down12 = DownSample(widths[0], scale_unetfeats)
        self.down23 = DownSample(widths[1], scale_unetfeats)
        self.csff = csff
        if csff:
            for prefix in ("csff_enc", "csff_dec"):
                for level, width in enumerate(widths, start=1):
                    setattr(self, f"{prefix}{level}", nn.Conv2d(width, width, 1, bias=bias))

    def _fuse(
        self, level: int, x: torch.Tensor, encoder_outs: list[torch.Tensor] | None,
        decoder_outs: list[torch.Tensor] | None,
    ) -> torch.Tensor:
        if encoder_outs is None or decoder_outs is None:
            return x
        x += getattr(self, f"csff_enc{level}")(encoder_outs[level - 1])
        x += getattr(self, f"csff_dec{level}")(decoder_outs[level - 1])
        return x

    def forward(
        self, x: torch.Tensor, encoder_outs: list[torch.Tensor] | None = None,
        decoder_outs: list[torch.Tensor] | None = None,
    ) -> list[torch.Tensor]:
        enc1 = self._fuse(1, self.encoder_level1(x), encoder_outs, decoder_outs)
        enc2 = self._fuse(2, self.encoder_level2(self.down12(enc1)), encoder_outs, decoder_outs)
        enc3 = self._fuse(3, self.encoder_level3(self.down23(enc2)), encoder_outs, decoder_outs)
        return [enc1, enc2, enc3]


class Decoder(nn.Module):
    """Three-scale U-Net decoder; skip connections pass through a CAB first."""

    def __init__(
        self, n_feat: int, kernel_size: int, reduction: int, act: nn.Module, bias: bool,
        scale_unetfeats: int,
    ) -> None:
        super().__init__()
        widths = [n_feat + i * scale_unetfeats for i in range(3)]
        self.decoder_level1 = cab_stack(2, widths[0], kernel_size, reduction, bias, act)
        self.decoder_level2 = cab_stack(2, widths[1], kernel_size, reduction, bias, act)
        self.decoder_level3 = cab_stack(2, widths[2], kernel_size, reduction, bias, act)
        self.skip_attn1 = CAB(widths[0], kernel_size, reduction, bias, act)
        self.skip_attn2 = CAB(widths[1], kernel_size, reduction, bias, act)
        self.up21 = UpSample(widths[0], scale_unetfeats)
        self.up32 = UpSample(widths[1], scale_unetfeats)

    def forward(self, outs: list[torch.Tensor]) -> list[torch.Tensor]:
        enc1, enc2, enc3 = outs
        dec3 = self.decoder_level3(enc3)
        dec2 = self.decoder_level2(self.up32(dec3, self.skip_attn2(enc2)))
        dec1 = self.decoder_level1(self.up21(dec2, self.skip_attn1(enc1)))
        return [dec1, dec2, dec3]


class ORB(nn.Module):
    """Original-resolution block: ``num_cab`` CABs and a conv, with a residual."""

    def __init__(
        self, n_feat: int, kernel_size: int, reduction: int, act: nn.Module, bias: bool,
        num_cab: int,
    ) -> None:
        super().__init__()
        body = [CAB(n_feat, kernel_size, reduction, bias, act) for _ in range(num_cab)]
        body.append(conv(n_feat, n_feat, kernel_size))  # the official code omits bias here
        self.body = nn.Sequential(*body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.body(x)
        res += x
        return res


class ORSNet(nn.Module):
    """Stage 3: three ORBs at full resolution, each followed by fusion of a U-Net scale."""

    def __init__(
        self, n_feat: int, scale_orsnetfeats: int, kernel_size: int, reduction: int,
        act: nn.Module, bias: bool, scale_unetfeats: int, num_cab: int,
    ) -> None:
        super().__init__()
        width = n_feat + scale_orsnetfeats
        self.orb1 = ORB(width, kernel_size, reduction, act, bias, num_cab)
        self.orb2 = ORB(width, kernel_size, reduction, act, bias, num_cab)
        self.orb3 = ORB(width, kernel_size, reduction, act, bias, num_cab)

        self.up_enc1 = UpSample(n_feat, scale_unetfeats)
        self.up_dec1 = UpSample(n_feat, scale_unetfeats)
        self.up_enc2 = nn.Sequential(
            UpSample(n_feat + scale_unetfeats, scale_unetfeats), UpSample(n_feat, scale_unetfeats)
        )
        self.up_dec2 = nn.Sequential(
            UpSample(n_feat + scale_unetfeats, scale_unetfeats), UpSample(n_feat, scale_unetfeats)
        )
        for name in ("conv_enc1", "conv_enc2", "conv_enc3", "conv_dec1", "conv_dec2", "conv_dec3"):
            setattr(self, name, nn.Conv2d(n_feat, width, kernel_size=1, bias=bias))

    def forward(
        self, x: torch.Tensor, encoder_outs: list[torch.Tensor], decoder_outs: list[torch.Tensor]
    ) -> torch.Tensor:
        x = self.orb1(x)
        x += self.conv_enc1(encoder_outs[0])
        x += self.conv_dec1(decoder_outs[0])
        x = self.orb2(x)
        x += self.conv_enc2(self.up_enc1(encoder_outs[1]))
        x += self.conv_dec2(self.up_dec1(decoder_outs[1]))
        x = self.orb3(x)
        x += self.conv_enc3(self.up_enc2(encoder_outs[2]))
        x += self.conv_dec3(self.up_dec2(decoder_outs[2]))
        return x


def _cat_all(a: list[torch.Tensor], b: list[torch.Tensor], dim: int) -> list[torch.Tensor]:
    return [torch.cat((x, y), dim) for x, y in zip(a, b, strict=True)]


class MPRNet(nn.Module):
    """MPRNet. Defaults are the deblurring configuration (20.1 M parameters)."""

    def __init__(
        self, in_c: int = 3, out_c: int = 3, n_feat: int = 96, scale_unetfeats: int = 48,
        scale_orsnetfeats: int = 32, num_cab: int = 8, kernel_size: int = 3, reduction: int = 4,
        bias: bool = False,
    ) -> None:
        super().__init__()
        act = nn.PReLU()  # one module, shared by every CAB (as in the official code)

        def shallow() -> nn.Sequential:
            return nn.Sequential(
                conv(in_c, n_feat, kernel_size, bias=bias),
                CAB(n_feat, kernel_size, reduction, bias, act),
            )

        self.shallow_feat1 = shallow()
        self.shallow_feat2 = shallow()
        self.shallow_feat3 = shallow()

        unet = (n_feat, kernel_size, reduction, act, bias, scale_unetfeats)
        self.stage1_encoder = Encoder(*unet, csff=False)
        self.stage1_decoder = Decoder(*unet)
        self.stage2_encoder = Encoder(*unet, csff=True)
        self.stage2_decoder = Decoder(*unet)
        self.stage3_orsnet = ORSNet(
            n_feat, scale_orsnetfeats, kernel_size, reduction, act, bias, scale_unetfeats, num_cab
        )

        self.sam12 = SAM(n_feat, kernel_size=1, bias=bias)
        self.sam23 = SAM(n_feat, kernel_size=1, bias=bias)
        self.concat12 = conv(n_feat * 2, n_feat, kernel_size, bias=bias)
        self.concat23 = conv(n_feat * 2, n_feat + scale_orsnetfeats, kernel_size, bias=bias)
        self.tail = conv(n_feat + scale_orsnetfeats, out_c, kernel_size, bias=bias)

    def forward(self, x3_img: torch.Tensor) -> list[torch.Tensor]:
        h, w = x3_img.shape[-2:]
        # Multi-patch hierarchy: two halves for stage 2, four quadrants for stage 1.
        x2top_img, x2bot_img = x3_img[:, :, : h // 2, :], x3_img[:, :, h // 2 :, :]
        quadrants = [
            x2top_img[:, :, :, : w // 2], x2top_img[:, :, :, w // 2 :],
            x2bot_img[:, :, :, : w // 2], x2bot_img[:, :, :, w // 2 :],
        ]

        # Stage 1: encode each quadrant, join left/right features, decode each half.
        ltop, rtop, lbot, rbot = (self.stage1_encoder(self.shallow_feat1(q)) for q in quadrants)
        feat1_top = _cat_all(ltop, rtop, dim=3)
        feat1_bot = _cat_all(lbot, rbot, dim=3)
        res1_top = self.stage1_decoder(feat1_top)
        res1_bot = self.stage1_decoder(feat1_bot)
        x2top_samfeats, stage1_img_top = self.sam12(res1_top[0], x2top_img)
        x2bot_samfeats, stage1_img_bot = self.sam12(res1_bot[0], x2bot_img)
        stage1_img = torch.cat([stage1_img_top, stage1_img_bot], 2)

        # Stage 2: halves, fused with stage-1 SAM features and U-Net features (CSFF).
        x2top = self.concat12(torch.cat([self.shallow_feat2(x2top_img), x2top_samfeats], 1))
        x2bot = self.concat12(torch.cat([self.shallow_feat2(x2bot_img), x2bot_samfeats], 1))
        feat2_top = self.stage2_encoder(x2top, feat1_top, res1_top)
        feat2_bot = self.stage2_encoder(x2bot, feat1_bot, res1_bot)
        feat2 = _cat_all(feat2_top, feat2_bot, dim=2)
        res2 = self.stage2_decoder(feat2)
        x3_samfeats, stage2_img = self.sam23(res2[0], x3_img)

        # Stage 3: full resolution.
        x3 = self.concat23(torch.cat([self.shallow_feat3(x3_img), x3_samfeats], 1))
        x3 = self.stage3_orsnet(x3, feat2, res2)
        stage3_img = self.tail(x3)
        stage3_img += x3_img
        return [stage3_img, stage2_img, stage1_img]


__all__ = ["MPRNet"]
