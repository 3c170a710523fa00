"""The family descriptors: complete, consistent with the networks, and their schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from imgrestore import archs
from imgrestore.archs.descriptor import Argument, ArgumentError, strip_module_prefix

BUILTIN = Path(__file__).parents[2] / "imgrestore" / "zoo" / "builtin"


@pytest.mark.parametrize("name", list(archs.FAMILIES))
def test_every_configuration_builds_with_its_declared_size(name: str) -> None:
    family = archs.family(name)
    for config, c in family.configurations.items():
        family.check_arguments(c.kwargs)
        with torch.device("meta"):
            net = archs.create(config)
        assert sum(p.numel() for p in net.parameters()) == c.params, config
        assert isinstance(net, family.network_class())
        spec = archs.spec(config)
        assert spec.in_channels == family.in_channels(c.kwargs)
        assert spec.bytes_per_pixel == (c.bytes_per_pixel or family.bytes_per_pixel)
        assert spec.bytes_per_pixel <= family.bytes_per_pixel  # the family's is the largest


@pytest.mark.parametrize("name", list(archs.FAMILIES))
def test_every_constructor_argument_is_in_the_schema(name: str) -> None:
    import inspect

    family = archs.family(name)
    parameters = inspect.signature(family.network_class()).parameters
    assert list(family.arguments) == list(parameters)
    defaults = {k: p.default for k, p in parameters.items()}
    family.check_arguments(defaults)
    assert family.in_channels({}) == defaults[family.input_argument]


def test_stage_outputs_match_the_forward() -> None:
    for name, family in archs.FAMILIES.items():
        config = next(iter(family.configurations))
        with torch.device("meta"), torch.inference_mode():
            out = archs.create(config)(torch.empty(1, archs.spec(config).in_channels, 16, 16))
        returned = len(out) if isinstance(out, list) else 1
        assert returned == family.stage_outputs, name


def test_built_in_models_fit_their_schema() -> None:
    for meta in BUILTIN.glob("*/imgrestore.json"):
        data = json.loads(meta.read_text())
        archs.family(data["family"]).check_arguments(data["kwargs"])


def test_check_arguments_refuses_what_the_schema_does_not_allow() -> None:
    family = archs.family("mirnetv2")
    family.check_arguments({"n_feat": 16, "chan_factor": 2})  # ints are fine for floats
    for kwargs, words in [
        ({"n_feats": 16}, "no argument 'n_feats'"),
        ({"n_feat": 100_000}, "at most 256"),
        ({"n_feat": 0}, "at least 1"),
        ({"n_feat": 16.0}, "expected int"),
        ({"n_feat": True}, "expected int"),
        ({"bias": 1}, "expected bool"),
        ({"chan_factor": "1.5"}, "expected float"),
        ({"task": "inpainting"}, "expected one of None, 'defocus_deblurring'"),
        ({"task": True}, "expected one of"),
    ]:
        with pytest.raises(ArgumentError, match=words):
            family.check_arguments(kwargs)
    assert issubclass(ArgumentError, ValueError)
    Argument(bool).check("bias", False)


def test_device_hints() -> None:
    mprnet, mirnetv2 = archs.family("mprnet"), archs.family("mirnetv2")
    assert mprnet.on("cpu").layout == "channels_last"
    assert mirnetv2.on("cpu").layout == "contiguous"
    for family in archs.FAMILIES.values():
        assert family.on("cuda").layout == "channels_last"
        assert family.on("cuda").safe_precisions == ("fp16",)
        assert family.on("cpu").safe_precisions == () and family.on("mps").safe_precisions == ()
        assert family.on("xpu") == family.on("mps")  # undeclared: the defaults


def test_strip_module_prefix_only_when_every_key_has_it() -> None:
    t = torch.zeros(1)
    assert list(strip_module_prefix({"module.a": t, "b": t})) == ["module.a", "b"]
    assert list(strip_module_prefix({"module.a": t, "module.b": t})) == ["a", "b"]
