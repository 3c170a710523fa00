"""Setting a run up: the network (fresh or from ``--from`` weights), the optimizer, and
the training and validation data (checked, cached or not)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from imgrestore import archs
from imgrestore.errors import UsageError
from imgrestore.training import dist
from imgrestore.training.data import TrainSet, ValSet, batches_per_epoch, samples_per_epoch
from imgrestore.training.layout import Checked, Layout, check_images, find_layout, memory_budget
from imgrestore.training.recipe import ModelSection, Recipe

Notify = Callable[[str], None]


def network_kwargs(model: ModelSection) -> dict[str, Any]:
    """Constructor arguments: the released configuration's, updated by ``model.kwargs``."""
    base: dict[str, Any] = {}
    if model.configuration:
        try:
            spec = archs.spec(model.configuration)
        except KeyError as exc:
            raise UsageError(f"model.configuration: {exc.args[0]}") from None
        if spec.family != model.family:
            raise UsageError(
                f"model.configuration {model.configuration} is {spec.family}, "
                f"not {model.family}"
            )
        base = dict(spec.kwargs)
    return {**base, **model.kwargs}


def build_network(family: str, kwargs: Mapping[str, Any]) -> nn.Module:
    """The network; unknown or unusable ``model.kwargs`` are one :class:`UsageError`."""
    cls = archs.family_class(family)  # type: ignore[arg-type]
    accepted = [p for p in inspect.signature(cls).parameters if p not in ("self",)]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise UsageError(
            f"model.kwargs: {family} has no argument {unknown[0]!r} "
            f"(it takes {', '.join(accepted)})"
        )
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError) as exc:
        raise UsageError(f"model.kwargs {dict(kwargs)}: {family} cannot be built ({exc})") \
            from None


def make_optimizer(recipe: Recipe, params: Any) -> torch.optim.Optimizer:
    o = recipe.optim
    cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
    if len(o.betas) != 2:
        raise UsageError(f"optim.betas needs two numbers, not {o.betas}")
    return cls(params, lr=o.lr, betas=tuple(o.betas), eps=o.eps, weight_decay=o.weight_decay)


# --- data ------------------------------------------------------------------------------------


@dataclass
class Data:
    trainset: TrainSet
    valset: ValSet | None
    #: Loader batches one process takes per epoch.
    batches_per_epoch: int
    #: Training images (readable ones).
    images: int


def prepare_data(
    recipe: Recipe, ctx: dist.Context, *, patch: int, batch: int, notify: Notify,
) -> Data:
    """Find, check and (maybe) cache the training and validation images."""
    d = recipe.data
    if not d.train:
        raise UsageError("the recipe names no training data; set data.train=FOLDER")
    layout, preloaded = _checked(find_layout(d.train, d.layout), recipe, ctx, notify,
                                 patch=patch, what="data.train")
    trainset = TrainSet(
        layout, patch=patch, seed=recipe.train.seed, augment=d.augment,
        saturation_jitter=d.saturation_jitter, degradation=d.degradation,
        cache=preloaded is not None, preloaded=preloaded,
    )
    per_epoch = samples_per_epoch(len(layout), world=ctx.world, repeat=d.repeat,
                                  drop_last=d.drop_last)
    per_process = batches_per_epoch(per_epoch, batch, drop_last=d.drop_last)
    if per_process < 1:
        raise UsageError(
            f"{d.train}: {len(layout)} images give fewer than one batch of {batch} "
            f"per process; lower data.batch or raise data.repeat"
        )
    valset = None
    if d.val:
        val_layout, val_images = _checked(find_layout(d.val, d.layout), recipe, ctx, notify,
                                          patch=0, what="data.val", cache=True)
        valset = ValSet(val_layout, crop=recipe.val.crop, seed=recipe.val.seed,
                        degradation=d.degradation, limit=recipe.val.limit,
                        preloaded=val_images)
    return Data(trainset, valset, per_process, len(layout))


def _checked(
    layout: Layout, recipe: Recipe, ctx: dist.Context, notify: Notify, *, patch: int,
    what: str, cache: bool | str | None = None,
) -> tuple[Layout, dict | None]:
    """The readable samples of ``layout``, and the decoded images when caching."""
    d = recipe.data
    cache = d.cache if cache is None else cache
    budget = memory_budget(d.cache_gb, ctx.local_world)
    limit = {True: float("inf"), False: -1.0}.get(cache, budget)  # type: ignore[call-overload]
    if not d.check:
        return layout, ({} if cache is True else None)
    share = range(ctx.rank, len(layout), ctx.world)
    found = check_images(layout, share, keep=lambda total: total <= limit)
    merged = _merge(dist.all_gather(ctx, (found.bad, found.sizes, found.decoded)))
    bad, sizes, decoded = merged
    for index in sorted(bad):
        notify(f"skipping {bad[index]}")
    readable = len(layout) - len(bad)
    if readable < max(1, d.min_readable * len(layout)):
        raise UsageError(
            f"{layout.root}: only {readable} of {len(layout)} images can be read (the run "
            f"needs {d.min_readable:.0%}, data.min_readable); fix or remove the files above"
        )
    if patch:
        _check_patch(layout, sizes, patch, notify, what)
    keep = [i for i in range(len(layout)) if i not in bad]
    if cache == "auto" and what == "data.train":
        on = decoded <= budget
        notify(f"cache: {'on' if on else 'off'} ({readable} images, {_bytes(decoded)} "
               f"decoded; budget {_bytes(budget)} per process, data.cache_gb)"
               + ("" if on else "; images are read from disk each time"))
        if not on:
            return layout.keep(keep), None
    return layout.keep(keep), (found.images if cache is not False else None)


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"


def _merge(parts: list[tuple[dict, dict, int]]) -> tuple[dict, dict, int]:
    bad: dict[int, str] = {}
    sizes: dict[int, tuple[int, int]] = {}
    total = 0
    for b, s, n in parts:
        bad.update(b)
        sizes.update(s)
        total += n
    return bad, sizes, total


def _check_patch(
    layout: Layout, sizes: Mapping[int, tuple[int, int]], patch: int, notify: Notify,
    what: str,
) -> None:
    small = {i: hw for i, hw in sizes.items() if min(hw) < patch}
    if not small:
        return
    if len(small) == len(sizes):
        largest = max(sizes.values(), key=min)
        raise UsageError(
            f"{what}: data.patch = {patch} is larger than every image (the largest is "
            f"{largest[1]}x{largest[0]}); lower data.patch"
        )
    smallest = min(small.values(), key=min)
    notify(f"{what}: {len(small)} of {len(sizes)} images are smaller than the {patch} px "
           f"patch (smallest {smallest[1]}x{smallest[0]}); they are mirror-padded")


__all__ = ["Checked", "Data", "build_network", "make_optimizer", "network_kwargs",
           "prepare_data"]
