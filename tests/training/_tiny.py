"""Tiny images and tiny networks for the training tests (made here, nothing downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

#: Tiny widths of each family: a training step takes milliseconds.
TINY = {
    "mirnetv2": {"n_feat": 8, "chan_factor": 2.0},
    "mprnet": {"n_feat": 8, "scale_unetfeats": 4, "scale_orsnetfeats": 4, "num_cab": 1},
    "mirnet": {"n_feat": 8, "n_RRG": 1, "n_MSRB": 1},
}


def photo(seed: int, size: tuple[int, int] = (40, 40)) -> np.ndarray:
    """A smooth synthetic 'photo' (uint8 H x W x 3) with some texture."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 0.5 + 0.35 * np.sin(xx / rng.uniform(2, 5) + rng.uniform(0, 6))[..., None] * np.array(
        [1.0, 0.6, 0.3]
    )
    img += 0.1 * np.cos(yy / rng.uniform(2, 6))[..., None]
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def write_clean(
    folder: Path, count: int, *, seed: int = 0, size: tuple[int, int] = (40, 40)
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(photo(seed + i, size)).save(folder / f"img{i:02d}.png")
    return folder


def write_paired(root: Path, count: int, *, target: str = "target", suffix: str = "") -> Path:
    (root / f"input{suffix}").mkdir(parents=True, exist_ok=True)
    (root / f"{target}{suffix}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        clean = photo(i)
        noisy = np.clip(clean.astype(int) + np.random.default_rng(i).integers(-20, 20, clean.shape),
                        0, 255).astype(np.uint8)
        Image.fromarray(clean).save(root / f"{target}{suffix}" / f"{i}.png")
        Image.fromarray(noisy).save(root / f"input{suffix}" / f"{i}.png")
    return root


def tiny_recipe(
    family: str, train_dir: Path, val_dir: Path | None = None, /, **sections: dict
) -> dict:
    """A recipe dict for a tiny network on tiny data (sections update the defaults)."""
    data = {
        "train": str(train_dir), "val": str(val_dir) if val_dir else "",
        "degradation": {"kind": "gaussian_noise", "sigma": 25}, "patch": 16, "batch": 2,
    }
    recipe = {
        "name": f"tiny_{family}",
        "model": {"family": family, "kwargs": TINY[family]},
        "data": data,
        "optim": {"lr": 1e-3},
        "schedule": {"kind": "constant"},
        "train": {"iterations": 10, "log_every": 5, "save_every": 100},
        "val": {"every": 0},
    }
    for name, values in sections.items():
        recipe.setdefault(name, {}).update(values)
    return recipe


def run_cli(*args: str) -> int:
    """``imgrestore ARGS`` through the real app; its exit code."""
    from imgrestore.cli import main

    try:
        main(list(args))
    except SystemExit as exit:
        return int(exit.code or 0)
    return 0


def cli_recipe(tmp_path: Path, train: str = "iterations = 4\nlog_every = 2",
               val: str = "every = 0") -> Path:
    """A tiny recipe file reading ``photos/train`` and ``photos/val`` (written here)."""
    write_clean(tmp_path / "photos" / "train", 3)
    write_clean(tmp_path / "photos" / "val", 1, seed=9, size=(24, 24))
    path = tmp_path / "tiny.toml"
    path.write_text(
        'name = "tiny"\n'
        '[model]\nfamily = "mirnetv2"\nkwargs = { n_feat = 8, chan_factor = 2.0 }\n'
        '[data]\ntrain = "photos/train"\nval = "photos/val"\npatch = 16\nbatch = 2\n'
        'degradation = { kind = "gaussian_noise", sigma = 20 }\n'
        f"[train]\n{train}\n[val]\n{val}\n"
    )
    return path
