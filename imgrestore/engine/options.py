"""How to run a network, parsed and checked once: :class:`EngineOptions`.

The task commands, batches, ``imgrestore eval`` and training's exports all build
their :class:`~imgrestore.engine.restorer.Restorer` from one of these, through
:meth:`Restorer.from_model <imgrestore.engine.restorer.Restorer.from_model>`; the
checks below are the only ones. This module is torch-free.

>>> options = EngineOptions.parse(device="cuda", tile="512", max_memory="6G")
>>> options.tile, options.max_memory
(512, 6442450944)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from imgrestore.errors import UsageError

#: What ``--precision`` accepts (``auto``: the fastest safe one for the device).
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16")
#: What ``--backend`` accepts (``auto``: the fastest one declared for the model and device).
BACKENDS: tuple[str, ...] = ("auto", "torch", "openvino")
#: ``'auto'`` (the largest tile that fits the memory budget), 0 (the whole image) or a
#: tile size in pixels.
Tile = int | Literal["auto"]


@dataclass(frozen=True)
class EngineOptions:
    """Device, precision, tiling, memory budget and compilation, as checked values.

    Make one with :meth:`parse` from what a user typed; the defaults are the CLI's.
    """

    #: ``auto | cpu | cuda | cuda:N | mps`` (whether this machine has it is checked when
    #: the device is chosen).
    device: str = "auto"
    #: One of :data:`PRECISIONS`.
    precision: str = "auto"
    tile: Tile = "auto"
    #: Minimum overlap of neighbouring tiles in pixels.
    tile_overlap: int = 32
    #: Memory budget in bytes (``None``: what the device has free).
    max_memory: int | None = None
    #: Run the network through ``torch.compile``.
    compile: bool = False
    #: One of :data:`BACKENDS`.
    backend: str = "auto"

    @classmethod
    def parse(
        cls, *, device: str = "auto", precision: str = "auto", tile: str | int = "auto",
        tile_overlap: int = 32, max_memory: str | int | None = None, compile: bool = False,
        backend: str = "auto",
    ) -> EngineOptions:
        """Check and normalise option values as typed (``tile='512'``, ``max_memory='4G'``);
        :class:`~imgrestore.errors.UsageError` names the option that is wrong."""
        precision = str(precision).strip().lower()
        if precision not in PRECISIONS:
            raise UsageError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
        if tile_overlap < 0:
            raise UsageError(f"tile overlap {tile_overlap} must not be negative")
        size = parse_tile(tile)
        if isinstance(size, int) and 0 < size < 2 * tile_overlap:
            raise UsageError(
                f"--tile {size} is smaller than twice the overlap ({tile_overlap} px): tiles "
                f"would mostly recompute their neighbours; use --tile {2 * tile_overlap} or "
                "more, a smaller --tile-overlap, or --tile auto"
            )
        backend = str(backend).strip().lower()
        if backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r}; use {', '.join(BACKENDS)}")
        if compile and backend == "openvino":
            raise UsageError("--compile applies to the torch backend, not openvino")
        return cls(device=str(device).strip().lower(), precision=precision, tile=size,
                   tile_overlap=tile_overlap, max_memory=parse_memory(max_memory),
                   compile=compile, backend=backend)


def parse_tile(tile: str | int) -> Tile:
    """``'auto'``, or a tile size (``0``: the whole image) from an int or digits."""
    if tile == "auto":
        return "auto"
    if isinstance(tile, int) and not isinstance(tile, bool) and tile >= 0:
        return tile
    if isinstance(tile, str) and tile.isdigit():
        return int(tile)
    raise UsageError(f"--tile {tile}: use 'auto', 0 (whole image) or a size in pixels")


def parse_memory(text: str | int | None) -> int | None:
    """Bytes from ``'4G'``, ``'512M'``, ``'1.5GiB'``, ``'2000000000'`` or an int (None: None)."""
    if text is None or isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)(i?b)?\s*", text.lower())
    if match is None:
        raise UsageError(f"memory size {text!r}: use a number with K, M, G or T, e.g. 4G")
    try:
        value = float(match.group(1))
    except ValueError:
        raise UsageError(f"memory size {text!r}: {match.group(1)!r} is not a number") from None
    factor = 1024 ** "_kmgt".index(match.group(2) or "_")
    if value <= 0:
        raise UsageError(f"memory size {text!r} must be positive")
    return int(value * factor)


__all__ = ["BACKENDS", "PRECISIONS", "EngineOptions", "Tile", "parse_memory", "parse_tile"]
