"""The trainer: :func:`train` runs a recipe into a run folder.

A run folder holds ``recipe.json`` (the resolved recipe), ``log.jsonl``,
``checkpoints/latest.pt`` (everything needed to resume bit-identically) and
``checkpoints/best.pt`` (best validation PSNR), and, at the end, the model itself:
``model.safetensors`` + ``imgrestore.json`` (best weights, or the last ones without
validation), so the folder works as ``--model RUN_DIR``.

One optimizer step ("iteration") takes ``train.accumulate`` loader batches. Under
``torchrun`` each process trains on its shard (DistributedDataParallel); rank 0 logs,
validates and writes files.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from imgrestore import archs
from imgrestore.errors import UsageError
from imgrestore.training import checkpoint, dist, metrics
from imgrestore.training.data import (
    EpochSampler,
    TrainSet,
    ValSet,
    find_layout,
    mixup,
    samples_per_epoch,
)
from imgrestore.training.losses import RestorationLoss
from imgrestore.training.pretrained import Initial, load_initial, load_into
from imgrestore.training.progressive import ProgressiveSchedule, Stage, select
from imgrestore.training.recipe import ModelSection, Recipe
from imgrestore.training.report import Reporter
from imgrestore.training.schedules import cyclic_cosine, warmup_cosine

Notify = Callable[[str], None]


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


def train(
    recipe: Recipe, run_dir: str | Path, *, resume: bool = False, init_from: str | None = None,
    live: bool = True, notify: Notify | None = None,
    on_step: Callable[[StepInfo], None] | None = None, stop_at: int | None = None,
) -> TrainResult:
    """Train ``recipe`` into ``run_dir``.

    ``resume``: continue from ``run_dir/checkpoints/latest.pt`` (bit-identically).
    ``init_from``: start from these weights (a model card, model folder, ``hf:`` reference
    or weights file); the network then is the one those weights belong to.
    ``stop_at``: stop after this iteration, leaving a checkpoint (as an interrupted run).
    """
    ctx = dist.setup(recipe.train.device)
    try:
        trainer = Trainer(recipe, Path(run_dir), ctx, resume=resume, init_from=init_from,
                          live=live, notify=notify or _stderr)
        return trainer.run(on_step=on_step, stop_at=stop_at)
    finally:
        dist.teardown(ctx)


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr)


class Trainer:
    """One run's state: network, optimizer, data, and where it is."""

    def __init__(
        self, recipe: Recipe, run_dir: Path, ctx: dist.Context, *, resume: bool,
        init_from: str | None, live: bool, notify: Notify,
    ) -> None:
        recipe = copy.deepcopy(recipe)
        self.recipe, self.run_dir, self.ctx = recipe, run_dir, ctx
        self.notify = notify if ctx.main else (lambda _m: None)
        t = recipe.train
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
            self.notify(f"{run_dir}: nothing to resume; starting a new run")

        torch.manual_seed(t.seed + ctx.rank)
        self.rng = np.random.default_rng([t.seed, ctx.rank])
        self.device = ctx.device
        self._check_amp()

        # Network (from --from weights on a fresh start).
        self.initial: Initial | None = None
        if init_from and state is None:
            self.initial = load_initial(init_from)
            if self.initial.family:
                recipe.model.family = self.initial.family  # type: ignore[assignment]
                recipe.model.configuration = ""
                recipe.model.kwargs = dict(self.initial.kwargs)
        elif state is not None and state.get("init"):
            init = state["init"]
            self.initial = Initial(init["family"], json.loads(init["kwargs"]), {},
                                   init["licence"], init["source"])
            recipe.model.family = init["family"]
            recipe.model.configuration = ""
            recipe.model.kwargs = dict(self.initial.kwargs)
        self.kwargs = network_kwargs(recipe.model)
        self.net = archs.build(recipe.model.family, **self.kwargs)
        if self.initial is not None and state is None:
            load_into(self.net, self.initial)
            self.notify(f"starting from {self.initial.source}")
        self.net.to(self.device)
        self.model: nn.Module = self.net
        if ctx.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.net, device_ids=ids)
        self.ema = (
            {k: v.detach().clone() for k, v in self.net.state_dict().items()} if t.ema else None
        )
        self.criterion = RestorationLoss(
            recipe.loss.kind, eps=recipe.loss.eps, edge_weight=recipe.loss.edge_weight,
            color_weight=recipe.loss.color_weight,
            clamp=recipe.loss.clamp, stages=recipe.loss.stages,
        )
        self.optimizer = self._optimizer()
        self.scaler = torch.amp.GradScaler("cuda", enabled=t.amp == "fp16")

        # Data.
        p = recipe.progressive
        self.progressive = (
            ProgressiveSchedule(tuple(p.patches), tuple(p.batches), tuple(p.iterations))
            if p.patches else None
        )
        d = recipe.data
        self.patch = self.progressive.max_patch if self.progressive else d.patch
        self.batch = self.progressive.max_batch if self.progressive else d.batch
        if not d.train:
            raise UsageError("the recipe names no training data; set data.train=FOLDER")
        layout = find_layout(d.train, d.layout)
        self.trainset = TrainSet(
            layout, patch=self.patch, seed=t.seed, augment=d.augment,
            saturation_jitter=d.saturation_jitter, degradation=d.degradation, cache=d.cache,
        )
        per_epoch = samples_per_epoch(len(layout), world=ctx.world, repeat=d.repeat)
        self.batches_per_epoch = per_epoch // self.batch
        if self.batches_per_epoch < 1:
            raise UsageError(
                f"{d.train}: {len(layout)} images give fewer than one batch of {self.batch} "
                f"per process; lower data.batch or raise data.repeat"
            )
        self.valset = (
            ValSet(find_layout(d.val, d.layout), crop=recipe.val.crop, seed=recipe.val.seed,
                   degradation=d.degradation, limit=recipe.val.limit)
            if d.val and ctx.main else None
        )
        self.total = self._total_iterations()
        self.total_epochs = t.epochs or math.ceil(
            self.total * t.accumulate / self.batches_per_epoch
        )

        # Where we are.
        self.iteration = 0
        self.best: dict[str, Any] = {"psnr": None, "ssim": None, "iteration": None}
        if state is not None:
            self._load_state(state)
        if ctx.main:
            run_dir.mkdir(parents=True, exist_ok=True)
            _write_json(run_dir / "recipe.json", recipe.to_dict())
        dist.barrier(ctx)
        self.reporter = Reporter(
            run_dir, total=self.total, start=self.iteration, live=live,
            tensorboard=t.tensorboard, enabled=ctx.main,
        )

    # --- set-up helpers ------------------------------------------------------------------------

    def _check_amp(self) -> None:
        amp = self.recipe.train.amp
        if amp != "off" and self.device.type != "cuda":
            raise UsageError(
                f"train.amp = {amp} needs a CUDA device (this run is on {self.device}); "
                "use --set train.amp=off"
            )
        if amp == "bf16" and not torch.cuda.is_bf16_supported():
            raise UsageError("train.amp = bf16: this GPU has no bfloat16; use fp16")

    def _optimizer(self) -> torch.optim.Optimizer:
        o = self.recipe.optim
        cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
        if len(o.betas) != 2:
            raise UsageError(f"optim.betas needs two numbers, not {o.betas}")
        return cls(self.net.parameters(), lr=o.lr, betas=tuple(o.betas), eps=o.eps,
                   weight_decay=o.weight_decay)

    def _total_iterations(self) -> int:
        t = self.recipe.train
        if t.epochs:
            return max(1, t.epochs * self.batches_per_epoch // t.accumulate)
        if t.iterations:
            return t.iterations
        if self.progressive:
            return self.progressive.total
        raise UsageError("the recipe gives no run length; set train.iterations or train.epochs")

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
        return (iteration - 1) * self.recipe.train.accumulate // self.batches_per_epoch + 1

    def lr_at(self, iteration: int) -> float:
        s, base = self.recipe.schedule, self.recipe.optim.lr
        if s.kind == "constant":
            return base
        if s.kind == "cyclic_cosine":
            return cyclic_cosine(iteration, base=base, periods=s.periods, eta_mins=s.eta_mins,
                                 restart_weights=s.restart_weights, mode=s.mode)
        if s.unit == "epoch":
            return warmup_cosine(self.epoch_of(iteration), base=base, total=self.total_epochs,
                                 warmup=s.warmup, eta_min=s.min_lr, extra_period=s.extra_period)
        return warmup_cosine(iteration, base=base, total=self.total, warmup=s.warmup,
                             eta_min=s.min_lr, extra_period=s.extra_period)

    def _batches(self) -> Iterator[dict[str, torch.Tensor]]:
        from torch.utils.data import DataLoader

        consumed = self.iteration * self.recipe.train.accumulate
        epoch, position = divmod(consumed, self.batches_per_epoch)
        sampler = EpochSampler(
            len(self.trainset), seed=self.recipe.train.seed, rank=self.ctx.rank,
            world=self.ctx.world, repeat=self.recipe.data.repeat, batch=self.batch,
            start_epoch=epoch, start=position * self.batch,
        )
        workers = self.recipe.data.workers
        loader = DataLoader(
            self.trainset, batch_size=self.batch, sampler=sampler, num_workers=workers,
            pin_memory=self.device.type == "cuda", persistent_workers=workers > 0,
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
        )
        if self.iteration == 0 and self.valset is not None:
            self.validate()
        batches = self._batches()
        stage: Stage | None = None
        losses: list[float] = []
        end = self.total if stop_at is None else min(self.total, stop_at)
        try:
            while self.iteration < end:
                it = self.iteration + 1
                if self.progressive is not None:
                    new = self.progressive.stage_at(it)
                    if new != stage:
                        stage = new
                        self.reporter.event("stage", iteration=it, stage=new.index + 1,
                                            patch=new.patch, batch=new.batch)
                info = self.step(it, batches, stage)
                losses.append(info.loss)
                self.iteration = it
                if on_step is not None:
                    on_step(info)
                if it % t.log_every == 0 or it == self.total:
                    self.reporter.event("train", iteration=it, epoch=info.epoch, lr=info.lr,
                                        loss=float(np.mean(losses)))
                    losses = []
                validate = self.valset is not None and (
                    (val_every and it % val_every == 0) or it == self.total
                )
                if validate:
                    self.validate()
                if validate or it % t.save_every == 0 or it == end:
                    self.save()
        finally:
            self.reporter.close()
        exported = False
        if self.iteration >= self.total:
            exported = self.export()
            self.reporter = Reporter(self.run_dir, total=self.total, live=False,
                                     enabled=self.ctx.main)
            self.reporter.event("end", iteration=self.iteration, best=self.best)
            self.reporter.close()
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
            last = micro == t.accumulate - 1
            sync = contextlib.nullcontext()
            if self.ctx.distributed and not last:
                sync = self.model.no_sync()  # type: ignore[operator]
            with sync:
                with self._autocast():
                    output = self.model(inp)
                output = _to_float(output)
                loss = self.criterion(output, target) / t.accumulate
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
        shadow = archs.build(self.recipe.model.family, **self.kwargs).to(self.device)
        shadow.load_state_dict(self.ema)
        return shadow

    # --- validation, checkpoints, export --------------------------------------------------------

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean PSNR/SSIM over the validation set (rank 0); keeps the best checkpoint."""
        assert self.valset is not None
        v = self.recipe.val
        net = self.eval_net().eval()
        info = archs.FAMILIES[self.recipe.model.family]
        psnrs, ssims = [], []
        for i in range(len(self.valset)):
            sample = self.valset[i]
            inp = sample["input"][None].to(self.device)
            with self._autocast():
                out = archs.restore(net, info, inp)
            out = metrics.prepare(out.float(), y_channel=v.y_channel,
                                  crop_border=v.crop_border, quantize=v.quantize)
            ref = metrics.prepare(sample["target"][None].to(self.device), y_channel=v.y_channel,
                                  crop_border=v.crop_border, quantize=v.quantize)
            psnrs.append(metrics.psnr(out, ref))
            ssims.append(metrics.ssim(out, ref))
        result = {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims))}
        self.reporter.event("val", iteration=self.iteration, images=len(psnrs), **result)
        if self.best["psnr"] is None or result["psnr"] > self.best["psnr"]:
            self.best = {**result, "iteration": self.iteration}
            state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
            checkpoint.save(self.run_dir / "checkpoints" / checkpoint.BEST,
                            {"model": state, "iteration": self.iteration, "best": self.best})
        return result

    def save(self) -> None:
        """Write ``checkpoints/latest.pt`` (rank 0), with every rank's generator states."""
        rng = checkpoint.rng_states(self.rng)
        states = [rng]
        if self.ctx.distributed:
            states = [None] * self.ctx.world
            torch.distributed.all_gather_object(states, rng)
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
        try:
            from imgrestore.training.export import export_model
            from imgrestore.zoo import modeldir  # noqa: F401  (is the zoo there?)
        except ImportError:
            self.notify("imgrestore.zoo is not available: the model folder was not written")
            return False
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


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


__all__ = ["StepInfo", "TrainResult", "Trainer", "network_kwargs", "train"]
