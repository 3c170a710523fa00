"""Before/after pictures: labelled side-by-side or split images, zoomed crops, and a
self-contained HTML page with a slider.

All images are first brought to one size (the largest, bicubic), so an upscaled result
lines up with its small original; zoom boxes ``(x, y, w, h)`` are in that size's pixels.

Layout of :func:`side_by_side` (``W x H`` = the common size, ``n`` images)::

    +-- label band (band_height(W) px) --+ GAP +-- label band --+
    |             image 1                |     |    image 2     |
    +------------------------------------+     +----------------+
                    GAP
    |   zoom of image 1 (if any)         |     |  zoom of 2     |

width ``n W + (n - 1) GAP``; height ``band + H`` (+ ``GAP + zoom height`` with a zoom).
Zoomed crops are enlarged by the largest whole factor that fits ``W x H``, with nearest
neighbour so pixels stay visible, and centred in their column; the zoomed region is
outlined on the images.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from imgrestore.errors import UsageError

if TYPE_CHECKING:
    from PIL import Image

Box = tuple[int, int, int, int]

#: Space between panels, background and text colours, the zoom outline.
GAP = 8
BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)
OUTLINE = (255, 210, 0)


def band_height(width: int) -> int:
    """Height of the label band over a panel ``width`` pixels wide."""
    return max(24, round(width / 32))


def to_pil(pixels: np.ndarray) -> Image.Image:
    """A float ``H x W x 3`` array in [0, 1] as an 8-bit RGB Pillow image."""
    from PIL import Image

    array = np.round(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array), "RGB")


def common_size(images: Sequence[Image.Image]) -> list[Image.Image]:
    """Every image resized (bicubic) to the size of the largest one."""
    from PIL import Image

    target = max((im.size for im in images), key=lambda s: s[0] * s[1])
    return [im if im.size == target else im.resize(target, Image.Resampling.BICUBIC)
            for im in images]


def parse_box(text: str, size: tuple[int, int]) -> Box:
    """``"x,y,w,h"`` as a box inside an image of ``size = (width, height)``."""
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--zoom {text}: expected x,y,w,h in pixels, or auto") from None
    width, height = size
    if w < 1 or h < 1 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise UsageError(f"--zoom {text}: not inside the {width}x{height} image")
    return x, y, w, h


def auto_zoom(before: Image.Image, after: Image.Image, side: int | None = None) -> Box:
    """A square worth a close look: where ``after`` both differs most from ``before`` and
    has the most detail (each of the two maps, mean absolute luma difference and gradient
    magnitude of ``after``, counted relative to its own mean). ``side`` defaults to a
    quarter of the shorter side, at least 16 pixels."""
    width, height = before.size
    side = min(side or max(16, min(width, height) // 4), width, height)
    luma = np.asarray(after.convert("L"), np.float64)
    diff = np.abs(luma - np.asarray(before.convert("L"), np.float64))
    detail = (np.abs(np.diff(luma, axis=1, append=luma[:, -1:]))
              + np.abs(np.diff(luma, axis=0, append=luma[-1:])))
    score = sum(m / m.mean() for m in (diff, detail) if m.mean() > 0)
    if np.isscalar(score):  # identical, flat images: the centre
        return (width - side) // 2, (height - side) // 2, side, side
    total = np.pad(np.cumsum(np.cumsum(score, 0), 1), ((1, 0), (1, 0)))
    sums = (total[side:, side:] - total[:-side, side:] - total[side:, :-side]
            + total[:-side, :-side])
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(x), int(y), side, side


def zoom_factor(box: Box, cell: tuple[int, int]) -> int:
    """The largest whole enlargement of ``box`` that fits in ``cell = (width, height)``."""
    return max(1, min(cell[0] // box[2], cell[1] // box[3]))


def side_by_side(
    images: Sequence[Image.Image], labels: Sequence[str], *, zoom: Box | None = None
) -> Image.Image:
    """The images in a row, each under its label, with zoomed crops below (see the
    module's layout)."""
    from PIL import Image

    if len(images) != len(labels):
        raise UsageError(f"{len(images)} images but {len(labels)} labels")
    images = common_size(images)
    width, height = images[0].size
    band = band_height(width)
    factor = zoom_factor(zoom, (width, height)) if zoom else 0
    zoom_h = zoom[3] * factor if zoom else 0
    canvas = Image.new("RGB", (len(images) * width + (len(images) - 1) * GAP,
                               band + height + (GAP + zoom_h if zoom else 0)), BACKGROUND)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        left = i * (width + GAP)
        _label(canvas, label, (left, 0, left + width, band))
        canvas.paste(_outlined(image, zoom), (left, band))
        if zoom:
            crop = _enlarge(image, zoom, factor)
            canvas.paste(crop, (left + (width - crop.width) // 2, band + height + GAP))
    return canvas


def split(
    before: Image.Image, after: Image.Image, labels: Sequence[str] = ("before", "after"), *,
    position: float = 0.5, zoom: Box | None = None,
) -> Image.Image:
    """One picture: ``before`` left of the split line at ``position`` (0-1 of the width),
    ``after`` right of it; labels at the two ends of the band; with ``zoom``, the two
    zoomed crops side by side below."""
    from PIL import Image, ImageDraw

    if not 0.0 <= position <= 1.0:
        raise UsageError(f"split position {position} must be between 0 and 1")
    before, after = common_size([before, after])
    width, height = before.size
    band = band_height(width)
    cell = ((width - GAP) // 2, height)
    factor = zoom_factor(zoom, cell) if zoom else 0
    zoom_h = zoom[3] * factor if zoom else 0
    canvas = Image.new("RGB", (width, band + height + (GAP + zoom_h if zoom else 0)),
                       BACKGROUND)
    _label(canvas, labels[0], (0, 0, width // 2, band))
    _label(canvas, labels[1], (width // 2, 0, width, band), right=True)
    cut = round(position * width)
    picture = _outlined(after, zoom)
    picture.paste(_outlined(before, zoom).crop((0, 0, cut, height)), (0, 0))
    line = max(1, width // 400)
    ImageDraw.Draw(picture).rectangle(
        (cut - line, 0, cut + line - 1, height - 1), fill=(255, 255, 255))
    canvas.paste(picture, (0, band))
    if zoom:
        for i, image in enumerate((before, after)):
            crop = _enlarge(image, zoom, factor)
            left = i * (cell[0] + GAP) + (cell[0] - crop.width) // 2
            canvas.paste(crop, (left, band + height + GAP))
    return canvas


def _enlarge(image: Image.Image, box: Box, factor: int) -> Image.Image:
    from PIL import Image

    x, y, w, h = box
    return image.crop((x, y, x + w, y + h)).resize((w * factor, h * factor),
                                                   Image.Resampling.NEAREST)


def _outlined(image: Image.Image, box: Box | None) -> Image.Image:
    from PIL import ImageDraw

    if box is None:
        return image
    out = image.copy()
    x, y, w, h = box
    thickness = max(1, min(image.size) // 200)
    ImageDraw.Draw(out).rectangle((x, y, x + w - 1, y + h - 1), outline=OUTLINE,
                                  width=thickness)
    return out


def _label(canvas: Image.Image, text: str, area: tuple[int, int, int, int], *,
           right: bool = False) -> None:
    """Write ``text`` in Pillow's default font, vertically centred in ``area`` (smaller
    when it would not fit its width)."""
    from PIL import ImageDraw, ImageFont

    left, top, end, bottom = area
    band = bottom - top
    pad = max(4, band // 4)
    draw = ImageDraw.Draw(canvas)
    size = max(10, round(band * 0.6))
    while True:
        font = ImageFont.load_default(size=size)
        x0, _, x1, _ = draw.textbbox((0, 0), text, font=font)
        if x1 - x0 <= end - left - 2 * pad or size <= 8:
            break
        size -= 1
    x = end - pad - (x1 - x0) if right else left + pad
    draw.text((x, top + band / 2), text, fill=TEXT, font=font, anchor="lm")


# --- the HTML page ----------------------------------------------------------------------------

_STYLE = """
body{margin:0;padding:16px;background:#181818;color:#ebebeb;font:15px system-ui,sans-serif}
h1{font-size:18px;font-weight:600;margin:0 0 12px}
section.compare{margin:0 0 28px;max-width:100%}
.labels{display:flex;justify-content:space-between;margin:0 0 4px}
.frame{position:relative;display:inline-block;max-width:100%;cursor:ew-resize;
  touch-action:none;user-select:none;line-height:0}
.frame img{display:block;max-width:100%;height:auto}
.frame img.before{position:absolute;top:0;left:0;width:100%;height:100%}
.handle{position:absolute;top:0;bottom:0;width:2px;margin-left:-1px;background:#fff;
  pointer-events:none}
input[type=range]{display:block;width:100%;margin:8px 0 0}
"""

_SCRIPT = """
document.querySelectorAll("section.compare").forEach(function (section) {
  var slider = section.querySelector("input[type=range]");
  var before = section.querySelector("img.before");
  var handle = section.querySelector(".handle");
  var frame = section.querySelector(".frame");
  function show(value) {
    var v = Math.min(100, Math.max(0, Number(value)));
    before.style.clipPath = "inset(0 " + (100 - v) + "% 0 0)";
    handle.style.left = v + "%";
    section.dataset.position = String(v);
  }
  slider.addEventListener("input", function () { show(slider.value); });
  function drag(event) {
    var rect = frame.getBoundingClientRect();
    slider.value = String(100 * (event.clientX - rect.left) / rect.width);
    show(slider.value);
  }
  frame.addEventListener("pointerdown", function (event) {
    frame.setPointerCapture(event.pointerId); drag(event);
  });
  frame.addEventListener("pointermove", function (event) {
    if (frame.hasPointerCapture(event.pointerId)) { drag(event); }
  });
  show(slider.value);
});
"""


def data_uri(image: Image.Image) -> str:
    """``image`` as a ``data:image/png;base64,...`` URI (lossless)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def html_page(
    before: Image.Image, afters: Sequence[Image.Image], labels: Sequence[str], *,
    title: str = "Before and after",
) -> str:
    """One offline HTML page: for each of ``afters``, ``before`` over it with a slider
    (or drag on the picture) that moves the split. ``labels`` names ``before`` then each
    of ``afters``. Images are embedded as PNG; no external file, script or style."""
    if len(labels) != len(afters) + 1:
        raise UsageError(f"{len(afters) + 1} images but {len(labels)} labels")
    sized = common_size([before, *afters])
    width, height = sized[0].size
    before_uri = data_uri(sized[0])
    sections = []
    for after, label in zip(sized[1:], labels[1:], strict=True):
        sections.append(
            f'<section class="compare" data-position="50">\n'
            f'<div class="labels" style="max-width:{width}px"><span>{html.escape(labels[0])}'
            f'</span><span>{html.escape(label)}</span></div>\n'
            f'<div class="frame">'
            f'<img class="after" src="{data_uri(after)}" width="{width}" height="{height}" '
            f'alt="{html.escape(label, quote=True)}">'
            f'<img class="before" src="{before_uri}" width="{width}" height="{height}" '
            f'alt="{html.escape(labels[0], quote=True)}">'
            f'<div class="handle" style="left:50%"></div></div>\n'
            f'<input type="range" min="0" max="100" step="0.1" value="50" '
            f'style="max-width:{width}px" aria-label="split between '
            f'{html.escape(labels[0], quote=True)} and {html.escape(label, quote=True)}">\n'
            f"</section>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n" + "\n".join(sections)
        + f"\n<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )


# --- files ------------------------------------------------------------------------------------


def read_for_compare(path: str | Path, *, max_pixels: int | None = None) -> Image.Image:
    """An image file as upright 8-bit RGB (through :func:`imgrestore.imaging.read_image`)."""
    from imgrestore.imaging import read_image

    return to_pil(read_image(Path(path), max_pixels=max_pixels).pixels)


_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
            ".tif": "TIFF", ".tiff": "TIFF"}


def save_picture(image: Image.Image, path: str | Path, *, quality: int = 90) -> Path:
    """Write ``image`` atomically; the format follows the extension (png, jpg, webp, tif)."""
    from imgrestore.files import atomic_write

    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"{path}: use a .png, .jpg, .webp or .tif name")
    buffer = io.BytesIO()
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    image.save(buffer, format=fmt, **options)
    atomic_write(path, buffer.getvalue())
    return path


def save_text(text: str, path: str | Path) -> Path:
    from imgrestore.files import atomic_write

    atomic_write(Path(path), text.encode("utf-8"))
    return Path(path)


def default_labels(paths: Sequence[str | Path]) -> list[str]:
    """File names, made unique by their folder when two are the same."""
    names = [Path(p).name for p in paths]
    return [str(Path(p)) if names.count(Path(p).name) > 1 else Path(p).name for p in paths]


__all__ = [
    "GAP",
    "auto_zoom",
    "band_height",
    "common_size",
    "data_uri",
    "default_labels",
    "html_page",
    "parse_box",
    "read_for_compare",
    "save_picture",
    "save_text",
    "side_by_side",
    "split",
    "to_pil",
    "zoom_factor",
]
