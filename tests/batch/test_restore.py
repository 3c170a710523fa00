"""One image through the networks: working space, strength and alpha."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imgrestore.batch.restore import ImageOptions, raw_options_for, restore_image
from imgrestore.errors import UsageError
from imgrestore.imaging import RawOptions, icc, resize_alpha
from imgrestore.imaging.types import CameraColour, ImageMeta, LoadedImage


def _image(pixels, alpha=None, **meta) -> LoadedImage:
    fields = dict(source=Path("x.png"), name="x.png", format="PNG", mode="RGB", bit_depth=8,
                  width=pixels.shape[1], height=pixels.shape[0], has_alpha=alpha is not None)
    fields.update(meta)
    return LoadedImage(pixels.astype(np.float32), alpha, ImageMeta(**fields))  # fmt: skip


class Recorder:
    """A stand-in network: nearest-neighbour upscaling that remembers what it was given."""

    def __init__(self, scale: int = 1) -> None:
        self.scale = scale
        self.seen: list[np.ndarray] = []

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        self.seen.append(pixels.copy())
        return np.repeat(np.repeat(pixels[:, :, :3], self.scale, 0), self.scale, 1)


@pytest.mark.parametrize("space", ["adobe", "p3"])
def test_network_sees_srgb_and_the_file_gets_its_profile_back(space: str) -> None:
    patch = np.zeros((8, 16, 3), np.float32)
    patch[:, :8] = 0.5  # flat grey
    patch[:, 8:] = (0.6, 0.3, 0.2)  # a colour: its sRGB values differ from the file's
    image = _image(patch, icc_profile=icc.space_profile(space))
    net = Recorder()
    out = restore_image(image, net, ImageOptions(), scale=1)
    seen = net.seen[0]
    assert np.ptp(seen[:, :8]) < 1e-4  # grey stays grey
    assert np.abs(seen[0, 8] - patch[0, 8]).max() > 0.02  # converted to sRGB
    assert np.abs(out.pixels - patch).max() <= 1 / 255
    assert "restored in sRGB (converted with the ICC profile)" in out.notes
    native = Recorder()
    restore_image(image, native, ImageOptions(working_space="native"), scale=1)
    np.testing.assert_array_equal(native.seen[0], patch)


def test_linear_raw_stays_in_linear_light() -> None:
    pixels = np.random.default_rng(0).uniform(0, 0.3, (4, 4, 3))
    image = _image(pixels, icc_profile=icc.space_profile("srgb", linear=True), linear=True,
                   is_raw=True, format="RAW")  # fmt: skip
    net = Recorder()
    out = restore_image(image, net, ImageOptions(), scale=1)
    np.testing.assert_array_equal(net.seen[0], image.pixels)
    assert "restored in linear light" in out.notes


def test_camera_rgb_is_white_balanced_for_the_network_only() -> None:
    pixels = np.full((4, 4, 3), (0.25, 0.5, 0.4), np.float32)  # grey under a warm light
    camera = CameraColour("camera", "Make", "Model", (2.0, 1.0, 1.25))
    image = _image(pixels, camera=camera, linear=True, is_raw=True, format="RAW")
    net = Recorder()
    out = restore_image(image, net, ImageOptions(), scale=1)
    np.testing.assert_allclose(net.seen[0], 0.25, atol=1e-6)  # grey, gains at most 1
    np.testing.assert_allclose(out.pixels, pixels, atol=1e-6)


def test_strength_blends_in_the_working_space() -> None:
    pixels = np.full((4, 4, 3), 0.2, np.float32)
    out = restore_image(_image(pixels), lambda p: np.ones_like(p), ImageOptions(), scale=1,
                        strength=0.25)  # fmt: skip
    np.testing.assert_allclose(out.pixels, 0.25 * 1 + 0.75 * 0.2, atol=1e-6)


def test_alpha_modes() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 1, (6, 5, 3))
    alpha = rng.uniform(0, 1, (6, 5)).astype(np.float32)
    image = _image(pixels, alpha)
    kept = restore_image(image, Recorder(2), ImageOptions(alpha="keep"), scale=2).alpha
    np.testing.assert_array_equal(kept, np.repeat(np.repeat(alpha, 2, 0), 2, 1))
    resized = restore_image(image, Recorder(2), ImageOptions(alpha="resize"), scale=2).alpha
    np.testing.assert_array_equal(resized, resize_alpha(alpha, (12, 10)))
    net = Recorder(2)
    modelled = restore_image(image, net, ImageOptions(), scale=2)  # default when upscaling
    assert len(net.seen) == 2 and np.array_equal(net.seen[1][:, :, 0], alpha)
    assert "alpha restored by the model" in modelled.notes
    net = Recorder(1)
    same = restore_image(image, net, ImageOptions(), scale=1)  # default otherwise: keep
    assert len(net.seen) == 1 and same.alpha is alpha
    dual = Recorder(1)
    restore_image(_image(np.concatenate([pixels, pixels], 2), alpha), dual,
                  ImageOptions(alpha="model"), scale=1, in_channels=6)  # fmt: skip
    assert dual.seen[1].shape == (6, 5, 6)


def test_options_are_checked() -> None:
    with pytest.raises(UsageError, match="--alpha"):
        ImageOptions(alpha="blur")
    with pytest.raises(UsageError, match="--working-space"):
        ImageOptions(working_space="lab")
    assert raw_options_for(None, "DNG") == RawOptions(dng=True)
    assert raw_options_for(RawOptions(wb="auto"), "DNG") == RawOptions(wb="auto", dng=True)
    assert raw_options_for(None, "TIFF") is None


def _gradient_energy(plane: np.ndarray) -> float:
    gy, gx = np.gradient(plane.astype(np.float64))
    return float((gx**2 + gy**2).sum())


@pytest.mark.slow
def test_model_alpha_edge_is_sharper_than_lanczos() -> None:
    from imgrestore.engine.restorer import Restorer
    from imgrestore.zoo.loading import load_model

    loaded = load_model("builtin", task="upscale", scale=2)  # ships with imgrestore: offline
    restorer = Restorer(loaded.net, loaded.spec, scale=2, device="cpu", tile=0)
    yy, xx = np.mgrid[0:32, 0:32]
    cutout = (((yy - 16) ** 2 + (xx - 14) ** 2) < 10**2).astype(np.float32)  # hard edge
    cutout[4:28, 26:29] = 1.0
    image = _image(np.full((32, 32, 3), 0.5), cutout)
    out = restore_image(image, restorer, ImageOptions(), scale=2)
    lanczos = resize_alpha(cutout, (64, 64))
    assert out.alpha.shape == (64, 64)
    assert _gradient_energy(out.alpha) > 1.1 * _gradient_energy(lanczos)
    # the same shape, not a different one: inside stays opaque, outside transparent
    assert out.alpha[32, 28] > 0.95 and out.alpha[2, 2] < 0.05
