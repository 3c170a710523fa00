"""``imgrestore info``: versions, devices, cache locations and cached models."""

from __future__ import annotations

from typing import Annotated

import typer

from imgrestore.cli import _help

COMMAND = _help.command("imgrestore info", "imgrestore info --json")


def info(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show versions (imgrestore, Python, PyTorch), devices, the cache and the cached weights."""
    import platform

    import torch
    from rich.table import Table

    from imgrestore import __version__
    from imgrestore.cli._output import stdout_console, write_json
    from imgrestore.zoo import cache
    from imgrestore.zoo.cards import CARDS
    from imgrestore.zoo.install import is_cached

    data = {
        "imgrestore": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "devices": _devices(),
        "cache": str(cache.home()),
        "offline": cache.offline(),
        "cached_models": [c.name for c in CARDS.values() if is_cached(c)],
    }
    if as_json:
        write_json(data)
        return
    table = Table(show_header=False, box=None)
    for key, value in data.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "none"
        table.add_row(f"[bold]{key}[/bold]", str(value))
    stdout_console().print(table)


def _devices() -> list[str]:
    """The devices ``--device`` can name here, with their memory."""
    import torch as t

    found = [f"cpu ({t.get_num_threads()} threads)"]
    for i in range(t.cuda.device_count()):
        props = t.cuda.get_device_properties(i)
        found.append(f"cuda:{i} {props.name} ({props.total_memory / 2**30:.0f} GiB)")
    mps = getattr(t.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found
