"""train/builtin/state.py: a packed unfinished run resumes, close to the unpacked one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from imgrestore.training import checkpoint
from imgrestore.training.loop import StepInfo, train
from imgrestore.training.recipe import recipe_from_dict

from ._tiny import tiny_recipe, write_clean

SCRIPT = Path(__file__).resolve().parents[2] / "train" / "builtin" / "state.py"


def _state_module(folder: Path):
    spec = importlib.util.spec_from_file_location("builtin_state", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.STATE = folder  # never write into the source tree
    return module


def test_a_packed_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    write_clean(tmp_path / "train", 4)
    recipe = recipe_from_dict(tiny_recipe(
        "mprnet", tmp_path / "train", train={"iterations": 12, "save_every": 6},
        loss={"edge_weight": 0.05}, optim={"lr": 1e-3},
    ))
    whole: list[StepInfo] = []
    train(recipe, tmp_path / "whole", live=False, on_step=whole.append)
    train(recipe, tmp_path / "first", live=False, stop_at=6)
    state = _state_module(tmp_path / "state")
    packed = state.pack(tmp_path / "first", "tiny")
    full = (tmp_path / "first" / "checkpoints" / "latest.pt").stat().st_size
    assert packed.stat().st_size < 0.5 * full  # 4 bytes a parameter instead of 12
    small = torch.load(packed, weights_only=True)
    assert all(v.dtype == torch.float16 for v in small["model"].values()
               if v.is_floating_point())
    with pytest.raises(SystemExit, match="already holds a run"):
        state.unpack("tiny", tmp_path / "first")
    state.unpack("tiny", tmp_path / "resumed")
    rest: list[StepInfo] = []
    train(recipe, tmp_path / "resumed", resume=True, live=False, on_step=rest.append)
    assert [s.iteration for s in rest] == list(range(7, 13))
    assert [s.lr for s in rest] == [s.lr for s in whole[6:]]  # same schedule, same place
    # Same batches (generator states kept); the weights differ only by rounding.
    assert np.allclose([s.loss for s in rest], [s.loss for s in whole[6:]], rtol=0.05)
    a = checkpoint.load(tmp_path / "whole" / "checkpoints" / checkpoint.LATEST)["model"]
    b = checkpoint.load(tmp_path / "resumed" / "checkpoints" / checkpoint.LATEST)["model"]
    assert all(b[k].dtype == a[k].dtype for k in a)
    assert (tmp_path / "resumed" / "imgrestore.json").is_file()
