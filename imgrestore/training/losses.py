"""Training losses: Charbonnier, MPRNet's edge loss, a colour and a brightness term, L1,
and the sum over stages.

All take ``(N, C, H, W)`` tensors and return a scalar (mean over every element).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from imgrestore.ops.metrics import LUMA

#: MPRNet's 1-D Gaussian-like filter; its outer product is the 5 x 5 kernel (sums to 1).
GAUSS_1D = (0.05, 0.25, 0.4, 0.25, 0.05)


def charbonnier(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """mean(sqrt((x - y)^2 + eps^2))."""
    diff = x - y
    return torch.sqrt(diff * diff + eps * eps).mean()


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).abs().mean()


def _gauss(img: torch.Tensor) -> torch.Tensor:
    """Depthwise 5 x 5 filter with replicate padding of 2."""
    g = torch.tensor(GAUSS_1D, dtype=img.dtype, device=img.device)
    kernel = torch.outer(g, g).expand(img.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(img, (2, 2, 2, 2), mode="replicate"), kernel, groups=img.shape[1])


def laplacian(img: torch.Tensor) -> torch.Tensor:
    """One Laplacian-pyramid level, as MPRNet computes it.

    Blur, keep every second pixel, write those back at even positions times 4 into a zero
    image, blur again; the result is ``img`` minus that.
    """
    blurred = _gauss(img)
    upsampled = torch.zeros_like(blurred)
    upsampled[:, :, ::2, ::2] = blurred[:, :, ::2, ::2] * 4
    return img - _gauss(upsampled)


def edge_loss(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Charbonnier between the Laplacians of ``x`` and ``y`` (MPRNet)."""
    return charbonnier(laplacian(x), laplacian(y), eps)


#: RGB -> (Cb, Cr) of ITU-R BT.601 YCbCr: the two colour-difference axes.
CHROMA = ((-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))


def chroma(img: torch.Tensor) -> torch.Tensor:
    """``(N, 2, H, W)`` BT.601 colour differences (Cb, Cr) of an RGB batch."""
    weight = torch.tensor(CHROMA, dtype=img.dtype, device=img.device)
    return torch.einsum("kc,nchw->nkhw", weight, img[:, :3])


def color_loss(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3, *,
               image_mean: bool = True) -> torch.Tensor:
    """Charbonnier on the colour differences, on their magnitude (the chroma), and on
    each image's mean chroma.

    A per-pixel RGB loss is dominated by brightness errors and, where the colour of a
    dark, noisy input is uncertain, is smallest for a greyish answer. The magnitude term
    charges a washed-out colour as much as a wrong one; the mean term gives a washed-out
    image one consistent push back towards the clean image's saturation (per-pixel
    terms largely cancel over noisy pixels); ``image_mean=False`` leaves it out.
    """
    cx, cy = chroma(x), chroma(y)
    mx = torch.sqrt((cx * cx).sum(1) + eps * eps)
    my = torch.sqrt((cy * cy).sum(1) + eps * eps)
    loss = charbonnier(cx, cy, eps) + charbonnier(mx, my, eps)
    if image_mean:
        loss = loss + charbonnier(mx.mean((1, 2)), my.mean((1, 2)), eps)
    return loss


def brightness_loss(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Charbonnier on each image's mean BT.601 luma.

    Where the exposure of a dark input is ambiguous, a per-pixel loss drifts towards a
    darker answer (dark regions dominate a median); one term per image holds the overall
    brightness, as the mean-chroma term of :func:`color_loss` holds the saturation.
    """
    weight = torch.tensor(LUMA, dtype=x.dtype, device=x.device)
    mx = torch.einsum("c,nchw->n", weight, x[:, :3]) / (x.shape[2] * x.shape[3])
    my = torch.einsum("c,nchw->n", weight, y[:, :3]) / (y.shape[2] * y.shape[3])
    return charbonnier(mx, my, eps)


def stage_sum(
    outputs: Sequence[torch.Tensor], target: torch.Tensor,
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """``sum(fn(out, target) for out in outputs)`` as a tensor that keeps the graph.

    (The official ``np.sum`` / ``torch.sum(list)`` crash on current versions, and the
    common ``torch.tensor([...]).sum()`` fix detaches every stage from the graph.)
    """
    return torch.stack([fn(out, target) for out in outputs]).sum()


class RestorationLoss(nn.Module):
    """The recipe's loss: Charbonnier or L1, plus ``edge_weight`` x edge loss,
    ``color_weight`` x colour loss and ``brightness_weight`` x brightness loss, on
    outputs optionally clamped to [0, 1], summed over the stages of multi-stage nets."""

    def __init__(
        self, kind: str = "charbonnier", *, eps: float = 1e-3, edge_weight: float = 0.0,
        color_weight: float = 0.0, color_image_mean: bool = True,
        brightness_weight: float = 0.0, clamp: bool = False, stages: str = "sum",
    ) -> None:
        super().__init__()
        if kind not in ("charbonnier", "l1"):
            raise ValueError(f"unknown loss {kind!r}")
        self.kind, self.eps, self.edge_weight = kind, eps, edge_weight
        self.color_weight, self.brightness_weight = color_weight, brightness_weight
        self.color_image_mean = color_image_mean
        self.clamp, self.stages = clamp, stages

    def single(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.clamp:
            out = out.clamp(0, 1)
        loss = charbonnier(out, target, self.eps) if self.kind == "charbonnier" else l1(out, target)
        if self.edge_weight:
            loss = loss + self.edge_weight * edge_loss(out, target, self.eps)
        if self.color_weight:
            loss = loss + self.color_weight * color_loss(out, target, self.eps,
                                                         image_mean=self.color_image_mean)
        if self.brightness_weight:
            loss = loss + self.brightness_weight * brightness_loss(out, target, self.eps)
        return loss

    def forward(
        self, output: torch.Tensor | Sequence[torch.Tensor], target: torch.Tensor
    ) -> torch.Tensor:
        if isinstance(output, torch.Tensor):
            return self.single(output, target)
        if self.stages == "final":
            return self.single(output[0], target)
        return stage_sum(output, target, self.single)


__all__ = [
    "GAUSS_1D",
    "CHROMA",
    "LUMA",
    "RestorationLoss",
    "brightness_loss",
    "charbonnier",
    "chroma",
    "color_loss",
    "edge_loss",
    "l1",
    "laplacian",
    "stage_sum",
]
