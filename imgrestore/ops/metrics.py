"""PSNR and SSIM as the papers define them, the one implementation in the project.

Images are float ``H x W x C`` arrays in [0, 1] (numpy, no torch). Every measurement
first goes through :func:`prepare`: clamp to [0, 1] (a restored pixel above 1 cannot
inflate the score), optionally round to 8 bits, optionally take the luma channel, crop
the border. The peak is fixed at 1 and never depends on the data (the MIRNet-v2 fork's
validation bug, docs/eval.md).

- :func:`psnr`: ``10 log10(1 / MSE)`` in float64; equal to scikit-image's
  ``peak_signal_noise_ratio(clean, restored, data_range=1)``; ``inf`` for identical images.
- :func:`ssim`: scikit-image's ``structural_similarity`` with Wang et al.'s settings
  (11 x 11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, population covariances), computed
  per channel and averaged (MATLAB's ``ssim`` on a colour array is volumetric instead,
  so expect small differences from numbers computed in MATLAB).
- :func:`border_ratio`: how much worse a restoration is on an image's outermost pixels
  than on the same pixels restored inside a larger image (a frame left by padding);
  :func:`mean_saturation`: mean HSV saturation (washed-out colour).
- Luma is ITU-R BT.601 on RGB as MATLAB's ``rgb2ycbcr``: ``Y = (16 + 65.481 R + 128.553 G
  + 24.966 B) / 255`` for R, G, B in [0, 1], so Y lies in [16/255, 235/255].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Wang et al.'s SSIM window: a Gaussian of this sigma, 11 x 11 (scikit-image truncates
#: at 3.5 sigma).
SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
#: BT.601 luma weights (MATLAB ``rgb2ycbcr``) for R, G, B in [0, 1], and the offset.
LUMA_WEIGHTS = (65.481, 128.553, 24.966)
LUMA_OFFSET = 16.0
#: The same weights over full range (they sum to 1): Y' of R'G'B' in [0, 1], used by the
#: training losses and saturation blends.
LUMA = tuple(round(w / sum(LUMA_WEIGHTS), 3) for w in LUMA_WEIGHTS)


def prepare(
    image: np.ndarray, *, y_channel: bool = False, crop_border: int = 0, quantize: bool = False
) -> np.ndarray:
    """Clamp to [0, 1], optionally round to 8 bits, take luma, crop ``crop_border`` pixels
    from every side. Returns float64 ``H' x W' x C'`` (``C' = 1`` for luma)."""
    if image.ndim != 3:
        raise ValueError(f"expected an H x W x C image, got shape {image.shape}")
    if crop_border < 0:
        raise ValueError(f"border crop {crop_border} must not be negative")
    out = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
    if quantize:
        out = np.round(out * 255.0) / 255.0
    if y_channel and out.shape[2] == 3:
        r, g, b = LUMA_WEIGHTS
        luma = r * out[..., 0] + g * out[..., 1] + b * out[..., 2]
        out = ((luma + LUMA_OFFSET) / 255.0)[..., None]
    if crop_border:
        h, w = out.shape[:2]
        if min(h, w) <= 2 * crop_border:
            raise ValueError(f"a {w}x{h} image has nothing left after a {crop_border} px crop")
        out = out[crop_border:-crop_border, crop_border:-crop_border]
    return out


def psnr(restored: np.ndarray, clean: np.ndarray) -> float:
    """PSNR in dB (peak 1) of two prepared images of the same shape; ``inf`` if identical."""
    _same_shape(restored, clean)
    diff = np.asarray(restored, dtype=np.float64) - np.asarray(clean, dtype=np.float64)
    mse = float(np.mean(diff * diff))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def ssim(restored: np.ndarray, clean: np.ndarray) -> float:
    """Mean SSIM (Wang et al. settings, peak 1) of two prepared ``H x W x C`` images,
    per channel then averaged, over the window positions inside the image."""
    from skimage.metrics import structural_similarity

    _same_shape(restored, clean)
    if min(clean.shape[:2]) < SSIM_WINDOW:
        h, w = clean.shape[:2]
        raise ValueError(f"SSIM needs at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {w}x{h}")
    return float(
        structural_similarity(
            np.asarray(restored, dtype=np.float64), np.asarray(clean, dtype=np.float64),
            data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=SSIM_SIGMA,
            use_sample_covariance=False,
        )
    )


def _same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} and {b.shape}")


@dataclass(frozen=True)
class Scores:
    """PSNR (dB) and SSIM of one restored image against its clean reference."""

    psnr: float
    ssim: float
    psnr_y: float
    ssim_y: float


def measure(
    restored: np.ndarray, clean: np.ndarray, *, crop_border: int = 0, quantize: bool = False
) -> Scores:
    """RGB and luma PSNR/SSIM of ``restored`` against ``clean`` (both ``H x W x 3``)."""
    _same_shape(restored, clean)
    rgb = [prepare(x, crop_border=crop_border, quantize=quantize) for x in (restored, clean)]
    luma = [prepare(x, y_channel=True, crop_border=crop_border, quantize=quantize)
            for x in (restored, clean)]
    return Scores(psnr(*rgb), ssim(*rgb), psnr(*luma), ssim(*luma))


def border_ratio(
    alone: np.ndarray, inside: np.ndarray, clean: np.ndarray, band: int = 4
) -> float:
    """How much worse the outer ``band`` pixels of ``alone`` are than its interior, relative
    to the same pixels of ``inside``.

    ``alone`` is a region restored as an image of its own (its edge is the image edge);
    ``inside`` is the same region cut from a larger image restored as a whole, so its
    edge pixels had real neighbours. The ratio is (edge error / interior error of
    ``alone``) over (the same of ``inside``), mean absolute errors against ``clean``:
    same pixels and same content, and a change of the whole picture (a global operation
    seeing a smaller image) cancels out. Above 1: the frame the restoration leaves at
    image borders.
    """
    _same_shape(alone, clean)
    _same_shape(inside, clean)
    edge = np.ones(clean.shape[:2], bool)
    edge[band:-band, band:-band] = False
    if edge.all():
        raise ValueError(f"a {clean.shape[1]} x {clean.shape[0]} image has no interior "
                         f"inside a {band} px band")

    def edge_over_interior(x: np.ndarray) -> float:
        error = np.abs(prepare(x) - prepare(clean)).mean(axis=2)
        return float(error[edge].mean() / max(error[~edge].mean(), 1e-12))

    return edge_over_interior(alone) / max(edge_over_interior(inside), 1e-12)


def mean_saturation(image: np.ndarray) -> float:
    """Mean HSV saturation, ``(max - min) / max`` per pixel (0 where black), in [0, 1]."""
    x = prepare(image)
    high, low = x.max(axis=2), x.min(axis=2)
    return float(np.mean(np.where(high > 0, (high - low) / np.maximum(high, 1e-12), 0.0)))


__all__ = ["Scores", "border_ratio", "mean_saturation", "measure", "prepare", "psnr", "ssim"]
