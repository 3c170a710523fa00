"""Allowed ranges of recipe values, checked whenever a recipe is read or overridden.

This module is torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from imgrestore.errors import UsageError

if TYPE_CHECKING:
    from imgrestore.training.recipe import Recipe

#: Allowed ranges: key -> (lowest, highest, whether the lowest itself is excluded).
#: ``None``: no bound on that side. List fields are checked element by element.
BOUNDS: Mapping[str, tuple[float | None, float | None, bool]] = {
    "model.scale": (1, None, False),
    "data.patch": (1, None, False),
    "data.batch": (1, None, False),
    "data.repeat": (1, None, False),
    "data.workers": (0, None, False),
    "data.saturation_jitter": (0, 1, False),
    "data.min_detail": (0, 1, False),
    "data.cache_gb": (0, None, False),
    "data.min_readable": (0, 1, False),
    "mixup.alpha": (0, None, True),
    "mixup.after_epoch": (0, None, False),
    "mixup.prob": (0, 1, False),
    "loss.eps": (0, None, True),
    "loss.edge_weight": (0, None, False),
    "optim.lr": (0, None, True),
    "optim.betas": (0, 1, False),
    "optim.eps": (0, None, True),
    "optim.weight_decay": (0, None, False),
    "optim.clip_grad_norm": (0, None, False),
    "schedule.warmup": (0, None, False),
    "schedule.min_lr": (0, None, False),
    "schedule.extra_period": (0, None, False),
    "schedule.periods": (1, None, False),
    "schedule.eta_mins": (0, None, False),
    "schedule.restart_weights": (0, None, False),
    "progressive.patches": (1, None, False),
    "progressive.batches": (1, None, False),
    "progressive.iterations": (1, None, False),
    "train.iterations": (0, None, False),
    "train.epochs": (0, None, False),
    "train.accumulate": (1, None, False),
    "train.ema": (0, 1, False),
    "train.log_every": (1, None, False),
    "train.save_every": (1, None, False),
    "val.every": (0, None, False),
    "val.crop": (0, None, False),
    "val.crop_border": (0, None, False),
    "val.limit": (0, None, False),
}


def check_bounds(recipe: Recipe, where: object = "recipe") -> None:
    """:class:`UsageError` naming the first value outside :data:`BOUNDS`."""
    data = recipe.to_dict()
    for key, (low, high, strict) in BOUNDS.items():
        section, name = key.split(".")
        value = data[section][name]
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if low is not None and (v < low or (strict and v == low)):
                need = f"above {low}" if strict else f"at least {low}"
            elif high is not None and v > high:
                need = f"at most {high}"
            else:
                continue
            raise UsageError(f"{where}: {key} = {value!r}: must be {need}")
    if recipe.train.ema >= 1:
        raise UsageError(f"{where}: train.ema = {recipe.train.ema!r}: must be below 1")
    if any(b >= 1 for b in recipe.optim.betas):
        raise UsageError(f"{where}: optim.betas = {recipe.optim.betas!r}: each must be below 1")
    p = recipe.progressive
    if p.patches and not len(p.patches) == len(p.batches) == len(p.iterations):
        raise UsageError(
            f"{where}: progressive.patches, batches and iterations need the same length"
        )
    if p.patches and not recipe.data.drop_last:
        raise UsageError(f"{where}: progressive learning needs data.drop_last = true")


__all__ = ["BOUNDS", "check_bounds"]
