"""Camera RAW through rawpy, on DNG files built with pidng."""

from __future__ import annotations

import numpy as np
import piexif
import pytest
import tifffile

from imgrestore.errors import ImageError
from imgrestore.imaging import read_image, write_image

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
