"""Sample conversion, orientation and alpha resizing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imgrestore.imaging import pixels

# Pillow's transposes for each EXIF orientation (the table ImageOps.exif_transpose uses).
T = Image.Transpose
UPRIGHT = {2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE,
           6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90}  # fmt: skip


def test_every_16_bit_value_survives_float32() -> None:
    values = np.arange(65536, dtype=np.uint16)
    back = pixels.from_float(pixels.to_float(values), 16)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, values)
    assert np.abs(pixels.to_float(back) - pixels.to_float(values)).max() <= 1 / 65535


def test_every_8_bit_value_survives_float32() -> None:
    values = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(pixels.from_float(pixels.to_float(values), 8), values)


def test_from_float_clips_and_keeps_floats() -> None:
    x = np.array([-0.5, 0.25, 1.5], dtype=np.float32)
    np.testing.assert_array_equal(pixels.from_float(x, 8), [0, 64, 255])
    np.testing.assert_array_equal(pixels.from_float(x, 32), [0.0, 0.25, 1.0])
    with pytest.raises(ValueError):
        pixels.from_float(x, 12)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillow(orientation: int) -> None:
    stored = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    expected = Image.fromarray(stored)
    if orientation in UPRIGHT:
        expected = expected.transpose(UPRIGHT[orientation])
    np.testing.assert_array_equal(
        pixels.apply_orientation(stored, orientation), np.asarray(expected)
    )
    plane = stored[:, :, 0]
    assert pixels.apply_orientation(plane, orientation).shape == np.asarray(expected).shape[:2]


def test_gray_round_trip_is_exact() -> None:
    gray = np.linspace(0, 1, 4 * 6, dtype=np.float32).reshape(4, 6)
    np.testing.assert_allclose(pixels.rgb_to_gray(pixels.gray_to_rgb(gray)), gray, atol=1e-6)


def test_resize_alpha_keeps_precision_and_range() -> None:
    alpha = np.full((10, 30), 0.5 + 1e-4, dtype=np.float32)
    alpha[:, :10] = 0.0
    alpha[:, 20:] = 1.0
    out = pixels.resize_alpha(alpha, (20, 60))
    assert out.shape == (20, 60) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    # a flat region stays at its float value: no 8-bit quantisation on the way
    assert abs(out[10, 30] - (0.5 + 1e-4)) < 1e-6
    assert out[10, 0] == 0.0 and out[10, 59] == 1.0
    np.testing.assert_array_equal(pixels.resize_alpha(alpha, (10, 30)), alpha)
    with pytest.raises(ValueError):
        pixels.resize_alpha(alpha[:, :, None], (2, 2))
