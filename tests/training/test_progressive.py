from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from imgrestore.training.loop import StepInfo, train
from imgrestore.training.progressive import ProgressiveSchedule, Stage, select
from imgrestore.training.recipe import recipe_from_dict

from ._tiny import tiny_recipe, write_clean

OFFICIAL = ProgressiveSchedule(
    (128, 160, 192, 256, 320, 384), (8, 5, 4, 2, 1, 1),
    (92_000, 64_000, 48_000, 36_000, 36_000, 24_000),
)


def test_official_milestones() -> None:
    assert OFFICIAL.milestones == (92_000, 156_000, 204_000, 240_000, 276_000, 300_000)
    assert OFFICIAL.stage_at(1) == Stage(0, 128, 8)
    assert OFFICIAL.stage_at(92_000) == Stage(0, 128, 8)
    assert OFFICIAL.stage_at(92_001) == Stage(1, 160, 5)
    assert OFFICIAL.stage_at(276_001) == Stage(5, 384, 1)
    assert OFFICIAL.stage_at(400_000) == Stage(5, 384, 1)
    with pytest.raises(ValueError, match="same length"):
        ProgressiveSchedule((1, 2), (1,), (1, 2))


def test_select_subsamples_and_crops_one_common_window() -> None:
    inp = torch.arange(8 * 1 * 12 * 12, dtype=torch.float32).reshape(8, 1, 12, 12)
    target = inp + 0.5
    rng = np.random.default_rng(0)
    small_inp, small_target = select(inp, target, Stage(1, 5, 3), rng)
    assert small_inp.shape == (3, 1, 5, 5) and torch.equal(small_target, small_inp + 0.5)
    # One offset for the whole batch: every sample is the same window of its source.
    firsts = small_inp[:, 0, 0, 0]
    indices = (firsts // 144).long()
    offset = int(firsts[0]) % 144
    for k, index in enumerate(indices):
        y, x = divmod(offset, 12)
        assert torch.equal(small_inp[k, 0], inp[index, 0, y : y + 5, x : x + 5])
    assert len(set(indices.tolist())) == 3  # without replacement
    whole, _ = select(inp, target, Stage(0, 12, 8), rng)
    assert whole is inp


def test_trainer_switches_exactly_at_the_milestones(tmp_path: Path) -> None:
    write_clean(tmp_path / "train", 4)
    recipe = recipe_from_dict(tiny_recipe(
        "mirnetv2", tmp_path / "train",
        data={"patch": 16, "batch": 4},
        progressive={"patches": [8, 12, 16], "batches": [4, 3, 2], "iterations": [3, 2, 2]},
        train={"iterations": 0, "accumulate": 2},
    ))
    seen: list[StepInfo] = []
    result = train(recipe, tmp_path / "run", on_step=seen.append)
    assert result.iterations == 7
    assert [(s.batch, s.patch) for s in seen] == [(4, 8)] * 3 + [(3, 12)] * 2 + [(2, 16)] * 2
    from imgrestore.training.report import read_log

    stages = [r for r in read_log(tmp_path / "run") if r["event"] == "stage"]
    assert [(r["iteration"], r["patch"], r["batch"]) for r in stages] == [
        (1, 8, 4), (4, 12, 3), (6, 16, 2)]
