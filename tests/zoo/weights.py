"""Deterministic test weights, from key names and shapes only."""

from __future__ import annotations

import math
import zlib

import torch


def seeded(reference: dict[str, torch.Tensor], salt: str = "") -> dict[str, torch.Tensor]:
    """Deterministic weights from key names and shapes only (each key its own generator),
    scaled like a default initialisation so outputs stay finite and informative."""
    out = {}
    for key, value in reference.items():
        g = torch.Generator().manual_seed(zlib.crc32((salt + key).encode()))
        if value.dim() >= 2:
            bound = 1.0 / math.sqrt(max(1, value[0].numel()))
            t = (torch.rand(value.shape, generator=g, dtype=torch.float64) * 2 - 1) * bound
        else:
            t = torch.rand(value.shape, generator=g, dtype=torch.float64) * 0.2 + 0.1
        out[key] = t.to(value.dtype)
    return out


def seeded_state(config: str, salt: str = "") -> dict[str, torch.Tensor]:
    """Deterministic weights for the released configuration ``config`` (shapes only:
    the network is built on the meta device)."""
    from imgrestore import archs

    with torch.device("meta"):
        net = archs.create(config)
    reference = {k: torch.empty(v.shape, dtype=v.dtype) for k, v in net.state_dict().items()}
    return seeded(reference, salt)
