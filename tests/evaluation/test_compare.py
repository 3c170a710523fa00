from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgrestore.errors import UsageError
from imgrestore.evaluation.compare import (
    BACKGROUND,
    GAP,
    auto_zoom,
    band_height,
    common_size,
    html_page,
    parse_box,
    side_by_side,
    split,
    zoom_factor,
)


def _image(seed: int, size: tuple[int, int] = (96, 64)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def _px(image: Image.Image) -> np.ndarray:
    return np.asarray(image)


def test_side_by_side_layout() -> None:
    images = [_image(0), _image(1), _image(2)]
    picture = side_by_side(images, ["noisy", "restored", "clean"])
    band = band_height(96)
    assert picture.size == (3 * 96 + 2 * GAP, band + 64)
    out = _px(picture)
    for i, image in enumerate(images):
        left = i * (96 + GAP)
        assert np.array_equal(out[band:, left:left + 96], _px(image))
        label = out[:band, left:left + 96]
        assert (label != BACKGROUND).any(axis=-1).any()  # some text
        assert (label == BACKGROUND).all(axis=-1).mean() > 0.7  # mostly band
    assert (out[:, 96:96 + GAP] == BACKGROUND).all()  # the gap


def test_zoomed_crops_are_enlarged_pixels() -> None:
    images = [_image(0), _image(1)]
    box = (10, 20, 16, 12)
    picture = side_by_side(images, ["a", "b"], zoom=box)
    factor = zoom_factor(box, (96, 64))
    assert factor == 5
    band = band_height(96)
    assert picture.size == (2 * 96 + GAP, band + 64 + GAP + 12 * factor)
    out = _px(picture)
    top = band + 64 + GAP
    left = 96 + GAP + (96 - 16 * factor) // 2
    zoomed = out[top:top + 12 * factor, left:left + 16 * factor]
    expected = _px(images[1])[20:32, 10:26].repeat(factor, 0).repeat(factor, 1)
    assert np.array_equal(zoomed, expected)
    # The region is outlined on the picture; pixels away from the outline are untouched.
    panel = out[band:band + 64, :96]
    assert not np.array_equal(panel[20, 10:26], _px(images[0])[20, 10:26])
    assert np.array_equal(panel[40:, 40:], _px(images[0])[40:, 40:])


def test_split_takes_each_side_from_one_image() -> None:
    before, after = _image(3), _image(4)
    picture = split(before, after, ["before", "after"], position=0.25)
    band = band_height(96)
    assert picture.size == (96, band + 64)
    out = _px(picture)[band:]
    assert np.array_equal(out[:, :23], _px(before)[:, :23])
    assert np.array_equal(out[:, 25:], _px(after)[:, 25:])
    assert (out[:, 23:25] == 255).all()  # the split line
    zoomed = split(before, after, ["b", "a"], zoom=(0, 0, 8, 8))
    assert zoomed.height == band + 64 + GAP + 8 * zoom_factor((0, 0, 8, 8), ((96 - GAP) // 2, 64))


def test_sizes_and_boxes() -> None:
    small, large = _image(0, (48, 32)), _image(1, (96, 64))
    assert [im.size for im in common_size([small, large])] == [(96, 64), (96, 64)]
    assert parse_box("1,2,30,40", (96, 64)) == (1, 2, 30, 40)
    for bad in ("1,2,3", "a,b,c,d", "90,0,10,10", "0,0,0,5"):
        with pytest.raises(UsageError):
            parse_box(bad, (96, 64))
    with pytest.raises(UsageError, match="labels"):
        side_by_side([small], ["a", "b"])


def test_auto_zoom_finds_the_detail_that_changed() -> None:
    ramp = np.linspace(0, 200, 96, dtype=np.uint8)[None, :, None].repeat(64, 0).repeat(3, 2)
    before = Image.fromarray(np.ascontiguousarray(ramp))
    changed = before.copy()
    changed.paste(_image(5, (16, 16)), (60, 30))  # new texture in one place
    assert auto_zoom(before, changed, 16) == (60, 30, 16, 16)
    assert auto_zoom(before, changed)[2] == 16  # a quarter of the short side
    flat = Image.new("RGB", (96, 64), (90, 90, 90))
    assert auto_zoom(flat, flat, 16) == (40, 24, 16, 16)  # nothing to see: the centre


def _page(tmp_path: Path) -> tuple[Path, Image.Image, Image.Image]:
    before, after = _image(6), _image(7)
    page = html_page(before, [after], ["noisy <1>", "restored"], title="Kite")
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    return path, before, after


def test_html_is_self_contained(tmp_path: Path) -> None:
    path, before, after = _page(tmp_path)
    text = path.read_text()
    assert "noisy &lt;1&gt;" in text
    sources = re.findall(r'src="([^"]*)"', text)
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"https?://|<link|@import", text)
    decoded = [Image.open(io.BytesIO(base64.b64decode(s.split(",", 1)[1]))) for s in sources]
    assert np.array_equal(_px(decoded[0]), _px(after))
    assert np.array_equal(_px(decoded[1]), _px(before))


PROBE = """<script>
window.addEventListener("load", function () {
  var section = document.querySelector("section.compare");
  var slider = section.querySelector("input[type=range]");
  var before = section.querySelector("img.before");
  var result = {images: Array.from(section.querySelectorAll("img")).map(function (img) {
    var box = img.getBoundingClientRect();
    return [img.className, img.complete, img.naturalWidth, Math.round(box.width)]; }),
    start: before.style.clipPath};
  slider.value = "25";
  slider.dispatchEvent(new Event("input", {bubbles: true}));
  result.moved = before.style.clipPath;
  result.position = section.dataset.position;
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script></body>"""


def test_html_slider_in_headless_chromium(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    path, _, _ = _page(tmp_path)
    probe = tmp_path / "probe.html"
    probe.write_text(path.read_text().replace("</body>", PROBE))
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=60,
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout)
    assert found, done.stderr[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"'))
    assert result["images"] == [["after", True, 96, 96], ["before", True, 96, 96]]
    assert result["start"] == "inset(0px 50% 0px 0px)"
    assert result["moved"] == "inset(0px 75% 0px 0px)"
    assert result["position"] == "25"
