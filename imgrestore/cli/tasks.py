"""The five task commands: denoise, deblur, derain, enhance, upscale.

Each command only gathers its options into a :class:`imgrestore.batch.run.Request`;
:func:`execute` runs it and turns the report into output and an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imgrestore.cli import _help
from imgrestore.cli import options as opt
from imgrestore.errors import ExitCode, UsageError
from imgrestore.tasks import TASKS

if TYPE_CHECKING:
    from imgrestore.batch.request import Request
    from imgrestore.imaging.raw import RawOptions

#: The model ``deblur --dual-pixel`` uses unless ``--model`` names another.
DUAL_PIXEL_MODEL = "mirnetv2_defocus_deblurring_dualpixel"

#: Each task command's examples (``--help`` shows them; tests/cli/test_help.py runs them).
EXAMPLES = {
    "denoise": ("imgrestore denoise photo.jpg",
                "imgrestore denoise -r holiday/ -o restored/ --json report.json",
                "imgrestore denoise --then upscale --scale 2 photo.jpg"),
    "deblur": ("imgrestore deblur shaky.jpg",
               "imgrestore deblur --dual-pixel left.png right.png -o sharp.png"),
    "derain": ("imgrestore derain street.jpg -o street-clear.jpg",),
    "enhance": ("imgrestore enhance night.jpg",
                "imgrestore enhance --style retouch flat.tif"),
    "upscale": ("imgrestore upscale --scale 4 small.png",
                "imgrestore upscale -s 2 -f png scans/"),
}

Scale = Annotated[
    int | None,
    typer.Option("--scale", "-s", min=2, max=4, metavar="2|3|4",
                 help="Upscale factor 2, 3 or 4 (for upscale, also in --then chains; "
                 "default 2).", rich_help_panel="Model"),
]
Style = Annotated[
    str | None,
    typer.Option("--style", metavar="STYLE",
                 help="Enhance style: lowlight (LOL) or retouch (MIT-Adobe FiveK; default "
                 "lowlight). Also applies to enhance in --then chains.", rich_help_panel="Model"),
]

DualPixel = Annotated[
    bool,
    typer.Option("--dual-pixel",
                 help="Defocus deblurring from dual-pixel captures: give LEFT RIGHT view "
                 "pairs (MIRNet-v2 trained on DPDD).", rich_help_panel="Model"),
]

EXIT_CODES = (
    "0 all done (or skipped) · 1 some files failed (the others were restored) · 2 usage "
    "error · 3 weights unavailable · 4 device unusable or out of memory · 130 interrupted "
    "(rerun to resume)."
)


def _command_class(task: str, base: type[_help.Command]) -> type[_help.Command]:
    """``task``'s command class: its examples, exit codes and default output name."""
    return _help.command(*EXAMPLES[task], notes=[("Exit codes", EXIT_CODES)],
                         fields={"suffix": TASKS[task].suffix(2)}, base=base)


class _WithoutDualPixel(_help.Command):
    """The task commands other than ``deblur``: the shared command without ``--dual-pixel``
    (the option is not offered, so it keeps its default, ``False``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["params"] = [p for p in kwargs.get("params", []) if p.name != "dual_pixel"]
        super().__init__(*args, **kwargs)


def register(app: typer.Typer) -> None:
    """Add the five task commands to ``app``: one function, :func:`restore`, whose
    command's name says which task it is; only ``deblur`` offers ``--dual-pixel``."""
    for name in TASKS:
        base = _help.Command if name == "deblur" else _WithoutDualPixel
        app.command(name, help=TASKS[name].summary, rich_help_panel="Restore photos",
                    cls=_command_class(name, base))(restore)


def restore(
    ctx: typer.Context,
    inputs: opt.Inputs = None, output: opt.Output = None, recursive: opt.Recursive = False,
    model: opt.Model = None, weights: opt.Weights = None, then: opt.Then = None,
    scale: Scale = None, style: Style = None, dual_pixel: DualPixel = False,
    strength: opt.Strength = 1.0,
    tile: opt.Tile = "auto", tile_overlap: opt.TileOverlap = 32, device: opt.Device = "auto",
    precision: opt.Precision = "auto", backend: opt.Backend = "auto",
    max_memory: opt.MaxMemory = None, compile: opt.Compile = False, format: opt.Format = None,
    quality: opt.Quality = None,
    suffix: opt.Suffix = None, strip_metadata: opt.StripMetadata = False,
    overwrite: opt.Overwrite = False, max_pixels: opt.MaxPixels = None,
    raw_output: opt.RawOutput = "srgb", raw_colorspace: opt.RawColorspace = "srgb",
    raw_demosaic: opt.RawDemosaic = None, raw_highlights: opt.RawHighlights = "clip",
    no_auto_bright: opt.NoAutoBright = False, raw_wb: opt.RawWb = "camera",
    working_space: opt.WorkingSpace = "srgb", alpha: opt.Alpha = None,
    watch: opt.Watch = None, watch_settle: opt.WatchSettle = 2.0,
    dry_run: opt.DryRun = False, fail_fast: opt.FailFast = False,
    json_report: opt.JsonReport = None, quiet: opt.Quiet = False, verbose: opt.Verbose = False,
    ray: opt.Ray = None, ray_workers: opt.RayWorkers = None, ray_cpus: opt.RayCpus = None,
    ray_retries: opt.RayRetries = 3,
) -> None:
    """Every task command: its options, as Click parsed them, to :func:`execute`."""
    execute(str(ctx.info_name), TaskOptions(**ctx.params))


@dataclass(frozen=True)
class TaskOptions:
    """The options every task command takes, as parsed."""

    inputs: list[str] | None
    output: str | None
    recursive: bool
    model: str | None
    weights: Path | None
    then: list[str] | None
    scale: int | None
    style: str | None
    strength: float
    tile: str
    tile_overlap: int
    device: str
    precision: str
    max_memory: str | None
    compile: bool
    backend: str
    format: str | None
    quality: int | None
    suffix: str | None
    strip_metadata: bool
    overwrite: bool
    max_pixels: int | None
    raw_output: str
    raw_colorspace: str
    raw_demosaic: str | None
    raw_highlights: str
    no_auto_bright: bool
    raw_wb: str
    working_space: str
    alpha: str | None
    watch: str | None
    watch_settle: float
    dry_run: bool
    fail_fast: bool
    json_report: str | None
    quiet: bool
    verbose: bool
    ray: str | None
    ray_workers: int | None
    ray_cpus: int | None
    ray_retries: int
    dual_pixel: bool = False


def build_request(task: str, o: TaskOptions) -> Request:
    """Turn parsed options into the library's request."""
    from imgrestore.batch.request import Request, Step
    from imgrestore.batch.restore import ImageOptions
    from imgrestore.batch.watch import WatchOptions
    from imgrestore.cluster import parse_ray_options
    from imgrestore.engine.options import EngineOptions

    steps = []
    for i, name in enumerate([task, *(o.then or [])]):
        if name not in TASKS:
            raise UsageError(f"--then {name}: unknown task (choose from {', '.join(TASKS)})")
        first_model = o.model
        if o.dual_pixel and first_model is None:
            first_model = DUAL_PIXEL_MODEL
        steps.append(
            Step(
                name,  # type: ignore[arg-type]
                model=first_model if i == 0 else None,
                weights=str(o.weights) if i == 0 and o.weights else None,
                scale=(o.scale or 2) if name == "upscale" else None,
                style=o.style if name == "enhance" else None,
            )
        )
    if not o.inputs and o.watch is None:
        raise UsageError("give photos, folders or glob patterns, or --watch FOLDER")
    engine = EngineOptions.parse(
        device=o.device, precision=o.precision, tile=o.tile, tile_overlap=o.tile_overlap,
        max_memory=o.max_memory, compile=o.compile, backend=o.backend,
    )
    ray = parse_ray_options(o.ray, workers=o.ray_workers, cpus_per_worker=o.ray_cpus,
                            max_retries=o.ray_retries)
    journal = None
    if o.json_report not in (None, "-") and not o.dry_run:
        from imgrestore.batch.journal import journal_path

        journal = str(journal_path(o.json_report))
    return Request(
        steps=tuple(steps), inputs=tuple(o.inputs or ()), output=o.output, suffix=o.suffix,
        recursive=o.recursive, overwrite=o.overwrite, dry_run=o.dry_run,
        fail_fast=o.fail_fast, strength=o.strength, format=o.format, quality=o.quality,
        strip_metadata=o.strip_metadata, max_pixels=o.max_pixels, dual_pixel=o.dual_pixel,
        engine=engine, journal=journal, ray=ray, raw=_raw_options(o),
        image=ImageOptions(working_space=o.working_space, alpha=o.alpha),
        watch=None if o.watch is None else WatchOptions(o.watch, settle=o.watch_settle),
    )


def _raw_options(o: TaskOptions) -> RawOptions:
    from imgrestore.imaging.raw import RawOptions, parse_highlights, parse_wb

    return RawOptions(
        output=o.raw_output, colorspace=o.raw_colorspace, demosaic=o.raw_demosaic,
        highlights=parse_highlights(o.raw_highlights),
        auto_bright=False if o.no_auto_bright else None, wb=parse_wb(o.raw_wb),
    )


def execute(task: str, o: TaskOptions) -> None:
    """Run ``task`` with the parsed options, show the result, exit with the report's code."""
    from imgrestore.batch.run import run
    from imgrestore.cli._output import write_json
    from imgrestore.cli._progress import BatchDisplay
    from imgrestore.distributed import rank_and_world

    request = build_request(task, o)
    if o.json_report == "-" and (o.output == "-" or (o.inputs == ["-"] and o.output is None)):
        raise UsageError("--json - and the image would both go to stdout; write the report "
                         "to a file (--json report.json)")
    if o.json_report not in (None, "-"):
        from imgrestore.files import check_report_path

        check_report_path(o.json_report, "--json")
        if request.journal is not None:
            check_report_path(request.journal, "--json (its .jsonl journal)")
    rank, _ = rank_and_world()
    # Under torchrun only rank 0 talks (other ranks print their errors) and writes the report.
    display = BatchDisplay(quiet=o.quiet or rank > 0, verbose=o.verbose, warnings=rank == 0)
    try:
        report = run(request, display)
    except KeyboardInterrupt:  # before any file started (e.g. while loading the model)
        display.console.print("interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    display.finish(report)
    if rank > 0:
        raise typer.Exit(int(report.exit_code))
    if o.json_report == "-":
        write_json(report.to_json())
    elif o.json_report:
        report.save(o.json_report)
    raise typer.Exit(int(report.exit_code))
