"""Options shared by the task commands, defined once (``Annotated`` aliases)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

_IO = "Input and output"
_MODEL = "Model"
_ENGINE = "Device and tiling"
_RUN = "Batch behaviour"
_CLUSTER = "Cluster (Ray)"
_RAW = "Camera RAW and colour"

Inputs = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="INPUT...",
        help="Photos, folders or glob patterns ('-' reads one image from stdin).",
        show_default=False,
    ),
]
Output = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", metavar="PATH",
        help="Output file (one input), folder (several), or '-' for stdout. "
        "Default: beside each input, e.g. photo{suffix}.jpg.",
        rich_help_panel=_IO,
    ),
]
Recursive = Annotated[
    bool,
    typer.Option("--recursive", "-r", help="Go into sub-folders (mirrored under -o).",
                 rich_help_panel=_IO),
]
Suffix = Annotated[
    str | None,
    typer.Option(metavar="TEXT", help="Text added to output names (default: {suffix}).",
                 rich_help_panel=_IO),
]
Format = Annotated[
    str | None,
    typer.Option("--format", "-f", metavar="EXT",
                 help="Output format: jpg, png, tif, webp, ... (default: the input's; RAW: tif).",
                 rich_help_panel=_IO),
]
Quality = Annotated[
    int | None,
    typer.Option(min=1, max=100, metavar="1-100",
                 help="JPEG/WebP quality (default 95).", rich_help_panel=_IO),
]
StripMetadata = Annotated[
    bool,
    typer.Option("--strip-metadata",
                 help="Do not copy EXIF/XMP (the ICC profile is always kept).",
                 rich_help_panel=_IO),
]
Overwrite = Annotated[
    bool,
    typer.Option("--overwrite",
                 help="Redo outputs that exist (default: skip them, so reruns resume).",
                 rich_help_panel=_IO),
]
MaxPixels = Annotated[
    int | None,
    typer.Option("--max-pixels", metavar="N",
                 help="Largest image to open, in pixels (guards against decompression bombs).",
                 rich_help_panel=_IO),
]
Model = Annotated[
    str | None,
    typer.Option("--model", "-m", metavar="MODEL",
                 help="Model: a name from 'imgrestore models list', 'builtin', a weights "
                 "file, a model folder, or hf:owner/repo[@revision].",
                 rich_help_panel=_MODEL),
]
Weights = Annotated[
    Path | None,
    typer.Option("--weights", metavar="FILE",
                 help="Load these weights (.pth or .safetensors) for --model.",
                 rich_help_panel=_MODEL),
]
Strength = Annotated[
    float,
    typer.Option(min=0.0, max=1.0, metavar="0-1", help="Blend with the original: 1 = full effect.",
                 rich_help_panel=_MODEL),
]
Then = Annotated[
    list[str] | None,
    typer.Option("--then", metavar="TASK",
                 help="Run another task on the result, without intermediate files "
                 "(e.g. --then upscale). Repeatable.",
                 rich_help_panel=_MODEL),
]
Tile = Annotated[
    str,
    typer.Option("--tile", "-t", metavar="N|auto",
                 help="Tile size in pixels, 'auto' (largest that fits in memory) or 0 "
                 "(whole image).",
                 rich_help_panel=_ENGINE),
]
TileOverlap = Annotated[
    int,
    typer.Option("--tile-overlap", min=0, metavar="N",
                 help="Overlap of neighbouring tiles in pixels.",
                 rich_help_panel=_ENGINE),
]
Device = Annotated[
    str,
    typer.Option("--device", "-d", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps.",
                 rich_help_panel=_ENGINE),
]
Precision = Annotated[
    str,
    typer.Option("--precision", metavar="TYPE",
                 help="auto, fp32, fp16 or bf16 (auto: fp32 on CPU; bf16 needs native bf16 "
                 "on CPUs: AMX, AVX512-BF16 or Arm BF16).",
                 rich_help_panel=_ENGINE),
]
Backend = Annotated[
    str,
    typer.Option("--backend", metavar="NAME",
                 help="auto, torch or openvino (auto: the fastest installed for the model and "
                 "device, OpenVINO on CPUs; IMGRESTORE_BACKEND sets what auto means).",
                 rich_help_panel=_ENGINE),
]
MaxMemory = Annotated[
    str | None,
    typer.Option("--max-memory", metavar="SIZE",
                 help="Memory budget for tiling, e.g. 4G (default: what is free).",
                 rich_help_panel=_ENGINE),
]
Compile = Annotated[
    bool,
    typer.Option("--compile", help="Compile the network with torch.compile (torch backend; "
                 "compiled kernels are cached in IMGRESTORE_HOME).", rich_help_panel=_ENGINE),
]
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Show what would be done; restore nothing.",
                 rich_help_panel=_RUN),
]
FailFast = Annotated[
    bool,
    typer.Option("--fail-fast", help="Stop at the first file that fails.", rich_help_panel=_RUN),
]
JsonReport = Annotated[
    str | None,
    typer.Option("--json", metavar="FILE",
                 help="Write a machine-readable report to this file ('-': stdout).",
                 rich_help_panel=_RUN),
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print errors only.", rich_help_panel=_RUN)
]
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Print more (tracebacks of unexpected errors).",
                 rich_help_panel=_RUN),
]
Ray = Annotated[
    str | None,
    typer.Option("--ray", metavar="[ADDRESS]",
                 help="Run on Ray: alone, a Ray instance started on this machine; 'auto', "
                 "ray://HOST:PORT or HOST:PORT joins a cluster (needs imgrestore[ray]).",
                 rich_help_panel=_CLUSTER),
]
RayWorkers = Annotated[
    int | None,
    typer.Option("--ray-workers", min=1,
                 help="Workers, each holding one model (default: one per GPU, else one per "
                 "4 CPUs).", rich_help_panel=_CLUSTER),
]
RayCpus = Annotated[
    int | None,
    typer.Option("--ray-cpus", min=1,
                 help="CPU threads per CPU worker (default: 4, or the CPUs shared out "
                 "between --ray-workers).", rich_help_panel=_CLUSTER),
]
RayRetries = Annotated[
    int,
    typer.Option("--ray-retries", min=0,
                 help="Times a file is tried again after its worker was lost.",
                 rich_help_panel=_CLUSTER),
]

_RAY_ADDRESS = re.compile(r"^(auto|local|ray://\S+|[\w.-]+:\d+)$")


def ray_address_optional(args: list[str]) -> list[str]:
    """``--ray`` not followed by an address means ``--ray local`` (the parser has no
    options with optional values), so ``denoise --ray photos/`` keeps ``photos/`` an input."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        following = args[i + 1] if i + 1 < len(args) else ""
        out.append("--ray=local" if arg == "--ray" and not _RAY_ADDRESS.match(following)
                   else arg)
    return out
RawOutput = Annotated[
    str,
    typer.Option("--raw-output", help="RAW development: srgb (the colour space's tone curve) "
                 "or linear (linear light, for editing; restored in linear light).",
                 rich_help_panel=_RAW),
]
RawColorspace = Annotated[
    str,
    typer.Option("--raw-colorspace", help="RAW development: srgb, adobe, prophoto, rec2020 or "
                 "p3 (a matching ICC profile is attached).", rich_help_panel=_RAW),
]
RawDemosaic = Annotated[
    str | None,
    typer.Option("--raw-demosaic", help="LibRaw demosaic algorithm: ahd (default), dcb, dht, "
                 "aahd, vng, ppg, linear.", rich_help_panel=_RAW),
]
RawHighlights = Annotated[
    str,
    typer.Option("--raw-highlights", help="Blown highlights: clip, ignore, blend, reconstruct "
                 "or reconstruct:N (N = 3-9).", rich_help_panel=_RAW),
]
NoAutoBright = Annotated[
    bool,
    typer.Option("--no-auto-bright", help="RAW development: no LibRaw auto-brightness (linear "
                 "output and DNG never brighten).", rich_help_panel=_RAW),
]
RawWb = Annotated[
    str,
    typer.Option("--raw-wb", help="RAW white balance: camera, auto or R,G,B multipliers.",
                 rich_help_panel=_RAW),
]
WorkingSpace = Annotated[
    str,
    typer.Option("--working-space", help="srgb: convert photos with an ICC profile to sRGB for "
                 "the network and back (the models were trained on sRGB); native: as stored.",
                 rich_help_panel=_RAW),
]
Alpha = Annotated[
    str | None,
    typer.Option("--alpha", help="Transparency: model (through the network; default when "
                 "upscaling), resize (Lanczos) or keep (values unchanged; default otherwise).",
                 rich_help_panel=_IO),
]
Watch = Annotated[
    str | None,
    typer.Option("--watch", help="Watch this folder: restore what is there, then each new file "
                 "once it is complete, until Ctrl-C.", rich_help_panel=_RUN),
]
WatchSettle = Annotated[
    float,
    typer.Option("--watch-settle", min=0.0, help="Seconds a new file's size must stay unchanged "
                 "before it is read.", rich_help_panel=_RUN),
]
