"""``imgrestore data prepare`` on tiny synthetic stand-ins of each data set's layout."""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
import pytest

from imgrestore.cli import main
from imgrestore.datasets.prepare import prepare
from imgrestore.errors import UsageError
from imgrestore.training.layout import find_layout


def _png(path: Path, h: int, w: int, seed: int, dtype: type = np.uint8) -> np.ndarray:
    """A textured image that compresses well (fast to write), different for each seed."""
    top = 65535 if dtype is np.uint16 else 255
    yy, xx, cc = np.mgrid[0:h, 0:w, 0:3]
    pixels = ((yy * (3 + seed) + xx * (5 + cc) + (xx // 7) * (yy // 5) * seed) % top)
    pixels = pixels.astype(dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(imagecodecs.png_encode(pixels))
    return pixels


def _read(path: Path) -> np.ndarray:
    return imagecodecs.imread(str(path))


def test_sidd(tmp_path: Path) -> None:
    from scipy.io import savemat

    scene = tmp_path / "SIDD_Medium_Srgb" / "Data" / "0001_001_S6_00100_00060_3200_L"
    noisy = _png(scene / "0001_NOISY_SRGB_010.PNG", 600, 700, 1)
    _png(scene / "0001_GT_SRGB_010.PNG", 600, 700, 2)
    blocks = np.random.default_rng(3).integers(0, 255, (2, 3, 8, 8, 3)).astype(np.uint8)
    savemat(tmp_path / "SIDD_Medium_Srgb" / "ValidationNoisyBlocksSrgb.mat",
            {"ValidationNoisyBlocksSrgb": blocks})
    savemat(tmp_path / "SIDD_Medium_Srgb" / "ValidationGtBlocksSrgb.mat",
            {"ValidationGtBlocksSrgb": blocks // 2})
    out = tmp_path / "datasets"
    counts = prepare("sidd", tmp_path / "SIDD_Medium_Srgb", out)
    assert counts == {"train/SIDD": 4, "SIDD/train": 300, "val/SIDD": 6, "SIDD/val": 6}
    crop = _read(out / "train/SIDD/input_crops/0001_NOISY_SRGB_010-2.png")
    assert np.array_equal(crop, noisy[0:512, 188:700])  # second window: (0, 188)
    # The layouts the recipes name are found as paired data.
    assert len(find_layout(out / "train" / "SIDD")) == 4  # mirnetv2_real_denoising
    assert len(find_layout(out / "SIDD" / "train")) == 300  # mprnet/mirnet_denoising
    assert len(find_layout(out / "val" / "SIDD")) == len(find_layout(out / "SIDD" / "val")) == 6
    assert np.array_equal(_read(out / "val/SIDD/target_crops/2_3.png"), blocks[1, 2] // 2)
    assert prepare("sidd", tmp_path / "SIDD_Medium_Srgb", out) == counts  # again: kept


def test_dpdd_keeps_16_bits(tmp_path: Path) -> None:
    src = tmp_path / "DPDD"
    views = ("inputL", "inputR", "inputC", "target")
    train = {v: _png(src / "train" / v / "1P0A0001.png", 600, 700, i, np.uint16)
             for i, v in enumerate(views)}
    for i, v in enumerate(views):
        _png(src / "val" / v / "1P0A0002.png", 300, 320, 10 + i, np.uint16)
        _png(src / "test" / v / "1P0A0003.png", 40, 40, 20 + i, np.uint16)
    out = tmp_path / "datasets"
    counts = prepare("dpdd", src, out)
    assert counts == {"train/DPDD": 3, "val/DPDD": 1, "test/DPDD": 1}  # 4 windows, 1 dropped
    crop = _read(out / "train/DPDD/inputR_crops/1P0A0001-1.png")
    assert crop.dtype == np.uint16
    layout = find_layout(out / "train" / "DPDD")
    assert layout.dual_pixel and len(layout) == 3
    windows = {(0, 0), (0, 188), (88, 188), (88, 0)}
    found = {w for w in windows
             if np.array_equal(crop, train["inputR"][w[0]:w[0] + 512, w[1]:w[1] + 512])}
    assert len(found) == 1  # bit-exact copy of one window
    val = _read(out / "val/DPDD/target_crops/1P0A0002.png")
    assert val.shape == (256, 256, 3) and val.dtype == np.uint16
    assert find_layout(out / "val" / "DPDD").dual_pixel


@pytest.mark.parametrize("kind", ["gopro", "rain13k", "lol", "realsr"])
def test_whole_image_sets(kind: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    layouts = {
        "gopro": [("GoPro_Large/train/GOPR0372_07_00/{}/000047.png", ("blur", "sharp")),
                  ("GoPro_Large/train/GOPR0372_07_01/{}/000047.png", ("blur", "sharp")),
                  ("GoPro_Large/test/GOPR0384_11_00/{}/000001.png", ("blur", "sharp"))],
        "rain13k": [("train/{}/1.png", ("input", "target")), ("train/{}/2.jpg", ("input", None)),
                    ("train/{}/2.png", (None, "target")),
                    ("test/Rain100L/{}/1.png", ("input", "target"))],
        "lol": [("our485/{}/2.png", ("low", "high")), ("our485/{}/5.png", ("low", "high")),
                ("eval15/{}/1.png", ("low", "high"))],
        "realsr": [("train/realSR/x2/{}/a.png", ("LR", "HR")),
                   ("test/realSR/x2/{}/b.png", ("LR", "HR"))],
    }[kind]
    for pattern, names in layouts:
        for n, name in enumerate(names):
            if name:
                size = (520, 600) if kind == "realsr" else (24, 32)
                _png(src / pattern.format(name), *size, seed=n)
    counts = prepare(kind, src, tmp_path / "datasets")
    expected = {
        "gopro": {"GoPro/train": 2, "GoPro/test": 1},
        "rain13k": {"Rain13K/train": 2, "Rain100L/test": 1},
        "lol": {"train/Lol": 2, "test/Lol": 1},
        "realsr": {"train/RealSR/x2": 4, "test/RealSR/x2": 1},
    }[kind]
    assert counts == expected
    for folder, count in expected.items():
        assert len(find_layout(tmp_path / "datasets" / folder)) == count
    # Whole images are linked, never modified: the source is untouched.
    assert all(p.stat().st_size > 0 for p in src.rglob("*.png"))


def test_cli_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "lol"
    for split, n in (("our485", 2), ("eval15", 1)):
        for i in range(n):
            for name in ("low", "high"):
                _png(src / split / name / f"{i}.png", 8, 8, i)
    try:
        main(["data", "prepare", "lol", str(src), str(tmp_path / "out")])
    except SystemExit as exit:
        assert not exit.code
    captured = capsys.readouterr()
    assert "lol: 2 training and 1 test pairs" in captured.err
    assert f"{tmp_path / 'out' / 'train' / 'Lol'}: 2" in captured.out
    with pytest.raises(UsageError, match="unknown data set"):
        prepare("imagenet", src, tmp_path / "x")
    with pytest.raises(UsageError, match="expected our485"):
        prepare("lol", tmp_path / "out" / "train", tmp_path / "y")
    with pytest.raises(UsageError, match="inside the source folder"):
        prepare("lol", src, src / "out")
