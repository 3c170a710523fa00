"""Keep a built-in model's unfinished training in the repository, so the next session resumes it.

    python train/builtin/state.py pack runs/builtin_denoise_p5 denoise     # after a milestone
    python train/builtin/state.py unpack denoise runs/builtin_denoise_p5   # next session
    imgrestore train train/builtin/denoise.toml --output runs/builtin_denoise_p5 --resume ...

``pack`` stores a run's ``checkpoints/latest.pt`` small enough to commit, as
``train/builtin/state/NAME.pt`` beside the run's ``log.jsonl`` (``NAME.log.jsonl``): the
weights in float16, Adam's second moments in bfloat16 (float16 would flush the small ones
to zero, and Adam would then take huge steps), its first moments left out (they follow
the gradient within about ten steps; they restart at zero), and the iteration, best
result, random-generator states and recipe exactly. ``unpack`` writes them back as a
run folder that ``imgrestore train ... --resume`` continues (give the same recipe and
``--set`` options; they are in the run's ``recipe.json``). About 4 bytes per parameter.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

STATE = Path(__file__).resolve().parent / "state"


def pack(run: Path, name: str) -> Path:
    """Write ``run``'s latest checkpoint as ``state/NAME.pt`` (+ log and recipe)."""
    state = torch.load(run / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)
    if state.get("ema") is not None:
        raise SystemExit(f"{run}: runs with EMA weights are not supported (train.ema = 0)")
    optim = state["optimizer"]
    optim["state"] = {
        key: {"step": value["step"], "exp_avg_sq": value["exp_avg_sq"].bfloat16()}
        for key, value in optim["state"].items()
    }
    state["model"] = {k: v.half() if v.is_floating_point() else v
                      for k, v in state["model"].items()}
    STATE.mkdir(exist_ok=True)
    target = STATE / f"{name}.pt"
    torch.save(state, target)
    shutil.copyfile(run / "log.jsonl", STATE / f"{name}.log.jsonl")
    shutil.copyfile(run / "recipe.json", STATE / f"{name}.recipe.json")
    return target


def unpack(name: str, run: Path) -> Path:
    """Write ``state/NAME.pt`` back as ``run/checkpoints/latest.pt`` (float32)."""
    if (run / "checkpoints" / "latest.pt").exists():
        raise SystemExit(f"{run}: already holds a run")
    state = torch.load(STATE / f"{name}.pt", map_location="cpu", weights_only=True)
    state["model"] = {k: v.float() if v.is_floating_point() else v
                      for k, v in state["model"].items()}
    for value in state["optimizer"]["state"].values():
        value["exp_avg_sq"] = value["exp_avg_sq"].float()
        value["exp_avg"] = torch.zeros_like(value["exp_avg_sq"])
    (run / "checkpoints").mkdir(parents=True)
    torch.save(state, run / "checkpoints" / "latest.pt")
    shutil.copyfile(STATE / f"{name}.log.jsonl", run / "log.jsonl")
    shutil.copyfile(STATE / f"{name}.recipe.json", run / "recipe.json")
    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="store RUN's latest checkpoint as state/NAME.pt")
    p.add_argument("run", type=Path)
    p.add_argument("name")
    u = sub.add_parser("unpack", help="write state/NAME.pt back as a run folder")
    u.add_argument("name")
    u.add_argument("run", type=Path)
    args = parser.parse_args(argv)
    if args.command == "pack":
        target = pack(args.run, args.name)
        state = torch.load(target, map_location="cpu", weights_only=True)
        print(f"{target}: iteration {state['iteration']}, {target.stat().st_size / 1e6:.2f} MB")
        print(json.dumps(json.loads(state["recipe"])["model"]))
    else:
        print(f"{unpack(args.name, args.run)}: resume it with imgrestore train ... --resume")


if __name__ == "__main__":
    main()
