"""Small model folders with deterministic weights, and copies of the test photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PHOTOS = Path(__file__).parent.parent / "data" / "photos"


def _tiny(folder: Path, task: str, scale: int) -> Path:
    from imgrestore import archs
    from imgrestore.testing import keyseed_
    from imgrestore.zoo.modeldir import ModelMeta, write_model_dir

    kwargs = {"n_feat": 16}
    net = keyseed_(archs.build("mirnetv2", **kwargs))
    write_model_dir(folder, net.state_dict(),
                    ModelMeta(family="mirnetv2", kwargs=kwargs, task=task, scale=scale,
                              name=f"tiny-{task}"))
    return folder


@pytest.fixture(scope="session")
def tiny_denoiser(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A MIRNet-v2 model folder at width 16 (key-seeded weights) for denoise."""
    return _tiny(tmp_path_factory.mktemp("tiny-denoise"), "denoise", 1)


@pytest.fixture(scope="session")
def tiny_upscaler(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same network as a x2 upscale model (bicubic pre-upsampling)."""
    return _tiny(tmp_path_factory.mktemp("tiny-x2"), "upscale", 2)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "clean"
    shutil.copytree(PHOTOS, folder)
    return folder
