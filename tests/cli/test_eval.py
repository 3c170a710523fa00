"""``imgrestore eval`` and ``imgrestore compare`` as a user runs them (subprocesses)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from imgrestore.evaluation.compare import GAP, band_height
from tests.cli.conftest import PHOTOS, _env


def test_eval_writes_json_and_csv(cli, photos, tmp_path):
    done = cli("eval", "denoise", "--clean", photos, "--synthesize", "gaussian_noise:sigma=25",
               "--seed", "1", "-m", "identity", "-m", "denoise", "--crop", "2",
               "--json", tmp_path / "scores.json", "--csv", tmp_path / "scores.csv")
    assert done.returncode == 0, done.stderr.decode()
    table = done.stdout.decode()
    assert "identity" in table and "mirnetv2_real_denoising" in table and "s/MP" in table
    data = json.loads((tmp_path / "scores.json").read_text())
    assert data["task"] == "denoise" and data["seed"] == 1 and data["crop"] == 2
    assert data["synthesize"] == "gaussian_noise:sigma=25,clip=false"
    assert [m["label"] for m in data["models"]] == ["identity", "mirnetv2_real_denoising"]
    assert len(data["images"]) == 10
    assert {i["image"] for i in data["images"]} == {p.name for p in photos.iterdir()}
    model = [i for i in data["images"] if i["model"] == "mirnetv2_real_denoising"]
    assert all(i["seconds"] > 0 and 0 < i["ssim"] <= 1 for i in model)
    summary = {s["model"]: s for s in data["summary"]}
    assert summary["identity"]["psnr"] == pytest.approx(
        np.mean([i["psnr"] for i in data["images"] if i["model"] == "identity"]))
    assert summary["identity"]["seconds_per_megapixel"] is None
    assert summary["mirnetv2_real_denoising"]["seconds_per_megapixel"] > 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "scores.csv").read_text())))
    assert len(rows) == 12
    for row, item in zip(rows[:10], data["images"], strict=True):
        assert (row["image"], row["model"]) == (item["image"], item["model"])
        assert float(row["psnr"]) == pytest.approx(item["psnr"], abs=1e-9)


def test_eval_json_on_stdout_and_errors(cli, photos, tmp_path):
    done = cli("eval", "denoise", "--clean", photos, "--degraded", photos, "-m", "identity",
               "--json", "-", "-q")
    assert done.returncode == 0, done.stderr.decode()
    data = json.loads(done.stdout)
    assert all(i["psnr"] is None and i["ssim"] == 1.0 for i in data["images"])  # identical
    bad = cli("eval", "denoise", "--clean", photos, "--synthesize", "gaussian_noise:sigmaa=3")
    assert bad.returncode == 2 and b"no parameter 'sigmaa'" in bad.stderr
    both = cli("eval", "denoise", "--clean", photos)
    assert both.returncode == 2 and b"either --degraded" in both.stderr
    kite = (photos / "kite.jpg").read_bytes()
    for option in ("--json", "--csv"):
        clobber = cli("eval", "denoise", "--clean", photos, "--degraded", photos,
                      "-m", "identity", option, photos / "kite.jpg")
        assert clobber.returncode == 2 and b"not a text report" in clobber.stderr
    assert (photos / "kite.jpg").read_bytes() == kite


def test_compare_picture_and_page(cli, photos, tmp_path):
    original, restored = photos / "kite.jpg", photos / "path.jpg"
    done = cli("compare", original, restored, "-o", tmp_path / "cmp.png", "--zoom", "auto",
               "--label", "before", "--label", "after", "--html", tmp_path / "cmp.html")
    assert done.returncode == 0, done.stderr.decode()
    picture = Image.open(tmp_path / "cmp.png")
    band = band_height(64)
    assert picture.size == (2 * 64 + GAP, band + 48 + GAP + 48)  # auto zoom: 16 px x 3
    page = (tmp_path / "cmp.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<title>before: before" in page
    split = cli("compare", original, restored, "--split", "-o", tmp_path / "split.jpg")
    assert split.returncode == 0 and Image.open(tmp_path / "split.jpg").size == (64, band + 48)
    assert cli("compare", original, restored).returncode == 2
    assert cli("compare", original, restored, restored, "--split", "-o",
               tmp_path / "x.png").returncode == 2
    over = cli("compare", original, restored, "-o", restored)
    assert over.returncode == 2 and b"refusing to write over" in over.stderr
    assert restored.read_bytes() == (PHOTOS / "path.jpg").read_bytes()  # untouched


def test_eval_and_compare_help_do_not_import_torch(weights_home):
    for args in (["eval", "--help"], ["compare", "--help"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "imgrestore", *args],
            env=_env(weights_home), capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
        assert "torch" not in imported and "skimage" not in imported, args
