"""Running a network on any image size: pad to the family's multiple, run, crop back."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad ``x`` (N, C, H, W) at the bottom and right to multiples of ``multiple``.

    Like the official demos: no padding when a side is already a multiple. Sides too
    short for one reflection (pad >= size) are reflected repeatedly; a side of one
    pixel is replicated.
    """
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    while pad_h or pad_w:
        h, w = x.shape[-2:]
        step_h = min(pad_h, h - 1)
        step_w = min(pad_w, w - 1)
        if (pad_h and step_h == 0) or (pad_w and step_w == 0):
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
            break
        x = F.pad(x, (0, step_w, 0, step_h), mode="reflect")
        pad_h, pad_w = pad_h - step_h, pad_w - step_w
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
