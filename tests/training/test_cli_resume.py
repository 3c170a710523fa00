"""``imgrestore train --resume``: the run's own recipe, refused overrides, the Ctrl-C hint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgrestore.training import checkpoint
from imgrestore.training.loop import train
from imgrestore.training.recipe import load_recipe
from imgrestore.training.report import read_log

from ._tiny import cli_recipe, run_cli

REPO_ROOT = Path(__file__).resolve().parents[2]


def _recipe(tmp_path: Path) -> Path:
    return cli_recipe(tmp_path, "iterations = 2000\nlog_every = 2\nsave_every = 250", "every = 250")


SETS = ["train.iterations=6", "val.every=3", "train.save_every=2"]


def test_resume_continues_with_the_runs_own_recipe(tmp_path, monkeypatch, capsys) -> None:
    """Item 3: ``--resume`` without the original --set flags used to continue a 6-iteration
    run as a 2000-iteration one with other validation settings, and rewrote recipe.json."""
    monkeypatch.chdir(tmp_path)
    recipe = _recipe(tmp_path)
    train(load_recipe(recipe, SETS), tmp_path / "run", stop_at=4)  # as if interrupted
    saved = (tmp_path / "run" / "recipe.json").read_bytes()
    assert run_cli("train", str(recipe), "-o", "run", "--resume", "-q") == 0, \
        capsys.readouterr().err
    state = checkpoint.load(tmp_path / "run" / "checkpoints" / checkpoint.LATEST)
    assert state["iteration"] == 6
    assert [r["iteration"] for r in read_log(tmp_path / "run") if r["event"] == "val"] == [
        0, 3, 6]
    assert (tmp_path / "run" / "recipe.json").read_bytes() == saved
    # The recipe argument may be left out, and run-time settings may change.
    assert run_cli("train", "-o", "run", "--resume", "-q", "--set", "train.log_every=1") == 0


def test_resume_refuses_settings_that_change_therun_cli(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    recipe = _recipe(tmp_path)
    train(load_recipe(recipe, SETS), tmp_path / "run", stop_at=2)
    capsys.readouterr()
    code = run_cli("train", "-o", "run", "--resume", "--set", "train.iterations=9",
                "--set", "val.every=2", "--set", "data.workers=0")
    err = capsys.readouterr().err
    assert code == 2
    assert "train.iterations = 9 (the run has 6)" in err and "val.every = 2 (the run has 3)" in err
    assert "data.workers" not in err  # how it runs, not what it computes
    assert run_cli("train", "-o", "elsewhere", "--resume") == 2
    assert "no run to resume" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_hint_gives_a_command_that_works(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "imgrestore", "train", str(recipe), "-o", "my run", "-q",
               "--set", "train.iterations=60", "--set", "train.save_every=1",
               "--set", "val.every=0", "--set", "data.val=''"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE,
                               text=True)
    latest = tmp_path / "my run" / "checkpoints" / checkpoint.LATEST
    deadline = time.monotonic() + 60
    while not latest.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    hint = err.rsplit("continue from the last checkpoint with: ", 1)[1].strip()
    assert hint == "imgrestore train --output 'my run' --resume"
    import shlex

    args = shlex.split(hint)[1:]
    args += ["-q", "--set", "train.save_every=100"]  # fewer checkpoints: a run-time setting
    done = subprocess.run([sys.executable, "-m", "imgrestore", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert checkpoint.load(latest)["iteration"] == 60
