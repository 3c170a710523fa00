"""Two processes under torchrun (gloo on CPU) train one model, validate and save together."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imgrestore.training import checkpoint
from imgrestore.training.report import read_log

from ._tiny import write_clean

REPO_ROOT = Path(__file__).resolve().parents[2]


def _torchrun(tmp_path: Path, recipe: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1",
           "IMGRESTORE_OFFLINE": "1", "IMGRESTORE_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "--standalone", "-m", "imgrestore", "train", str(recipe),
         "-o", str(tmp_path / "run"), *args],
        capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path,
    )


@pytest.mark.slow
def test_torchrun_validates_on_steps_that_are_not_checkpoints(tmp_path: Path) -> None:
    """Item 1: validation at iterations 3 and 6 (checkpoints every 100) used to deadlock:
    rank 0 entered the checkpoint's collective after validating, rank 1 never did."""
    write_clean(tmp_path / "train", 4)
    write_clean(tmp_path / "val", 3, seed=7, size=(24, 24))
    recipe = tmp_path / "ddp.toml"
    recipe.write_text(
        'name = "ddp"\n'
        '[model]\nfamily = "mirnetv2"\nkwargs = { n_feat = 8, chan_factor = 2.0 }\n'
        f'[data]\ntrain = "{tmp_path / "train"}"\nval = "{tmp_path / "val"}"\n'
        'patch = 16\nbatch = 2\ndegradation = { kind = "gaussian_noise", sigma = 20 }\n'
        '[train]\niterations = 8\nlog_every = 4\nsave_every = 100\ndevice = "cpu"\n'
        '[val]\nevery = 3\n'
    )
    done = _torchrun(tmp_path, recipe)  # no -q: rank 0 prints progress lines (no TTY)
    assert done.returncode == 0, done.stderr[-3000:]
    log = read_log(tmp_path / "run")
    starts = [r for r in log if r["event"] == "start"]
    assert len(starts) == 1 and starts[0]["world"] == 2  # rank 0 alone writes
    assert starts[0]["batches_per_epoch"] == 1  # 4 images, 2 processes, batch 2
    vals = [r for r in log if r["event"] == "val"]
    assert [r["iteration"] for r in vals] == [0, 3, 6, 8]
    assert all(r["images"] == 3 for r in vals)  # both ranks' shares (2 + 1) gathered
    assert [r["iteration"] for r in log if r["event"] == "checkpoint"] == [3, 6, 8]
    state = checkpoint.load(tmp_path / "run" / "checkpoints" / checkpoint.LATEST)
    assert state["iteration"] == 8 and len(state["rng"]) == 2  # every rank's generators
    assert state["rng"][0]["numpy"] != state["rng"][1]["numpy"]  # per-rank seeds
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert done.stderr.count("train 4/8") == 1 and "val 3/8" in done.stderr  # once, rank 0
