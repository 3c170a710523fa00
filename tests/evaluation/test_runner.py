from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from imgrestore.errors import ImageError, UsageError
from imgrestore.evaluation.report import EvalReport, ImageScore, ModelInfo
from imgrestore.evaluation.runner import EvalRequest, evaluate
from imgrestore.evaluation.synth import parse_spec
from imgrestore.imaging import read_image
from imgrestore.ops.degrade import degrade


def _noisy_copies(clean: Path, folder: Path) -> Path:
    """Degraded versions as PNG files, some under another extension's name."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for path in sorted(clean.iterdir()):
        pixels = read_image(path).pixels
        noisy = np.clip(pixels + rng.normal(0, 0.1, pixels.shape), 0, 1)
        Image.fromarray(np.round(noisy * 255).astype(np.uint8)).save(folder / f"{path.stem}.png")
    return folder


def test_identity_is_the_degraded_input(photos: Path, tmp_path: Path) -> None:
    degraded = _noisy_copies(photos, tmp_path / "noisy")
    report = evaluate(EvalRequest("denoise", clean=photos, degraded=degraded,
                                  models=("identity",)))
    assert len(report.scores) == 5 and report.device == "none"
    for score in report.scores:
        clean = read_image(photos / score.image).pixels.astype(np.float64)
        noisy = read_image(degraded / score.image.replace(".jpg", ".png")).pixels
        assert score.psnr == pytest.approx(
            peak_signal_noise_ratio(clean, noisy.astype(np.float64), data_range=1), abs=1e-6)
        assert score.seconds is None
    (summary,) = report.summary()
    assert summary.psnr == pytest.approx(np.mean([s.psnr for s in report.scores]))
    assert summary.seconds_per_megapixel is None


def test_synthesized_inputs_are_the_training_degradation(photos: Path) -> None:
    spec = parse_spec("gaussian_noise:sigma=10..30,clip=true")
    report = evaluate(EvalRequest("denoise", clean=photos, synthesize=spec, seed=3,
                                  models=("identity",)))
    for index, score in enumerate(report.scores):
        clean = read_image(photos / score.image).pixels
        direct = degrade(spec, clean, np.random.default_rng([3, index]))
        assert score.psnr == pytest.approx(
            peak_signal_noise_ratio(clean.astype(np.float64), direct.astype(np.float64),
                                    data_range=1), abs=1e-6)
    again = evaluate(EvalRequest("denoise", clean=photos, synthesize=spec, seed=3,
                                 models=("identity",)))
    assert [s.psnr for s in again.scores] == [s.psnr for s in report.scores]
    other = evaluate(EvalRequest("denoise", clean=photos, synthesize=spec, seed=4,
                                 models=("identity",)))
    assert [s.psnr for s in other.scores] != [s.psnr for s in report.scores]
    assert report.synthesize == "gaussian_noise:sigma=10..30,clip=true"


def test_a_model_runs_through_the_engine(photos: Path, tiny_denoiser: Path) -> None:
    from imgrestore.engine.options import EngineOptions
    from imgrestore.engine.restorer import Restorer
    from imgrestore.ops.metrics import measure
    from imgrestore.zoo.loading import load_model

    spec = parse_spec("gaussian_noise:sigma=25")
    report = evaluate(EvalRequest("denoise", clean=photos / "kite.jpg", synthesize=spec,
                                  models=(str(tiny_denoiser), "identity", str(tiny_denoiser)),
                                  crop=2))
    labels = [m.label for m in report.models]
    assert labels == [str(tiny_denoiser), "identity", f"{tiny_denoiser} (2)"]
    loaded = load_model(str(tiny_denoiser))
    clean = read_image(photos / "kite.jpg").pixels
    restored = Restorer.from_model(loaded, EngineOptions(device="cpu"))(
        degrade(spec, clean, np.random.default_rng([0, 0])))
    expected = measure(restored, clean, crop_border=2)
    first, ident, second = report.scores
    assert (first.psnr, first.ssim, first.psnr_y, first.ssim_y) == pytest.approx(
        (expected.psnr, expected.ssim, expected.psnr_y, expected.ssim_y), abs=1e-9)
    assert second.psnr == pytest.approx(first.psnr, abs=1e-9)
    assert first.psnr != pytest.approx(ident.psnr, abs=0.01)
    assert first.seconds > 0 and first.megapixels == pytest.approx(64 * 48 / 1e6)
    assert report.summary()[0].seconds_per_megapixel == pytest.approx(
        first.seconds / first.megapixels)


def test_true_super_resolution(photos: Path, tiny_upscaler: Path) -> None:
    report = evaluate(EvalRequest("upscale", clean=photos / "path.jpg",
                                  synthesize=parse_spec("bicubic:scale=2,reupsample=false"),
                                  models=("identity", str(tiny_upscaler)), crop=2))
    ident, model = report.scores
    assert ident.megapixels == pytest.approx(64 * 48 / 1e6)
    assert 20 < ident.psnr < 60  # bicubic down then up: close but not equal
    assert math.isfinite(model.psnr)


def test_wrong_sizes_and_options(photos: Path, tmp_path: Path, tiny_upscaler: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    Image.new("RGB", (20, 20)).save(small / "kite.png")
    with pytest.raises(ImageError, match="does not fit its clean image"):
        evaluate(EvalRequest("denoise", clean=photos / "kite.jpg", degraded=small / "kite.png",
                             models=("identity",)))
    with pytest.raises(UsageError, match="either --degraded"):
        evaluate(EvalRequest("denoise", clean=photos))
    with pytest.raises(UsageError, match="unknown task"):
        evaluate(EvalRequest("sharpen", clean=photos, degraded=photos))
    with pytest.raises(UsageError, match="is a upscale model|not denoise"):
        evaluate(EvalRequest("denoise", clean=photos, degraded=photos,
                             models=(str(tiny_upscaler),)))


def test_report_files(tmp_path: Path) -> None:
    report = EvalReport(task="denoise", clean="c", synthesize="gaussian_noise:sigma=25",
                        models=[ModelInfo("identity", "identity", "the degraded input"),
                                ModelInfo("m", "m", "m/")])
    report.scores = [
        ImageScore("a.png", "identity", math.inf, 1.0, math.inf, 1.0, None, 0.5),
        ImageScore("a.png", "m", 30.0, 0.9, 31.0, 0.95, 1.0, 0.5),
        ImageScore("b.png", "m", 32.0, 0.8, 33.0, 0.85, 2.0, 1.5),
    ]
    report.save_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())  # strict JSON: no Infinity
    assert data["images"][0]["psnr"] is None
    assert data["summary"][1] == pytest.approx(
        {"model": "m", "images": 2, "psnr": 31.0, "ssim": 0.85, "psnr_y": 32.0, "ssim_y": 0.9,
         "seconds_per_megapixel": 1.5})
    report.save_csv(tmp_path / "r.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert [r["scope"] for r in rows] == ["image"] * 3 + ["summary"] * 2
    assert rows[0]["psnr"] == "inf" and rows[0]["seconds"] == ""
    assert float(rows[4]["seconds"]) == 1.5
