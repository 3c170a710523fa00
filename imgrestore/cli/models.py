"""``imgrestore models ...``: list, download, import, verify, locate, remove, push and
export models.

Parsing and display only; the work is in :mod:`imgrestore.zoo` (export:
:mod:`imgrestore.batch.export`), imported inside the commands so that
``imgrestore models --help`` stays fast.
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
        "sha256": card.sha256,
        "size": card.size,
        "training_data": card.training_data,
        "benchmark": None if bench is None else
        {"dataset": bench.dataset, "psnr": bench.psnr, "ssim": bench.ssim},
        "sources": [
            {"kind": s.kind, "location": s.location, "filename": s.filename,
             "verified": s.verified}
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
    table = [["name", "aliases", "task", "params", "licence", "cached", "default", "source"]]
    for r in rows:
        task = r["task"] + (f" x{r['scale']}" if r["scale"] > 1 else "")
        task += f" ({r['style']})" if r["style"] else ""
        task += " (dual-pixel)" if r["input"] == "dual_pixel" else ""
        table.append([
            r["name"], ",".join(r["aliases"]) or "-", task, f"{r['params'] / 1e6:.1f}M",
            "non-commercial" if "non-commercial" in r["licence"] else r["licence"].split()[0],
            "built-in" if r["builtin"] else "yes" if r["cached"] else "",
            "yes" if r["default"] else "", _source_column(r),
        ])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


_HOSTS = {"github_release": "github", "google_drive": "drive", "hf": "hf"}


def _source_column(row: dict[str, Any]) -> str:
    """Where the weights come from, official first: ``drive+hf?`` (``?``: an unverified
    mirror, tried on request), ``pinned`` when the card carries a sha256."""
    if row["builtin"]:
        return "package"
    hosts = "+".join(_HOSTS[s["kind"]] + ("" if s["verified"] else "?") for s in row["sources"])
    return hosts + (" pinned" if row["sha256"] else "")


@app.command(cls=_command("imgrestore models download denoise upscale-x4",
                          "imgrestore models download --task deblur",
                          "imgrestore models download --all",
                          "imgrestore models download hf:owner/repo"))
def download(
    names: Annotated[list[str] | None, typer.Argument(
        metavar="MODEL...", help="Model names, aliases or hf:owner/repo.",
        show_default=False)] = None,
    all_models: Annotated[bool, typer.Option(
        "--all", help="Every model imgrestore knows.")] = False,
    task: Annotated[str | None, typer.Option(
        "--task", metavar="TASK", help="Every model of this task (denoise, deblur, ...).")] = None,
    unverified: Annotated[bool, typer.Option(
        "--unverified", help="Also try mirrors no download has confirmed yet "
        "(IMGRESTORE_UNVERIFIED_MIRRORS=1).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")] = False,
) -> None:
    """Download models into the cache ahead of time (Google Drive, GitHub, the Hugging Face Hub).

    Each file is checked before it is kept; a summary says what was fetched, skipped or failed.
    """
    from imgrestore.cli._output import stderr_console
    from imgrestore.cli._progress import DownloadBar
    from imgrestore.errors import ExitCode, ImgRestoreError, UsageError

    chosen = _chosen(names or [], all_models=all_models, task=task)
    bar = DownloadBar(stderr_console(), quiet=quiet)
    rows: list[tuple[str, str, str]] = []
    for name in chosen:
        try:
            status, why, folder = _download_one(name, bar, unverified=unverified or None)
        except ImgRestoreError as exc:
            bar.close()
            error(str(exc))
            if isinstance(exc, UsageError) or len(chosen) == 1:
                raise typer.Exit(int(exit_code_of(exc))) from None
            rows.append((name, "failed", getattr(exc, "reason", None) or str(exc)))
            continue
        bar.close()
        if len(chosen) == 1:
            echo(f"{name}: {folder}")
        rows.append((name, status, f"{why}{folder}"))
    counts = {s: sum(r[1] == s for r in rows) for s in ("fetched", "skipped", "failed")}
    if len(chosen) > 1:
        width = max(len(r[0]) for r in rows)
        for name, status, detail in rows:
            echo(f"{name.ljust(width)}  {status.ljust(7)}  {detail}")
        note(", ".join(f"{n} {s}" for s, n in counts.items()))
    if counts["failed"]:
        raise typer.Exit(int(ExitCode.WEIGHTS_UNAVAILABLE))


def _chosen(names: list[str], *, all_models: bool, task: str | None) -> list[str]:
    """The models ``models download`` was asked for, in card order, each once."""
    from imgrestore.errors import UsageError
    from imgrestore.zoo.cards import CARDS, TASKS

    if not names and not all_models and task is None:
        raise typer.BadParameter("name models, or use --all or --task TASK", param_hint="NAMES")
    if task is not None and task not in TASKS:
        raise typer.BadParameter(f"{task}: choose from {', '.join(TASKS)}", param_hint="--task")
    chosen = list(names)
    chosen += [c.name for c in CARDS.values()
               if (all_models or c.task == task) and c.name not in chosen]
    if not chosen:
        raise UsageError("nothing to download")
    return chosen


def _download_one(name: str, bar: Any, *, unverified: bool | None) -> tuple[str, str, Path]:
    """``(status, why, folder)`` of one model: fetched, or skipped (already cached, built in)."""
    from imgrestore.zoo import cache, hub
    from imgrestore.zoo.cards import card
    from imgrestore.zoo.install import ensure_cached, is_cached
    from imgrestore.zoo.loading import builtin_dir

    if hub.is_hub_ref(name):
        return "fetched", "", hub.fetch(name)
    c = card(name)
    if c.builtin:
        return "skipped", "built in: ", builtin_dir(c)  # ships with imgrestore
    if is_cached(c):
        return "skipped", "already cached: ", cache.model_dir(c.name)
    return "fetched", "", ensure_cached(c, notify=bar.notice, progress=bar,
                                        unverified=unverified)


@app.command("import", cls=_command(
    "imgrestore models import model_deblurring.pth --as mprnet_deblurring"))
def import_weights(
    file: Annotated[Path, typer.Argument(metavar="FILE",
                                         help="A weights file you downloaded (.pth).")],
    name: Annotated[str, typer.Option("--as", metavar="MODEL",
                                      help="The model these weights are.")],
) -> None:
    """Check a downloaded weights file and keep it in the cache as safetensors.

    For when a download is refused (Google Drive's quota): get the file in a browser,
    then import it; a pinned model accepts only its pinned file. The file itself is left
    as it is.
    """
    from imgrestore.zoo.install import import_file

    with reported():
        folder = import_file(file, name, notify=notice)
    echo(f"{name}: {folder}")


@app.command(cls=_command("imgrestore models pin", "imgrestore models pin --json"))
def pin(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Print a ready-to-paste pin (sha256, size) for every cached official model.

    For maintainers: on a machine with network, download every model
    (`imgrestore models download --all`), then paste these lines into PINS in
    imgrestore/zoo/cards.py. From then on a download or import of any other file is refused.
    """
    from imgrestore.zoo.install import cached_pins

    pins, skipped = cached_pins()
    if as_json:
        write_json(pins)
    else:
        if pins:
            note("# paste into PINS in imgrestore/zoo/cards.py")
        for p in pins:  # two lines each, so that the pasted table stays within 100 columns
            echo(f'    "{p["name"]}": (  # {p["trust"]}\n'
                 f'        "{p["sha256"]}", {p["size"]:_}),')
    for line in skipped:
        note(f"skipped: {line}")
    if not pins and not as_json:
        note("no cached official model to pin (imgrestore models download --all first)")


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


@app.command("export", cls=_command(
    "imgrestore models export builtin --task upscale -s 2 --dynamic",
    "imgrestore models export denoise --size 512x512 -o denoise.onnx"))
def export(
    name: Annotated[str, typer.Argument(help="A model: a name from 'imgrestore models list', "
                                        "'builtin', a model folder, a weights file or hf:...")],
    format: Annotated[str, typer.Option("--format", help="Graph format (onnx).")] = "onnx",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The file to write (default NAME.onnx); NAME.json goes beside "
        "it.")] = None,
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset version.")] = 17,
    dynamic: Annotated[bool, typer.Option(
        "--dynamic", help="Any batch, height and width (multiples of the family's size "
        "rule) instead of one fixed size.")] = False,
    size: Annotated[str, typer.Option(
        "--size", help="HEIGHTxWIDTH of the input of a fixed-size graph (the example size "
        "with --dynamic).")] = "256x256",
    task: Annotated[str | None, typer.Option(
        "--task", help="With 'builtin' or a task's default: the task (denoise, upscale...).")]
    = None,
    scale: Annotated[int | None, typer.Option("--scale", "-s", min=2, max=4,
                                              help="upscale: the factor.")] = None,
) -> None:
    """Export a model as an ONNX graph for other runtimes, with a JSON sidecar.

    The graph takes float32 N x 3 x H x W RGB in [0, 1] (super-resolution: the small
    image; the bicubic up-sampling is inside) and returns the restored image clamped to
    [0, 1]. The sidecar says the scale, the size multiple and the input range. See
    docs/models.md for onnxruntime and OpenVINO examples.
    """
    from imgrestore.batch.export import default_target, export_model, parse_size
    from imgrestore.errors import UsageError

    with reported():
        if format.lower() != "onnx":
            raise UsageError(f"--format {format}: only onnx is supported")
        height, width = parse_size(size)
        target = output or default_target(name, task, scale)
        record = export_model(name, target, task=task, scale=scale, height=height,
                              width=width, dynamic=dynamic, opset=opset, notify=notice)
    echo(f"{target} ({record['configuration']}, x{record['scale']}, multiple of "
         f"{record['multiple']}, {'dynamic' if dynamic else f'{height}x{width}'}, "
         f"opset {opset}); sidecar {target.with_suffix('.json')}")
