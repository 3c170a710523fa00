"""Linear DNG out of a RAW: opens in LibRaw (rawpy, dcraw_emu) like the original."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import piexif
import pytest
import rawpy
import tifffile

from imgrestore.errors import ImageError
from imgrestore.imaging import RawOptions, read_image, write_image
from imgrestore.testing import bayer_dng

#: A real camera's XYZ -> camera matrix (dcraw's table, Canon EOS 5D Mark II), so the
#: colours a developer renders depend on the DNG's matrix being carried over.
CANON_MATRIX = (0.4716, 0.0603, -0.0830, -0.7798, 1.5474, 0.2480, -0.1496, 0.1937, 0.6651)


def _sensor(height: int = 64, width: int = 96, blown: bool = True) -> np.ndarray:
    """Smooth colour gradients (so a developed image has structure), and a blown patch."""
    yy, xx = np.mgrid[0:height, 0:width]
    base = 600 + 2400 * xx / width + 500 * np.sin(yy / 5.0)
    base[::2, ::2] *= 0.55  # red sites weaker, blue in between: a colour cast to balance
    base[1::2, 1::2] *= 0.7
    if blown:
        base[:8, -8:] = 4095
    return np.clip(base, 512, 4095)


def _fixture(orientation: int = 6, blown: bool = False) -> bytes:
    return bayer_dng(sensor=_sensor(blown=blown), orientation=orientation,
                     color_matrix=CANON_MATRIX, neutral=(0.55, 1.0, 0.7),
                     artist="A. Photographer")  # fmt: skip


def _develop(path_or_bytes, **kw) -> np.ndarray:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    settings = dict(use_camera_wb=True, output_color=rawpy.ColorSpace.sRGB, gamma=(1, 1),
                    no_auto_bright=True, output_bps=16, adjust_maximum_thr=0.0)  # fmt: skip
    settings.update(kw)
    with rawpy.imread(source) as raw:
        return raw.postprocess(**settings).astype(np.float64) / 65535


@pytest.fixture
def dng_pair(inputs, out_dir) -> tuple[bytes, Path, object]:
    data = _fixture()
    source = inputs.add("shot.dng", data)
    loaded = read_image(source, raw=RawOptions(dng=True))
    out = write_image(out_dir / "shot-denoised.dng", loaded.pixels, None, loaded.meta,
                      format="dng")  # fmt: skip
    return data, out, loaded


def test_dng_opens_in_libraw_at_the_same_size_and_orientation(dng_pair) -> None:
    data, out, loaded = dng_pair
    assert out.suffix == ".dng"
    original = _develop(data)
    assert original.shape == (96, 64, 3)  # Orientation 6: LibRaw shows it upright, 64 x 96
    assert loaded.pixels.shape == original.shape
    with rawpy.imread(str(out)) as raw:
        assert (raw.sizes.height, raw.sizes.width, raw.sizes.flip) == (96, 64, 0)
        assert raw.num_colors == 3
    developed = _develop(out.read_bytes())
    assert developed.shape == original.shape
    # the same picture: white balance and colour matrix applied by LibRaw; AHD demosaics
    # our DNG's data before white balance, LibRaw the original's after, hence 1% at most
    difference = np.abs(developed - original)
    assert difference.max() < 1e-2 and difference.mean() < 1e-3


def test_dng_carries_the_camera_metadata(dng_pair) -> None:
    data, out, _ = dng_pair
    with tifffile.TiffFile(out) as tif:
        page = tif.pages.first
        tags = {t.code: t.value for t in page.tags.values()}
    assert tags[262] == 34892 and tags[277] == 3 and tags[258] == (16, 16, 16)  # LinearRaw
    assert tags[50706] == b"\x01\x04\x00\x00"  # DNGVersion 1.4
    assert tags[271] == "Imgrestore" and tags[272] == "Bayer Test" and tags[274] == 1
    assert tags[305].startswith("imgrestore ")
    matrix = np.array(tags[50721], dtype=float).reshape(9, 2)
    np.testing.assert_allclose(matrix[:, 0] / matrix[:, 1], CANON_MATRIX, atol=1e-4)
    assert tags[50778] == 21  # D65
    neutral = np.array(tags[50728], dtype=float).reshape(3, 2)
    np.testing.assert_allclose(neutral[:, 0] / neutral[:, 1], (0.55, 1.0, 0.7), atol=1e-4)
    exif = piexif.load(out.read_bytes())
    assert exif["0th"][piexif.ImageIFD.Artist] == b"A. Photographer"
    with rawpy.imread(str(out)) as raw, rawpy.imread(io.BytesIO(data)) as before:
        np.testing.assert_allclose(raw.camera_whitebalance[:3], before.camera_whitebalance[:3],
                                   rtol=1e-3)  # fmt: skip


def test_dng_stores_the_restored_pixels_unclipped(inputs, out_dir) -> None:
    loaded = read_image(inputs.add("blown.dng", _fixture(blown=True)), raw=RawOptions(dng=True))
    assert loaded.meta.linear and loaded.meta.camera is not None
    assert loaded.meta.camera.space == "camera"
    # white balance is not applied, so only the blown patch reaches the white level
    assert (loaded.pixels >= 1.0).all(axis=2).sum() >= 30
    assert (loaded.pixels >= 1.0).any(axis=2).sum() < 100
    half = (loaded.pixels * 0.5).astype(np.float32)
    out = write_image(out_dir / "half.dng", half, None, loaded.meta)
    assert out.suffix == ".dng"  # a RAW developed for DNG is written as DNG by default
    stored = tifffile.imread(out)
    np.testing.assert_array_equal(stored, np.rint(half * 65535).astype(np.uint16))
    with rawpy.imread(str(out)) as raw:
        back = raw.postprocess(output_color=rawpy.ColorSpace.raw, gamma=(1, 1),
                               no_auto_bright=True, output_bps=16, user_wb=[1, 1, 1, 1],
                               adjust_maximum_thr=0.0)  # fmt: skip
    assert np.abs(back.astype(float) - stored).max() <= 2


def test_dng_white_balance_choice_is_recorded(inputs, out_dir) -> None:
    source = inputs.add("wb.dng", _fixture(orientation=1))
    loaded = read_image(source, raw=RawOptions(dng=True, wb=(2.0, 1.0, 1.25)))
    out = write_image(out_dir / "wb.dng", loaded.pixels, None, loaded.meta)
    with rawpy.imread(str(out)) as raw:
        r, g, b = raw.camera_whitebalance[:3]
    np.testing.assert_allclose((r / g, b / g), (2.0, 1.25), rtol=1e-3)
    auto = read_image(source, raw=RawOptions(dng=True, wb="auto"))
    assert auto.meta.camera.white_balance != loaded.meta.camera.white_balance


def test_dng_without_colour_matrix_falls_back_to_linear_srgb(inputs, out_dir) -> None:
    source = inputs.add("nomatrix.dng", bayer_dng(sensor=_sensor(), color_matrix=None))
    loaded = read_image(source, raw=RawOptions(dng=True))
    assert loaded.meta.camera.space == "srgb"
    out = write_image(out_dir / "nomatrix.dng", loaded.pixels, None, loaded.meta)
    assert _develop(out.read_bytes()).shape == loaded.pixels.shape


def test_dng_needs_a_raw_developed_for_it(inputs, out_dir) -> None:
    source = inputs.add("plain.dng", _fixture())
    loaded = read_image(source)  # developed to sRGB, not for DNG
    with pytest.raises(ImageError, match="DNG output needs the RAW read for DNG"):
        write_image(out_dir / "plain.dng", loaded.pixels, None, loaded.meta, format="dng")


@pytest.mark.skipif(shutil.which("dcraw_emu") is None,
                    reason="dcraw_emu not installed (Debian package libraw-bin)")
def test_dng_opens_in_dcraw_emu(dng_pair, tmp_path) -> None:
    data, out, _ = dng_pair
    original = tmp_path / "original.dng"
    original.write_bytes(data)
    images = []
    for path in (original, out):
        tiff = tmp_path / f"{path.stem}.tiff"
        subprocess.run(["dcraw_emu", "-w", "-4", "-T", "-Z", str(tiff), str(path)],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        images.append(tifffile.imread(tiff).astype(np.float64) / 65535)
        info = subprocess.run(["raw-identify", str(path)], capture_output=True, text=True,
                              timeout=60).stdout  # fmt: skip
        assert "Imgrestore Bayer Test" in info
    assert images[0].shape == images[1].shape == (96, 64, 3)
    difference = np.abs(images[0] - images[1])  # linear (-4); AHD order as above
    assert difference.max() < 2e-2 and difference.mean() < 1e-3


@pytest.mark.skipif(shutil.which("darktable-cli") is None, reason="darktable-cli not installed")
def test_dng_opens_in_darktable(dng_pair, tmp_path) -> None:
    _, out, _ = dng_pair
    jpg = tmp_path / "dt.jpg"
    subprocess.run(["darktable-cli", str(out), str(jpg), "--core", "--configdir",
                    str(tmp_path / "dtconf")], check=True, capture_output=True,
                   timeout=300)  # fmt: skip
    from PIL import Image

    with Image.open(jpg) as im:
        assert im.size == (64, 96)
