"""Deterministic weights and inputs for tests and benchmarks (no checkpoints needed).

The rule (shared with the project's reference goldens): every floating-point tensor of
a state dict is drawn from a generator seeded with the CRC-32 of its key. Tensors with
two or more dimensions are uniform in +-1/sqrt(fan_in), where fan_in is the number of
elements of one output slice; 1-D tensors are uniform in [0.1, 0.3]. Values are drawn
in float64 and cast. Two implementations with the same keys and shapes therefore get
bit-identical weights.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import numpy as np


def seeded_tensor(key: str, like: torch.Tensor) -> torch.Tensor:
    """The deterministic value for the state-dict entry ``key`` shaped like ``like``."""
    generator = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    uniform = torch.rand(like.shape, generator=generator, dtype=torch.float64)
    if like.dim() >= 2:
        fan_in = max(1, like[0].numel())
        value = (uniform * 2 - 1) / math.sqrt(fan_in)
    else:
        value = uniform * 0.2 + 0.1
    return value.to(like.dtype)


def keyseeded_state_dict(reference: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict with the keys of ``reference`` and deterministic values.

    Non-floating tensors are copied unchanged.
    """
    return {
        key: seeded_tensor(key, value) if value.is_floating_point() else value.clone()
        for key, value in reference.items()
    }


def keyseed_(net: torch.nn.Module) -> torch.nn.Module:
    """Load deterministic weights into ``net`` in place and return it."""
    net.load_state_dict(keyseeded_state_dict(net.state_dict()), strict=True)
    return net


def fixed_input(shape: tuple[int, ...], seed: int = 1234) -> torch.Tensor:
    """A float32 tensor uniform in [0, 1), reproducible from ``seed``."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


def bayer_dng(height: int = 64, width: int = 96, seed: int = 0,
              model: str = "Bayer Test", *, orientation: int = 1,
              color_matrix: tuple[float, ...] | None = (1, 0, 0, 0, 1, 0, 0, 0, 1),
              neutral: tuple[float, float, float] = (0.5, 1.0, 0.5),
              artist: str | None = None, sensor: np.ndarray | None = None) -> bytes:
    """A tiny uncompressed 16-bit RGGB Bayer DNG built with pidng (a test dependency):
    random sensor values from ``seed`` (or ``sensor``, H x W), black level 512, white
    level 4095, EXIF ``orientation``, ColorMatrix1 ``color_matrix`` (XYZ -> camera,
    D65; None leaves it out), AsShotNeutral ``neutral`` and optionally an Artist tag."""
    from fractions import Fraction

    import numpy as np
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import (
        CalibrationIlluminant,
        CFAPattern,
        DNGVersion,
        PhotometricInterpretation,
        PreviewColorSpace,
    )

    if sensor is None:
        sensor = np.random.default_rng(seed).integers(600, 3500, (height, width))
    raw = np.asarray(sensor).astype(np.uint16)
    height, width = raw.shape

    def rational(value: float) -> list[int]:
        exact = Fraction(value).limit_denominator(10000)
        return [exact.numerator, exact.denominator]

    tags = DNGTags()
    entries = [
        (Tag.ImageWidth, width), (Tag.ImageLength, height),
        (Tag.TileWidth, width), (Tag.TileLength, height),
        (Tag.Orientation, orientation),
        (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
        (Tag.SamplesPerPixel, 1), (Tag.BitsPerSample, 16),
        (Tag.CFARepeatPatternDim, [2, 2]), (Tag.CFAPattern, CFAPattern.RGGB),
        (Tag.BlackLevel, 512), (Tag.WhiteLevel, 4095),
        (Tag.AsShotNeutral, [rational(v) for v in neutral]),
        (Tag.Make, "Imgrestore"), (Tag.Model, model),
        (Tag.DNGVersion, DNGVersion.V1_4), (Tag.DNGBackwardVersion, DNGVersion.V1_2),
        (Tag.PreviewColorSpace, PreviewColorSpace.sRGB),
    ]  # fmt: skip
    if color_matrix is not None:
        entries += [(Tag.ColorMatrix1, [rational(v) for v in color_matrix]),
                    (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65)]  # fmt: skip
    if artist is not None:
        entries.append((Tag.Artist, artist))
    for tag, value in entries:
        tags.set(tag, value)
    converter = RAW2DNG()
    converter.options(tags, path="", compress=False)
    return bytes(converter.convert(raw))
