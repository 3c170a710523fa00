"""A weights cache filled with deterministic weights, and a runner for the real console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

PHOTOS = Path(__file__).parent.parent / "data" / "photos"

#: The default cards the CLI tests use, with their official checkpoint container.
CARDS = {
    "mirnetv2_real_denoising": "params",
    "mprnet_deraining": "state_dict",
    "mirnetv2_super_resolution_x2": "params",
    "mirnetv2_defocus_deblurring_dualpixel": "params",
}

Runner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="session")
def weights_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """IMGRESTORE_HOME with official-format checkpoints (key-seeded) imported via the CLI."""
    import torch

    from imgrestore import archs
    from imgrestore.testing import keyseed_

    home = tmp_path_factory.mktemp("imgrestore-home")
    files = tmp_path_factory.mktemp("checkpoints")
    env = _env(home)
    for name, container in CARDS.items():
        path = files / f"{name}.pth"
        state = {f"module.{k}": v for k, v in keyseed_(archs.create(name)).state_dict().items()}
        if container == "params":
            state = {k.removeprefix("module."): v for k, v in state.items()}
        torch.save({container: state, "epoch": 3}, path)
        done = subprocess.run(
            [sys.executable, "-m", "imgrestore", "models", "import", str(path), "--as", name],
            env=env, capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stderr
    return home


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD_SIZE"))}
    env.update(
        IMGRESTORE_HOME=str(home), IMGRESTORE_OFFLINE="1", HF_HUB_OFFLINE="1", NO_COLOR="1",
        OMP_NUM_THREADS="1", COLUMNS="200",
    )
    return env


@pytest.fixture
def cli(weights_home: Path) -> Runner:
    """Run ``python -m imgrestore ARGS...`` as a user would; returns the completed process."""

    def run(*args: str, cwd: Path | None = None, stdin: bytes | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "imgrestore", *map(str, args)], cwd=cwd, input=stdin,
            env=_env(weights_home), capture_output=True, timeout=timeout,
        )

    return run


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder of small real photographs (copies: the fixtures stay untouched)."""
    folder = tmp_path / "photos"
    shutil.copytree(PHOTOS, folder)
    return folder
