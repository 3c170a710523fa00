"""Checkpoint exactness: official keys, shapes and order; official outputs (goldens)."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest
import torch

from imgrestore import archs
from imgrestore.testing import keyseed_, keyseeded_state_dict

from .test_specs import OFFICIAL


@cache
def manifest(name: str) -> dict:
    from .test_specs import MANIFESTS

    return json.loads((MANIFESTS / f"{name}.json").read_text())


@pytest.mark.parametrize("name", OFFICIAL)
def test_state_dict_layout_equals_official(name):
    net = archs.create(name)
    ours = [[key, list(value.shape)] for key, value in net.state_dict().items()]
    official = [[key, shape] for key, shape, _dtype in manifest(name)["state_dict"]]
    assert ours == official
    buffers = [key for key, _ in net.named_buffers()]
    assert sorted(buffers) == sorted(manifest(name)["buffer_keys"])
    assert sum(p.numel() for p in net.parameters()) == manifest(name)["param_count"]


@pytest.mark.parametrize("name", OFFICIAL)
def test_shared_tensors_as_official(name):
    """Keys that alias one tensor in the official network alias one tensor here too."""
    state = archs.create(name).state_dict()
    for group in manifest(name)["shared_tensor_groups"]:
        pointers = {state[key].data_ptr() for key in group["keys"]}
        assert len(pointers) == 1, group["keys"][:3]


@pytest.mark.parametrize("name", OFFICIAL)
def test_outputs_equal_official_goldens(name, data_dir):
    golden = np.load(data_dir / "golden" / f"{name}.npz")
    net = keyseed_(archs.create(name)).eval()
    with torch.inference_mode():
        out = net(torch.from_numpy(golden["in64"]))
    if archs.spec(name).descriptor.returns_stages:
        assert isinstance(out, list) and len(out) == 3
        for stage in range(3):
            expected = golden[f"out64_stage{stage}"]
            np.testing.assert_allclose(out[stage].numpy(), expected, rtol=0, atol=1e-5)
    else:
        np.testing.assert_allclose(out.numpy(), golden["out64"], rtol=0, atol=1e-5)


def test_official_checkpoint_loads_strictly():
    """A checkpoint with the official key set (module.-prefix stripped) loads strict=True."""
    net = archs.create("mprnet_deraining")
    official_keys = {key: torch.empty(shape) for key, shape, _ in manifest("mprnet_deraining")[
        "state_dict"]}
    result = net.load_state_dict(keyseeded_state_dict(official_keys), strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_build_other_widths_for_training():
    net = archs.build("mirnetv2", n_feat=16, chan_factor=1.5)
    out = net(torch.rand(1, 3, 16, 16))
    assert out.shape == (1, 3, 16, 16)
    net = archs.build("mprnet", n_feat=16, scale_unetfeats=8, scale_orsnetfeats=8, num_cab=2)
    assert [o.shape for o in net(torch.rand(1, 3, 16, 16))] == [(1, 3, 16, 16)] * 3
    net = archs.build("mirnet", n_feat=8, n_RRG=1, n_MSRB=1)
    assert net(torch.rand(1, 3, 16, 16)).shape == (1, 3, 16, 16)
