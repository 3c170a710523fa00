"""``imgrestore eval``: run models on degraded images and measure them against the clean ones.

>>> noise = parse_spec("gaussian_noise:sigma=25")
>>> request = EvalRequest("denoise", clean="clean/", synthesize=noise,
...                       models=("identity", "denoise"))
>>> report = evaluate(request)
>>> report.summary()[1].psnr

Every model goes through the same engine as the task commands (:func:`load_model`, then
:class:`~imgrestore.engine.restorer.Restorer` with the same device, precision and tiling
options). ``identity`` is the degraded input itself (bicubic-upsampled to the clean size
for true super-resolution inputs, as the upscale networks receive it). Images are read
one at a time, and each is restored by every model before the next is read
(:mod:`.scoring`); with ``ray``, a pool of Ray workers measures them
(:mod:`.cluster`), and the report is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgrestore.engine.options import EngineOptions
from imgrestore.errors import UsageError
from imgrestore.evaluation import synth
from imgrestore.evaluation.pairs import Pair, list_images, pair_by_name
from imgrestore.evaluation.report import EvalReport, ImageScore
from imgrestore.evaluation.scoring import (
    IDENTITY,
    Notify,
    build_models,
    identity,
    load_pair,
    resolve_models,
    score_pair,
    warm_up,
)
from imgrestore.tasks import TASKS

if TYPE_CHECKING:
    from imgrestore.cluster import RayOptions
    from imgrestore.zoo.fallback import Fallback
    from imgrestore.zoo.loading import LoadedModel


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate. Exactly one of ``degraded`` and ``synthesize`` is given."""

    task: str
    clean: str | Path
    degraded: str | Path | None = None
    #: A checked degradation spec (:func:`imgrestore.evaluation.synth.parse_spec`).
    synthesize: dict[str, Any] | None = None
    #: Model references (as ``--model`` takes them) or ``identity``; empty = the task's
    #: default model.
    models: tuple[str, ...] = ()
    seed: int = 0
    #: Pixels ignored at each border before measuring.
    crop: int = 0
    #: Round restored images to 8 bits before measuring (as if saved as 8-bit files).
    quantize: bool = False
    scale: int | None = None
    style: str | None = None
    max_pixels: int | None = None
    engine: EngineOptions = field(default_factory=EngineOptions)
    #: Measure on a Ray cluster (each worker takes images and runs every model on them).
    ray: RayOptions | None = None


OnImage = Callable[[Pair, list[ImageScore]], None]


def evaluate(
    request: EvalRequest, *, on_image: OnImage | None = None, notify: Notify | None = None,
    on_fallback: Callable[[Fallback], None] | None = None,
) -> EvalReport:
    """Run every model of ``request`` on every image pair; the report of all scores.

    ``on_fallback`` is told when a built-in model stands in for a task's default."""
    pairs = plan_pairs(request)
    scale = task_scale(request)
    resolved, infos = resolve_models(request, scale, notify or (lambda message: None),
                                     on_fallback or (lambda fallback: None))
    if request.ray is not None:
        from imgrestore.evaluation.cluster import score_on_ray

        scores, device, precision = score_on_ray(request, pairs, resolved, scale, on_image)
    else:
        scores, device, precision = _score_here(request, pairs, resolved, scale, on_image)
    return EvalReport(
        task=request.task, clean=str(request.clean),
        degraded=None if request.degraded is None else str(request.degraded),
        synthesize=None if request.synthesize is None else synth.describe(request.synthesize),
        seed=request.seed, crop=request.crop, quantize=request.quantize,
        device=device, precision=precision, models=infos, scores=scores,
    )


def _score_here(
    request: EvalRequest, pairs: Sequence[Pair],
    resolved: Sequence[tuple[str, LoadedModel | None]], scale: int, on_image: OnImage | None,
) -> tuple[list[ImageScore], str, str]:
    """Every pair measured in this process: the scores, the device and the precision."""
    models = build_models(request, resolved)
    restorers = [m.restorer for m in models if m.restorer is not None]
    for restorer in restorers:
        warm_up(restorer)
    scores: list[ImageScore] = []
    for index, pair in enumerate(pairs):
        found = score_pair(pair, index, models, request, scale)
        scores.extend(found)
        if on_image is not None:
            on_image(pair, found)
    if not restorers:
        return scores, "none", "none"
    return scores, str(restorers[0].device), restorers[0].precision


def plan_pairs(request: EvalRequest) -> list[Pair]:
    """The clean images of ``request``, each with its degraded partner (if given)."""
    if request.task not in TASKS:
        raise UsageError(f"{request.task}: unknown task (choose from {', '.join(TASKS)})")
    if (request.degraded is None) == (request.synthesize is None):
        raise UsageError("give either --degraded DIR or --synthesize SPEC")
    if request.crop < 0:
        raise UsageError(f"--crop {request.crop} must not be negative")
    clean = list_images(request.clean)
    if request.degraded is None:
        return [Pair(p) for p in clean]
    degraded = list_images(request.degraded, option="--degraded")
    return pair_by_name(clean, degraded, where=request.degraded)


def task_scale(request: EvalRequest) -> int:
    """The scale the models of ``request`` must have (upscale's factor, else 1)."""
    if request.task != "upscale":
        return 1
    if request.scale is not None:
        return request.scale
    if request.synthesize is not None and synth.output_scale(request.synthesize) > 1:
        return synth.output_scale(request.synthesize)
    return 2


__all__ = ["IDENTITY", "EvalRequest", "evaluate", "identity", "load_pair", "plan_pairs",
           "task_scale"]
