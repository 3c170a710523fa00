"""What a run is made of before its first step: arguments, run length, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from imgrestore.errors import UsageError
from imgrestore.training.recipe import ModelSection, recipe_from_dict
from imgrestore.training.setup import (
    check_amp,
    network_kwargs,
    previous_state,
    total_iterations,
)


def test_network_kwargs_start_from_the_configuration() -> None:
    model = ModelSection(family="mprnet", configuration="mprnet_deraining",
                         kwargs={"num_cab": 2})
    kwargs = network_kwargs(model)
    assert kwargs["n_feat"] == 40 and kwargs["num_cab"] == 2
    assert network_kwargs(ModelSection(family="mirnet", kwargs={"n_feat": 8})) == {"n_feat": 8}
    with pytest.raises(UsageError, match="mprnet_deraining is mprnet, not mirnetv2"):
        network_kwargs(ModelSection(family="mirnetv2", configuration="mprnet_deraining"))


def test_a_recipe_names_a_registered_family() -> None:
    with pytest.raises(UsageError, match="model.family = 'unet': expected one of mprnet, "
                                         "mirnet, mirnetv2"):
        recipe_from_dict({"model": {"family": "unet"}})
    assert recipe_from_dict({}).model.family == "mirnetv2"


def test_run_length() -> None:
    def length(**train: int) -> int:
        return total_iterations(recipe_from_dict({"train": train}), 10, None)

    assert length(epochs=3, accumulate=2) == 15
    assert length(iterations=7) == 7
    with pytest.raises(UsageError, match="no run length"):
        length()


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="needs a CUDA device"):
        check_amp("fp16", torch.device("cpu"))
    check_amp("off", torch.device("cpu"))
    notes: list[str] = []
    assert previous_state(tmp_path, True, notes.append) is None
    assert notes == [f"{tmp_path}: nothing to resume; starting a new run"]
    (tmp_path / "model.safetensors").write_bytes(b"a model")
    with pytest.raises(UsageError, match="already holds a model"):
        previous_state(tmp_path, False, notes.append)
