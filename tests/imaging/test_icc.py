"""Matrix/TRC profiles: what we write, littlecms reads; what littlecms converts, we match."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from imgrestore.imaging import icc


def _littlecms_to_srgb(profile: bytes, rgb8: np.ndarray) -> np.ndarray:
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    transform = ImageCms.buildTransform(
        source, srgb, "RGB", "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC
    )
    return np.asarray(ImageCms.applyTransform(Image.fromarray(rgb8), transform)) / 255.0


def _ours_to_srgb(profile: bytes, rgb: np.ndarray) -> np.ndarray:
    src = icc.parse_matrix_profile(profile)
    dst = icc.srgb_matrix_profile()
    assert src is not None
    linear = src.to_linear(rgb) @ (np.linalg.inv(dst.to_xyz) @ src.to_xyz).T
    return dst.to_encoded(linear)


@pytest.mark.parametrize("name", sorted(icc.SPACES))
@pytest.mark.parametrize("linear", [False, True])
def test_written_profiles_convert_like_littlecms(name: str, linear: bool) -> None:
    profile = icc.space_profile(name, linear=linear)
    described = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile)))
    assert icc.SPACES[name].title in described
    rgb8 = np.random.default_rng(1).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    theirs = _littlecms_to_srgb(profile, rgb8)
    ours = _ours_to_srgb(profile, rgb8 / 255.0)
    # littlecms rounds to 8 bits (0.5/255); the rest is its fixed-point arithmetic
    assert np.abs(ours - theirs).max() <= 1.0 / 255


def test_srgb_profile_reads_as_littlecms_srgb() -> None:
    theirs = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    parsed = icc.parse_matrix_profile(theirs)
    assert parsed is not None
    np.testing.assert_allclose(parsed.to_xyz, icc.srgb_matrix_profile().to_xyz, atol=1e-4)


@pytest.mark.parametrize("curve", [
    icc.Curve(0, (2.2,)),
    icc.Curve(1, (2.4, 1.0, 0.0)),
    icc.Curve(2, (2.0, 1.0, 0.0, 0.0)),
    icc.libraw_curve(2.4, 12.92),
    icc.Curve(4, (2.4, 0.9, 0.1, 0.05, 0.04, 0.0, 0.0)),
    icc.Curve(-1, table=tuple(np.linspace(0, 1, 50) ** 1.8)),
])  # fmt: skip
def test_curves_invert(curve: icc.Curve) -> None:
    ramp = np.linspace(0.0, 1.0, 1001)
    np.testing.assert_allclose(curve.to_encoded(curve.to_linear(ramp)), ramp, atol=2e-4)
    assert np.all(np.diff(curve.to_linear(ramp)) >= 0)


def test_libraw_srgb_curve_is_the_continuous_srgb_curve() -> None:
    curve = icc.libraw_curve(2.4, 12.92)
    ramp = np.linspace(0.0, 1.0, 1001)
    iec = np.where(ramp <= 0.0031308, 12.92 * ramp, 1.055 * ramp ** (1 / 2.4) - 0.055)
    np.testing.assert_allclose(curve.to_encoded(ramp), iec, atol=2e-4)


def test_profiles_that_are_not_matrix_trc() -> None:
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    assert icc.parse_matrix_profile(lab) is None
    with pytest.raises(ValueError):
        icc.parse_matrix_profile(b"not a profile" * 20)
    with_lut = bytearray(icc.space_profile("adobe"))
    with_lut[132:136] = b"A2B0"  # the first tag now claims to be a LUT
    assert icc.parse_matrix_profile(bytes(with_lut)) is None
