"""Validation reports the input's own figures beside the output's, and writes a picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from imgrestore.training import metrics
from imgrestore.training.layout import find_layout
from imgrestore.training.loop import train
from imgrestore.training.recipe import recipe_from_dict
from imgrestore.training.report import read_log
from imgrestore.training.validation import STRIP_CELL, as_target

from ._tiny import tiny_recipe, write_clean


def test_val_logs_input_psnr_and_writes_a_strip(tmp_path: Path) -> None:
    """Item 8: validation never reported the degraded input's own PSNR, and saved no image."""
    write_clean(tmp_path / "train", 3)
    write_clean(tmp_path / "val", 5, seed=20, size=(24, 30))
    recipe = recipe_from_dict(tiny_recipe("mirnetv2", tmp_path / "train", tmp_path / "val",
                                          train={"iterations": 2}, val={"every": 1}))
    train(recipe, tmp_path / "run")
    vals = [r for r in read_log(tmp_path / "run") if r["event"] == "val"]
    assert [r["iteration"] for r in vals] == [0, 1, 2]
    from imgrestore.training.data import ValSet

    valset = ValSet(find_layout(tmp_path / "val"), degradation=recipe.data.degradation)
    by_hand = np.mean([
        metrics.psnr(metrics.prepare(s["input"][None]), metrics.prepare(s["target"][None]))
        for s in (valset[i] for i in range(5))
    ])
    for record in vals:
        assert record["input_psnr"] == pytest.approx(by_hand, abs=1e-9)  # same every time
        assert 0 < record["input_ssim"] < 1 and record["images"] == 5
        strip = Image.open(tmp_path / "run" / record["strip"])
        assert strip.size == (3 * 30 + 2 * 4, 4 * 24 + 3 * 4)  # 3 columns, first 4 images
    assert vals[0]["strip"] == "samples/val_000000.png"
    assert len(list((tmp_path / "run" / "samples").glob("val_*.png"))) == 3


def test_inputs_made_comparable_with_the_target() -> None:
    dual = torch.cat([torch.full((1, 3, 4, 4), 0.2), torch.full((1, 3, 4, 4), 0.4)], dim=1)
    assert torch.allclose(as_target(dual, torch.zeros(1, 3, 4, 4)), torch.tensor(0.3))
    small = torch.rand(1, 3, 4, 5)
    assert as_target(small, torch.zeros(1, 3, 8, 10)).shape == (1, 3, 8, 10)
    assert STRIP_CELL == 256
