"""The size-agnostic entry point: any H x W in, same H x W out."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from imgrestore import archs
from imgrestore.archs.sizing import pad_to_multiple
from imgrestore.testing import fixed_input, keyseed_

from .test_specs import OFFICIAL

SIZES = [(37, 53), (8, 8), (9, 17), (64, 36)]


@pytest.fixture(scope="module")
def nets():
    return {name: keyseed_(archs.create(name)).eval() for name in OFFICIAL}


@pytest.mark.parametrize("name", OFFICIAL)
@pytest.mark.parametrize("size", SIZES)
def test_any_size_gives_same_size(nets, name, size):
    spec = archs.spec(name)
    x = fixed_input((1, spec.in_channels, *size))
    with torch.inference_mode():
        out = archs.restore(nets[name], spec, x)
    assert out.shape == (1, spec.out_channels, *size)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["mprnet_deraining", "mirnetv2_real_denoising"])
def test_padding_is_the_official_demo_rule(nets, name):
    """Reflect-pad bottom/right to the multiple, run, crop [:h, :w]."""
    spec = archs.spec(name)
    x = fixed_input((1, 3, 37, 53))
    m = spec.multiple_of
    padded = F.pad(x, (0, (-53) % m, 0, (-37) % m), mode="reflect")
    with torch.inference_mode():
        expected = nets[name](padded)
        expected = (expected[0] if spec.descriptor.returns_stages else expected)[..., :37, :53]
        assert torch.equal(archs.restore(nets[name], spec, x), expected)


def test_multiples_are_not_padded(nets):
    spec = archs.spec("mprnet_deraining")
    x = fixed_input((2, 3, 32, 24))
    with torch.inference_mode():
        assert torch.equal(archs.restore(nets[spec.name], spec, x), nets[spec.name](x)[0])


@pytest.mark.parametrize("size", [(1, 1), (1, 6), (2, 3), (3, 7), (5, 5)])
def test_tiny_images(nets, size):
    spec = archs.spec("mprnet_deraining")
    x = fixed_input((1, 3, *size))
    with torch.inference_mode():
        assert archs.restore(nets[spec.name], spec, x).shape == (1, 3, *size)


@pytest.mark.parametrize(("h", "w", "multiple"), [(37, 53, 8), (3, 2, 8), (1, 5, 4), (16, 16, 8)])
def test_pad_to_multiple(h, w, multiple):
    x = torch.arange(h * w, dtype=torch.float32).reshape(1, 1, h, w)
    padded = pad_to_multiple(x, multiple)
    assert padded.shape[-2] % multiple == 0 and padded.shape[-1] % multiple == 0
    assert padded.shape[-2] - h < multiple and padded.shape[-1] - w < multiple
    assert torch.equal(padded[..., :h, :w], x)
    if h > 1 and w > 1 and (-h) % multiple < h and (-w) % multiple < w:
        single = F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple), mode="reflect")
        assert torch.equal(padded, single)


def test_rejects_unbatched_input(nets):
    with pytest.raises(ValueError, match="N, C, H, W"):
        archs.restore(nets["mprnet_deraining"], archs.spec("mprnet_deraining"), torch.rand(3, 8, 8))
