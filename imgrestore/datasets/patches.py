"""Patch extraction as the official preparation scripts do it (re-implemented here).

- :func:`sliding_windows`: MIRNet-v2's SIDD / RealSR scripts: windows of ``size`` every
  ``size - overlap`` pixels from 0, plus one flush with the bottom/right edge.
- :func:`dpdd_windows`: MIRNet-v2's DPDD script: windows every ``stride`` pixels, and
  for those that would cross the border one flush with it (each edge window once, in
  the script's order, including its extra corner windows).
- :func:`sharpness` / :func:`keep_sharpest`: the DPDD script drops the 30 % least sharp
  patches of each image: the product over Sobel kernel sizes 3, 7, 11, 15 of the
  min-max-normalised sums of gradient magnitude of the grey target.
- :func:`random_windows`: MPRNet / MIRNet's SIDD script: random windows per image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Window = tuple[int, int]  # (top, left)


def sliding_windows(height: int, width: int, size: int, overlap: int) -> list[Window]:
    """Row-major windows (the script numbers patches in this order)."""
    step = size - overlap
    rows = [*range(0, height - size, step), height - size]
    cols = [*range(0, width - size, step), width - size]
    return [(r, c) for r in rows for c in cols]


def dpdd_windows(height: int, width: int, size: int, stride: int) -> list[Window]:
    """The DPDD script's windows: inner ones on the stride grid, then border-flush ones."""
    taken: set[Window] = set()
    out: list[Window] = []
    right, bottom = width - size, height - size
    for r in range(0, height, stride):
        for c in range(0, width, stride):
            fits_rows, fits_cols = r + size <= height, c + size <= width
            if fits_rows and fits_cols:
                out.append((r, c))
                continue
            for candidate, allowed in (((r, right), fits_rows), ((bottom, c), fits_cols),
                                       ((bottom, right), True)):
                if allowed and candidate not in taken:
                    out.append(candidate)
                    taken.add(candidate)
                    break
    return out


def random_windows(height: int, width: int, size: int, count: int,
                   rng: np.random.Generator) -> list[Window]:
    """``count`` windows with top-left uniform in ``[0, H - size) x [0, W - size)``."""
    return [(int(rng.integers(0, height - size)), int(rng.integers(0, width - size)))
            for _ in range(count)]


def crop(image: np.ndarray, window: Window, size: int) -> np.ndarray:
    r, c = window
    return image[r : r + size, c : c + size]


def _binomial(length: int) -> np.ndarray:
    return np.array([math.comb(length - 1, k) for k in range(length)], dtype=np.float64)


def sobel_kernels(ksize: int) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's first-derivative Sobel pair (derivative, smoothing) of size ``ksize``."""
    derivative = np.convolve([-1.0, 0.0, 1.0], _binomial(ksize - 2))
    return derivative, _binomial(ksize)


def grey(rgb: np.ndarray) -> np.ndarray:
    """OpenCV's RGB -> grey in fixed point (0.299 R + 0.587 G + 0.114 B, rounded)."""
    x = rgb.astype(np.int64)
    value = (x[..., 0] * 4899 + x[..., 1] * 9617 + x[..., 2] * 1868 + (1 << 13)) >> 14
    return value.astype(np.float64)


def sharpness(image: np.ndarray, ksize: int) -> float:
    """Sum over pixels of the Sobel gradient magnitude (reflect-101 borders)."""
    from scipy.ndimage import correlate1d

    derivative, smooth = sobel_kernels(ksize)
    gx = correlate1d(correlate1d(image, derivative, axis=1, mode="mirror"), smooth, axis=0,
                     mode="mirror")
    gy = correlate1d(correlate1d(image, derivative, axis=0, mode="mirror"), smooth, axis=1,
                     mode="mirror")
    return float(np.sqrt(gx * gx + gy * gy).sum())


def keep_sharpest(targets: Sequence[np.ndarray], drop: float = 0.3,
                  sizes: Sequence[int] = (3, 7, 11, 15)) -> list[int]:
    """Indices (in order) of the patches kept after dropping ``drop`` of the least sharp."""
    n = len(targets)
    if n == 0:
        return []
    score = np.ones(n)
    greys = [grey(t) for t in targets]
    for k in sizes:
        values = np.array([sharpness(g, k) for g in greys])
        spread = values - values.min()
        top = spread.max()
        score *= spread / top if top > 0 else np.zeros(n)
    dropped = set(np.argsort(score, kind="stable")[: int(drop * n)].tolist())
    return [i for i in range(n) if i not in dropped]


__all__ = ["crop", "dpdd_windows", "grey", "keep_sharpest", "random_windows", "sharpness",
           "sliding_windows", "sobel_kernels"]
