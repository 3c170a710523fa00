"""Camera RAW through rawpy, on DNG files built with pidng."""

from __future__ import annotations

import io

import numpy as np
import piexif
import pytest
import tifffile

from imgrestore.errors import ImageError, UsageError
from imgrestore.imaging import RawOptions, read_image, write_image
from imgrestore.imaging import icc as icc_module
from imgrestore.imaging.raw import parse_highlights, parse_wb

from .conftest import make_dng


def test_dng_decodes_to_expected_size(inputs) -> None:
    loaded = read_image(inputs.add("bayer.dng", make_dng(64, 96)))
    assert loaded.pixels.shape == (64, 96, 3) and loaded.pixels.dtype == np.float32
    meta = loaded.meta
    assert (meta.format, meta.is_raw, meta.bit_depth, meta.size) == ("RAW", True, 16, (64, 96))
    assert loaded.alpha is None
    assert loaded.pixels.min() >= 0.0 and loaded.pixels.max() <= 1.0
    assert loaded.pixels.std() > 0.01  # real image content, not a blank frame
    # 16-bit output: far more distinct levels than 8 bits could hold
    assert np.unique(np.rint(loaded.pixels * 65535)).size > 256
    assert piexif.load(meta.exif)["0th"][piexif.ImageIFD.Make] == b"Imgrestore"


def test_dng_from_stdin_bytes_is_recognised() -> None:
    loaded = read_image(make_dng(32, 48))
    assert loaded.meta.is_raw and loaded.meta.size == (32, 48)


def test_raw_writes_16_bit_tiff_by_default(inputs, out_dir) -> None:
    loaded = read_image(inputs.add("bayer.dng", make_dng(32, 48)))
    out = write_image(out_dir / "bayer.dng", loaded.pixels, None, loaded.meta)
    assert out == out_dir / "bayer.tif"
    back = tifffile.imread(out)
    assert back.dtype == np.uint16 and back.shape == (32, 48, 3)
    np.testing.assert_array_equal(back, np.rint(loaded.pixels * 65535).astype(np.uint16))
    assert piexif.load(out.read_bytes())["0th"][piexif.ImageIFD.Model] == b"Bayer Test"


def test_broken_raw_names_the_file(inputs) -> None:
    data = make_dng(32, 48)
    path = inputs.add("cut.nef", data[:200])
    with pytest.raises(ImageError, match="LibRaw cannot decode") as err:
        read_image(path)
    assert str(err.value).startswith(str(path))
    assert "b'" not in str(err.value)  # LibRaw's message as text, not a bytes repr


def test_raw_respects_max_pixels(inputs) -> None:
    path = inputs.add("bayer.dng", make_dng(32, 48))
    with pytest.raises(ImageError, match="--max-pixels"):
        read_image(path, max_pixels=1000)


def test_libraws_own_line_becomes_the_reason_naming_the_file(inputs, capfd) -> None:
    path = inputs.add("cut.dng", make_dng(32, 48)[:2000])
    with pytest.raises(ImageError) as err:
        read_image(path)
    assert str(err.value) == (f"{path}: RAW file that LibRaw cannot decode (Input/output error; "
                              "LibRaw: Unexpected end of file)")
    assert "unknown file" not in capfd.readouterr().err  # nothing printed without a name


# --- development options (--raw-*) ---------------------------------------------------------

def _gradient_dng() -> bytes:
    from imgrestore.testing import bayer_dng

    yy, xx = np.mgrid[0:48, 0:64]
    return bayer_dng(sensor=600 + 3000 * xx / 64 + 0 * yy, neutral=(0.5, 1.0, 0.6))


def test_default_options_reproduce_the_old_development() -> None:
    import rawpy

    params = RawOptions().params()
    assert params["use_camera_wb"] and params["gamma"] == (2.4, 12.92)
    assert params["output_color"] == rawpy.ColorSpace.sRGB and params["output_bps"] == 16
    assert params["no_auto_bright"] is False and "demosaic_algorithm" not in params
    loaded = read_image(make_dng(32, 48))
    assert loaded.meta.icc_profile is None and not loaded.meta.linear


def test_each_option_maps_to_rawpy() -> None:
    import rawpy

    params = RawOptions(output="linear", colorspace="prophoto", demosaic="dcb",
                        highlights="blend", wb=(2.0, 1.0, 1.5)).params()  # fmt: skip
    assert params["gamma"] == (1.0, 1.0) and params["no_auto_bright"] is True
    assert params["output_color"] == rawpy.ColorSpace.ProPhoto
    assert params["demosaic_algorithm"] == rawpy.DemosaicAlgorithm.DCB
    assert params["highlight_mode"] == rawpy.HighlightMode.Blend
    assert params["user_wb"] == [2.0, 1.0, 1.5, 1.0] and "use_camera_wb" not in params
    assert RawOptions(wb="auto").params()["use_auto_wb"] is True
    assert RawOptions(auto_bright=False).params()["no_auto_bright"] is True
    assert RawOptions(highlights=7).params()["highlight_mode"] == rawpy.HighlightMode.Reconstruct(7)
    assert RawOptions(colorspace="adobe").params()["gamma"] == (563 / 256, 0.0)


@pytest.mark.parametrize("space", sorted(icc_module.SPACES))
def test_linear_output_is_linear_light_with_a_matching_profile(space: str) -> None:
    import rawpy

    data = _gradient_dng()
    options = RawOptions(output="linear", colorspace=space)
    linear = read_image(data, raw=options)
    gamma = icc_module.SPACES[space].libraw_gamma
    with rawpy.imread(io.BytesIO(data)) as raw:
        curve = raw.postprocess(**{**options.params(), "gamma": gamma}) / 65535.0
    assert linear.meta.linear and linear.pixels.mean() < curve.mean()
    # LibRaw's curve is the one our profiles describe: encode the linear values ourselves
    encoded = icc_module.libraw_curve(*gamma).to_encoded(linear.pixels.astype(np.float64))
    assert np.abs(encoded - curve).max() < 0.05 / 255
    profile = icc_module.parse_matrix_profile(linear.meta.icc_profile)
    assert profile is not None and profile.curves[0].params == (1.0,)


def test_colorspace_attaches_its_profile() -> None:
    from PIL import ImageCms

    loaded = read_image(_gradient_dng(), raw=RawOptions(colorspace="prophoto"))
    profile = ImageCms.ImageCmsProfile(io.BytesIO(loaded.meta.icc_profile))
    assert "ProPhoto" in ImageCms.getProfileDescription(profile)
    assert "ProPhoto" in loaded.meta.notes[0]


def test_auto_bright_white_balance_and_demosaic_change_the_result() -> None:
    data = _gradient_dng()
    base = read_image(data).pixels
    dark = read_image(data, raw=RawOptions(auto_bright=False)).pixels
    assert base.mean() > dark.mean()
    warm = read_image(data, raw=RawOptions(wb=(3.0, 1.0, 1.0))).pixels
    assert warm[..., 0].mean() / warm[..., 2].mean() > base[..., 0].mean() / base[..., 2].mean()
    assert not np.array_equal(read_image(data, raw=RawOptions(demosaic="linear")).pixels, base)


def test_option_values_are_checked() -> None:
    assert parse_wb("camera") == "camera" and parse_wb("2,1,1.5") == (2.0, 1.0, 1.5)
    assert parse_highlights("reconstruct:5") == 5 and parse_highlights("Blend") == "blend"
    for bad in ("warm", "1,2", "0,1,1", "a,b,c"):
        with pytest.raises(UsageError, match="--raw-wb"):
            parse_wb(bad)
    for bad in ("reconstruct:2", "fancy"):
        with pytest.raises(UsageError, match="--raw-highlights"):
            parse_highlights(bad)
    with pytest.raises(UsageError, match="--raw-output"):
        RawOptions(output="log")
    with pytest.raises(UsageError, match="--raw-colorspace"):
        RawOptions(colorspace="cmyk")
    with pytest.raises(UsageError, match="--raw-demosaic"):
        read_image(make_dng(32, 48), raw=RawOptions(demosaic="magic"))
