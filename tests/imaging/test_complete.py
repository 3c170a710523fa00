"""An existing output is told complete or cut short from its header and tail."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgrestore.imaging.complete import output_state

from ..specialfiles import fifo, returns


def _encoded(fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (20, 30, 3), np.uint8))
    image.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"])
def test_outputs_complete_or_cut_short(tmp_path: Path, fmt: str) -> None:
    data = _encoded(fmt)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    whole.write_bytes(data)
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert output_state(whole) == "complete"
    assert output_state(cut) == "incomplete"


def test_tiff_16_bit_cut_inside_its_strips(tmp_path: Path) -> None:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.ones((40, 40, 3), np.uint16), photometric="rgb", metadata=None)
    path = tmp_path / "cut.tif"
    path.write_bytes(buf.getvalue()[:3000])
    assert output_state(path) == "incomplete"


def test_what_else_may_stand_at_an_output_path(tmp_path: Path) -> None:
    assert output_state(tmp_path / "none.jpg") is None
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert output_state(tmp_path / "empty.jpg") == "incomplete"
    (tmp_path / "notes.jpg").write_text("my notes")
    assert output_state(tmp_path / "notes.jpg").startswith("is not an image; refused")
    (tmp_path / "folder.jpg").mkdir()
    assert output_state(tmp_path / "folder.jpg") == "is a folder, not an image file; refused"
    assert "FIFO" in returns(output_state, fifo(tmp_path / "pipe.jpg"))
    os.symlink("nowhere", tmp_path / "dangling.jpg")
    assert "symbolic link" in output_state(tmp_path / "dangling.jpg")
