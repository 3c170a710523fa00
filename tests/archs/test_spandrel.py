"""Independent check: spandrel_extra_arches' MPRNet and MIRNet-v2 compute what ours do.

spandrel imports torchvision, which the project does not need (and whose pip install
would replace the CPU torch). When torchvision is absent we give spandrel a stand-in
module whose attributes exist but cannot be called; the two architectures compared
here do not use torchvision.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

import pytest
import torch

from imgrestore import archs
from imgrestore.testing import fixed_input, keyseeded_state_dict


class _Unavailable:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, item: str) -> _Unavailable:
        return _Unavailable(f"{self._name}.{item}")

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError(f"{self._name} is a test stand-in for torchvision")

    def __mro_entries__(self, bases: tuple) -> tuple:
        return (object,)


class _StandInModule(types.ModuleType):
    def __getattr__(self, item: str) -> _Unavailable:
        if item.startswith("__"):
            raise AttributeError(item)
        return _Unavailable(f"{self.__name__}.{item}")


class _TorchvisionStandIn(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StandInModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


@pytest.fixture(scope="module")
def spandrel_arches():
    if importlib.util.find_spec("spandrel_extra_arches") is None:
        pytest.skip("spandrel_extra_arches is not installed (.ci/run installs it)")
    if importlib.util.find_spec("torchvision") is None:
        sys.meta_path.insert(0, _TorchvisionStandIn())
    from spandrel_extra_arches.architectures.MIRNet2 import MIRNet2Arch
    from spandrel_extra_arches.architectures.MPRNet import MPRNetArch

    return {"mprnet": MPRNetArch(), "mirnetv2": MIRNet2Arch()}


@pytest.mark.parametrize(
    "name",
    ["mprnet_deblurring", "mprnet_deraining", "mprnet_denoising", "mirnetv2_real_denoising",
     "mirnetv2_enhancement_lol"],
)
def test_same_outputs_as_spandrel(spandrel_arches, name):
    spec = archs.spec(name)
    ours = archs.create(name).eval()
    weights = keyseeded_state_dict(ours.state_dict())
    ours.load_state_dict(weights)
    theirs = spandrel_arches[spec.family].load(weights)
    assert theirs.size_requirements.multiple_of == spec.multiple_of
    x = fixed_input((1, 3, 48, 40), seed=7)
    with torch.inference_mode():
        mine = ours(x)
        other = theirs.model(x)
    if spec.descriptor.returns_stages:
        assert len(other) == 3
        for a, b in zip(mine, other, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    else:
        torch.testing.assert_close(mine, other, rtol=0, atol=1e-5)
