"""``imgrestore eval --ray``: the image pairs measured by a pool of Ray workers.

The driver plans the pairs and resolves and verifies the models once, as a local
``eval`` does; each worker loads the models (:mod:`imgrestore.batch.cluster` sends
them), then reads or synthesizes each pair it is given and measures every model on it
with :func:`~imgrestore.evaluation.runner.score_pair`, the local run's function. Scores
come back as they finish and the report lists them in image order, as a local run does.
An image that cannot be measured stops the run with its error, as it does locally.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imgrestore.batch.cluster import (
    PoolActor,
    connected,
    import_ray,
    map_on_ray,
    pool_shape,
    receive_models,
    send_models,
    set_threads,
)
from imgrestore.errors import ImgRestoreError
from imgrestore.evaluation import synth
from imgrestore.evaluation.report import EvalReport, ImageScore
from imgrestore.evaluation.runner import (
    EvalRequest,
    Notify,
    OnImage,
    build_models,
    plan_pairs,
    resolve_models,
    score_pair,
    task_scale,
    warm_up,
)

if TYPE_CHECKING:
    from imgrestore.evaluation.pairs import Pair
    from imgrestore.zoo.portable import PackedModel


def evaluate_on_ray(
    request: EvalRequest, *, on_image: OnImage | None = None, notify: Notify | None = None
) -> EvalReport:
    """:func:`~imgrestore.evaluation.runner.evaluate`, the images spread over Ray workers."""
    options = request.ray
    assert options is not None
    pairs = plan_pairs(request)
    scale = task_scale(request)
    ray = import_ray()
    with connected(ray, options):
        resolved, infos = resolve_models(request, scale, notify or (lambda message: None))
        models, weights = send_models(ray, [m for _, m in resolved if m is not None])
        shape = pool_shape(ray.cluster_resources(), options, request.engine.device)
        kwargs = {"request": request, "labels": [label for label, _ in resolved],
                  "models": models, "weights": weights, "scale": scale,
                  "threads": shape.threads}
        found: dict[int, list[ImageScore]] = {}
        device = precision = "none"
        items = list(enumerate(pairs))
        for index, outcome in map_on_ray(ray, items, ScoreActor, kwargs, shape,
                                         options.max_retries):
            if isinstance(outcome, ImgRestoreError):
                raise outcome
            scores, device, precision = outcome
            found[index] = scores
            if on_image is not None:
                on_image(pairs[index], scores)
    lost = [pairs[i].name for i in range(len(pairs)) if i not in found]
    if lost:
        raise ImgRestoreError(f"{lost[0]}: worker lost while measuring it "
                              f"({options.max_retries + 1} tries); rerun")
    return EvalReport(
        task=request.task, clean=str(request.clean),
        degraded=None if request.degraded is None else str(request.degraded),
        synthesize=None if request.synthesize is None else synth.describe(request.synthesize),
        seed=request.seed, crop=request.crop, quantize=request.quantize,
        device=device, precision=precision, models=infos,
        scores=[s for i in range(len(pairs)) for s in found[i]],
    )


class ScoreActor(PoolActor):
    """One worker: every model of the request, then pairs measured one at a time."""

    def __init__(self, request: EvalRequest, labels: list[str], models: list[PackedModel],
                 weights: list[Any], scale: int, threads: int | None) -> None:
        set_threads(threads)
        loaded = iter(receive_models(models, weights))
        # Identity has no network: its label keeps its place among the models.
        resolved = [(label, None if label_is_identity else next(loaded))
                    for label, label_is_identity in _identities(request, labels)]
        self.models = build_models(request, resolved)
        self.request, self.scale = request, scale
        restorers = [m.restorer for m in self.models if m.restorer is not None]
        for restorer in restorers:
            warm_up(restorer)
        self.device = str(restorers[0].device) if restorers else "none"
        self.precision = restorers[0].precision if restorers else "none"

    def handle(self, item: tuple[int, Pair]) -> Any:
        index, pair = item
        try:
            scores = score_pair(pair, index, self.models, self.request, self.scale)
        except ImgRestoreError as error:  # stops the run on the driver, as it does locally
            return error
        return scores, self.device, self.precision


def _identities(request: EvalRequest, labels: list[str]) -> list[tuple[str, bool]]:
    from imgrestore.evaluation.runner import IDENTITY

    refs = request.models or (None,)
    return [(label, ref == IDENTITY) for label, ref in zip(labels, refs, strict=True)]
