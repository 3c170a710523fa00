"""Two processes under torchrun (gloo on CPU) train one model and save once."""

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


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path: Path) -> None:
    write_clean(tmp_path / "train", 4)
    recipe = tmp_path / "ddp.toml"
    recipe.write_text(
        'name = "ddp"\n'
        '[model]\nfamily = "mirnetv2"\nkwargs = { n_feat = 8, chan_factor = 2.0 }\n'
        f'[data]\ntrain = "{tmp_path / "train"}"\nval = "{tmp_path / "train"}"\n'
        'patch = 16\nbatch = 2\ndegradation = { kind = "gaussian_noise", sigma = 20 }\n'
        '[train]\niterations = 3\nlog_every = 1\ndevice = "cpu"\n[val]\nevery = 0\n'
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1",
           "IMGRESTORE_OFFLINE": "1", "IMGRESTORE_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "--standalone", "-m", "imgrestore", "train", str(recipe),
         "-o", str(tmp_path / "run"), "-q"],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    log = read_log(tmp_path / "run")
    starts = [r for r in log if r["event"] == "start"]
    assert len(starts) == 1 and starts[0]["world"] == 2  # rank 0 alone writes
    assert starts[0]["batches_per_epoch"] == 1  # 4 images, 2 processes, batch 2
    assert [r["iteration"] for r in log if r["event"] == "checkpoint"] == [3]
    state = checkpoint.load(tmp_path / "run" / "checkpoints" / checkpoint.LATEST)
    assert state["iteration"] == 3 and len(state["rng"]) == 2  # every rank's generators
    assert state["rng"][0]["numpy"] != state["rng"][1]["numpy"]  # per-rank seeds
    assert (tmp_path / "run" / "model.safetensors").is_file()
