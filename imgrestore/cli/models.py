"""``imgrestore models ...``: list, download, import, verify, locate, remove and push models.

Parsing and display only; the work is in :mod:`imgrestore.zoo`, imported inside the
commands so that ``imgrestore models --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from imgrestore.cli import _help
from imgrestore.cli._errors import exit_code_of, reported
from imgrestore.cli._output import echo, error, note, notice, write_json


def _command(*examples: str) -> type[_help.Command]:
    return _help.command(*examples, docs="docs/models.md")


app = typer.Typer(
    name="models",
    help="Manage model weights: the cache, downloads, imports and the Hugging Face Hub.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    cls=_help.Group,
)


def _card_row(card: Any) -> dict[str, Any]:
    from imgrestore.zoo.install import is_cached

    bench = card.benchmark
    return {
        "name": card.name,
        "aliases": list(card.aliases),
        "task": card.task,
        "family": card.family,
        "configuration": card.config,
        "scale": card.scale,
        "input": card.input_kind,
        "style": card.style,
        "params": card.params,
        "licence": card.licence,
        "cached": is_cached(card),
        "builtin": card.builtin,
        "default": card.default,
        "automatic": card.automatic,
        "training_data": card.training_data,
        "benchmark": None if bench is None else
        {"dataset": bench.dataset, "psnr": bench.psnr, "ssim": bench.ssim},
        "sources": [
            {"kind": s.kind, "location": s.location, "filename": s.filename,
             "sha256": s.sha256}
            for s in card.sources
        ],
    }


@app.command("list", cls=_command("imgrestore models list", "imgrestore models list --json"))
def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the known models, whether each is cached, and each task's default.
    """
    from imgrestore.zoo.cards import CARDS

    rows = [_card_row(c) for c in CARDS.values()]
    if as_json:
        write_json(rows)
        return
    # Plain aligned columns, never clipped (a rich table ellipsised them below 120 columns).
    table = [["name", "task", "params", "licence", "cached", "default", "get"]]
    for r in rows:
        task = r["task"] + (f" x{r['scale']}" if r["scale"] > 1 else "")
        task += f" ({r['style']})" if r["style"] else ""
        task += " (dual-pixel)" if r["input"] == "dual_pixel" else ""
        table.append([
            r["name"], task, f"{r['params'] / 1e6:.1f}M",
            "non-commercial" if "non-commercial" in r["licence"] else r["licence"].split()[0],
            "built-in" if r["builtin"] else "yes" if r["cached"] else "",
            "yes" if r["default"] else "",
            "-" if r["builtin"] else "auto" if r["automatic"] else "import",
        ])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@app.command(cls=_command("imgrestore models download denoise upscale-x4",
                          "imgrestore models download hf:owner/repo"))
def download(
    names: Annotated[list[str], typer.Argument(metavar="MODEL...",
                                               help="Model names, aliases or hf:owner/repo.")],
) -> None:
    """Download models into the cache (GitHub releases, the Hugging Face Hub).
    """
    from imgrestore.errors import ExitCode, ImgRestoreError
    from imgrestore.zoo import hub
    from imgrestore.zoo.cards import card
    from imgrestore.zoo.install import ensure_cached
    from imgrestore.zoo.loading import builtin_dir

    failed: ImgRestoreError | None = None
    for name in names:
        try:
            if hub.is_hub_ref(name):
                folder = hub.fetch(name)
            elif (c := card(name)).builtin:
                folder = builtin_dir(c)  # ships with imgrestore: nothing to download
            else:
                folder = ensure_cached(c, notify=notice)
        except ImgRestoreError as exc:
            error(str(exc))
            failed = exc
            continue
        echo(f"{name}: {folder}")
    if failed is not None:
        code = exit_code_of(failed) if len(names) == 1 else ExitCode.WEIGHTS_UNAVAILABLE
        raise typer.Exit(int(code))


@app.command("import", cls=_command(
    "imgrestore models import model_deblurring.pth --as mprnet_deblurring"))
def import_weights(
    file: Annotated[Path, typer.Argument(metavar="FILE",
                                         help="A weights file you downloaded (.pth).")],
    name: Annotated[str, typer.Option("--as", metavar="MODEL",
                                      help="The model these weights are.")],
) -> None:
    """Check a downloaded weights file and keep it in the cache as safetensors.

    For the models published only on Google Drive (`imgrestore models list` says
    "import"). The file itself is left as it is.
    """
    from imgrestore.zoo.install import import_file

    with reported():
        folder = import_file(file, name, notify=notice)
    echo(f"{name}: {folder}")


@app.command(cls=_command("imgrestore models verify"))
def verify() -> None:
    """Re-hash every cached and built-in model against the sha256 recorded with it."""
    from imgrestore.errors import ExitCode, WeightsError
    from imgrestore.zoo import cache
    from imgrestore.zoo.cards import CARDS
    from imgrestore.zoo.loading import builtin_dir
    from imgrestore.zoo.modeldir import WEIGHTS_FILE, read_meta

    bad = 0
    folders = cache.cached_dirs() + [builtin_dir(c) for c in CARDS.values() if c.builtin]
    for folder in folders:
        try:
            meta = read_meta(folder)
            weights = folder / WEIGHTS_FILE
            if not weights.is_file():
                raise WeightsError(f"{folder.name}: {WEIGHTS_FILE} is missing")
            if meta.sha256 is None:
                raise WeightsError(f"{folder.name}: no sha256 recorded")
            digest = cache.sha256_file(weights)
            if digest != meta.sha256:
                raise WeightsError(f"{folder.name}: corrupt (sha256 {digest}, recorded "
                                   f"{meta.sha256}); remove and download or import it again")
        except WeightsError as exc:
            error(str(exc))
            bad += 1
            continue
        echo(f"{folder.name}: ok")
    note(f"{len(folders) - bad} of {len(folders)} models verified")
    if bad:
        raise typer.Exit(int(ExitCode.WEIGHTS_UNAVAILABLE))


@app.command(cls=_command("imgrestore models path", "imgrestore models path denoise"))
def path(
    name: Annotated[str | None, typer.Argument(metavar="MODEL",
                                                 help="A model; omit for the cache root.")] = None,
) -> None:
    """Print where the cache is (IMGRESTORE_HOME), or where one model is kept."""
    from imgrestore.zoo import cache
    from imgrestore.zoo.cards import card
    from imgrestore.zoo.loading import builtin_dir

    with reported():
        if name is None:
            echo(cache.home())
        else:
            c = card(name)
            echo(builtin_dir(c) if c.builtin else cache.model_dir(c.name))


@app.command(cls=_command("imgrestore models remove mirnetv2_real_denoising"))
def remove(
    names: Annotated[list[str], typer.Argument(metavar="MODEL...",
                                               help="Models to delete from the cache.")],
) -> None:
    """Delete cached models (download or import them again to get them back)."""
    from imgrestore.errors import WeightsError
    from imgrestore.zoo import cache
    from imgrestore.zoo.cards import card

    with reported():
        for name in names:
            c = card(name)
            canonical = c.name
            if c.builtin:
                raise WeightsError(f"{canonical}: built into imgrestore, not in the cache")
            if not cache.remove(canonical):
                raise WeightsError(f"{canonical}: not in the cache")
            echo(f"{canonical}: removed")


@app.command(cls=_command("imgrestore models push runs/denoise-1 hf:me/my-denoiser"))
def push(
    folder: Annotated[Path, typer.Argument(metavar="FOLDER",
                                           help="A model folder, e.g. a training run.")],
    repo: Annotated[str, typer.Argument(metavar="REPO", help="hf:owner/repo[@branch]")],
    private: Annotated[bool, typer.Option(help="Create the repository as private.")] = False,
    message: Annotated[str | None, typer.Option(metavar="TEXT", help="Commit message.")] = None,
) -> None:
    """Publish a model (model.safetensors + imgrestore.json) to the Hugging Face Hub.
    """
    from imgrestore.zoo.publish import push as publish

    with reported():
        url = publish(folder, repo, private=private, message=message)
    echo(url)
