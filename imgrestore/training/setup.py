"""What a run is made of before its first step: the run folder's state, the network to
start from, the optimizer, and the data (checked up front, cached or not; sets, patch
and batch sizes, run length).

Each function answers one question for :class:`imgrestore.training.loop.Trainer`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from imgrestore import archs
from imgrestore import distributed as dist
from imgrestore.errors import UsageError
from imgrestore.training import checkpoint
from imgrestore.training.data import TrainSet, ValSet, batches_per_epoch, samples_per_epoch
from imgrestore.training.layout import Layout, check_images, find_layout, memory_budget
from imgrestore.training.pretrained import Initial, load_initial
from imgrestore.training.progressive import ProgressiveSchedule
from imgrestore.training.recipe import ModelSection, Recipe, recipe_from_dict
from imgrestore.training.runs import check_unchanged

Notify = Callable[[str], None]

#: ``--from scratch``: ignore the recipe's ``model.pretrained``.
SCRATCH = "scratch"


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
    """The network; arguments outside the family's schema (unknown, wrong type, out of
    bounds) or that cannot be built are one :class:`UsageError`."""
    descriptor = archs.family(family)
    try:
        descriptor.check_arguments(kwargs)
    except ValueError as exc:
        raise UsageError(f"model.kwargs: {exc}") from None
    try:
        return descriptor.network_class()(**kwargs)
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError) as exc:
        raise UsageError(f"model.kwargs {dict(kwargs)}: {family} cannot be built ({exc})") \
            from None


def previous_state(run_dir: Path, resume: bool, notify: Notify) -> dict[str, Any] | None:
    """The checkpoint to resume from, or ``None``; refuses a folder that holds a run
    (without ``resume``) or a model (which training would replace)."""
    latest = run_dir / "checkpoints" / checkpoint.LATEST
    if latest.exists() and not resume:
        raise UsageError(
            f"{run_dir}: already holds a run; pass --resume to continue it, or choose "
            "another --output"
        )
    if not latest.exists() and (run_dir / "model.safetensors").exists():
        raise UsageError(
            f"{run_dir}: already holds a model (model.safetensors) and no run to resume; "
            "choose another --output"
        )
    state = checkpoint.load(latest) if resume and latest.exists() else None
    if resume and state is None:
        notify(f"{run_dir}: nothing to resume; starting a new run")
    return state


def check_amp(amp: str, device: torch.device) -> None:
    """Refuse mixed precision the device cannot run."""
    if amp != "off" and device.type != "cuda":
        raise UsageError(
            f"train.amp = {amp} needs a CUDA device (this run is on {device}); "
            "use --set train.amp=off"
        )
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        raise UsageError("train.amp = bf16: this GPU has no bfloat16; use fp16")


def starting_network(recipe: Recipe, state: dict[str, Any] | None, init_from: str | None,
                     notify: Notify) -> tuple[Initial | None, dict[str, Any]]:
    """The weights a run starts from and the network's constructor arguments.

    A fresh run starts from ``init_from`` (``--from``), else the recipe's
    ``model.pretrained`` (``"scratch"``: neither), which ``recipe.json`` then records; a
    resumed run from what it started from, and its recipe must be the checkpoint's (up to
    run-time settings). When the weights name their network, ``recipe.model`` is changed
    to it.
    """
    initial: Initial | None = None
    if state is not None and state.get("init"):
        init = state["init"]
        initial = Initial(init["family"], json.loads(init["kwargs"]), {}, init["licence"],
                          init["source"])
    elif state is None:
        ref = recipe.model.pretrained if init_from is None else init_from
        recipe.model.pretrained = "" if ref == SCRATCH else ref
        if recipe.model.pretrained:
            initial = load_initial(ref, notify=notify)
    if initial is not None and initial.family:
        recipe.model.family = initial.family  # type: ignore[assignment]
        recipe.model.configuration = ""
        recipe.model.kwargs = dict(initial.kwargs)
    if state is not None:
        check_unchanged(recipe_from_dict(json.loads(state["recipe"])), recipe,
                        "the recipe given")
    return initial, network_kwargs(recipe.model)


def make_optimizer(recipe: Recipe, parameters: Iterable[torch.nn.Parameter]
                   ) -> torch.optim.Optimizer:
    o = recipe.optim
    cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
    if len(o.betas) != 2:
        raise UsageError(f"optim.betas needs two numbers, not {o.betas}")
    return cls(parameters, lr=o.lr, betas=tuple(o.betas), eps=o.eps,
               weight_decay=o.weight_decay)


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunData:
    """The data of a run and the sizes it fixes."""

    trainset: TrainSet
    #: The validation set (every rank validates its share); ``None``: no validation.
    valset: ValSet | None
    progressive: ProgressiveSchedule | None
    #: The largest patch and batch (those of the last stage under progressive learning).
    patch: int
    batch: int
    #: Loader batches one process takes per epoch.
    batches_per_epoch: int
    #: Optimizer steps, and epochs, of the whole run.
    total: int
    total_epochs: int


def plan_data(recipe: Recipe, ctx: dist.Context, notify: Notify) -> RunData:
    """The training and validation sets of ``recipe`` for this process (their images
    checked, cached or not), and the run length."""
    d, t, p = recipe.data, recipe.train, recipe.progressive
    progressive = (ProgressiveSchedule(tuple(p.patches), tuple(p.batches), tuple(p.iterations))
                   if p.patches else None)
    patch = progressive.max_patch if progressive else d.patch
    batch = progressive.max_batch if progressive else d.batch
    if not d.train:
        raise UsageError("the recipe names no training data; set data.train=FOLDER")
    layout, preloaded = _checked(find_layout(d.train, d.layout), recipe, ctx, notify,
                                 patch=patch, what="data.train")
    trainset = TrainSet(
        layout, patch=patch, seed=t.seed, augment=d.augment,
        saturation_jitter=d.saturation_jitter, degradation=d.degradation,
        min_detail=d.min_detail, cache=preloaded is not None, preloaded=preloaded,
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
    total = total_iterations(recipe, per_process, progressive)
    total_epochs = t.epochs or math.ceil(total * t.accumulate / per_process)
    _check_warmup(recipe, total, total_epochs, notify)
    return RunData(trainset, valset, progressive, patch, batch, per_process, total,
                   total_epochs)


def total_iterations(recipe: Recipe, batches_per_epoch: int,
                     progressive: ProgressiveSchedule | None) -> int:
    """Optimizer steps of the run: from epochs, iterations or the progressive schedule."""
    t = recipe.train
    if t.epochs:
        return max(1, t.epochs * batches_per_epoch // t.accumulate)
    if t.iterations:
        return t.iterations
    if progressive:
        return progressive.total
    raise UsageError("the recipe gives no run length; set train.iterations or train.epochs")


def _check_warmup(recipe: Recipe, total: int, total_epochs: int, notify: Notify) -> None:
    s = recipe.schedule
    length = total_epochs if s.unit == "epoch" else total
    if s.kind == "warmup_cosine" and s.warmup >= length:
        notify(f"schedule.warmup = {s.warmup} {s.unit}s is not shorter than the run "
               f"({length} {s.unit}s): the rate never reaches optim.lr's cosine")


def _checked(
    layout: Layout, recipe: Recipe, ctx: dist.Context, notify: Notify, *, patch: int,
    what: str, cache: bool | str | None = None,
) -> tuple[Layout, dict | None]:
    """The readable samples of ``layout`` (every rank checks its share), and the decoded
    images when caching."""
    d = recipe.data
    cache = d.cache if cache is None else cache
    budget = memory_budget(d.cache_gb, ctx.local_world)
    limit = {True: float("inf"), False: -1.0}.get(cache, budget)  # type: ignore[call-overload]
    if not d.check:
        return layout, ({} if cache is True else None)
    share = range(ctx.rank, len(layout), ctx.world)
    found = check_images(layout, share, keep=lambda total: total <= limit)
    bad, sizes, decoded = _merge(dist.all_gather(ctx, (found.bad, found.sizes, found.decoded)))
    for index in sorted(bad):
        notify(f"skipping {bad[index]}")
    readable = len(layout) - len(bad)
    if readable < max(1, d.min_readable * len(layout)):
        raise UsageError(
            f"{layout.root}: only {readable} of {len(layout)} images can be read (the run "
            f"needs {d.min_readable:.0%}, data.min_readable); fix or remove the files above"
        )
    if patch:
        _check_patch(sizes, patch, notify, what)
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


def _check_patch(sizes: Mapping[int, tuple[int, int]], patch: int, notify: Notify,
                 what: str) -> None:
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


__all__ = ["SCRATCH", "RunData", "build_network", "check_amp", "make_optimizer",
           "network_kwargs", "plan_data", "previous_state", "starting_network",
           "total_iterations"]
