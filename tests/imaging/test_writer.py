"""write_image / encode_image: same photo back, metadata intact, written atomically."""

from __future__ import annotations

import io
import os
import stat

import numpy as np
import pytest
import tifffile
from PIL import Image

from imgrestore.errors import ImageError, UsageError
from imgrestore.imaging import encode_image, plan_write, read_image, write_image
from imgrestore.imaging.metadata import DESCRIPTIVE_0TH_TAGS

from .conftest import (
    adobe_like_profile,
    assert_exif_kept,
    blocks_image,
    rng_image,
    sample_exif,
    srgb_profile,
)
from .test_pixels import UPRIGHT


def _open(path) -> Image.Image:
    """Open an output with Pillow without holding its file open."""
    return Image.open(io.BytesIO(path.read_bytes()))


def _identity(path, out_dir, name: str, **kw):
    """Read, write back unchanged (the identity 'restoration'), return the output path."""
    loaded = read_image(path)
    return write_image(out_dir / name, loaded.pixels, loaded.alpha, loaded.meta, **kw), loaded


# ---------------------------------------------------------------- EXIF and ICC


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_round_trips_tag_for_tag(inputs, out_dir, fmt: str) -> None:
    exif = sample_exif(64, 48)
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
    path = inputs.pillow(f"in.{ext}", Image.fromarray(blocks_image()), fmt, exif=exif)
    out, _ = _identity(path, out_dir, f"out.{ext}")
    written = _open(out)
    assert written.format == fmt
    assert_exif_kept(exif, written.info["exif"], 64, 48)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_tiff_exif_round_trip(inputs, out_dir, dtype) -> None:
    exif = sample_exif(9, 7)
    loaded = read_image(inputs.tiff("in.tif", rng_image(7, 9, 3, dtype), photometric="rgb"))
    meta = type(loaded.meta)(**{**loaded.meta.__dict__, "exif": exif})
    out = write_image(out_dir / "out.tif", loaded.pixels, None, meta)
    written = out.read_bytes()
    assert_exif_kept(exif, written, 9, 7, zeroth_only=DESCRIPTIVE_0TH_TAGS)
    # readers other than piexif find the sub-IFDs too
    with tifffile.TiffFile(out) as tif:
        page = tif.pages.first
        assert page.tags["ExifTag"].value["ISOSpeedRatings"] == 400
        assert page.tags["GPSTag"].value["GPSLatitudeRef"] == "N"
        assert page.dtype == dtype
    assert _open(out).getexif().get_ifd(0x8769)[0x9003] == "2021:06:01 12:34:56"


def test_jpeg_exif_into_16_bit_tiff(inputs, out_dir) -> None:
    exif = sample_exif(64, 48)
    path = inputs.pillow("in.jpg", Image.fromarray(blocks_image()), exif=exif)
    out, _ = _identity(path, out_dir, "out.tif", bit_depth=16)
    assert tifffile.imread(out).dtype == np.uint16
    assert_exif_kept(exif, out.read_bytes(), 64, 48, zeroth_only=DESCRIPTIVE_0TH_TAGS)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("in.jpg", lambda i, p: i.pillow("in.jpg", Image.fromarray(blocks_image()), icc_profile=p)),
        ("in.png", lambda i, p: i.pillow("in.png", Image.fromarray(rng_image(5, 6, 4)),
                                         icc_profile=p)),
        ("in.webp", lambda i, p: i.pillow("in.webp", Image.fromarray(blocks_image()),
                                          icc_profile=p)),
        ("in.tif", lambda i, p: i.tiff("in.tif", rng_image(5, 6, 3), photometric="rgb",
                                       iccprofile=p)),
        ("in16.tif", lambda i, p: i.tiff("in16.tif", rng_image(5, 6, 3, np.uint16),
                                         photometric="rgb", iccprofile=p)),
    ],
)
@pytest.mark.parametrize("profile", [srgb_profile, adobe_like_profile])
def test_icc_bytes_identical(inputs, out_dir, name, make, profile) -> None:
    icc = profile()
    out, loaded = _identity(make(inputs, icc), out_dir, "out" + name[name.index("."):])
    assert loaded.meta.icc_profile == icc
    assert _open(out).info["icc_profile"] == icc


def test_icc_in_16_bit_png(inputs, out_dir) -> None:
    icc = adobe_like_profile()
    loaded = read_image(inputs.png16("in.png", rng_image(5, 6, 3, np.uint16)))
    meta = type(loaded.meta)(**{**loaded.meta.__dict__, "icc_profile": icc,
                                "exif": sample_exif(6, 5), "dpi": (300.0, 300.0)})
    out = write_image(out_dir / "out.png", loaded.pixels, None, meta)
    again = read_image(out)
    assert again.meta.icc_profile == icc and again.meta.bit_depth == 16
    assert again.meta.dpi == pytest.approx((300, 300), abs=0.1)
    assert_exif_kept(sample_exif(6, 5), again.meta.exif, 6, 5)


# ---------------------------------------------------------------- orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_ends_upright_with_orientation_1(inputs, out_dir, orientation) -> None:
    upright = Image.fromarray(blocks_image(32, 48))
    inverse = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    stored = upright
    if orientation in UPRIGHT:
        stored = upright.transpose(inverse.get(orientation, UPRIGHT[orientation]))
    exif = sample_exif(stored.width, stored.height, orientation=orientation)
    xmp = f'<x:xmpmeta><rdf:Description tiff:Orientation="{orientation}"/></x:xmpmeta>'.encode()
    path = inputs.pillow(f"o{orientation}.jpg", stored, quality=100, subsampling=0,
                         exif=exif, xmp=xmp)
    out, _ = _identity(path, out_dir, "out.jpg")
    written = _open(out)
    assert written.getexif()[0x0112] == 1
    assert written.info["xmp"] == b'<x:xmpmeta><rdf:Description tiff:Orientation="1"/></x:xmpmeta>'
    assert written.size == (48, 32)  # stored upright: no viewer rotates it again
    assert np.abs(np.asarray(written, dtype=float) - blocks_image(32, 48)).mean() < 2.5


# ---------------------------------------------------------------- bit depth and alpha


@pytest.mark.parametrize("channels", [0, 2, 3, 4])
@pytest.mark.parametrize("fmt", ["png", "tif"])
def test_16_bit_identity_round_trip(inputs, out_dir, fmt: str, channels: int) -> None:
    samples = rng_image(13, 17, channels, np.uint16, seed=channels)
    if fmt == "png":
        path = inputs.png16("deep.png", samples)
    else:
        photometric = "rgb" if channels >= 3 else "minisblack"
        extra = ["unassalpha"] if channels in (2, 4) else None
        path = inputs.tiff("deep.tif", samples, photometric=photometric, extrasamples=extra)
    out, loaded = _identity(path, out_dir, f"out.{fmt}")
    assert loaded.meta.bit_depth == 16
    if fmt == "png":
        import imagecodecs

        back = np.asarray(imagecodecs.png_decode(out.read_bytes()))
    else:
        back = tifffile.imread(out)
    assert back.dtype == np.uint16 and back.shape == samples.shape
    error = np.abs(back.astype(np.int64) - samples.astype(np.int64)).max() / 65535
    assert error <= 1 / 65535


def test_float_tiff_round_trip(inputs, out_dir) -> None:
    samples = np.random.default_rng(3).random((6, 7, 3), dtype=np.float32)
    out, loaded = _identity(inputs.tiff("f.tif", samples, photometric="rgb"), out_dir, "f.tif")
    assert loaded.meta.bit_depth == 32
    back = tifffile.imread(out)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, samples)


@pytest.mark.parametrize("name", ["a.png", "a.webp", "a.tif", "a.gif"])
def test_alpha_preserved(inputs, out_dir, name: str) -> None:
    rgba = rng_image(10, 12, 4)
    rgba[:, :, 3] = np.where(rgba[:, :, 3] > 127, 255, 0) if name.endswith("gif") else rgba[..., 3]
    image = Image.fromarray(rgba)
    path = inputs.tiff(name, rgba, photometric="rgb", extrasamples=["unassalpha"]) \
        if name.endswith("tif") else inputs.pillow(name, image, lossless=True, exact=True) \
        if name.endswith("webp") else inputs.pillow(name, image)
    out, loaded = _identity(path, out_dir, "out" + name[1:])
    again = read_image(out)
    assert again.alpha is not None
    np.testing.assert_array_equal(np.rint(again.alpha * 255), rgba[:, :, 3])
    if not name.endswith("gif"):
        np.testing.assert_array_equal(np.rint(again.pixels * 255), rgba[:, :, :3])


def test_gray_alpha_and_gray_16_stay_one_channel(inputs, out_dir) -> None:
    la = inputs.pillow("la.png", Image.fromarray(rng_image(5, 6, 2), "LA"))
    out, _ = _identity(la, out_dir, "la.png")
    assert _open(out).mode == "LA"
    deep = inputs.png16("g16.png", rng_image(5, 6, 0, np.uint16))
    out, _ = _identity(deep, out_dir, "g16.png")
    assert _open(out).mode == "I;16"
    jpeg = inputs.pillow("g.jpg", Image.fromarray(rng_image(8, 8, 0)))
    out, _ = _identity(jpeg, out_dir, "g.jpg")
    assert _open(out).mode == "L"


def test_alpha_is_never_forced_into_jpeg(inputs, out_dir) -> None:
    rgba = rng_image(6, 6, 4)
    loaded = read_image(inputs.pillow("a.png", Image.fromarray(rgba)))
    planned, plan = plan_write(out_dir / "a.jpg", loaded.meta, format="jpg", has_alpha=True)
    assert planned == out_dir / "a.png"
    assert plan.notes == ("JPEG cannot hold transparency: written as PNG to keep it",)
    out = write_image(out_dir / "a.jpg", loaded.pixels, loaded.alpha, loaded.meta, format="jpg")
    assert out == planned and not (out_dir / "a.jpg").exists()
    assert _open(out).mode == "RGBA"


def test_one_bit_and_cmyk_written_as_documented(inputs, out_dir) -> None:
    out, _ = _identity(inputs.pillow("b.png", Image.fromarray(np.eye(6, dtype=bool))),
                       out_dir, "b.png")
    assert _open(out).mode == "L"
    out, _ = _identity(inputs.pillow("c.jpg", Image.new("CMYK", (6, 5), (0, 255, 255, 0))),
                       out_dir, "c.jpg")
    assert _open(out).mode == "RGB"


def test_raw_like_meta_defaults_to_16_bit_tiff(inputs, out_dir) -> None:
    loaded = read_image(inputs.pillow("a.png", Image.fromarray(rng_image(4, 5, 3))))
    meta = type(loaded.meta)(**{**loaded.meta.__dict__, "format": "RAW", "is_raw": True})
    out = write_image(out_dir / "a.png", loaded.pixels, None, meta, format="tiff")
    assert out.suffix == ".tif" and tifffile.imread(out).dtype == np.uint16


# ---------------------------------------------------------------- JPEG settings, DPI, text


def test_jpeg_quality_subsampling_and_dpi(inputs, out_dir) -> None:
    path = inputs.pillow("q.jpg", Image.fromarray(blocks_image()), quality=70, subsampling=0,
                         dpi=(300, 300))
    out, _ = _identity(path, out_dir, "q.jpg")
    again = read_image(out)
    assert again.meta.jpeg_quality == 95 and again.meta.jpeg_subsampling == 0
    assert again.meta.dpi == (300.0, 300.0)
    out = write_image(out_dir / "q80.jpg", again.pixels, None, again.meta, quality=80)
    assert read_image(out).meta.jpeg_quality == 80


def test_png_text_xmp_and_strip_metadata(inputs, out_dir) -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("Title", "Grandma's garden")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta/>")
    icc = adobe_like_profile()
    path = inputs.pillow("t.png", Image.fromarray(rng_image(4, 4, 3)), pnginfo=info,
                         exif=sample_exif(4, 4), icc_profile=icc)
    out, _ = _identity(path, out_dir, "t.png")
    kept = read_image(out).meta
    assert ("Title", "Grandma's garden") in kept.text and kept.xmp == b"<x:xmpmeta/>"
    out, _ = _identity(path, out_dir, "s.png", strip_metadata=True)
    stripped = read_image(out).meta
    assert stripped.exif is None and stripped.xmp is None and stripped.text == ()
    assert stripped.icc_profile == icc  # colours are not metadata


def test_encode_image_for_stdout(inputs) -> None:
    loaded = read_image(inputs.pillow("a.png", Image.fromarray(rng_image(4, 6, 3))))
    data = encode_image(loaded.pixels, None, loaded.meta, format="tiff", bit_depth=16)
    assert tifffile.imread(io.BytesIO(data)).dtype == np.uint16
    assert encode_image(loaded.pixels, None, loaded.meta).startswith(b"\x89PNG")


def test_bad_arrays_are_refused(inputs, out_dir) -> None:
    loaded = read_image(inputs.pillow("a.png", Image.new("RGB", (4, 3))))
    with pytest.raises(ValueError, match="H x W x 3"):
        encode_image(loaded.pixels[:, :, :2], None, loaded.meta)
    with pytest.raises(ValueError, match="alpha shape"):
        encode_image(loaded.pixels, np.zeros((2, 2), np.float32), loaded.meta)


# ---------------------------------------------------------------- never lose anything


def test_refuses_to_overwrite_the_input(inputs) -> None:
    path = inputs.pillow("keep.jpg", Image.fromarray(blocks_image()))
    loaded = read_image(path)
    for dest in (path, path.parent / "sub" / ".." / "keep.jpg"):
        with pytest.raises(UsageError, match="refusing to write over the input"):
            write_image(dest, loaded.pixels, None, loaded.meta)
    link = path.parent / "hard.jpg"
    os.link(path, link)
    try:
        with pytest.raises(UsageError):
            write_image(link, loaded.pixels, None, loaded.meta)
    finally:
        link.unlink()


def test_atomic_write_keeps_old_output_on_failure(inputs, out_dir, monkeypatch) -> None:
    loaded = read_image(inputs.pillow("a.png", Image.fromarray(rng_image(4, 4, 3))))
    out_dir.mkdir()
    old = out_dir / "a.png"
    old.write_bytes(b"previous result")

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(ImageError, match="No space left on device"):
        write_image(old, loaded.pixels, None, loaded.meta)
    assert old.read_bytes() == b"previous result"
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.png"]


def test_output_is_complete_with_normal_permissions(inputs, out_dir) -> None:
    loaded = read_image(inputs.pillow("a.png", Image.fromarray(rng_image(4, 4, 3))))
    out = write_image(out_dir / "deep" / "er" / "a.png", loaded.pixels, None, loaded.meta)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in out.parent.iterdir()) == ["a.png"]


# ---------------------------------------------------------------- optional formats


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heif_and_avif_round_trip(inputs, out_dir, fmt: str) -> None:
    from imgrestore.imaging.formats import format_available

    if not format_available(fmt):
        pytest.skip(f"{fmt} needs pillow-heif (extra 'heif') or a Pillow built with it")
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    upright = Image.fromarray(blocks_image(32, 48))
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = sample_exif(stored.width, stored.height, orientation=6)
    icc = adobe_like_profile()
    ext = ".heic" if fmt == "HEIF" else ".avif"
    path = inputs.pillow("in" + ext, stored, fmt, quality=95, exif=exif, icc_profile=icc)
    out, loaded = _identity(path, out_dir, "out" + ext)
    assert loaded.meta.format == fmt and loaded.meta.size == (32, 48)
    assert np.abs(loaded.pixels * 255 - blocks_image(32, 48)).mean() < 4
    written = _open(out)
    assert written.format == fmt and written.size == (48, 32)
    # Pillow's AVIF writer moves orientation into the container and drops the tag
    assert written.getexif().get(0x0112, 1) == 1
    assert written.info["icc_profile"] == icc


@pytest.mark.parametrize(("dtype", "compression"),
                         [(np.uint8, "lzw"), (np.uint8, "none"), (np.uint16, "packbits"),
                          (np.uint16, "zstd"), (np.uint8, "jpeg")])  # fmt: skip
def test_tiff_keeps_lossless_compression(inputs, out_dir, dtype, compression: str) -> None:
    samples = rng_image(8, 8, 3, dtype)
    if compression == "jpeg":  # lossy: written back losslessly (deflate)
        path = inputs.pillow("in.tif", Image.fromarray(samples), compression="jpeg")
    else:
        path = inputs.tiff("in.tif", samples, photometric="rgb",
                           compression=None if compression == "none" else compression)
    out, _ = _identity(path, out_dir, "out.tif")
    with tifffile.TiffFile(out) as tif:
        written = tif.pages.first.compression.name.lower()
    assert written == ("adobe_deflate" if compression == "jpeg" else compression)
    if compression != "jpeg":
        np.testing.assert_array_equal(tifffile.imread(out), samples)


def test_temporary_names_fit_for_long_file_names(inputs, out_dir) -> None:
    loaded = read_image(inputs.pillow("a.png", Image.fromarray(rng_image(4, 4, 3))))
    long_name = "x" * 240 + ".png"
    out = write_image(out_dir / long_name, loaded.pixels, None, loaded.meta)
    assert out.name == long_name and sorted(p.name for p in out_dir.iterdir()) == [long_name]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_the_first_page_of_a_multipage_tiff_is_a_valid_one_page_tiff(inputs, out_dir, dtype):
    pages = np.stack([rng_image(24, 32, 3, dtype, seed=s) for s in range(3)])
    path = inputs.folder / "three.tif"
    tifffile.imwrite(path, pages, photometric="rgb")  # described {"shape": [3, 24, 32, 3]}
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 3 and tif.is_shaped
    loaded = read_image(path)
    assert any("first" in note for note in loaded.meta.notes)
    out = write_image(out_dir / "three.tif", loaded.pixels, None, loaded.meta)
    with tifffile.TiffFile(out) as tif:
        assert len(tif.pages) == 1 and not tif.is_shaped
    assert tifffile.imread(out).shape == (24, 32, 3)


def test_a_real_image_description_is_kept(inputs, out_dir) -> None:
    path = inputs.tiff("described.tif", rng_image(8, 8, 3, np.uint16), photometric="rgb",
                       description="Harbour at dawn")
    out, _ = _identity(path, out_dir, "described.tif")
    with tifffile.TiffFile(out) as tif:
        assert tif.pages.first.tags["ImageDescription"].value == "Harbour at dawn"
