from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from imgrestore.training.metrics import prepare, psnr, ssim


def test_psnr_clamps_and_uses_a_fixed_peak() -> None:
    target = torch.full((1, 3, 8, 8), 0.5)
    out = target + 0.1
    assert psnr(prepare(out), prepare(target)) == pytest.approx(20.0)
    # An output pixel far above 1 is clamped; it cannot inflate (or ruin) the figure.
    spiky = out.clone()
    spiky[0, 0, 0, 0] = 300.0
    assert psnr(prepare(spiky), prepare(target)) == pytest.approx(
        10 * math.log10(1 / ((0.5**2 + 191 * 0.01) / 192)))
    assert psnr(prepare(target), prepare(target)) == math.inf


def test_ssim_matches_scikit_image() -> None:
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(0)
    a = rng.random((3, 32, 30))
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    ours = ssim(torch.from_numpy(a)[None], torch.from_numpy(b)[None])
    ref = metrics.structural_similarity(a, b, channel_axis=0, data_range=1.0,
                                        gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False)
    assert ours == pytest.approx(ref, abs=1e-9)  # the same scikit-image code underneath
    assert ssim(torch.from_numpy(a)[None], torch.from_numpy(a)[None]) == pytest.approx(1.0)


def test_luma_and_border() -> None:
    x = torch.rand(1, 3, 10, 10)
    y = prepare(x, y_channel=True, crop_border=2)
    assert y.shape == (1, 1, 6, 6)
    white = prepare(torch.ones(1, 3, 4, 4), y_channel=True)
    assert float(white.max()) == pytest.approx(235 / 255)
    assert torch.equal(prepare(x, quantize=True) * 255, torch.round(x * 255))
