"""``imgrestore data prepare KIND SRC [DST]``: official data sets for the recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imgrestore.cli import _help
from imgrestore.datasets import KINDS

app = typer.Typer(help="Prepare the official training data sets for the bundled recipes.",
                  no_args_is_help=True, rich_markup_mode="rich", cls=_help.Group)


@app.command("prepare", cls=_help.command(
    "imgrestore data prepare sidd ~/Downloads/SIDD_Medium_Srgb datasets",
    "imgrestore data prepare gopro ~/Downloads/GOPRO_Large -j 8",
    docs="docs/training.md",
))
def prepare_command(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}.",
                                        metavar="KIND", show_default=False)],
    src: Annotated[Path, typer.Argument(help="The downloaded data set (unpacked).",
                                        metavar="SRC", show_default=False)],
    dst: Annotated[Path, typer.Argument(help="Where the recipes read it (their data.train "
                                             "and data.val paths start with datasets/).",
                                        metavar="DST")]
    = Path("datasets"),
    threads: Annotated[int, typer.Option("--threads", "-j", min=1, metavar="N",
                                         help="Images processed at once.")] = 4,
) -> None:
    """Write the folder layout (and the papers' patches) that the official recipes read.

    Then train with the recipe that reads it, e.g. imgrestore train mirnetv2_real_denoising
    after prepare sidd.
    """
    from imgrestore.cli._output import echo, note
    from imgrestore.datasets.prepare import prepare

    counts = prepare(kind, src, dst, threads=threads, report=note)
    for folder, count in sorted(counts.items()):
        echo(f"{dst / folder}: {count}")
