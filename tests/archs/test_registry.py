"""The family registry: lookups, registration, and a new family reaching the user.

The toy family (tests/archs/toy/: a network and a descriptor) is registered with one
line and runs through ``imgrestore denoise --model`` without any other module knowing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from imgrestore import archs
from imgrestore.archs.descriptor import FamilyDescriptor
from imgrestore.cli import main
from imgrestore.imaging import read_image
from imgrestore.testing import keyseed_
from imgrestore.zoo.modeldir import ModelMeta, write_model_dir

from .toy import DESCRIPTOR as TOY

PHOTO = Path(__file__).parent.parent / "data" / "photos"


@pytest.fixture
def toy() -> Iterator[FamilyDescriptor]:
    archs.register(TOY)  # the one registry line a new family needs
    try:
        yield TOY
    finally:
        archs.unregister(TOY.name)


def test_the_three_families_in_order() -> None:
    assert list(archs.FAMILIES) == ["mprnet", "mirnet", "mirnetv2"]
    for name, family in archs.FAMILIES.items():
        assert family.name == name and archs.family(name) is family
        for config in family.configurations:
            assert archs.spec(config).family == name
    with pytest.raises(KeyError, match="mprnet, mirnet, mirnetv2"):
        archs.family("unet")


def test_registration_is_live_and_undone(toy: FamilyDescriptor) -> None:
    assert archs.FAMILIES["toy"] is toy
    assert "toy_small" in archs.COMPACT_SPECS and "toy_small" not in archs.SPECS
    spec = archs.spec("toy_small")
    assert (spec.family, spec.in_channels, spec.multiple_of) == ("toy", 3, 2)
    archs.unregister("toy")
    assert "toy" not in archs.FAMILIES and "toy_small" not in archs.COMPACT_SPECS


def test_names_cannot_be_taken_twice(toy: FamilyDescriptor) -> None:
    import dataclasses

    with pytest.raises(ValueError, match="already registered"):
        archs.register(dataclasses.replace(toy))
    other = dataclasses.replace(toy, name="toy2")
    with pytest.raises(ValueError, match="toy_small"):
        archs.register(other)
    assert archs.register(toy) is toy  # registering the same descriptor again is harmless


def _toy_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return keyseed_(archs.build("toy", channels=3, width=4)).eval()


def _denoise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: Path) -> Path:
    monkeypatch.setenv("IMGRESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    photo = sorted(PHOTO.glob("*.jpg"))[0]
    out = tmp_path / "out.png"
    with pytest.raises(SystemExit) as done:
        main(["denoise", str(photo), "--model", str(model), "-o", str(out), "--device", "cpu",
              "--quiet"])
    assert done.value.code == 0
    with torch.inference_mode():
        x = torch.from_numpy(read_image(photo).pixels).permute(2, 0, 1)[None]
        expected = archs.restore(_toy_net(), archs.spec("toy_small"), x)
    expected = expected.clamp(0, 1)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(read_image(out).pixels, expected, atol=0.5 / 255 + 1e-6)
    return out


def test_a_toy_family_runs_through_denoise_from_a_model_folder(
    toy: FamilyDescriptor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "toy-model"
    write_model_dir(folder, _toy_net().state_dict(),
                    ModelMeta(family="toy", kwargs={"channels": 3, "width": 4},
                              task="denoise", name="toy"))
    _denoise(tmp_path, monkeypatch, folder)


def test_a_toy_family_is_recognised_from_a_bare_weights_file(
    toy: FamilyDescriptor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors.torch import save_file

    weights = tmp_path / "toy.safetensors"
    save_file({f"module.{k}": v for k, v in _toy_net().state_dict().items()}, str(weights))
    _denoise(tmp_path, monkeypatch, weights)
