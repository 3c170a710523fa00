"""Deterministic test weights for released configurations, without building them."""

from __future__ import annotations

import io

import torch

from imgrestore.testing import keyseeded_state_dict


def seeded_state(config: str) -> dict[str, torch.Tensor]:
    """Key-seeded weights for the released configuration ``config`` (its shapes come from
    a network built on the meta device: no memory, no initialisation)."""
    from imgrestore import archs

    with torch.device("meta"):
        net = archs.create(config)
    shapes = {k: torch.empty(v.shape, dtype=v.dtype) for k, v in net.state_dict().items()}
    return keyseeded_state_dict(shapes)


def cheap_state(config: str) -> dict[str, torch.Tensor]:
    """Weights of the right keys and shapes for ``config``, made fast (a big network's
    key-seeded draw takes seconds): tensor ``i`` is filled with the constant
    ``(i + 1) / 1000``, so a swapped or dropped tensor still shows."""
    from imgrestore import archs

    with torch.device("meta"):
        net = archs.create(config)
    return {k: torch.full(v.shape, (i + 1) / 1000, dtype=v.dtype)
            for i, (k, v) in enumerate(net.state_dict().items())}


def official_pth(state: dict[str, torch.Tensor], container: str | None = "state_dict",
                 prefix: bool = False) -> bytes:
    """``state`` saved as the authors publish it: under ``container`` (or bare), keys
    optionally prefixed with ``module.``, beside an epoch counter."""
    if prefix:
        state = {"module." + k: v for k, v in state.items()}
    buffer = io.BytesIO()
    torch.save({container: state, "epoch": 1} if container else state, buffer)
    return buffer.getvalue()
