"""MPRNet's in-place residual additions keep autograd exact (training still works)."""

from __future__ import annotations

import torch

from imgrestore import archs
from imgrestore.testing import keyseed_


def _tiny() -> torch.nn.Module:
    net = archs.build("mprnet", n_feat=4, scale_unetfeats=2, scale_orsnetfeats=2, num_cab=1,
                      reduction=2)
    return keyseed_(net).double()


def test_gradients_through_in_place_additions_are_exact():
    """Analytic gradients of all three stage outputs equal numerical ones (float64)."""
    net = _tiny()
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    weights = [torch.rand(1, 3, 8, 8, dtype=torch.float64) for _ in range(3)]

    def loss(t: torch.Tensor) -> torch.Tensor:
        return sum((w * out).sum() for w, out in zip(weights, net(t), strict=True))

    assert torch.autograd.gradcheck(loss, (x,), eps=1e-6, atol=1e-6, fast_mode=True)


def test_parameter_gradients_flow_to_every_block():
    net = _tiny().float()
    outputs = net(torch.rand(2, 3, 16, 16))
    sum(o.square().mean() for o in outputs).backward()
    missing = [name for name, p in net.named_parameters() if p.grad is None]
    assert not missing
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())
