"""Copy a finished built-in training run into the package: ``imgrestore/zoo/builtin/NAME/``.

    python train/builtin/ship.py runs/builtin_denoise builtin_denoise
    python train/builtin/ship.py runs/builtin_denoise_more builtin_denoise \
        --earlier runs/builtin_denoise     # a run continued (--from) from an earlier one
    python train/builtin/ship.py runs/enhance_p2 builtin_enhance --continues-shipped \
        --recipe train/builtin/enhance_color.toml   # continued from the shipped model
    python train/builtin/ship.py runs/enhance_p7 builtin_enhance --continues-shipped \
        --earlier runs/enhance_p6 --recipe train/builtin/enhance_pixel.toml \
        train/builtin/enhance_large.toml            # each run's recipe, oldest first
    python train/builtin/ship.py runs/denoise_p5 builtin_denoise --continues-shipped \
        --checkpoint runs/denoise_p5/checkpoints/latest.pt   # stopped before its end

The run's weights are checked against the card's configuration, stored as fp16 when that
is lossless enough (the fp16 model's outputs on real photo crops within 50 dB PSNR of the
fp32 model's, i.e. well under one 8-bit step), else fp32, and written with an
``imgrestore.json`` naming the card, its licence, and how it was trained (recipe,
iterations, learning rate, wall time from the run's log; one entry per phase when the run
continued earlier ones).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from imgrestore.archs.descriptor import HALF_MIN_PSNR

REPO = Path(__file__).resolve().parents[2]
#: Lowest PSNR (dB) of the fp16 model's output against the fp32 model's for fp16 to ship
#: (the same bar as the families' declared half precisions; the engine reads the figure).
FP16_MIN_PSNR = HALF_MIN_PSNR


def training_record(run: Path, recipe_file: str | None = None,
                    checkpoint: Path | None = None) -> dict:
    """How ``run`` trained: recipe (``recipe_file``, default the card's own), iterations,
    peak learning rate, patch and batch size, the iteration of the exported weights, hours,
    device, final loss. ``checkpoint``: the run was stopped there, before its schedule's
    end (``schedule_iterations`` then records the schedule's length)."""
    events = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    start = next(e for e in events if e["event"] == "start")
    if checkpoint is None:
        ends = [e for e in events if e["event"] == "end"]
        if not ends:
            raise SystemExit(f"{run}: unfinished (its log has no end); ship one of its "
                             "checkpoints with --checkpoint")
        end = ends[-1]
    else:
        from imgrestore.training.checkpoint import load

        at = int(load(checkpoint)["iteration"])
        end = next(e for e in events if e["event"] == "checkpoint" and e["iteration"] == at)
    losses = [e["loss"] for e in events
              if e["event"] == "train" and e["iteration"] <= end["iteration"]]
    recipe = json.loads((run / "recipe.json").read_text())
    exported = run / "imgrestore.json"
    meta = json.loads(exported.read_text()) if exported.exists() and checkpoint is None else {}
    record = {
        "recipe": recipe_file or f"train/builtin/{recipe['name'].removeprefix('builtin_')}.toml",
        "iterations": end["iteration"],
        "lr": recipe["optim"]["lr"],
        "patch": recipe["data"]["patch"],
        "batch": recipe["data"]["batch"],
        "from": meta.get("training", {}).get("from", start.get("start_from")),
        # The iteration of the weights the run exported (its best validation checkpoint).
        "best_iteration": meta.get("training", {}).get("best_iteration"),
        "hours": round((end["time"] - start["time"]) / 3600, 3),
        "device": start.get("device"),
        "final_loss": round(float(np.mean(losses[-5:])), 5) if losses else None,
    }
    if checkpoint is not None:
        record["schedule_iterations"] = recipe["train"]["iterations"]
    return record


def chained_record(
    runs: list[Path], earlier: Sequence[dict] = (), recipe_files: Sequence[str] = (),
    checkpoint: Path | None = None,
) -> dict:
    """The record of ``runs`` trained one after the other (each continuing the previous),
    after the ``earlier`` phases' records (of the shipped model a run continued).
    ``recipe_files`` are the last runs' recipe files (the others': the card's own)."""
    if len(recipe_files) > len(runs):
        raise SystemExit(f"{len(recipe_files)} recipe files for {len(runs)} runs")
    files = [None] * (len(runs) - len(recipe_files)) + list(recipe_files)
    phases = [*earlier, *(training_record(run, file, checkpoint if run == runs[-1] else None)
                          for run, file in zip(runs, files, strict=True))]
    if len(phases) == 1:
        return phases[0]
    last = phases[-1]
    return {
        "recipe": last["recipe"],
        "iterations": sum(p["iterations"] for p in phases),
        "hours": round(sum(p["hours"] for p in phases), 3),
        "device": last["device"],
        "final_loss": last["final_loss"],
        "phases": phases,
    }


def shipped_phases(folder: Path) -> list[dict]:
    """The training phases recorded in the shipped model in ``folder`` (one or several)."""
    record = json.loads((folder / "imgrestore.json").read_text()).get("training")
    if not record:
        raise SystemExit(f"{folder}: the shipped model has no training record to continue")
    return list(record["phases"]) if "phases" in record else [record]


def fp16_psnr(net_fp32, net_fp16, spec) -> float:
    """Worst PSNR of the fp16-weight model's output against the fp32 one's on the
    committed real photo crops."""
    import torch

    from imgrestore import archs
    from imgrestore.imaging import read_image

    worst = float("inf")
    for photo in sorted((REPO / "tests/data/photos").glob("*.jpg")):
        x = torch.from_numpy(read_image(photo).pixels).permute(2, 0, 1)[None]
        with torch.inference_mode():
            a = archs.restore(net_fp32, spec, x).clamp(0, 1)
            b = archs.restore(net_fp16, spec, x).clamp(0, 1)
        mse = float(((a - b) ** 2).mean())
        worst = min(worst, 10 * np.log10(1 / max(mse, 1e-20)))
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished `imgrestore train` output folder")
    parser.add_argument("name", help="the built-in card, e.g. builtin_denoise")
    parser.add_argument("--earlier", type=Path, nargs="*", default=[],
                        help="the runs RUN continued, oldest first (for the training record)")
    parser.add_argument("--continues-shipped", action="store_true",
                        help="RUN continued the shipped model: keep its training record as "
                        "the earlier phases")
    parser.add_argument("--recipe", nargs="+", default=[],
                        help="RUN's recipe file, when not the card's own; with --earlier, "
                        "the recipe files of the last runs, oldest first")
    parser.add_argument("--checkpoint", type=Path,
                        help="ship this checkpoint of RUN (RUN/checkpoints/latest.pt), for a "
                        "run stopped near the end of its schedule")
    args = parser.parse_args(argv)

    from imgrestore.archs import build
    from imgrestore.zoo.cards import card
    from imgrestore.zoo.loading import builtin_dir, load_model, load_model_dir
    from imgrestore.zoo.modeldir import ModelMeta, write_model_dir

    c = card(args.name)
    if not c.builtin:
        raise SystemExit(f"{c.name} is not a built-in card")
    earlier = shipped_phases(builtin_dir(c)) if args.continues_shipped else []
    trained = (load_model(str(args.checkpoint)) if args.checkpoint is not None
               else load_model_dir(args.run))
    wanted = {k: v for k, v in c.arch.kwargs.items() if k in trained.spec.kwargs}
    if dict(trained.spec.kwargs) != wanted or trained.scale != c.scale:
        raise SystemExit(f"{args.run} holds {dict(trained.spec.kwargs)} x{trained.scale}, "
                         f"not {c.config}")
    state = trained.net.state_dict()
    half = {k: v.half() for k, v in state.items()}
    net_fp16 = build(c.family, **c.arch.kwargs).eval()
    net_fp16.load_state_dict(half)
    net_fp32 = build(c.family, **c.arch.kwargs).eval()
    net_fp32.load_state_dict(state)
    psnr = fp16_psnr(net_fp32, net_fp16, c.arch)
    use_fp16 = psnr >= FP16_MIN_PSNR
    meta = ModelMeta(
        family=c.family, configuration=c.config, kwargs=dict(c.arch.kwargs), task=c.task,
        scale=c.scale, style=c.style, licence=c.licence, name=c.name,
        prefers_whole_image=c.prefers_whole_image,
        extra={"training": chained_record([*args.earlier, args.run], earlier, args.recipe,
                                          args.checkpoint),
               "weights_dtype": "float16" if use_fp16 else "float32",
               "fp16_psnr_vs_fp32": round(psnr, 2)},
    )
    folder = builtin_dir(c)
    meta = write_model_dir(folder, half if use_fp16 else state, meta)
    size = (folder / "model.safetensors").stat().st_size
    print(f"{c.name}: {folder} ({size / 1e3:.0f} kB, {meta.extra['weights_dtype']}, "
          f"fp16 vs fp32 {psnr:.1f} dB)")


if __name__ == "__main__":
    main()
