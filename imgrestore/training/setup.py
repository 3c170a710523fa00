"""What a run is made of before its first step: the run folder's state, the network to
start from, the optimizer, and the data (sets, patch and batch sizes, run length).

Each function answers one question for :class:`imgrestore.training.loop.Trainer`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from imgrestore import archs
from imgrestore.distributed import Context
from imgrestore.errors import UsageError
from imgrestore.training import checkpoint
from imgrestore.training.data import TrainSet, ValSet, find_layout, samples_per_epoch
from imgrestore.training.pretrained import Initial, load_initial
from imgrestore.training.progressive import ProgressiveSchedule
from imgrestore.training.recipe import ModelSection, Recipe

Notify = Callable[[str], None]


def network_kwargs(model: ModelSection) -> dict[str, Any]:
    """Constructor arguments: the released configuration's, updated by ``model.kwargs``."""
    base: dict[str, Any] = {}
    if model.configuration:
        spec = archs.spec(model.configuration)
        if spec.family != model.family:
            raise UsageError(
                f"model.configuration {model.configuration} is {spec.family}, "
                f"not {model.family}"
            )
        base = dict(spec.kwargs)
    return {**base, **model.kwargs}


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
    """The weights a run starts from (``--from`` on a fresh start, or what a resumed run
    started from) and the network's constructor arguments. When the weights name their
    network, ``recipe.model`` is changed to it."""
    initial: Initial | None = None
    if init_from and state is None:
        initial = load_initial(init_from, notify=notify)
    elif state is not None and state.get("init"):
        init = state["init"]
        initial = Initial(init["family"], json.loads(init["kwargs"]), {}, init["licence"],
                          init["source"])
    if initial is not None and initial.family:
        recipe.model.family = initial.family  # type: ignore[assignment]
        recipe.model.configuration = ""
        recipe.model.kwargs = dict(initial.kwargs)
    return initial, network_kwargs(recipe.model)


def make_optimizer(recipe: Recipe, parameters: Iterable[torch.nn.Parameter]
                   ) -> torch.optim.Optimizer:
    o = recipe.optim
    cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
    if len(o.betas) != 2:
        raise UsageError(f"optim.betas needs two numbers, not {o.betas}")
    return cls(parameters, lr=o.lr, betas=tuple(o.betas), eps=o.eps,
               weight_decay=o.weight_decay)


@dataclass(frozen=True)
class RunData:
    """The data of a run and the sizes it fixes."""

    trainset: TrainSet
    #: Rank 0's validation set (``None``: no validation, or another rank).
    valset: ValSet | None
    progressive: ProgressiveSchedule | None
    #: The largest patch and batch (those of the last stage under progressive learning).
    patch: int
    batch: int
    batches_per_epoch: int
    #: Optimizer steps, and epochs, of the whole run.
    total: int
    total_epochs: int


def plan_data(recipe: Recipe, ctx: Context) -> RunData:
    """The training and validation sets of ``recipe`` for this process, and the run length."""
    d, t, p = recipe.data, recipe.train, recipe.progressive
    progressive = (ProgressiveSchedule(tuple(p.patches), tuple(p.batches), tuple(p.iterations))
                   if p.patches else None)
    patch = progressive.max_patch if progressive else d.patch
    batch = progressive.max_batch if progressive else d.batch
    if not d.train:
        raise UsageError("the recipe names no training data; set data.train=FOLDER")
    layout = find_layout(d.train, d.layout)
    trainset = TrainSet(
        layout, patch=patch, seed=t.seed, augment=d.augment,
        saturation_jitter=d.saturation_jitter, degradation=d.degradation, cache=d.cache,
    )
    per_epoch = samples_per_epoch(len(layout), world=ctx.world, repeat=d.repeat)
    batches_per_epoch = per_epoch // batch
    if batches_per_epoch < 1:
        raise UsageError(
            f"{d.train}: {len(layout)} images give fewer than one batch of {batch} "
            f"per process; lower data.batch or raise data.repeat"
        )
    valset = (
        ValSet(find_layout(d.val, d.layout), crop=recipe.val.crop, seed=recipe.val.seed,
               degradation=d.degradation, limit=recipe.val.limit)
        if d.val and ctx.main else None
    )
    total = total_iterations(recipe, batches_per_epoch, progressive)
    total_epochs = t.epochs or math.ceil(total * t.accumulate / batches_per_epoch)
    return RunData(trainset, valset, progressive, patch, batch, batches_per_epoch, total,
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


__all__ = ["RunData", "check_amp", "make_optimizer", "network_kwargs", "plan_data",
           "previous_state", "starting_network", "total_iterations"]
