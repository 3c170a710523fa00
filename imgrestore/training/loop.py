"""The trainer: :func:`train` runs a recipe into a run folder.

A run folder holds ``recipe.json`` (the resolved recipe), ``log.jsonl``,
``checkpoints/latest.pt`` (everything needed to resume bit-identically),
``checkpoints/best.pt`` (best validation PSNR), ``samples/`` (a before/after picture per
validation) and, at the end, the model itself: ``model.safetensors`` +
``imgrestore.json`` (best weights, or the last ones without validation), so the folder
works as ``--model RUN_DIR``.

One optimizer step ("iteration") takes ``train.accumulate`` loader batches. Under
``torchrun`` each process trains on its shard (DistributedDataParallel) and validates
its share of the validation images; every process takes part in every checkpoint, and
rank 0 logs and writes files. Set-up lives in :mod:`.build`, validation in
:mod:`.validate`, the log in :mod:`.report`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from imgrestore.errors import UsageError
from imgrestore.training import checkpoint, dist, persist
from imgrestore.training.build import (
    build_network,
    make_optimizer,
    network_kwargs,
    prepare_data,
)
from imgrestore.training.data import BatchKeys, EpochSampler, mixup
from imgrestore.training.losses import RestorationLoss
from imgrestore.training.pretrained import Initial, load_initial, load_into
from imgrestore.training.progressive import ProgressiveSchedule, Stage, select
from imgrestore.training.recipe import Recipe
from imgrestore.training.report import OnEvent, Reporter
from imgrestore.training.runs import RECIPE_FILE, check_unchanged, recipe_from_dict
from imgrestore.training.schedules import cyclic_cosine, warmup_cosine
from imgrestore.training.validate import Validator

#: ``--from scratch``: ignore the recipe's ``model.pretrained``.
SCRATCH = "scratch"


@dataclass(frozen=True)
class StepInfo:
    """What one optimizer step did (passed to ``train(..., on_step=...)``)."""

    iteration: int
    epoch: int
    lr: float
    loss: float
    #: Samples and patch size of the last micro-batch fed to the network.
    batch: int
    patch: int


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    iterations: int
    best_psnr: float | None
    best_iteration: int | None
    #: Whether ``model.safetensors`` + ``imgrestore.json`` were written.
    exported: bool


def train(
    recipe: Recipe, run_dir: str | Path, *, resume: bool = False, init_from: str | None = None,
    on_event: OnEvent | None = None, on_step: Callable[[StepInfo], None] | None = None,
    stop_at: int | None = None,
) -> TrainResult:
    """Train ``recipe`` into ``run_dir``.

    ``resume``: continue from ``run_dir/checkpoints/latest.pt`` (bit-identically); the
    recipe must be the run's own (``recipe.json``) up to run-time settings.
    ``init_from``: start from these weights (a model card, model folder, ``hf:`` reference
    or weights file) instead of the recipe's ``model.pretrained``; ``"scratch"``: from
    scratch. The network then is the one those weights belong to.
    ``on_event``: receives every log record (and a ``step`` record per iteration).
    ``stop_at``: stop after this iteration, leaving a checkpoint (as an interrupted run).
    """
    ctx = dist.setup(recipe.train.device)
    reporter = Reporter(Path(run_dir), tensorboard=recipe.train.tensorboard,
                        enabled=ctx.main, on_event=on_event)
    try:
        trainer = Trainer(recipe, Path(run_dir), ctx, resume=resume, init_from=init_from,
                          reporter=reporter)
        return trainer.run(on_step=on_step, stop_at=stop_at)
    finally:
        reporter.close()
        dist.teardown(ctx)


class Trainer:
    """One run's state: network, optimizer, data, and where it is."""

    def __init__(
        self, recipe: Recipe, run_dir: Path, ctx: dist.Context, *, resume: bool,
        init_from: str | None, reporter: Reporter,
    ) -> None:
        self.recipe, self.run_dir, self.ctx = copy.deepcopy(recipe), run_dir, ctx
        self.reporter = reporter
        self.notify = reporter.notice
        state = persist.open_run(run_dir, resume, self.notify)
        t = self.recipe.train
        torch.manual_seed(t.seed + ctx.rank)
        self.rng = np.random.default_rng([t.seed, ctx.rank])
        self.device = ctx.device
        self._check_amp()
        self._setup_network(init_from, state)
        self._setup_data()
        self.iteration = 0
        self.best: dict[str, Any] = {"psnr": None, "ssim": None, "iteration": None}
        if state is not None:
            persist.load_state(self, state)
        if ctx.main and state is None:
            run_dir.mkdir(parents=True, exist_ok=True)
            persist.write_json(run_dir / RECIPE_FILE, self.recipe.to_dict())
        dist.barrier(ctx)

    # --- set-up ----------------------------------------------------------------------------

    def _check_amp(self) -> None:
        amp = self.recipe.train.amp
        if amp != "off" and self.device.type != "cuda":
            raise UsageError(
                f"train.amp = {amp} needs a CUDA device (this run is on {self.device}); "
                "use --set train.amp=off"
            )
        if amp == "bf16" and not torch.cuda.is_bf16_supported():
            raise UsageError("train.amp = bf16: this GPU has no bfloat16; use fp16")

    def _initial(self, init_from: str | None, state: dict[str, Any] | None) -> Initial | None:
        """The weights the run starts from (fresh start) or started from (resume)."""
        model = self.recipe.model
        if state is not None:
            init = state.get("init")
            if not init:
                return None
            return Initial(init["family"], json.loads(init["kwargs"]), {}, init["licence"],
                           init["source"])
        ref = model.pretrained if init_from is None else init_from
        if not ref or ref == SCRATCH:
            model.pretrained = ""
            return None
        model.pretrained = ref  # recipe.json records what the run started from
        return load_initial(ref)

    def _setup_network(self, init_from: str | None, state: dict[str, Any] | None) -> None:
        recipe = self.recipe
        self.initial = self._initial(init_from, state)
        if self.initial is not None and self.initial.family:
            recipe.model.family = self.initial.family  # type: ignore[assignment]
            recipe.model.configuration = ""
            recipe.model.kwargs = dict(self.initial.kwargs)
        if state is not None:
            check_unchanged(recipe_from_dict(json.loads(state["recipe"])), recipe,
                            "the recipe given")
        self.kwargs = network_kwargs(recipe.model)
        self.net = build_network(recipe.model.family, self.kwargs)
        if self.initial is not None and state is None:
            load_into(self.net, self.initial)
            self.notify(f"starting from {self.initial.source}")
        self.net.to(self.device)
        self.model: nn.Module = self.net
        if self.ctx.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.net, device_ids=ids)
        t = recipe.train
        self.ema = (
            {k: v.detach().clone() for k, v in self.net.state_dict().items()} if t.ema else None
        )
        loss = recipe.loss
        self.criterion = RestorationLoss(loss.kind, eps=loss.eps, edge_weight=loss.edge_weight,
                                         clamp=loss.clamp, stages=loss.stages)
        self.optimizer = make_optimizer(recipe, self.net.parameters())
        self.scaler = torch.amp.GradScaler("cuda", enabled=t.amp == "fp16")

    def _setup_data(self) -> None:
        recipe, d = self.recipe, self.recipe.data
        p = recipe.progressive
        self.progressive = (
            ProgressiveSchedule(tuple(p.patches), tuple(p.batches), tuple(p.iterations))
            if p.patches else None
        )
        self.patch = self.progressive.max_patch if self.progressive else d.patch
        self.batch = self.progressive.max_batch if self.progressive else d.batch
        data = prepare_data(recipe, self.ctx, patch=self.patch, batch=self.batch,
                            notify=self.notify)
        self.trainset, self.batches_per_epoch = data.trainset, data.batches_per_epoch
        self.validator = (
            Validator(data.valset, recipe.val, recipe.model.family, self.ctx, self.run_dir)
            if data.valset is not None else None
        )
        self.total = self._total_iterations()
        t = recipe.train
        self.total_epochs = t.epochs or math.ceil(
            self.total * t.accumulate / self.batches_per_epoch
        )
        s = recipe.schedule
        length = self.total_epochs if s.unit == "epoch" else self.total
        if s.kind == "warmup_cosine" and s.warmup >= length:
            self.notify(f"schedule.warmup = {s.warmup} {s.unit}s is not shorter than the run "
                        f"({length} {s.unit}s): the rate never reaches optim.lr's cosine")

    def _total_iterations(self) -> int:
        t = self.recipe.train
        if t.epochs:
            return max(1, t.epochs * self.batches_per_epoch // t.accumulate)
        if t.iterations:
            return t.iterations
        if self.progressive:
            return self.progressive.total
        raise UsageError("the recipe gives no run length; set train.iterations or train.epochs")

    # --- the loop ----------------------------------------------------------------------------

    def epoch_of(self, iteration: int) -> int:
        """1-based epoch of the first loader batch of ``iteration``."""
        return (iteration - 1) * self.recipe.train.accumulate // self.batches_per_epoch + 1

    def lr_at(self, iteration: int) -> float:
        s, base = self.recipe.schedule, self.recipe.optim.lr
        if s.kind == "constant":
            return base
        if s.kind == "cyclic_cosine":
            return cyclic_cosine(iteration, base=base, periods=s.periods, eta_mins=s.eta_mins,
                                 restart_weights=s.restart_weights, mode=s.mode)
        if s.unit == "epoch":  # MPRNet's scheduler repeats the base rate after the warmup
            return warmup_cosine(self.epoch_of(iteration), base=base, total=self.total_epochs,
                                 warmup=s.warmup, eta_min=s.min_lr,
                                 extra_period=s.extra_period, hold=1 if s.warmup else 0)
        return warmup_cosine(iteration, base=base, total=self.total, warmup=s.warmup,
                             eta_min=s.min_lr, extra_period=s.extra_period)

    def _batches(self) -> Iterator[dict[str, torch.Tensor]]:
        from torch.utils.data import DataLoader

        consumed = self.iteration * self.recipe.train.accumulate
        epoch, position = divmod(consumed, self.batches_per_epoch)
        d = self.recipe.data
        sampler = EpochSampler(
            len(self.trainset), seed=self.recipe.train.seed, rank=self.ctx.rank,
            world=self.ctx.world, repeat=d.repeat, batch=self.batch,
            start_epoch=epoch, start=position * self.batch, drop_last=d.drop_last,
        )
        loader = DataLoader(
            self.trainset, batch_sampler=BatchKeys(sampler), num_workers=d.workers,
            pin_memory=self.device.type == "cuda", persistent_workers=d.workers > 0,
        )
        return iter(loader)

    def run(
        self, *, on_step: Callable[[StepInfo], None] | None = None, stop_at: int | None = None,
    ) -> TrainResult:
        t, v = self.recipe.train, self.recipe.val
        val_every = v.every
        if v.unit == "epoch":
            val_every = max(1, round(v.every * self.batches_per_epoch / t.accumulate))
        self.reporter.event(
            "start", iteration=self.iteration, total=self.total, world=self.ctx.world,
            device=str(self.device), batches_per_epoch=self.batches_per_epoch,
            parameters=sum(p.numel() for p in self.net.parameters()),
            start_from=self.initial.source if self.initial is not None else None,
        )
        if self.iteration == 0 and self.validator is not None:
            self.validate()
        batches = self._batches()
        stage: Stage | None = None
        losses: list[float] = []
        end = self.total if stop_at is None else min(self.total, stop_at)
        while self.iteration < end:
            it = self.iteration + 1
            if self.progressive is not None and (new := self.progressive.stage_at(it)) != stage:
                stage = new
                self.reporter.event("stage", iteration=it, stage=new.index + 1,
                                    patch=new.patch, batch=new.batch)
            info = self.step(it, batches, stage)
            losses.append(info.loss)
            self.iteration = it
            if on_step is not None:
                on_step(info)
            self.reporter.event("step", iteration=it, total=self.total)
            if it % t.log_every == 0 or it == self.total:
                self.reporter.event("train", iteration=it, total=self.total, epoch=info.epoch,
                                    lr=info.lr, loss=float(np.mean(losses)))
                losses = []
            validate = self.validator is not None and (
                (val_every and it % val_every == 0) or it == self.total
            )
            if validate:
                self.validate()
            if validate or it % t.save_every == 0 or it == end:
                persist.save_latest(self)
        exported = self.iteration >= self.total and persist.export_run(self)
        if self.iteration >= self.total:
            self.reporter.event("end", iteration=self.iteration, best=self.best)
        dist.barrier(self.ctx)
        return TrainResult(self.run_dir, self.iteration, self.best["psnr"],
                           self.best["iteration"], exported)

    def step(
        self, it: int, batches: Iterator[dict[str, torch.Tensor]], stage: Stage | None,
    ) -> StepInfo:
        """One optimizer step over ``train.accumulate`` loader batches."""
        t, m = self.recipe.train, self.recipe.mixup
        lr = self.lr_at(it)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        epoch = self.epoch_of(it)
        self.model.train()
        total_loss = 0.0
        for micro in range(t.accumulate):
            batch = next(batches)
            inp = batch["input"].to(self.device, non_blocking=True)
            target = batch["target"].to(self.device, non_blocking=True)
            if stage is not None:
                inp, target = select(inp, target, stage, self.rng)
            if m.kind != "none" and epoch > m.after_epoch:
                inp, target = mixup(inp, target, kind=m.kind, alpha=m.alpha, prob=m.prob,
                                    rng=self.rng)
            sync = contextlib.nullcontext()
            if self.ctx.distributed and micro < t.accumulate - 1:
                sync = self.model.no_sync()  # type: ignore[operator]
            with sync:
                with self._autocast():
                    output = self.model(inp)
                loss = self.criterion(_to_float(output), target) / t.accumulate
                self.scaler.scale(loss).backward()
            total_loss += float(loss.detach())
        if self.recipe.optim.clip_grad_norm:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.net.parameters(), self.recipe.optim.clip_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self._update_ema()
        return StepInfo(it, epoch, lr, total_loss, inp.shape[0], inp.shape[-1])

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        amp = self.recipe.train.amp
        if amp == "off":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    @torch.no_grad()
    def _update_ema(self) -> None:
        assert self.ema is not None
        decay = self.recipe.train.ema
        for key, value in self.net.state_dict().items():
            if value.is_floating_point():
                self.ema[key].lerp_(value.detach(), 1 - decay)
            else:
                self.ema[key].copy_(value)

    def eval_net(self) -> nn.Module:
        """The network validation and export use (the EMA weights when enabled)."""
        if self.ema is None:
            return self.net
        shadow = build_network(self.recipe.model.family, self.kwargs).to(self.device)
        shadow.load_state_dict(self.ema)
        return shadow

    # --- validation, checkpoints, export --------------------------------------------------------

    def validate(self) -> dict[str, Any]:
        """Validate (every rank, its share); rank 0 keeps the best checkpoint."""
        assert self.validator is not None
        net = self.eval_net().eval()
        result = self.validator.run(net, self.iteration, self._autocast)
        self.reporter.event("val", iteration=self.iteration, total=self.total, **result)
        if self.best["psnr"] is None or result["psnr"] > self.best["psnr"]:
            self.best = {"psnr": result["psnr"], "ssim": result["ssim"],
                         "iteration": self.iteration}
            if self.ctx.main:
                state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
                checkpoint.save(self.run_dir / "checkpoints" / checkpoint.BEST,
                                {"model": state, "iteration": self.iteration, "best": self.best})
        return result

def _to_float(output: Any) -> Any:
    if isinstance(output, (list, tuple)):
        return [o.float() for o in output]
    return output.float()


__all__ = ["SCRATCH", "StepInfo", "TrainResult", "Trainer", "network_kwargs", "train"]
