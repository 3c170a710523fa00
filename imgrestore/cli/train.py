"""``imgrestore train RECIPE``: train or fine-tune a network from a recipe."""

from __future__ import annotations

import difflib
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imgrestore.cli import _help

if TYPE_CHECKING:
    from imgrestore.training.recipe import Recipe

#: Where the bundled recipes live: ``train/`` in a source checkout, ``imgrestore/recipes/``
#: in an installed package (pyproject.toml maps one to the other).
RECIPE_DIRS = (
    Path(__file__).resolve().parents[2] / "train",
    Path(__file__).resolve().parents[1] / "recipes",
)


COMMAND = _help.command(
    "imgrestore train --list",
    "imgrestore train finetune_denoise --set data.train=photos/ \\\n"
    "--set data.val=held/ -o runs/my-camera",
    "imgrestore train --output runs/my-camera --resume",
    "imgrestore train finetune_denoise --from scratch -o runs/from-scratch",
    "torchrun --nproc-per-node 4 -m imgrestore train mprnet_deblurring",
    docs="docs/training.md",
)


def bundled_recipes() -> dict[str, Path]:
    """Name -> file of every bundled recipe (``builtin/...`` ones in a source checkout)."""
    found: dict[str, Path] = {}
    for folder in RECIPE_DIRS:
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")) + sorted(folder.glob("builtin/*.toml")):
                found.setdefault(path.relative_to(folder).with_suffix("").as_posix(), path)
    return found


def resolve_recipe(name: str) -> Path:
    """A recipe path, or the name of a bundled recipe (``finetune_denoise``)."""
    from imgrestore.errors import UsageError

    path = Path(name)
    if path.exists() or path.suffix:
        return path
    for folder in (Path("train"), *RECIPE_DIRS):
        candidate = folder / f"{name}.toml"
        if candidate.is_file():
            return candidate
    close = difflib.get_close_matches(name, list(bundled_recipes()), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UsageError(f"{name}: no such recipe file or bundled recipe{hint} "
                     "(imgrestore train --list shows them)")


def list_recipes() -> None:
    from imgrestore.cli._output import echo
    from imgrestore.training.recipe import load_recipe

    recipes = bundled_recipes()
    width = max(map(len, recipes), default=0)
    for name, path in recipes.items():
        echo(f"{name:<{width}}  {load_recipe(path).description}")


def resume_command(run_dir: Path, world: int) -> str:
    """The command that continues ``run_dir`` (as it was started: torchrun or not)."""
    args = f"train --output {shlex.quote(str(run_dir))} --resume"
    if world > 1:
        return f"torchrun --nproc-per-node {world} -m imgrestore {args}"
    return f"imgrestore {args}"


def _recipe(recipe: str | None, overrides: list[str], output: Path | None,
            resume: bool) -> tuple[Recipe, Path]:
    from imgrestore.errors import UsageError
    from imgrestore.training.recipe import load_recipe
    from imgrestore.training.runs import resume_recipe, stored_recipe

    named = load_recipe(resolve_recipe(recipe), overrides) if recipe else None
    if resume and output is None and named is None:
        raise UsageError("--resume needs the run folder: --output RUN_DIR")
    run_dir = output or Path("runs") / (named.name if named else "run")
    stored = stored_recipe(run_dir) if resume else None
    if stored is None:
        if named is None:
            raise UsageError(
                f"{run_dir}: no run to resume; give a RECIPE to start one" if resume
                else "give a RECIPE (a file, or a name from imgrestore train --list)"
            )
        return named, run_dir
    if named is not None and named.name != stored.name:
        raise UsageError(f"{run_dir} was started from recipe {stored.name}, not {named.name}; "
                         f"continue it with: {resume_command(run_dir, 1)}")
    return resume_recipe(run_dir, overrides), run_dir


def train_command(
    recipe: Annotated[
        str | None,
        typer.Argument(metavar="RECIPE",
                       help="Recipe file (TOML) or a bundled recipe's name (see --list); "
                            "with --resume, optional.", show_default=False),
    ] = None,
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
        bool, typer.Option("--resume", help="Continue the run in --output with its own recipe.")
    ] = False,
    init_from: Annotated[
        str | None,
        typer.Option("--from", metavar="MODEL",
                     help="Start from these weights: a model name, folder or file, or "
                          "'scratch' (default: the recipe's model.pretrained)."),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the bundled recipes.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Train or fine-tune a network from a RECIPE.

    The run folder gets checkpoints, a JSONL log, a before/after picture per validation
    (samples/), and at the end model.safetensors + imgrestore.json, usable as
    --model RUN_DIR. Many GPUs: torchrun --nproc-per-node N -m imgrestore train RECIPE ...
    """
    if list_:
        list_recipes()
        return
    loaded, run_dir = _recipe(recipe, set_ or [], output, resume)
    _run(loaded, run_dir, resume=resume, init_from=init_from, quiet=quiet)


def _run(loaded: Recipe, run_dir: Path, *, resume: bool, init_from: str | None,
         quiet: bool) -> None:
    """Train with the display, the Ctrl-C hint and the closing line."""
    from imgrestore.cli._output import note
    from imgrestore.cli._progress import TrainDisplay
    from imgrestore.distributed import rank_and_world
    from imgrestore.errors import ExitCode
    from imgrestore.training.loop import train

    display = None if quiet else TrainDisplay()
    try:
        result = train(loaded, run_dir, resume=resume, init_from=init_from, notify=note,
                       on_event=display)
    except KeyboardInterrupt:
        if display is not None:
            display.close()  # before the hint, so that the bar does not cover it
        rank, world = rank_and_world()
        if rank == 0:
            note(f"interrupted; continue from the last checkpoint with: "
                 f"{resume_command(run_dir, world)}")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    finally:
        if display is not None:
            display.close()
    if result.best_psnr is not None:
        note(f"best validation PSNR {result.best_psnr:.2f} dB "
             f"(iteration {result.best_iteration})")
