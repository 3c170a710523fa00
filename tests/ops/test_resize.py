"""The bicubic resizes shared by the engine, batches and evaluation."""

from __future__ import annotations

import numpy as np
import torch

from imgrestore.ops.resize import resize_bicubic, resize_tensor, upsample_bicubic


def test_upsample_is_pytorch_bicubic_clamped() -> None:
    image = torch.rand(3, 9, 7, generator=torch.Generator().manual_seed(0))
    up = upsample_bicubic(image, 3)
    expected = torch.nn.functional.interpolate(image[None], size=(27, 21), mode="bicubic",
                                               align_corners=False)[0].clamp(0, 1)
    assert torch.equal(up, expected) and up.min() >= 0 and up.max() <= 1
    assert torch.equal(resize_tensor(image, (27, 21)), up)


def test_resize_bicubic_on_arrays() -> None:
    pixels = np.random.default_rng(0).random((8, 10, 3), dtype=np.float32)
    assert resize_bicubic(pixels, (8, 10)) is pixels
    out = resize_bicubic(pixels, (16, 20))
    assert out.shape == (16, 20, 3) and out.dtype == np.float32 and out.flags.c_contiguous
    expected = upsample_bicubic(torch.from_numpy(pixels).permute(2, 0, 1), 2)
    np.testing.assert_array_equal(out, expected.permute(1, 2, 0).numpy())
