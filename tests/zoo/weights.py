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
    from imgrestore import archs

    with torch.device("meta"):
        net = archs.create(config)
    shapes = {k: torch.empty(v.shape, dtype=v.dtype) for k, v in net.state_dict().items()}
    return keyseeded_state_dict(shapes)


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


def official_pth(state: dict, container: str | None, prefix: bool) -> bytes:
    if prefix:
        state = {"module." + k: v for k, v in state.items()}
    buffer = io.BytesIO()
    torch.save({container: state, "epoch": 1} if container else state, buffer)
    return buffer.getvalue()
