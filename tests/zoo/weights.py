"""Deterministic test weights for released configurations, without building them."""

from __future__ import annotations

import io

import torch

from imgrestore import archs
from imgrestore.testing import keyseeded_state_dict
from imgrestore.zoo.loading import LoadedModel


def seeded_state(config: str) -> dict[str, torch.Tensor]:
    """Key-seeded weights for the released configuration ``config`` (its shapes come from
    a network built on the meta device: no memory, no initialisation)."""
    with torch.device("meta"):
        net = archs.create(config)
    shapes = {k: torch.empty(v.shape, dtype=v.dtype) for k, v in net.state_dict().items()}
    return keyseeded_state_dict(shapes)


def cheap_state(config: str) -> dict[str, torch.Tensor]:
    """Weights of the right keys and shapes for ``config``, made fast (a big network's
    key-seeded draw takes seconds): tensor ``i`` is filled with the constant
    ``(i + 1) / 1000``, so a swapped or dropped tensor still shows."""
    with torch.device("meta"):
        net = archs.create(config)
    return {k: torch.full(v.shape, (i + 1) / 1000, dtype=v.dtype)
            for i, (k, v) in enumerate(net.state_dict().items())}


X = torch.rand(1, 3, 20, 28, generator=torch.Generator().manual_seed(0))  # not a multiple of 8


def reference_output(config: str, state: dict) -> torch.Tensor:
    net = archs.create(config)
    net.load_state_dict(state, strict=True)
    with torch.no_grad():
        return archs.restore(net.eval(), archs.spec(config), X)


def output_of(loaded: LoadedModel) -> torch.Tensor:
    assert not loaded.net.training
    with torch.no_grad():
        return archs.restore(loaded.net, loaded.spec, X)


def official_pth(state: dict[str, torch.Tensor], container: str | None = "state_dict",
                 prefix: bool = False) -> bytes:
    """``state`` saved as the authors publish it: under ``container`` (or bare), keys
    optionally prefixed with ``module.``, beside an epoch counter."""
    if prefix:
        state = {"module." + k: v for k, v in state.items()}
    buffer = io.BytesIO()
    torch.save({container: state, "epoch": 1} if container else state, buffer)
    return buffer.getvalue()
