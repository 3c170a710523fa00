"""A run on disk: refusing to overwrite, the latest checkpoint (written by every rank
together), resuming from it, and the exported model folder."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgrestore.errors import UsageError
from imgrestore.training import checkpoint, dist

if TYPE_CHECKING:
    from imgrestore.training.loop import Trainer


def open_run(
    run_dir: Path, resume: bool, notify: Callable[[str], None],
) -> dict[str, Any] | None:
    """Refuse to overwrite a run or a model; the checkpoint to resume, if any."""
    latest = run_dir / "checkpoints" / checkpoint.LATEST
    if latest.exists() and not resume:
        raise UsageError(
            f"{run_dir}: already holds a run; pass --resume to continue it, or "
            "choose another --output"
        )
    if not latest.exists() and (run_dir / "model.safetensors").exists():
        raise UsageError(
            f"{run_dir}: already holds a model (model.safetensors) and no run to "
            "resume; choose another --output"
        )
    if not resume:
        return None
    if not latest.exists():
        notify(f"{run_dir}: nothing to resume; starting a new run")
        return None
    return checkpoint.load(latest)


def load_state(trainer: Trainer, state: dict[str, Any]) -> None:
    """Put a checkpoint's state into ``trainer``."""
    trainer.net.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.scaler.load_state_dict(state["scaler"])
    if trainer.ema is not None and state.get("ema") is not None:
        trainer.ema = {k: v.to(trainer.device) for k, v in state["ema"].items()}
    trainer.iteration = int(state["iteration"])
    trainer.best = dict(state["best"])
    checkpoint.restore_rng(state["rng"][trainer.ctx.rank], trainer.rng)
    trainer.notify(f"resuming {trainer.run_dir} at iteration {trainer.iteration}")


def save_latest(trainer: Trainer) -> None:
    """Write ``checkpoints/latest.pt``; every rank takes part (its generator states)."""
    states = dist.all_gather(trainer.ctx, checkpoint.rng_states(trainer.rng))
    if trainer.ctx.main:
        ema = trainer.ema
        init = None
        if trainer.initial is not None and trainer.initial.family:
            init = {"family": trainer.initial.family, "kwargs": json.dumps(trainer.kwargs),
                    "licence": trainer.initial.licence, "source": trainer.initial.source}
        checkpoint.save(trainer.run_dir / "checkpoints" / checkpoint.LATEST, {
            "model": {k: v.detach().cpu() for k, v in trainer.net.state_dict().items()},
            "ema": None if ema is None else {k: v.cpu() for k, v in ema.items()},
            "optimizer": trainer.optimizer.state_dict(),
            "scaler": trainer.scaler.state_dict(),
            "scheduler": {"kind": trainer.recipe.schedule.kind, "iteration": trainer.iteration},
            "iteration": trainer.iteration,
            "best": trainer.best,
            "rng": states,
            "recipe": json.dumps(trainer.recipe.to_dict()),
            "init": init,
        })
        trainer.reporter.event("checkpoint", iteration=trainer.iteration)
    dist.barrier(trainer.ctx)


def export_run(trainer: Trainer) -> bool:
    """Write the best (or last) weights as ``model.safetensors`` + ``imgrestore.json``."""
    if not trainer.ctx.main:
        return False
    from imgrestore.training.export import export_model

    best = trainer.run_dir / "checkpoints" / checkpoint.BEST
    state = checkpoint.load_weights(best) if best.exists() else trainer.eval_net().state_dict()
    licence = trainer.initial.licence if trainer.initial is not None else None
    export_model(trainer.run_dir, state, trainer.recipe, trainer.kwargs, licence=licence,
                 extra={
        "training": {
            "recipe": trainer.recipe.name, "iterations": trainer.iteration,
            "val_psnr": trainer.best["psnr"], "val_ssim": trainer.best["ssim"],
            "best_iteration": trainer.best["iteration"],
            "from": trainer.initial.source if trainer.initial is not None else None,
        }
    })
    trainer.notify(f"model written to {trainer.run_dir} (use --model {trainer.run_dir})")
    return True


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


__all__ = ["export_run", "load_state", "open_run", "save_latest", "write_json"]
