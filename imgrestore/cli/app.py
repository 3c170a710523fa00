"""The ``imgrestore`` Typer application. Heavy modules are imported inside commands."""

from __future__ import annotations

from typing import Annotated

import typer

from imgrestore import __version__
from imgrestore.cli import _help, compare, data, eval, info, models, tasks, train

app = typer.Typer(
    name="imgrestore",
    help="Restore photos with MPRNet, MIRNet and MIRNet-v2.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode="rich",
    cls=_help.Group,
    epilog=_help.epilog([
        "imgrestore denoise photo.jpg",
        "imgrestore upscale --scale 4 -r scans/ -o big/",
        "imgrestore models list",
        "imgrestore denoise --help",
    ]),
)


app.add_typer(models.app, name="models")
app.add_typer(data.app, name="data")


def _print_version(value: bool) -> None:
    if value:
        from imgrestore.cli._output import echo

        echo(f"imgrestore {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Restore photos with MPRNet, MIRNet and MIRNet-v2."""


tasks.register(app)
app.command("train", cls=train.COMMAND)(train.train_command)
app.command("info", cls=info.COMMAND)(info.info)
app.command("eval", help=eval.HELP, rich_help_panel="Measure and compare", cls=eval.COMMAND)(
    eval.eval_command
)
app.command("compare", help=compare.HELP, rich_help_panel="Measure and compare",
            cls=compare.COMMAND)(
    compare.compare_command
)
