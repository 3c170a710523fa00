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
rank 0 logs and writes files. Set-up lives in :mod:`.setup`, validation in
:mod:`.validation`, the log in :mod:`.report`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from imgrestore import distributed as dist
from imgrestore.files import atomic_write
from imgrestore.training import checkpoint
from imgrestore.training.data import BatchKeys, EpochSampler, mixup
from imgrestore.training.losses import RestorationLoss
from imgrestore.training.pretrained import load_into
from imgrestore.training.progressive import Stage, select
from imgrestore.training.recipe import Recipe
from imgrestore.training.report import Notify, OnEvent, Reporter
from imgrestore.training.runs import RECIPE_FILE
from imgrestore.training.schedules import cyclic_cosine, warmup_cosine
from imgrestore.training.setup import (
    build_network,
    check_amp,
    make_optimizer,
    plan_data,
    previous_state,
    starting_network,
)
from imgrestore.training.validation import Validator

log = logging.getLogger(__name__)


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
    notify: Notify | None = None, on_event: OnEvent | None = None,
    on_step: Callable[[StepInfo], None] | None = None, stop_at: int | None = None,
) -> TrainResult:
    """Train ``recipe`` into ``run_dir``.

    ``notify`` gets one-line notices, also logged (default: this module's logger);
    ``on_event`` every event (a display; ``step`` ones too); ``on_step`` every step.

    ``resume``: continue from ``run_dir/checkpoints/latest.pt`` (bit-identically); the
    recipe must be the run's own (``recipe.json``) up to run-time settings.
    ``init_from``: start from these weights (a model card, model folder, ``hf:`` reference
    or weights file) instead of the recipe's ``model.pretrained``; ``"scratch"``: from
    scratch. The network then is the one those weights belong to.
    ``stop_at``: stop after this iteration, leaving a checkpoint (as an interrupted run).
    """
    ctx = dist.setup(recipe.train.device)
    reporter = Reporter(Path(run_dir), tensorboard=recipe.train.tensorboard,
                        enabled=ctx.main, on_event=on_event, notify=notify or log.info)
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
        recipe = copy.deepcopy(recipe)
        self.recipe, self.run_dir, self.ctx = recipe, run_dir, ctx
        self.reporter = reporter
        self.notify = reporter.notice
        t = recipe.train
        state = previous_state(run_dir, resume, self.notify)
        torch.manual_seed(t.seed + ctx.rank)
        self.rng = np.random.default_rng([t.seed, ctx.rank])
        self.device = ctx.device
        check_amp(t.amp, self.device)
        self.initial, self.kwargs = starting_network(recipe, state, init_from, self.notify)
        self._build_network(fresh=state is None)
        self.criterion = RestorationLoss(
            recipe.loss.kind, eps=recipe.loss.eps, edge_weight=recipe.loss.edge_weight,
            color_weight=recipe.loss.color_weight, color_image_mean=recipe.loss.color_image_mean,
            brightness_weight=recipe.loss.brightness_weight,
            clamp=recipe.loss.clamp, stages=recipe.loss.stages,
        )
        self.optimizer = make_optimizer(recipe, self.net.parameters())
        self.scaler = torch.amp.GradScaler("cuda", enabled=t.amp == "fp16")
        self.data = plan_data(recipe, ctx, self.notify)
        self.validator = (
            Validator(self.data.valset, recipe.val, recipe.model.family, ctx, run_dir)
            if self.data.valset is not None else None
        )
        self.total = self.data.total
        self.iteration = 0
        self.best: dict[str, Any] = {"psnr": None, "ssim": None, "iteration": None}
        if state is not None:
            self._load_state(state)
        elif ctx.main:  # a resumed run keeps the recipe.json it started with
            run_dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps(recipe.to_dict(), indent=2) + "\n"
            atomic_write(run_dir / RECIPE_FILE, text.encode("utf-8"))
        dist.barrier(ctx)

    # --- set-up helpers ------------------------------------------------------------------------

    def _build_network(self, *, fresh: bool) -> None:
        """The network (with the ``--from`` weights on a fresh start), on the device,
        wrapped for DDP under torchrun, and its EMA copy."""
        self.net = build_network(self.recipe.model.family, self.kwargs)
        if self.initial is not None and fresh:
            load_into(self.net, self.initial)
            self.notify(f"starting from {self.initial.source}")
        self.net.to(self.device)
        self.model: nn.Module = self.net
        if self.ctx.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.net, device_ids=ids)
        self.ema = (
            {k: v.detach().clone() for k, v in self.net.state_dict().items()}
            if self.recipe.train.ema else None
        )

    def _load_state(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema = {k: v.to(self.device) for k, v in state["ema"].items()}
        self.iteration = int(state["iteration"])
        self.best = dict(state["best"])
        checkpoint.restore_rng(state["rng"][self.ctx.rank], self.rng)
        self.notify(f"resuming {self.run_dir} at iteration {self.iteration}")

    # --- the loop ----------------------------------------------------------------------------

    def epoch_of(self, iteration: int) -> int:
        """1-based epoch of the first loader batch of ``iteration``."""
        return (iteration - 1) * self.recipe.train.accumulate // self.data.batches_per_epoch + 1

    def lr_at(self, iteration: int) -> float:
        s, base = self.recipe.schedule, self.recipe.optim.lr
        if s.kind == "constant":
            return base
        if s.kind == "cyclic_cosine":
            return cyclic_cosine(iteration, base=base, periods=s.periods, eta_mins=s.eta_mins,
                                 restart_weights=s.restart_weights, mode=s.mode)
        if s.unit == "epoch":  # MPRNet's scheduler repeats the base rate after the warmup
            return warmup_cosine(self.epoch_of(iteration), base=base, total=self.data.total_epochs,
                                 warmup=s.warmup, eta_min=s.min_lr,
                                 extra_period=s.extra_period, hold=1 if s.warmup else 0)
        return warmup_cosine(iteration, base=base, total=self.total, warmup=s.warmup,
                             eta_min=s.min_lr, extra_period=s.extra_period)

    def _batches(self) -> Iterator[dict[str, torch.Tensor]]:
        from torch.utils.data import DataLoader

        consumed = self.iteration * self.recipe.train.accumulate
        epoch, position = divmod(consumed, self.data.batches_per_epoch)
        d = self.recipe.data
        sampler = EpochSampler(
            len(self.data.trainset), seed=self.recipe.train.seed, rank=self.ctx.rank,
            world=self.ctx.world, repeat=d.repeat, batch=self.data.batch,
            start_epoch=epoch, start=position * self.data.batch, drop_last=d.drop_last,
        )
        loader = DataLoader(
            self.data.trainset, batch_sampler=BatchKeys(sampler), num_workers=d.workers,
            pin_memory=self.device.type == "cuda", persistent_workers=d.workers > 0,
        )
        return iter(loader)

    def run(
        self, *, on_step: Callable[[StepInfo], None] | None = None, stop_at: int | None = None,
    ) -> TrainResult:
        t, v = self.recipe.train, self.recipe.val
        val_every = v.every
        if v.unit == "epoch":
            val_every = max(1, round(v.every * self.data.batches_per_epoch / t.accumulate))
        self.reporter.event(
            "start", iteration=self.iteration, total=self.total, world=self.ctx.world,
            device=str(self.device), batches_per_epoch=self.data.batches_per_epoch,
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
            progressive = self.data.progressive
            if progressive is not None and (new := progressive.stage_at(it)) != stage:
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
            # Every rank validates (its share), so every rank joins the checkpoint after it.
            validate = self.validator is not None and (
                (val_every and it % val_every == 0) or it == self.total
            )
            if validate:
                self.validate()
            if validate or it % t.save_every == 0 or it == end:
                self.save()
        exported = self.iteration >= self.total and self.export()
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

    def save(self) -> None:
        """Write ``checkpoints/latest.pt``; every rank takes part (its generator states)."""
        states = dist.all_gather(self.ctx, checkpoint.rng_states(self.rng))
        if self.ctx.main:
            init = None
            if self.initial is not None and self.initial.family:
                init = {"family": self.initial.family, "kwargs": json.dumps(self.kwargs),
                        "licence": self.initial.licence, "source": self.initial.source}
            checkpoint.save(self.run_dir / "checkpoints" / checkpoint.LATEST, {
                "model": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
                "ema": None if self.ema is None else {k: v.cpu() for k, v in self.ema.items()},
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(),
                "scheduler": {"kind": self.recipe.schedule.kind, "iteration": self.iteration},
                "iteration": self.iteration,
                "best": self.best,
                "rng": states,
                "recipe": json.dumps(self.recipe.to_dict()),
                "init": init,
            })
            self.reporter.event("checkpoint", iteration=self.iteration)
        dist.barrier(self.ctx)

    def export(self) -> bool:
        """Write the best (or last) weights as ``model.safetensors`` + ``imgrestore.json``."""
        if not self.ctx.main:
            return False
        from imgrestore.training.export import export_model

        best = self.run_dir / "checkpoints" / checkpoint.BEST
        state = checkpoint.load_weights(best) if best.exists() else self.eval_net().state_dict()
        licence = self.initial.licence if self.initial is not None else None
        export_model(self.run_dir, state, self.recipe, self.kwargs, licence=licence, extra={
            "training": {
                "recipe": self.recipe.name, "iterations": self.iteration,
                "val_psnr": self.best["psnr"], "val_ssim": self.best["ssim"],
                "best_iteration": self.best["iteration"],
                "from": self.initial.source if self.initial is not None else None,
            }
        })
        self.notify(f"model written to {self.run_dir} (use --model {self.run_dir})")
        return True


def _to_float(output: Any) -> Any:
    if isinstance(output, (list, tuple)):
        return [o.float() for o in output]
    return output.float()


__all__ = ["StepInfo", "TrainResult", "Trainer", "train"]
