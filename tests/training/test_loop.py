from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from imgrestore import archs
from imgrestore.errors import UsageError, WeightsError
from imgrestore.training import checkpoint
from imgrestore.training.loop import StepInfo, train
from imgrestore.training.recipe import recipe_from_dict
from imgrestore.training.report import read_log

from ._tiny import TINY, tiny_recipe, write_clean, write_paired

HAS_ZOO = importlib.util.find_spec("imgrestore.zoo") is not None
needs_zoo = pytest.mark.skipif(
    not HAS_ZOO, reason="imgrestore.zoo (model folder format) is not merged into this branch yet"
)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    write_clean(root / "train", 4)
    write_clean(root / "val", 2, seed=10, size=(24, 24))
    return root


@pytest.mark.parametrize("family", list(TINY))
def test_a_few_iterations_reduce_the_loss(family: str, photos: Path, tmp_path: Path) -> None:
    extra = {"loss": {"edge_weight": 0.05}} if family == "mprnet" else {}
    recipe = recipe_from_dict(tiny_recipe(
        family, photos / "train", photos / "val", train={"iterations": 24},
        val={"every": 12}, **extra,
    ))
    losses: list[float] = []
    result = train(recipe, tmp_path / "run", on_step=lambda s: losses.append(s.loss))
    assert np.mean(losses[-6:]) < 0.8 * np.mean(losses[:6])
    vals = [r for r in read_log(tmp_path / "run") if r["event"] == "val"]
    assert [r["iteration"] for r in vals] == [0, 12, 24]
    assert vals[-1]["psnr"] > vals[0]["psnr"]
    assert result.best_psnr == max(r["psnr"] for r in vals)
    assert (tmp_path / "run" / "checkpoints" / "best.pt").is_file()


def _state(run: Path) -> dict:
    return checkpoint.load(run / "checkpoints" / checkpoint.LATEST)


def test_resume_continues_bit_identically(photos: Path, tmp_path: Path) -> None:
    recipe = recipe_from_dict(tiny_recipe(
        "mirnetv2", photos / "train", photos / "val",
        train={"iterations": 8, "ema": 0.9, "accumulate": 2, "save_every": 3},
        mixup={"kind": "per_batch", "prob": 0.5}, schedule={"kind": "warmup_cosine", "warmup": 2},
        optim={"clip_grad_norm": 0.5}, val={"every": 4},
    ))
    whole: list[StepInfo] = []
    train(recipe, tmp_path / "whole", on_step=whole.append)
    parts: list[StepInfo] = []
    first = train(recipe, tmp_path / "parts", on_step=parts.append, stop_at=5)
    assert first.iterations == 5 and not (tmp_path / "parts" / "imgrestore.json").exists()
    with pytest.raises(UsageError, match="already holds a run; pass --resume"):
        train(recipe, tmp_path / "parts")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.safetensors").write_bytes(b"weights trained elsewhere")
    for resume in (False, True):
        with pytest.raises(UsageError, match="already holds a model"):
            train(recipe, tmp_path / "model", resume=resume)
    assert (tmp_path / "model" / "model.safetensors").read_bytes() == b"weights trained elsewhere"
    train(recipe, tmp_path / "parts", resume=True, on_step=parts.append)
    assert [(s.iteration, s.loss, s.lr) for s in parts] == [
        (s.iteration, s.loss, s.lr) for s in whole]
    a, b = _state(tmp_path / "whole"), _state(tmp_path / "parts")
    assert a["iteration"] == b["iteration"] == 8
    for part in ("model", "ema"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part])
    moments = zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True)
    assert all(torch.equal(x["exp_avg_sq"], y["exp_avg_sq"]) for x, y in moments)
    assert a["best"] == b["best"]


def test_paired_data_and_pretrained_start(tmp_path: Path) -> None:
    write_paired(tmp_path / "pairs", 3, target="groundtruth")
    net = archs.build("mirnet", **TINY["mirnet"])
    weights = tmp_path / "start.pth"
    torch.save({"state_dict": net.state_dict()}, weights)
    recipe = recipe_from_dict(tiny_recipe("mirnet", tmp_path / "pairs", tmp_path / "pairs",
                                          train={"iterations": 2}, val={"every": 0}))
    result = train(recipe, tmp_path / "run", init_from=str(weights))
    vals = [r for r in read_log(tmp_path / "run") if r["event"] == "val"]
    before = archs.restore(net.eval(), archs.FAMILIES["mirnet"], torch.zeros(1, 3, 8, 8))
    assert result.iterations == 2 and len(vals) == 2 and before.shape == (1, 3, 8, 8)
    other = archs.build("mirnet", n_feat=16, n_RRG=1, n_MSRB=1)
    torch.save(other.state_dict(), weights)
    if not HAS_ZOO:  # the zoo would pick the weights' own network instead
        with pytest.raises(WeightsError, match="do not fit the recipe's network"):
            train(recipe, tmp_path / "run2", init_from=str(weights))


def test_setting_errors(photos: Path, tmp_path: Path) -> None:
    base = tiny_recipe("mirnetv2", photos / "train")
    with pytest.raises(UsageError, match="needs a CUDA device"):
        train(recipe_from_dict({**base, "train": {"iterations": 1, "amp": "bf16",
                                                  "device": "cpu"}}), tmp_path / "a")
    with pytest.raises(UsageError, match="fewer than one batch of 8"):
        train(recipe_from_dict({**base, "data": {**base["data"], "batch": 8}}), tmp_path / "b")
    with pytest.raises(UsageError, match="no run length"):
        train(recipe_from_dict({**base, "train": {}}), tmp_path / "c")


@needs_zoo
def test_exported_model_loads_and_restores(photos: Path, tmp_path: Path) -> None:
    from imgrestore.zoo.loading import load_model

    recipe = recipe_from_dict(tiny_recipe("mprnet", photos / "train", photos / "val",
                                          train={"iterations": 3}, val={"every": 0}))
    result = train(recipe, tmp_path / "run")
    assert result.exported
    loaded = load_model(str(tmp_path / "run"))
    assert loaded.spec.family == "mprnet" and loaded.task == "denoise"
    assert dict(loaded.spec.kwargs)["n_feat"] == 8
    best = checkpoint.load_weights(tmp_path / "run" / "checkpoints" / checkpoint.BEST)
    assert all(torch.equal(v, best[k]) for k, v in loaded.net.state_dict().items())
    x = torch.rand(1, 3, 20, 28)
    out = archs.restore(loaded.net, loaded.spec, x)
    assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_on_cuda(amp: str, photos: Path, tmp_path: Path) -> None:
    recipe = recipe_from_dict(tiny_recipe(
        "mprnet", photos / "train", photos / "val",
        train={"iterations": 12, "amp": amp, "device": "cuda"}, val={"every": 0},
    ))
    losses: list[float] = []
    result = train(recipe, tmp_path / "run", on_step=lambda s: losses.append(s.loss))
    assert all(np.isfinite(losses)) and np.mean(losses[-4:]) < np.mean(losses[:4])
    assert result.best_psnr is not None and np.isfinite(result.best_psnr)
