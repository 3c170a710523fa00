"""Patch extraction against the official scripts' behaviour (recorded from running them)."""

from __future__ import annotations

import numpy as np

from imgrestore.datasets.patches import (
    dpdd_windows,
    grey,
    keep_sharpest,
    random_windows,
    sharpness,
    sliding_windows,
    sobel_kernels,
)


def test_sliding_windows_end_flush_with_the_border() -> None:
    # MIRNet-v2 SIDD: 512 windows, overlap 128 -> every 384 px, plus the last one.
    assert sliding_windows(600, 700, 512, 128) == [(0, 0), (0, 188), (88, 0), (88, 188)]
    rows = {r for r, _ in sliding_windows(3000, 5328, 512, 128)}
    assert sorted(rows) == [*range(0, 2488, 384), 2488]


def test_dpdd_windows_as_the_official_script() -> None:
    """Positions recorded from MIRNet-v2's generate_patches_dpdd.py (slice_stride)."""
    assert dpdd_windows(600, 900, 512, 204) == [(0, 0), (0, 204), (0, 388), (88, 388),
                                                 (88, 0), (88, 204)]
    counts = {(1120, 1680): 28, (1680, 1120): 28, (700, 1300): 10, (1000, 1000): 16,
              (512, 512): 2}
    assert {hw: len(dpdd_windows(*hw, 512, 204)) for hw in counts} == counts


def test_sobel_kernels_are_opencvs() -> None:
    d, s = sobel_kernels(7)
    assert d.tolist() == [-1, -4, -5, 0, 5, 4, 1] and s.tolist() == [1, 6, 15, 20, 15, 6, 1]
    d, s = sobel_kernels(3)
    assert d.tolist() == [-1, 0, 1] and s.tolist() == [1, 2, 1]


def test_sharpness_drops_the_flattest_patches() -> None:
    rng = np.random.default_rng(0)
    flat = np.full((16, 16, 3), 30000, np.uint16)
    sharp = [rng.integers(0, 65535, (16, 16, 3)).astype(np.uint16) for _ in range(6)]
    patches = [sharp[0], flat, sharp[1], sharp[2], flat + 5, *sharp[3:]]
    kept = keep_sharpest(patches)  # int(0.3 * 8) = 2 dropped: the flat ones
    assert kept == [0, 2, 3, 5, 6, 7]
    assert grey(np.array([[[255, 255, 255]]])).item() == 255
    assert sharpness(grey(flat), 3) == 0.0


def test_random_windows_stay_inside() -> None:
    windows = random_windows(300, 400, 256, 300, np.random.default_rng(1))
    assert len(windows) == 300
    assert all(0 <= r < 44 and 0 <= c < 144 for r, c in windows)
