"""Validation during training: PSNR/SSIM of the network's output *and of its input* on
the validation set, and a picture.

The images are whole (cropped by the set, padded to the family's multiple by
:func:`imgrestore.archs.restore`), run on the training device under the run's mixed
precision, and measured with :mod:`imgrestore.training.metrics`. Every process validates
its share of the images (``rank::world``); the per-image figures are gathered in image
order, so the means do not depend on the process count. ``input_psnr`` / ``input_ssim``
measure the degraded input itself against the target: a model helps only when ``psnr``
beats ``input_psnr``. Each validation also writes ``samples/val_ITERATION.png``: one row
per image (input | output | target) for the first :data:`STRIP_IMAGES` validation images,
centre crops of at most :data:`STRIP_CELL` px.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from imgrestore import archs
from imgrestore import distributed as dist
from imgrestore.files import replacing
from imgrestore.training import metrics
from imgrestore.training.data import ValSet
from imgrestore.training.recipe import ValSection

STRIP_IMAGES = 4
STRIP_CELL = 256
SAMPLES_DIR = "samples"


class Validator:
    """Measures a network on a fixed validation set (every rank calls :meth:`run`)."""

    def __init__(
        self, valset: ValSet, section: ValSection, family: str, ctx: dist.Context,
        run_dir: Path,
    ) -> None:
        self.valset, self.v, self.ctx, self.run_dir = valset, section, ctx, run_dir
        self.family = archs.family(family)
        self._input: dict[int, tuple[float, float]] = {}

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        v = self.v
        return metrics.prepare(x.float(), y_channel=v.y_channel, crop_border=v.crop_border,
                               quantize=v.quantize)

    @torch.no_grad()
    def run(
        self, net: nn.Module, iteration: int,
        autocast: Callable[[], contextlib.AbstractContextManager[Any]],
    ) -> dict[str, Any]:
        """Mean ``psnr``, ``ssim``, ``input_psnr``, ``input_ssim`` over the set, the image
        count, and the strip's path (relative to the run folder)."""
        device = self.ctx.device
        rows: dict[int, tuple[float, float, float, float]] = {}
        cells: dict[int, list[np.ndarray]] = {}
        for i in range(self.ctx.rank, len(self.valset), self.ctx.world):
            sample = self.valset[i]
            inp = sample["input"][None].to(device)
            target = sample["target"][None].to(device)
            with autocast():
                out = archs.restore(net, self.family, inp)
            before = as_target(inp, target)
            ref = self._prepare(target)
            got = self._prepare(out)
            if i not in self._input:
                seen = self._prepare(before)
                self._input[i] = (metrics.psnr(seen, ref), metrics.ssim(seen, ref))
            rows[i] = (metrics.psnr(got, ref), metrics.ssim(got, ref), *self._input[i])
            if i < STRIP_IMAGES:
                cells[i] = [_cell(t) for t in (before, out, target)]
        gathered = dist.all_gather(self.ctx, (rows, cells))
        rows = {k: v for part, _ in gathered for k, v in part.items()}
        cells = {k: v for _, part in gathered for k, v in part.items()}
        figures = np.array([rows[i] for i in sorted(rows)], dtype=np.float64)
        means = figures.mean(axis=0)
        result: dict[str, Any] = {
            "psnr": float(means[0]), "ssim": float(means[1]),
            "input_psnr": float(means[2]), "input_ssim": float(means[3]),
            "images": len(rows),
        }
        if self.ctx.main and cells:
            name = f"{SAMPLES_DIR}/val_{iteration:06d}.png"
            write_strip(self.run_dir / name, [cells[i] for i in sorted(cells)])
            result["strip"] = name
        return result


def as_target(inp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The input as a picture comparable with ``target``: the mean of dual-pixel views,
    bicubic-upsampled when smaller (super-resolution)."""
    if inp.shape[1] == 2 * target.shape[1]:
        c = target.shape[1]
        inp = (inp[:, :c] + inp[:, c:]) / 2
    if inp.shape[-2:] != target.shape[-2:]:
        inp = F.interpolate(inp.float(), size=target.shape[-2:], mode="bicubic",
                            align_corners=False)
    return inp


def _cell(image: torch.Tensor) -> np.ndarray:
    """A centre crop of at most STRIP_CELL px as uint8 H x W x 3."""
    x = image[0, :3].float().clamp(0, 1)
    h, w = x.shape[-2:]
    ch, cw = min(h, STRIP_CELL), min(w, STRIP_CELL)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    x = x[:, y0 : y0 + ch, x0 : x0 + cw]
    return (x.permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def write_strip(path: Path, rows: list[list[np.ndarray]], gap: int = 4) -> None:
    """Write rows of images (left to right) as one PNG, atomically."""
    from PIL import Image

    height = sum(max(c.shape[0] for c in row) for row in rows) + gap * (len(rows) - 1)
    width = max(sum(c.shape[1] for c in row) + gap * (len(row) - 1) for row in rows)
    canvas = np.full((height, width, 3), 255, np.uint8)
    y = 0
    for row in rows:
        x = 0
        for cell in row:
            canvas[y : y + cell.shape[0], x : x + cell.shape[1]] = cell
            x += cell.shape[1] + gap
        y += max(c.shape[0] for c in row) + gap
    with replacing(path) as tmp:
        Image.fromarray(canvas).save(tmp, format="PNG")


__all__ = ["SAMPLES_DIR", "STRIP_CELL", "STRIP_IMAGES", "Validator", "as_target",
           "write_strip"]
