"""Running a network on any image size: pad to the family's multiple, run, crop back."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812


def pad_to_multiple(x: torch.Tensor, multiple: int, margin: int = 0) -> torch.Tensor:
    """Reflect-pad ``x`` (N, C, H, W) at the bottom and right to multiples of ``multiple``.

    Like the official demos: no padding when a side is already a multiple. With
    ``margin``, every side first gets ``margin`` reflected pixels (see :func:`reflect_pad`).
    """
    if margin:
        x = reflect_pad(x, margin, margin, margin, margin)
    h, w = x.shape[-2:]
    return reflect_pad(x, 0, (-h) % multiple, 0, (-w) % multiple)


def reflect_pad(x: torch.Tensor, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """Reflect-pad ``x`` (N, C, H, W) by the given number of pixels on each side.

    Sides too short for one reflection (pad >= size) are reflected repeatedly; a side of
    one pixel is replicated.
    """
    pads = [left, right, top, bottom]
    while any(pads):
        h, w = x.shape[-2:]
        step = [min(p, size - 1) for p, size in zip(pads, (w, w, h, h), strict=True)]
        if any(p and not s for p, s in zip(pads, step, strict=True)):
            return F.pad(x, tuple(pads), mode="replicate")
        x = F.pad(x, tuple(step), mode="reflect")
        pads = [p - s for p, s in zip(pads, step, strict=True)]
    return x


def forward_padded(
    net: Callable[[torch.Tensor], torch.Tensor | list[torch.Tensor]],
    x: torch.Tensor,
    multiple: int,
    *,
    final_of_stages: bool = False,
) -> torch.Tensor:
    """Pad ``x`` to ``multiple``, run ``net``, keep the final image, crop to the input size.

    ``final_of_stages``: the network returns a list of stage images whose element 0 is
    the final one (MPRNet).
    """
    if x.dim() != 4:
        raise ValueError(f"expected an (N, C, H, W) batch, got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    out = net(pad_to_multiple(x, multiple))
    if final_of_stages:
        out = out[0]
    return out[..., :h, :w]
