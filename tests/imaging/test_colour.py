"""The working space: to sRGB for the network through the photo's profile, and back."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from imgrestore.imaging import colour, icc
from imgrestore.imaging.pixels import resize_planes

#: An Adobe-RGB-like and a Display-P3-like profile, built here (see imaging/icc.py).
PROFILES = {"adobe": icc.space_profile("adobe"), "p3": icc.space_profile("p3")}


def _same(pixels: np.ndarray) -> np.ndarray:
    return pixels


@pytest.mark.parametrize("name", sorted(PROFILES))
@pytest.mark.parametrize("level", [0.18, 0.5, 0.9])
def test_flat_grey_round_trips_within_one_level(name: str, level: float) -> None:
    grey = np.full((16, 16, 3), level, np.float32)
    inside = colour.enter(grey, PROFILES[name])
    assert inside.conversion is not None
    # grey stays grey in sRGB (same white), at the level littlecms gives
    lc = np.asarray(ImageCms.applyTransform(
        Image.fromarray(np.rint(grey * 255).astype(np.uint8)),
        ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(PROFILES[name])),
                                ImageCms.createProfile("sRGB"), "RGB", "RGB"),
    )) / 255.0  # fmt: skip
    assert np.abs(inside.pixels - lc).max() <= 1.5 / 255
    assert np.ptp(inside.pixels) < 1e-4  # s15Fixed16 colorants: grey to 1e-4
    back = inside.leave(inside.pixels, resize_planes)
    assert np.abs(back - grey).max() <= 1 / 255
    assert inside.residual is None  # grey is inside sRGB: nothing was clipped


def test_wide_gamut_colour_survives_through_the_residual() -> None:
    pure_green = np.zeros((8, 8, 3), np.float32)
    pure_green[..., 1] = 1.0  # P3 green is outside sRGB
    inside = colour.enter(pure_green, PROFILES["p3"])
    assert inside.residual is not None and np.abs(inside.residual).max() > 0.05
    np.testing.assert_allclose(inside.leave(inside.pixels, resize_planes), pure_green, atol=1e-5)
    # a network that changes the picture: its change reaches the output
    darker = inside.leave(inside.pixels * 0.5, resize_planes)
    assert darker[..., 1].mean() < 0.9 and darker[..., 0].max() < 0.05


def test_residual_follows_an_upscale() -> None:
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (8, 12, 3)).astype(np.float32)
    image[..., 1] = 1.0
    inside = colour.enter(image, PROFILES["p3"])
    big = np.repeat(np.repeat(inside.pixels, 2, axis=0), 2, axis=1)
    back = inside.leave(big, resize_planes)
    assert back.shape == (16, 24, 3)
    assert back[..., 1].mean() > 0.99  # the clipped green came back at the larger size


def test_no_conversion_when_nothing_to_convert() -> None:
    pixels = np.random.default_rng(0).uniform(0, 1, (4, 4, 3)).astype(np.float32)
    srgb_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for profile, space in ((None, "srgb"), (srgb_icc, "srgb"), (PROFILES["p3"], "native"),
                           (b"garbage" * 30, "srgb")):  # fmt: skip
        inside = colour.enter(pixels, profile, space)
        assert inside.conversion is None and inside.pixels is pixels
        assert inside.leave(pixels, resize_planes) is pixels


def test_littlecms_path_round_trips() -> None:
    conversion = colour._imagecms_conversion(PROFILES["adobe"])
    grey = np.full((4, 4, 3), 0.5, np.float32)
    assert np.abs(conversion.backward(conversion.forward(grey)) - grey).max() <= 1 / 255
