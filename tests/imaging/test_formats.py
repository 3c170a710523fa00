"""Format sniffing, support checks and output planning."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from imgrestore.errors import UsageError
from imgrestore.imaging import formats
from imgrestore.imaging.types import ImageMeta

from .conftest import make_dng


def _encoded(fmt: str, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (8, 6), 128 if mode == "L" else (10, 20, 30)).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP", "BMP", "GIF"])
def test_sniff_pillow_formats(fmt: str) -> None:
    assert formats.sniff_format(_encoded(fmt)[:64]) == fmt


def test_sniff_others() -> None:
    assert formats.sniff_format(make_dng(8, 8)[:64]) == "TIFF"  # DNG is TIFF-structured
    assert formats.sniff_format(b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01") == "RAW"
    assert formats.sniff_format(b"FUJIFILMCCD-RAW 0201") == "RAW"
    assert formats.sniff_format(b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00") == "HEIF"
    assert formats.sniff_format(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00") == "AVIF"
    assert formats.sniff_format(b"hello, this is a text file\n") is None
    assert formats.sniff_format(b"") is None


def test_unsupported_reason(inputs) -> None:
    assert formats.unsupported_reason(inputs.add("a.png", _encoded("PNG"))) is None
    assert formats.is_supported(inputs.add("wrong-extension.jpg", _encoded("PNG")))
    assert formats.unsupported_reason(inputs.add("empty.jpg", b"")) == "empty file (0 bytes)"
    text = inputs.add("notes.jpg", b"not a photo at all\n")
    assert "not an image" in formats.unsupported_reason(text)
    assert not formats.is_supported(text)
    assert formats.unsupported_reason(inputs.folder) == "is a folder"
    assert "cannot open" in formats.unsupported_reason(inputs.folder / "missing.png")


def test_normalize_format() -> None:
    assert formats.normalize_format("jpg") == "JPEG"
    assert formats.normalize_format(".TIF") == "TIFF"
    assert formats.normalize_format("heic") == "HEIF"
    with pytest.raises(UsageError, match="unknown output format 'pdf'"):
        formats.normalize_format("pdf")


def _meta(**kw) -> ImageMeta:
    base = dict(source=Path("/photos/a.jpeg"), name="/photos/a.jpeg", format="JPEG",
                mode="RGB", bit_depth=8, width=4, height=3)  # fmt: skip
    base.update(kw)
    return ImageMeta(**base)


def test_plan_keeps_format_depth_and_spelling() -> None:
    plan = formats.plan_output(_meta())
    assert (plan.format, plan.bit_depth, plan.suffix, plan.notes) == ("JPEG", 8, ".jpeg", ())
    assert formats.output_suffix(_meta(), "png") == ".png"


def test_plan_alpha_never_goes_to_jpeg() -> None:
    plan = formats.plan_output(_meta(has_alpha=True))
    assert plan.format == "PNG" and plan.suffix == ".png" and plan.alpha
    assert any("transparency" in n for n in plan.notes)
    assert formats.plan_output(_meta(has_alpha=True), format="webp").format == "WEBP"


def test_plan_raw_is_16_bit_tiff() -> None:
    meta = _meta(source=Path("x.NEF"), format="RAW", bit_depth=16, is_raw=True)
    plan = formats.plan_output(meta)
    assert (plan.format, plan.bit_depth, plan.suffix) == ("TIFF", 16, ".tif")
    assert formats.plan_output(meta, format="png").bit_depth == 16
    jpeg = formats.plan_output(meta, format="jpg")
    assert jpeg.bit_depth == 8 and "written as 8-bit instead of 16-bit" in jpeg.notes[0]


def test_plan_bit_depths() -> None:
    png16 = _meta(source=Path("a.png"), format="PNG", bit_depth=16)
    assert formats.plan_output(png16).bit_depth == 16
    assert formats.plan_output(png16, bit_depth=8).bit_depth == 8
    float_tiff = replace(png16, source=Path("a.tif"), format="TIFF", bit_depth=32)
    assert formats.plan_output(float_tiff).bit_depth == 32
    assert formats.plan_output(float_tiff, format="png").bit_depth == 16
    one_bit = _meta(mode="1", bit_depth=1, was_grayscale=True, format="PNG")
    plan = formats.plan_output(one_bit)
    assert plan.bit_depth == 8 and plan.grayscale and "1-bit" in plan.notes[0]


def test_planning_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = ("import sys, imgrestore.imaging.formats, imgrestore.imaging as m; "
            "assert sorted(m.__all__) == sorted(m._EXPORTS); "
            "heavy = ('numpy', 'PIL', 'tifffile', 'rawpy', 'torch'); "
            "print([n for n in heavy if n in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unsupported_reason_never_opens_a_fifo(tmp_path) -> None:
    from ..specialfiles import fifo, returns

    pipe = fifo(tmp_path / "pipe.png")
    assert "FIFO" in returns(formats.unsupported_reason, pipe, unblock=pipe)
