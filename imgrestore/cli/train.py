"""``imgrestore train RECIPE``: train or fine-tune a network from a recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imgrestore.cli import _help

#: Where the bundled recipes live: ``train/`` in a source checkout, ``imgrestore/recipes/``
#: in an installed package (pyproject.toml maps one to the other).
RECIPE_DIRS = (
    Path(__file__).resolve().parents[2] / "train",
    Path(__file__).resolve().parents[1] / "recipes",
)


COMMAND = _help.command(
    "imgrestore train finetune_denoise --set data.train=photos/ \\\n"
    "--set data.val=held/ -o runs/my-camera",
    "imgrestore train finetune_denoise -o runs/my-camera --resume",
    "torchrun --nproc-per-node 4 -m imgrestore train mprnet_deblurring",
    docs="docs/training.md",
)


def resolve_recipe(name: str) -> Path:
    """A recipe path, or the name of a bundled recipe (``finetune_denoise``)."""
    path = Path(name)
    if path.exists() or path.suffix:
        return path
    for folder in (Path("train"), *RECIPE_DIRS):
        candidate = folder / f"{name}.toml"
        if candidate.is_file():
            return candidate
    return path


def train_command(
    recipe: Annotated[str, typer.Argument(metavar="RECIPE",
                                 help="Recipe file (TOML) or a name from train/.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE",
                     help="Override a recipe field: --set optim.lr=1e-4 (repeatable)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="DIR",
                                  help="Run folder (default runs/NAME).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --output from its checkpoint.")
    ] = False,
    init_from: Annotated[
        str | None,
        typer.Option("--from", metavar="MODEL",
                     help="Start from these weights: a model name, folder or file."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live display.")] = False,
) -> None:
    """Train or fine-tune a network from a RECIPE.

    The run folder gets checkpoints, a JSONL log, and at the end model.safetensors +
    imgrestore.json, usable as --model RUN_DIR. Many GPUs:
    torchrun --nproc-per-node N -m imgrestore train RECIPE ...
    """
    import sys

    from imgrestore.cli._output import TrainDisplay, note
    from imgrestore.training.loop import train
    from imgrestore.training.recipe import load_recipe

    loaded = load_recipe(resolve_recipe(recipe), set_ or [])
    run_dir = output or Path("runs") / loaded.name
    display = TrainDisplay() if not quiet and sys.stderr.isatty() else None
    try:
        try:
            result = train(loaded, run_dir, resume=resume, init_from=init_from, notify=note,
                           on_event=display)
        finally:
            if display is not None:
                display.close()
    except KeyboardInterrupt:
        note(f"continue from the last checkpoint with --output {run_dir} --resume")
        raise
    if result.best_psnr is not None:
        note(f"best validation PSNR {result.best_psnr:.2f} dB "
             f"(iteration {result.best_iteration})")
