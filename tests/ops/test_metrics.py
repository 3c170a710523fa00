from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from imgrestore.ops.metrics import (
    border_ratio,
    mean_saturation,
    measure,
    prepare,
    psnr,
    ssim,
)


def _pair(seed: int = 0, shape: tuple[int, int, int] = (40, 52, 3)) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    clean = rng.random(shape).astype(np.float32)
    # Outside [0, 1] on purpose: the metrics clamp first.
    restored = (clean + rng.normal(0, 0.08, shape)).astype(np.float32)
    return restored, clean


def _skimage(restored: np.ndarray, clean: np.ndarray, *, y: bool, crop: int) -> tuple[float, ...]:
    """The reference: scikit-image on arrays prepared here, independently."""
    a, b = (np.clip(x.astype(np.float64), 0, 1) for x in (restored, clean))
    if y:
        a, b = (rgb2ycbcr(x)[..., 0] / 255 for x in (a, b))
    if crop:
        a, b = (x[crop:-crop, crop:-crop] for x in (a, b))
    kwargs = dict(data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    if not y:
        kwargs["channel_axis"] = -1
    return peak_signal_noise_ratio(b, a, data_range=1.0), structural_similarity(a, b, **kwargs)


@pytest.mark.parametrize("crop", [0, 4])
def test_rgb_and_luma_equal_scikit_image(crop: int) -> None:
    restored, clean = _pair()
    scores = measure(restored, clean, crop_border=crop)
    rgb = _skimage(restored, clean, y=False, crop=crop)
    luma = _skimage(restored, clean, y=True, crop=crop)
    assert scores.psnr == pytest.approx(rgb[0], abs=1e-6)
    assert scores.ssim == pytest.approx(rgb[1], abs=1e-6)
    assert scores.psnr_y == pytest.approx(luma[0], abs=1e-6)
    assert scores.ssim_y == pytest.approx(luma[1], abs=1e-6)
    assert scores.psnr != pytest.approx(scores.psnr_y, abs=0.1)  # luma really differs


def test_border_crop_changes_the_figures() -> None:
    restored, clean = _pair(1)
    restored[:3] = 0.0  # damage only the top rows
    assert measure(restored, clean, crop_border=3).psnr > measure(restored, clean).psnr + 1


def test_clamped_with_a_fixed_peak() -> None:
    clean = np.full((16, 16, 3), 0.5, np.float32)
    out = clean + 0.1
    assert psnr(prepare(out), prepare(clean)) == pytest.approx(20.0)
    spiky = out.copy()
    spiky[0, 0, 0] = 300.0  # clamped to 1: error 0.5 on one value, not 299.5
    expected = 10 * math.log10(1 / ((0.5**2 + 767 * 0.01) / 768))
    assert psnr(prepare(spiky), prepare(clean)) == pytest.approx(expected)
    assert psnr(prepare(clean), prepare(clean)) == math.inf
    assert ssim(prepare(clean), prepare(clean)) == pytest.approx(1.0)


def test_luma_range_and_quantize() -> None:
    white = prepare(np.ones((4, 4, 3)), y_channel=True)
    assert white.shape == (4, 4, 1)
    assert float(white.max()) == pytest.approx(235 / 255)
    x = np.random.default_rng(2).random((6, 6, 3))
    assert np.array_equal(prepare(x, quantize=True) * 255, np.round(x * 255))


def test_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((10, 30, 3)), np.zeros((10, 30, 3)))
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(np.zeros((12, 12, 3)), np.zeros((12, 13, 3)))
    with pytest.raises(ValueError, match="nothing left"):
        prepare(np.zeros((8, 8, 3)), crop_border=4)


def test_border_ratio_sees_a_frame_and_only_the_frame() -> None:
    rng = np.random.default_rng(0)
    clean = rng.random((40, 48, 3))
    inside = np.clip(clean + rng.normal(0, 0.02, clean.shape), 0, 1)
    assert border_ratio(inside, inside, clean) == pytest.approx(1.0)
    framed = inside.copy()
    framed[:2] *= 0.5  # a dark top edge, two pixels
    assert border_ratio(framed, inside, clean) > 3
    brighter = np.clip(inside + 0.1, 0, 1)  # a change of the whole picture is no frame
    assert border_ratio(brighter, inside, clean) == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError, match="no interior"):
        border_ratio(clean[:8], clean[:8], clean[:8])


def test_mean_saturation() -> None:
    assert mean_saturation(np.full((2, 2, 3), 0.5)) == 0.0
    assert mean_saturation(np.zeros((2, 2, 3))) == 0.0
    colour = np.array([[[1.0, 0.5, 0.0], [0.2, 0.2, 0.1]]])
    assert mean_saturation(colour) == pytest.approx((1.0 + 0.5) / 2)
