"""``imgrestore train`` through the real app, and its model used by ``imgrestore denoise``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ._tiny import cli_recipe, run_cli, write_clean

REPO_ROOT = Path(__file__).resolve().parents[2]


def _recipe(tmp_path: Path) -> Path:
    return cli_recipe(tmp_path)


def test_train_then_denoise_with_therun_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMGRESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    recipe = _recipe(tmp_path)
    code = run_cli("train", str(recipe), "--set", "optim.lr=5e-4", "--output", "run", "-q")
    assert code == 0, capsys.readouterr().err
    assert "best validation PSNR" in capsys.readouterr().err
    saved = json.loads((tmp_path / "run" / "recipe.json").read_text())
    assert saved["optim"]["lr"] == 5e-4
    meta = json.loads((tmp_path / "run" / "imgrestore.json").read_text())
    assert meta["family"] == "mirnetv2" and meta["task"] == "denoise"
    assert meta["training"]["iterations"] == 4

    photo = tmp_path / "photos" / "val" / "img00.png"
    code = run_cli("denoise", str(photo), "--model", "run", "-o", str(tmp_path / "out"))
    assert code == 0, capsys.readouterr().err
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    recipe = _recipe(tmp_path)
    assert run_cli("train", str(recipe), "--set", "data.patch=big", "-q") == 2
    assert "data.patch" in capsys.readouterr().err
    assert run_cli("train", "no_such_recipe", "-q") == 2
    assert run_cli("train", str(recipe), "-o", "r", "-q") == 0
    assert run_cli("train", str(recipe), "-o", "r", "-q") == 2  # would overwrite a run
    assert "--resume" in capsys.readouterr().err
    assert run_cli("train", str(recipe), "-o", "r", "-q", "--resume") == 0


def test_bundled_recipes_resolve_by_name(tmp_path, monkeypatch) -> None:
    from imgrestore.cli import train

    monkeypatch.chdir(tmp_path)  # not from the checkout's train/ folder
    assert train.resolve_recipe("finetune_denoise").is_file()
    # An installed package has no train/ beside it: the recipes are in imgrestore/recipes/.
    installed = tmp_path / "site-packages" / "imgrestore" / "recipes"
    installed.mkdir(parents=True)
    (installed / "finetune_denoise.toml").write_text("name = 'x'\n")
    monkeypatch.setattr(train, "RECIPE_DIRS", (tmp_path / "no-checkout", installed))
    assert train.resolve_recipe("finetune_denoise") == installed / "finetune_denoise.toml"


def test_the_package_ships_every_module_and_the_recipes() -> None:
    """pyproject.toml lists the packages (to map train/ to imgrestore.recipes): complete?"""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    package = root / "imgrestore"
    found = [".".join(d.relative_to(root).parts) for d in [package, *package.rglob("*")]
             if d.is_dir() and d.name != "__pycache__"]  # every folder is a (namespace) package
    assert sorted(config["packages"]) == sorted([*found, "imgrestore.recipes"])
    assert config["package-dir"] == {"imgrestore.recipes": "train"}
    assert config["package-data"]["imgrestore.recipes"] == ["*.toml"]
    assert len(list((root / "train").glob("*.toml"))) >= 16


def test_train_help_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from imgrestore.cli.app import app\n"
        "try:\n"
        "    app(['train', '--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "print('TORCH', 'torch' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "TORCH False" in done.stdout


def test_progress_lines_without_a_terminal(tmp_path, monkeypatch, capsys) -> None:
    """Item 8: without a TTY nothing was printed until the end; now a line every log_every."""
    monkeypatch.chdir(tmp_path)
    recipe = _recipe(tmp_path)
    assert run_cli("train", str(recipe), "--output", "run") == 0
    err = capsys.readouterr().err
    assert [line.split("  ")[0] for line in err.splitlines() if line.startswith("train ")] == [
        "train 2/4", "train 4/4"]
    assert "val 4/4  psnr " in err and "(input " in err


def test_finetune_recipes_start_from_the_built_in_model(tmp_path, monkeypatch) -> None:
    """Item 10: the fine-tune recipes pointed to the non-commercial released weights; they
    now start from the task's built-in model (MIT), and --from still takes any model."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMGRESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    write_clean(tmp_path / "mine", 2, size=(48, 48))
    sets = ["--set", "data.train=mine", "--set", "data.val=mine", "--set", "data.patch=32",
            "--set", "data.batch=2", "--set", "train.iterations=1", "-q"]
    assert run_cli("train", "finetune_denoise", "-o", "tuned", *sets) == 0
    meta = json.loads((tmp_path / "tuned" / "imgrestore.json").read_text())
    assert meta["training"]["from"] == "builtin:builtin_denoise"
    assert meta["licence"].startswith("MIT")
    assert meta["kwargs"]["n_feat"] == 12  # the built-in's network, not the recipe's 16
    saved = json.loads((tmp_path / "tuned" / "recipe.json").read_text())["model"]
    assert saved["pretrained"] == "builtin_denoise" and saved["kwargs"]["n_feat"] == 12
    assert run_cli("train", "finetune_denoise", "-o", "fresh", "--from", "scratch", *sets) == 0
    meta = json.loads((tmp_path / "fresh" / "imgrestore.json").read_text())
    assert meta["training"]["from"] is None and meta["kwargs"]["n_feat"] == 16


def test_list_and_nearest_name(capsys) -> None:
    assert run_cli("train", "--list") == 0
    out = capsys.readouterr().out
    assert "finetune_denoise" in out and "mprnet_deblurring" in out
    assert "Denoiser fine-tuned on your photos" in out
    assert run_cli("train", "finetune_denoize", "-q") == 2
    assert "did you mean finetune_denoise?" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "ema"), [("latest.pt", "0"), ("latest.pt", "0.9"),
                                           ("best.pt", "0.9")])
def test_from_a_training_checkpoint(tmp_path, monkeypatch, capsys, name: str, ema: str) -> None:
    """``--from RUN/checkpoints/latest.pt`` used to fail with "no state dict found ...
    (found: format, model, ema, optimizer, scaler)"; it starts from the checkpoint's
    weights (the EMA's when the run keeps one)."""
    from imgrestore.training import checkpoint
    from imgrestore.zoo.loading import load_model

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMGRESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    recipe = _recipe(tmp_path)
    code = run_cli("train", str(recipe), "-o", "first", "-q", "--set", f"train.ema={ema}")
    assert code == 0, capsys.readouterr().err
    path = tmp_path / "first" / "checkpoints" / name
    saved = checkpoint.load(path)
    weights = saved["ema"] if saved.get("ema") is not None else saved["model"]
    assert (saved.get("ema") is not None) == (name == "latest.pt" and ema != "0")
    loaded = load_model(str(path), notify=lambda _: None).net.state_dict()
    assert sorted(loaded) == sorted(weights)
    assert all(torch.equal(loaded[k], weights[k]) for k in weights)
    code = run_cli("train", str(recipe), "-o", "second", "-q", "--from", str(path))
    assert code == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "second" / "imgrestore.json").read_text())
    assert meta["training"]["from"].endswith(name)


def test_a_training_checkpoint_keeps_the_licence_of_its_start(tmp_path, monkeypatch) -> None:
    """``--from RUN/checkpoints/latest.pt`` used to drop the licence: a run continued from
    one that started from the built-in model (MIT) exported a model with no licence."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMGRESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    write_clean(tmp_path / "mine", 2, size=(48, 48))
    sets = ["--set", "data.train=mine", "--set", "data.val=mine", "--set", "data.patch=32",
            "--set", "data.batch=2", "--set", "train.iterations=1", "-q"]
    assert run_cli("train", "finetune_denoise", "-o", "first", *sets) == 0
    latest = tmp_path / "first" / "checkpoints" / "latest.pt"
    assert run_cli("train", "finetune_denoise", "-o", "second", "--from", str(latest), *sets) == 0
    meta = json.loads((tmp_path / "second" / "imgrestore.json").read_text())
    assert meta["training"]["from"].endswith("latest.pt")
    assert meta["licence"].startswith("MIT")
