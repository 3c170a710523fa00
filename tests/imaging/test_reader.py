"""read_image: every format and mode, orientation, metadata capture, clear errors."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import piexif
import pytest
from PIL import Image

from imgrestore.errors import ImageError
from imgrestore.imaging import read_image

from .conftest import adobe_like_profile, blocks_image, rng_image, sample_exif
from .test_pixels import UPRIGHT


def _check_pixels(loaded, height: int, width: int) -> None:
    assert loaded.pixels.shape == (height, width, 3)
    assert loaded.pixels.dtype == np.float32
    assert loaded.pixels.min() >= 0.0 and loaded.pixels.max() <= 1.0
    assert loaded.meta.size == (height, width)


def test_jpeg(inputs) -> None:
    icc = adobe_like_profile()
    path = inputs.pillow("photo.jpg", Image.fromarray(blocks_image()), quality=83,
                         subsampling=1, icc_profile=icc, exif=sample_exif(64, 48), dpi=(240, 240))
    loaded = read_image(path)
    _check_pixels(loaded, 48, 64)
    meta = loaded.meta
    assert (meta.format, meta.mode, meta.bit_depth, meta.source) == ("JPEG", "RGB", 8, path)
    assert meta.name == str(path) and meta.alpha is None if hasattr(meta, "alpha") else True
    assert loaded.alpha is None and not meta.has_alpha and not meta.was_grayscale
    assert meta.icc_profile == icc
    assert meta.jpeg_quality == 83 and meta.jpeg_subsampling == 1
    assert meta.dpi == (240.0, 240.0)
    assert piexif.load(meta.exif)["0th"][piexif.ImageIFD.Make] == b"Imgrestore Test Camera"
    assert np.abs(loaded.pixels * 255 - blocks_image()).mean() < 3


def test_png_8_bit_with_alpha_text_and_xmp(inputs) -> None:
    from PIL.PngImagePlugin import PngInfo

    rgba = rng_image(12, 10, 4)
    info = PngInfo()
    info.add_itxt("Comment", "restored — with care")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>hello</x:xmpmeta>")
    path = inputs.pillow("a.png", Image.fromarray(rgba), pnginfo=info, dpi=(150, 150))
    loaded = read_image(path)
    _check_pixels(loaded, 12, 10)
    np.testing.assert_array_equal(np.rint(loaded.pixels * 255), rgba[:, :, :3])
    np.testing.assert_array_equal(np.rint(loaded.alpha * 255), rgba[:, :, 3])
    assert loaded.meta.has_alpha and loaded.meta.mode == "RGBA"
    assert loaded.meta.text == (("Comment", "restored — with care"),)
    assert loaded.meta.xmp == b"<x:xmpmeta>hello</x:xmpmeta>"
    assert loaded.meta.dpi == pytest.approx((150, 150), abs=0.1)


@pytest.mark.parametrize(("channels", "mode"), [(0, "I;16"), (2, "LA;16"), (3, "RGB;16"),
                                                (4, "RGBA;16")])  # fmt: skip
def test_png_16_bit_full_precision(inputs, channels: int, mode: str) -> None:
    samples = rng_image(9, 11, channels, np.uint16)
    path = inputs.png16("deep.png", samples)
    loaded = read_image(path)
    meta = loaded.meta
    assert (meta.bit_depth, meta.mode, meta.was_grayscale) == (16, mode, channels in (0, 2))
    colour = samples if channels == 0 else samples[:, :, : 3 if channels >= 3 else 1]
    got = loaded.pixels if channels >= 3 else loaded.pixels[:, :, 0]
    np.testing.assert_array_equal(np.rint(got * 65535), np.squeeze(colour))
    if channels in (2, 4):
        np.testing.assert_array_equal(np.rint(loaded.alpha * 65535), samples[:, :, -1])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tiff_depths(inputs, dtype) -> None:
    if dtype == np.float32:
        samples = np.random.default_rng(1).random((7, 9, 3), dtype=np.float32)
    else:
        samples = rng_image(7, 9, 3, dtype)
    path = inputs.tiff("t.tif", samples, photometric="rgb", compression="zlib")
    loaded = read_image(path)
    expected = {np.uint8: 8, np.uint16: 16, np.float32: 32}[dtype]
    assert loaded.meta.bit_depth == expected and loaded.meta.format == "TIFF"
    scale = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    np.testing.assert_allclose(loaded.pixels * scale, samples, atol=1e-3 if scale == 1 else 0.01)


def test_tiff_16_bit_gray_alpha_lzw_and_orientation(inputs) -> None:
    samples = rng_image(6, 8, 2, np.uint16)
    path = inputs.tiff("g.tif", samples, photometric="minisblack", extrasamples=["unassalpha"],
                       compression="lzw", extratags=[(274, 3, 1, 8, True)])
    loaded = read_image(path)
    assert loaded.meta.was_grayscale and loaded.meta.has_alpha and loaded.meta.orientation == 8
    assert loaded.meta.compression == "lzw"
    np.testing.assert_array_equal(np.rint(loaded.alpha * 65535), np.rot90(samples[:, :, 1]))
    np.testing.assert_array_equal(np.rint(loaded.pixels[:, :, 2] * 65535),
                                  np.rot90(samples[:, :, 0]))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_reads_upright(inputs, orientation: int) -> None:
    upright = Image.fromarray(rng_image(6, 10, 3, seed=orientation))
    inverse = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    stored = upright
    if orientation in UPRIGHT:
        stored = upright.transpose(inverse.get(orientation, UPRIGHT[orientation]))
    exif = sample_exif(stored.width, stored.height, orientation=orientation)
    loaded = read_image(inputs.pillow(f"o{orientation}.png", stored, exif=exif))
    np.testing.assert_array_equal(np.rint(loaded.pixels * 255), np.asarray(upright))
    assert loaded.meta.orientation == orientation
    assert loaded.meta.size == (6, 10)


def test_grayscale_palette_cmyk_and_1_bit(inputs) -> None:
    gray = read_image(inputs.pillow("l.png", Image.fromarray(rng_image(5, 6, 0))))
    assert gray.meta.was_grayscale and gray.meta.mode == "L"
    assert np.array_equal(gray.pixels[:, :, 0], gray.pixels[:, :, 2])

    pal = Image.fromarray(rng_image(5, 6, 3)).convert("P", palette=Image.Palette.ADAPTIVE)
    pal.info["transparency"] = 0
    loaded = read_image(inputs.pillow("p.png", pal, transparency=0))
    assert loaded.meta.mode == "P" and loaded.meta.has_alpha
    assert (loaded.alpha == 0).sum() == (np.asarray(pal) == 0).sum()

    cmyk = read_image(inputs.pillow("c.jpg", Image.new("CMYK", (6, 5), (0, 255, 255, 0))))
    assert cmyk.meta.mode == "CMYK" and "CMYK converted to RGB" in cmyk.meta.notes[0]
    assert cmyk.pixels[0, 0, 0] > 0.9 and cmyk.pixels[0, 0, 1] < 0.1

    bits = Image.fromarray(np.eye(6, dtype=bool))
    one = read_image(inputs.pillow("b.png", bits))
    assert one.meta.mode == "1" and one.meta.bit_depth == 1 and one.meta.was_grayscale
    np.testing.assert_array_equal(one.pixels[:, :, 0], np.eye(6))


def test_gif_first_frame_with_note(inputs) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    loaded = read_image(inputs.add("anim.gif", buf.getvalue()))
    assert loaded.pixels[0, 0, 0] > 0.9 and "animation not kept" in loaded.meta.notes[0]


def test_webp_and_bmp(inputs) -> None:
    rgba = rng_image(8, 8, 4)
    webp = read_image(inputs.pillow("a.webp", Image.fromarray(rgba), lossless=True))
    assert webp.meta.compression == "lossless"
    np.testing.assert_array_equal(np.rint(webp.alpha * 255), rgba[:, :, 3])
    bmp = read_image(inputs.pillow("a.bmp", Image.fromarray(rgba[:, :, :3])))
    np.testing.assert_array_equal(np.rint(bmp.pixels * 255), rgba[:, :, :3])


def test_bytes_from_stdin(inputs) -> None:
    buf = io.BytesIO()
    Image.fromarray(blocks_image()).save(buf, "PNG")
    loaded = read_image(buf.getvalue())
    assert loaded.meta.source is None and loaded.meta.name == "<stdin>"
    assert loaded.meta.format == "PNG"


def test_content_wins_over_extension(inputs) -> None:
    loaded = read_image(inputs.pillow("really-a-png.jpg", Image.new("RGB", (4, 4)), "PNG"))
    assert loaded.meta.format == "PNG"


# ---------------------------------------------------------------- errors


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))  # fmt: skip


def _jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rng_image(64, 64, 3)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.jpg", b"", "empty file"),
        ("notes.jpg", b"Dear diary, this is not a photo.\n", "not an image"),
        ("cut.jpg", _jpeg_bytes()[:700], "truncated"),
        ("bomb.png", _png_claiming(100_000, 100_000), "decompression bomb"),
        ("cut.png", b"\x89PNG\r\n\x1a\n\x00\x00", "truncated PNG file"),
        ("junk.tif", b"II*\x00\xff\xff\xff\x00junk", "TIFF"),
        ("junk.dng", b"II*\x00\x08\x00\x00\x00junkjunk", "LibRaw"),
        ("junk.cr3", b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01", "LibRaw"),
    ],
)
def test_bad_files_name_the_file(inputs, name: str, data: bytes, reason: str) -> None:
    path = inputs.add(name, data)
    with pytest.raises(ImageError) as err:
        read_image(path)
    message = str(err.value)
    assert message.startswith(str(path)) and reason in message
    assert "\n" not in message and err.value.path == str(path)


def _webp_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rng_image(32, 32, 3)).save(buf, "WEBP", quality=80)
    return buf.getvalue()


def _png_bytes(samples: np.ndarray | None = None) -> bytes:
    if samples is not None and samples.dtype == np.uint16:
        import imagecodecs

        return bytes(imagecodecs.png_encode(samples))
    buf = io.BytesIO()
    Image.fromarray(rng_image(16, 16, 3) if samples is None else samples).save(buf, "PNG")
    return buf.getvalue()


def _bad_ihdr_crc() -> bytes:
    data = bytearray(_png_bytes())
    data[29] ^= 0xFF  # IHDR's checksum
    return bytes(data)


_UNOPENABLE = [
    ("crc.png", _bad_ihdr_crc(), "corrupt PNG file (broken PNG file (bad header checksum"),
    ("zero.png", _png_claiming(0, 0), "corrupt PNG file (no image size in its header)"),
    ("ihdr_only.png", _png_bytes()[:33], "truncated PNG file (the file ends inside"),
    ("markers.jpg", b"\xff\xd8\xff\xd9", "corrupt JPEG file (no image size in its header)"),
    ("cut.webp", _webp_bytes()[:100], "truncated WEBP file"),
    ("cut16.png", _png_bytes(rng_image(16, 16, 3, np.uint16))[:200],
     "truncated or corrupt PNG"),
    ("no_ifd.tif", b"II*\x00" + struct.pack("<I", 10**6) + bytes(64),
     "corrupt TIFF (no readable image directory)"),
]


@pytest.mark.parametrize(("name", "data", "reason"), _UNOPENABLE, ids=[c[0] for c in _UNOPENABLE])
def test_unopenable_files_get_a_precise_reason(inputs, name: str, data: bytes, reason: str) -> None:
    """Image.open only says "cannot identify"; the format is known, so its plugin says why.
    A 16-bit PNG cut short is an ImageError too (it was an OSError from Pillow)."""
    path = inputs.add(name, data)
    with pytest.raises(ImageError) as err:
        read_image(path)
    assert str(err.value) == f"{path}: {err.value.reason}" and reason in err.value.reason


def test_nan_and_infinity_in_float_tiff_become_finite(inputs) -> None:
    samples = np.full((4, 5, 3), 0.5, np.float32)
    samples[0, :3, 0] = [np.nan, np.inf, -np.inf]
    loaded = read_image(inputs.tiff("nan.tif", samples, photometric="rgb"))
    assert np.isfinite(loaded.pixels).all()
    np.testing.assert_array_equal(loaded.pixels[0, :4, 0], [0.0, 1.0, 0.0, 0.5])
    assert any("NaN" in note for note in loaded.meta.notes)


def test_bomb_message_names_the_option(inputs) -> None:
    with pytest.raises(ImageError, match="--max-pixels"):
        read_image(inputs.add("bomb.png", _png_claiming(100_000, 100_000)))


def test_max_pixels_raises_and_lowers_the_limit(inputs) -> None:
    path = inputs.pillow("small.png", Image.new("RGB", (40, 30)))
    with pytest.raises(ImageError, match="megapixel safety limit"):
        read_image(path, max_pixels=1000)
    assert read_image(path, max_pixels=1200).meta.size == (30, 40)
    # above Pillow's own limit, the header check passes and decoding is what fails
    with pytest.raises(ImageError, match="corrupt|truncated") as err:
        read_image(inputs.add("huge.png", _png_claiming(20_000, 10_000)), max_pixels=10**9)
    assert "bomb" not in str(err.value)


def test_missing_and_folder(inputs) -> None:
    with pytest.raises(ImageError, match="file not found"):
        read_image(inputs.folder / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        read_image(inputs.folder)


def _png_with_icc(profile: bytes, bits: int = 8) -> bytes:
    buf = io.BytesIO()
    if bits == 16:
        import imagecodecs

        data = bytes(imagecodecs.png_encode(rng_image(12, 16, 3, np.uint16)))
        chunk = b"icc\x00\x00" + zlib.compress(profile)
        body = struct.pack(">I", len(chunk)) + b"iCCP" + chunk
        body += struct.pack(">I", zlib.crc32(b"iCCP" + chunk))
        return data[:33] + body + data[33:]
    Image.fromarray(rng_image(12, 16, 3)).save(buf, "PNG", icc_profile=profile)
    return buf.getvalue()


@pytest.mark.parametrize("bits", [8, 16])
def test_a_colour_profile_over_pillows_1_mb_limit_is_read(inputs, out_dir, bits) -> None:
    from PIL import PngImagePlugin

    from imgrestore.imaging import write_image

    profile = bytes(range(256)) * (PngImagePlugin.MAX_TEXT_CHUNK // 256 + 1000)
    loaded = read_image(inputs.add("big-profile.png", _png_with_icc(profile, bits)))
    assert loaded.meta.icc_profile == profile and loaded.meta.bit_depth == bits
    out = write_image(out_dir / "big-profile.png", loaded.pixels, None, loaded.meta)
    assert read_image(out).meta.icc_profile == profile


def test_text_chunks_keep_pillows_limit(inputs) -> None:
    from PIL import PngImagePlugin

    text = b"Comment\x00\x00" + zlib.compress(b"x" * (PngImagePlugin.MAX_TEXT_CHUNK + 10))
    data = bytearray(_png_with_icc(b"small"))
    chunk = struct.pack(">I", len(text)) + b"zTXt" + text
    chunk += struct.pack(">I", zlib.crc32(b"zTXt" + text))
    data[33:33] = chunk
    with pytest.raises(ImageError, match="too large"):
        read_image(inputs.add("text-bomb.png", bytes(data)))


def test_library_warnings_become_the_files_notes(inputs, recwarn) -> None:
    exif = b"Exif\x00\x00II*\x00" + struct.pack("<I", 0x7FFFFF00) + bytes(8)
    buf = io.BytesIO()
    Image.fromarray(rng_image(8, 8, 3)).save(buf, "JPEG")
    data = buf.getvalue()
    segment = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    for name in ("one.jpg", "two.jpg"):  # every file gets its note, not only the first
        loaded = read_image(inputs.add(name, data[:2] + segment + data[2:]))
        assert any(note.startswith("Corrupt EXIF data") for note in loaded.meta.notes), name
    assert not [w for w in recwarn if "EXIF" in str(w.message)]  # nothing warned unnamed


def test_a_tifffile_complaint_ends_the_reason(inputs, caplog) -> None:
    path = inputs.add("no_ifd.tif", b"II*\x00" + struct.pack("<I", 1_000_000) + bytes(64))
    with pytest.raises(ImageError) as err:
        read_image(path)
    assert str(err.value) == (f"{path}: corrupt TIFF (no readable image directory) "
                              "(invalid offset to first page 1000000)")
    assert not [r for r in caplog.records if r.name == "tifffile"]
