"""``imgrestore eval TASK``: PSNR/SSIM of models on clean/degraded image pairs.

Parsing and display only; the work is :func:`imgrestore.evaluation.runner.evaluate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imgrestore.cli import _help
from imgrestore.cli import options as opt

if TYPE_CHECKING:
    from rich.console import Console

    from imgrestore.evaluation.report import EvalReport

_DATA = "Images"
_MEASURE = "Measurement"
_OUT = "Output"

HELP = """Measure restorations: PSNR and SSIM (RGB and luma) and time per megapixel.

Clean images are compared with each model's restoration of their degraded versions,
either given (--degraded DIR, paired by file name) or synthesized with the training
degradations (--synthesize SPEC, seeded). 'identity' as a model is the degraded input
itself. Outputs are clamped to [0, 1]; the peak is 1; SSIM is scikit-image's with
Wang et al.'s 11x11 Gaussian window.
"""

COMMAND = _help.command(
    "imgrestore eval denoise --clean photos/ -m identity -m builtin \\\n"
    "--synthesize gaussian_noise:sigma=25",
    "imgrestore eval derain --clean Rain100L/target \\\n"
    "--degraded Rain100L/input --csv scores.csv",
    "imgrestore eval upscale --clean hr/ --crop 4 -m identity -m upscale-x4 \\\n"
    "--synthesize bicubic:scale=4,reupsample=false",
    "imgrestore eval denoise --clean /shared/bench --ray auto \\\n"
    "--synthesize gaussian_noise:sigma=25",
    docs="docs/eval.md",
)


Task = Annotated[str, typer.Argument(metavar="TASK", show_default=False,
                                     help="denoise, deblur, derain, enhance or upscale.")]
Clean = Annotated[Path, typer.Option("--clean", metavar="DIR",
                                     help="Folder (or file) of clean reference "
                                     "images.", rich_help_panel=_DATA, show_default=False)]
Degraded = Annotated[Path | None, typer.Option(
    "--degraded", metavar="DIR", help="Folder (or file) of degraded images, same names as --clean.",
    rich_help_panel=_DATA)]
Synthesize = Annotated[str | None, typer.Option(
    "--synthesize", metavar="SPEC", help="Degrade the clean images instead: KIND[:KEY=VALUE,...] "
    "(e.g. gaussian_noise:sigma=25; LOW..HIGH draws per image; '+' chains steps) or a "
    "TOML/JSON file (a spec, or a recipe's data.degradation).",
    rich_help_panel=_DATA)]
Seed = Annotated[int, typer.Option("--seed", help="Seed of --synthesize (image i uses "
                                   "default_rng([seed, i])).", rich_help_panel=_DATA)]
Models = Annotated[list[str] | None, typer.Option(
    "--model", "-m", metavar="MODEL",
    help="Model to measure (repeatable): a name from 'imgrestore models "
    "list', 'builtin', a weights file, a model folder, hf:owner/repo[@rev], or 'identity' "
    "(the degraded input). Default: the task's default model.",
    rich_help_panel=opt._MODEL)]
Scale = Annotated[int | None, typer.Option(
    "--scale", "-s", min=2, max=4, metavar="2|3|4",
    help="upscale: the factor (default: from --synthesize, "
    "else 2).", rich_help_panel=opt._MODEL)]
Style = Annotated[str | None, typer.Option(
    "--style", metavar="STYLE", help="enhance: lowlight or retouch.", rich_help_panel=opt._MODEL)]
Crop = Annotated[int, typer.Option(
    "--crop", min=0, help="Pixels ignored at each border before measuring (SR papers: "
    "the scale).", rich_help_panel=_MEASURE)]
Quantize = Annotated[bool, typer.Option(
    "--quantize", help="Round restorations to 8 bits first, as if saved as 8-bit files.",
    rich_help_panel=_MEASURE)]
JsonPath = Annotated[str | None, typer.Option(
    "--json", metavar="FILE", help="Write scores per image and the summary as JSON ('-': stdout).",
    rich_help_panel=_OUT)]
CsvPath = Annotated[Path | None, typer.Option(
    "--csv", metavar="FILE",
    help="Write scores per image and the summary as CSV.", rich_help_panel=_OUT)]
PerImage = Annotated[bool, typer.Option(
    "--per-image", help="Also print a table of every image.", rich_help_panel=_OUT)]


def eval_command(
    task: Task, clean: Clean, degraded: Degraded = None, synthesize: Synthesize = None,
    seed: Seed = 0, max_pixels: opt.MaxPixels = None, model: Models = None,
    scale: Scale = None, style: Style = None, crop: Crop = 0, quantize: Quantize = False,
    tile: opt.Tile = "auto", tile_overlap: opt.TileOverlap = 32, device: opt.Device = "auto",
    precision: opt.Precision = "auto", backend: opt.Backend = "auto",
    max_memory: opt.MaxMemory = None, compile: opt.Compile = False,
    json_path: JsonPath = None, csv_path: CsvPath = None,
    per_image: PerImage = False, quiet: opt.Quiet = False,
    ray: opt.Ray = None, ray_workers: opt.RayWorkers = None, ray_cpus: opt.RayCpus = None,
    ray_retries: opt.RayRetries = 3,
) -> None:
    from imgrestore.cli._output import (
        note,
        show_fallbacks,
        shown,
        stderr_console,
        stdout_console,
        write_json,
    )
    from imgrestore.cluster import parse_ray_options
    from imgrestore.engine.options import EngineOptions
    from imgrestore.evaluation.runner import EvalRequest, evaluate
    from imgrestore.evaluation.synth import parse_spec
    from imgrestore.files import check_report_path

    engine = EngineOptions.parse(device=device, precision=precision, tile=tile,
                                 tile_overlap=tile_overlap, max_memory=max_memory,
                                 compile=compile, backend=backend)
    if json_path not in (None, "-"):
        check_report_path(json_path, "--json")
    if csv_path is not None:
        check_report_path(csv_path, "--csv")
    request = EvalRequest(
        task=task, clean=clean, degraded=degraded,
        synthesize=parse_spec(synthesize) if synthesize else None, models=tuple(model or ()),
        seed=seed, crop=crop, quantize=quantize, scale=scale, style=style,
        max_pixels=max_pixels, engine=engine,
        ray=parse_ray_options(ray, workers=ray_workers, cpus_per_worker=ray_cpus,
                              max_retries=ray_retries),
    )
    err = stderr_console()

    def on_image(pair, scores) -> None:  # type: ignore[no-untyped-def]
        if not quiet:
            line = ", ".join(f"{s.model} {_db(s.psnr)} dB" for s in scores)
            err.print(shown(f"{pair.name}: {line}", "dim"), soft_wrap=True)

    report = evaluate(request, on_image=on_image, notify=note,
                      on_fallback=lambda fallback: show_fallbacks(err, [fallback]))
    out = err if json_path == "-" else stdout_console()
    show(report, out, per_image=per_image)
    if json_path == "-":
        write_json(report.to_json())
    elif json_path:
        report.save_json(json_path)
    if csv_path:
        report.save_csv(csv_path)


def _db(value: float) -> str:
    return f"{value:.2f}"


def show(report: EvalReport, console: Console, *, per_image: bool = False) -> None:
    """The summary table (and optionally one of every image) on ``console``."""
    from rich.table import Table

    from imgrestore.cli._output import printable, shown

    what = (f"synthesized {report.synthesize}, seed {report.seed}" if report.synthesize
            else f"degraded {report.degraded}")
    count = len({s.image for s in report.scores})
    title = (f"{report.task}: {count} image{'s' * (count != 1)} of {report.clean}, {what}; "
             f"border crop {report.crop}{', 8-bit' if report.quantize else ''}; "
             f"{report.device} ({report.precision})")
    console.print(printable(title), soft_wrap=True, markup=False)
    columns = ("PSNR dB", "SSIM", "PSNR-Y dB", "SSIM-Y")
    if per_image:
        table = Table(box=None, header_style="bold", pad_edge=False)
        for name in ("image", "model", *columns, "seconds"):
            table.add_column(name, justify="left" if name in ("image", "model") else "right")
        for s in report.scores:
            table.add_row(shown(s.image), shown(s.model), _db(s.psnr), f"{s.ssim:.4f}",
                          _db(s.psnr_y), f"{s.ssim_y:.4f}",
                          "-" if s.seconds is None else f"{s.seconds:.2f}")
        console.print(table)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("model", *columns, "s/MP"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for m in report.summary():
        per_mp = m.seconds_per_megapixel
        table.add_row(shown(m.model), _db(m.psnr), f"{m.ssim:.4f}", _db(m.psnr_y),
                      f"{m.ssim_y:.4f}", "-" if per_mp is None else f"{per_mp:.2f}")
    console.print(table)
