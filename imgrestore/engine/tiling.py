"""Run a network on an image of any size in overlapping, feathered tiles.

Everything here is a pure function of tensors and a callable ``fn(batch) -> batch``
(``(N, C, h, w) -> (N, C', h * scale, w * scale)``, float32 on the CPU in and out; the
caller's ``fn`` moves tiles to the device). The full image, the output accumulator and
the weight accumulator stay on the CPU in float32; only tiles travel.

How tiles are planned and joined:

* The image is reflect-padded by ``margin`` pixels on every side, so the networks' zero
  padding never touches a photo pixel (compact models trained briefly leave a dark or
  noisy frame there otherwise), then bottom/right to the family's size multiple (as the
  official demos do). Tile sizes and tile starts are multiples of it, so the network never
  pads inside and its down-sampling grid is the same in every tile as in the whole image.
* Along each axis the number of tiles is chosen first, then one even tile size, so there
  is never a thin last tile (chaiNNer's auto-split idea).
* Neighbouring tiles overlap by at least ``overlap`` pixels. In each overlap the outer
  quarter next to each tile's edge gets weight 0 (those pixels saw the tile edge) and the
  middle half is a raised-cosine cross-fade; tile interiors and image borders get weight 1.
  The weighted sum is divided by the summed weights.
* If ``fn`` runs out of memory, that tile is split: it is computed as a tiled image of
  its own with half the tile size (and later tiles directly at that size), keeping every
  tile already finished. Below ``min_tile`` a :class:`~imgrestore.errors.DeviceError`
  is raised.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from imgrestore.archs.sizing import pad_to_multiple
from imgrestore.errors import DeviceError

#: The network as a function of a batch: ``(N, C, h, w) -> (N, C', h * s, w * s)``.
Forward = Callable[[torch.Tensor], torch.Tensor]
#: Called after every finished tile with ``(done_tiles, total_tiles)``.
Progress = Callable[[int, int], None]
#: ``None`` or ``0``: the whole image; an int: square tiles; ``(h, w)``: rectangular tiles.
TileSize = int | tuple[int, int] | None


@dataclass(frozen=True)
class Span:
    """One tile along one axis: ``[start, stop)`` and its overlaps with its neighbours."""

    start: int
    stop: int
    #: Pixels shared with the previous tile (0 at the image border).
    overlap_before: int
    #: Pixels shared with the next tile (0 at the image border).
    overlap_after: int


def round_to_multiple(value: int, multiple: int, *, up: bool = False) -> int:
    """``value`` rounded down (or up) to a multiple of ``multiple``, at least ``multiple``."""
    q = -(-value // multiple) if up else value // multiple
    return max(1, q) * multiple


def split_axis(length: int, tile: int, overlap: int, multiple: int = 1) -> list[Span]:
    """Cut ``length`` pixels into evenly sized, overlapping tiles.

    ``length`` must be a multiple of ``multiple``. Tile size and starts are multiples of
    ``multiple``; the tile size is at most ``tile`` (rounded down to the multiple); the
    overlap is at least ``overlap`` (rounded up to the multiple) but at most half a tile.
    """
    if length % multiple:
        raise ValueError(f"length {length} is not a multiple of {multiple}")
    units = length // multiple
    max_units = max(1, tile // multiple)
    if units <= max_units:
        return [Span(0, length, 0, 0)]
    overlap_units = min(-(-overlap // multiple), max_units // 2)
    count = -(-(units - overlap_units) // (max_units - overlap_units))
    size = -(-(units + (count - 1) * overlap_units) // count)
    travel = units - size
    starts = [(i * travel + (count - 1) // 2) // (count - 1) for i in range(count)]
    spans = []
    for i, s in enumerate(starts):
        before = starts[i - 1] + size - s if i > 0 else 0
        after = s + size - starts[i + 1] if i + 1 < count else 0
        spans.append(
            Span(s * multiple, (s + size) * multiple, before * multiple, after * multiple)
        )
    return spans


def _ramp(overlap: int) -> tuple[int, torch.Tensor]:
    """Zero margin and rising raised-cosine ramp for an overlap of ``overlap`` pixels."""
    margin = overlap // 4
    length = overlap - 2 * margin
    k = (torch.arange(length, dtype=torch.float64) + 0.5) / length
    return margin, torch.sin(k * (math.pi / 2)) ** 2


def axis_weights(span: Span, scale: int = 1) -> torch.Tensor:
    """Blend weights along one axis of a tile (its length times ``scale``), float32.

    Weight 1 inside the tile and at the image border; in an overlap of ``o`` pixels,
    0 over the outer ``o // 4`` and a raised cosine over the middle. The ramps of two
    neighbours are complementary (``sin^2 + cos^2 = 1``).
    """
    w = torch.ones((span.stop - span.start) * scale, dtype=torch.float64)
    if span.overlap_before:
        margin, ramp = _ramp(span.overlap_before * scale)
        w[:margin] = 0
        w[margin : margin + len(ramp)] *= ramp
    if span.overlap_after:
        margin, ramp = _ramp(span.overlap_after * scale)
        end = len(w) - margin
        w[end:] = 0
        w[end - len(ramp) : end] *= ramp.flip(0)
    return w.float()


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an out-of-memory error of any device (the "split" signal)."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    if isinstance(error, RuntimeError):
        message = str(error).lower()
        return "out of memory" in message or "allocat" in message
    return False


def _free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and torch.backends.mps.is_available():
        mps.empty_cache()


def _tile_pair(tile: TileSize, height: int, width: int) -> tuple[int, int]:
    if not tile:
        return height, width
    if isinstance(tile, int):
        return tile, tile
    return tile


def tiled_forward(
    fn: Forward,
    image: torch.Tensor,
    *,
    tile: TileSize,
    overlap: int = 32,
    multiple: int = 1,
    scale: int = 1,
    batch_size: int = 1,
    min_tile: int = 32,
    margin: int = 0,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Run ``fn`` over ``image`` in feathered tiles and return the joined result.

    ``image`` is ``(C, H, W)`` float32 on the CPU; the result is ``(C', H * scale,
    W * scale)`` float32 on the CPU, not clamped. ``tile`` is the largest tile (``None`` /
    ``0``: the whole image); ``batch_size`` tiles go through ``fn`` at once; ``margin``
    reflected pixels are added on every side and cut off again. Raises
    :class:`~imgrestore.errors.DeviceError` when memory runs out even at ``min_tile``.
    """
    if image.dim() != 3:
        raise ValueError(f"expected a (C, H, W) tensor, got shape {tuple(image.shape)}")
    height, width = image.shape[-2:]
    padded = pad_to_multiple(image[None], multiple, margin)[0]
    tiles = plan_tiles(padded.shape[-2], padded.shape[-1], tile, overlap, multiple)
    blend = _Blend(padded.shape[-2] * scale, padded.shape[-1] * scale, scale)
    split_to: int | None = None  # after an out-of-memory error: the tile size that is tried
    done = 0
    while done < len(tiles):
        batch = tiles[done : done + batch_size]
        crops = [padded[:, sy.start : sy.stop, sx.start : sx.stop] for sy, sx in batch]
        try:
            if split_to is None:
                results = _as_list(fn(torch.stack(crops)))
            else:
                results = [
                    tiled_forward(fn, c, tile=split_to, overlap=overlap, multiple=multiple,
                                  scale=scale, min_tile=min_tile)
                    for c in crops
                ]
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            results = None  # leave the except block first so the failed tensors are freed
        if results is None:
            _free_memory()
            if batch_size > 1:
                batch_size = 1
            else:
                split_to = _smaller_tile(split_to or max(crops[0].shape[-2:]), multiple,
                                         min_tile)
            continue
        for (sy, sx), result in zip(batch, results, strict=True):
            blend.add(sy, sx, result)
            done += 1
            if progress is not None:
                progress(done, len(tiles))
    del padded
    return blend.result(height * scale, width * scale, margin * scale)


def plan_tiles(height: int, width: int, tile: TileSize, overlap: int,
               multiple: int) -> list[tuple[Span, Span]]:
    """The tiles of a padded ``height x width`` image, row by row, as (rows, columns)."""
    tile_h, tile_w = _tile_pair(tile, height, width)
    return [(sy, sx) for sy in split_axis(height, tile_h, overlap, multiple)
            for sx in split_axis(width, tile_w, overlap, multiple)]


def _smaller_tile(current: int, multiple: int, min_tile: int) -> int:
    """The tile size to try after running out of memory at ``current``; DeviceError when
    there is none left."""
    smaller = round_to_multiple(current // 2, multiple)
    if smaller < min_tile or smaller >= current:
        raise DeviceError(
            f"out of memory even with {current} px tiles; free memory on the "
            "device, lower --max-memory, or use --device cpu"
        )
    return smaller


class _Blend:
    """The output and weight accumulators of a tiled forward (CPU, float32)."""

    def __init__(self, height: int, width: int, scale: int) -> None:
        self.scale = scale
        self.out: torch.Tensor | None = None
        self.weight_sum = torch.zeros(height, width)

    def add(self, sy: Span, sx: Span, result: torch.Tensor) -> None:
        """Add one tile's result, feathered by its blend weights."""
        s = self.scale
        expected = ((sy.stop - sy.start) * s, (sx.stop - sx.start) * s)
        if tuple(result.shape[-2:]) != expected:
            raise ValueError(
                f"the network returned a {tuple(result.shape[-2:])} tile for a "
                f"{(sy.stop - sy.start, sx.stop - sx.start)} input at scale {s}"
            )
        if self.out is None:
            self.out = torch.zeros(result.shape[0], *self.weight_sum.shape)
        w = axis_weights(sy, s)[:, None] * axis_weights(sx, s)[None, :]
        ys, xs = slice(sy.start * s, sy.stop * s), slice(sx.start * s, sx.stop * s)
        self.out[:, ys, xs].addcmul_(result.float(), w)
        self.weight_sum[ys, xs] += w

    def result(self, height: int, width: int, offset: int = 0) -> torch.Tensor:
        """The joined image, cropped to ``height x width`` from ``offset`` (the margin)."""
        assert self.out is not None
        ys, xs = slice(offset, offset + height), slice(offset, offset + width)
        return self.out[:, ys, xs].div_(self.weight_sum[ys, xs])


def _as_list(batch: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    return list(batch.unbind(0)) if isinstance(batch, torch.Tensor) else list(batch)
