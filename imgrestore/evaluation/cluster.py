"""``imgrestore eval --ray``: the image pairs measured by a pool of Ray workers.

The driver plans the pairs and resolves and verifies the models once, as a local
``eval`` does (:func:`imgrestore.evaluation.runner.evaluate`); each worker receives the
models (:func:`imgrestore.cluster.send_models`), then reads or synthesizes each pair it
is given and measures every model on it with
:func:`~imgrestore.evaluation.scoring.score_pair`, the local run's function. Scores come
back as they finish and the report lists them in image order, as a local run does. An
image that cannot be measured stops the run with its error, as it does locally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from imgrestore import cluster
from imgrestore.errors import ImgRestoreError
from imgrestore.evaluation.scoring import build_models, score_pair, warm_up

if TYPE_CHECKING:
    from imgrestore.evaluation.pairs import Pair
    from imgrestore.evaluation.report import ImageScore
    from imgrestore.evaluation.runner import EvalRequest, OnImage
    from imgrestore.zoo.loading import LoadedModel
    from imgrestore.zoo.portable import PackedModel


def score_on_ray(
    request: EvalRequest, pairs: Sequence[Pair],
    resolved: Sequence[tuple[str, LoadedModel | None]], scale: int, on_image: OnImage | None,
) -> tuple[list[ImageScore], str, str]:
    """Every pair measured by Ray workers: the scores in image order, the workers' device
    and precision."""
    options = request.ray
    assert options is not None
    loaded = [m for _, m in resolved if m is not None]
    with cluster.open_pool(options, loaded, request.engine.device) as pool:
        found: dict[int, list[ImageScore]] = {}
        device = precision = "none"
        labels = [(label, m is None) for label, m in resolved]
        stream = pool.map(list(enumerate(pairs)), ScoreActor, request=request, labels=labels,
                          scale=scale)
        for index, outcome in stream:
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
    return [s for i in range(len(pairs)) for s in found[i]], device, precision


class ScoreActor(cluster.PoolActor):
    """One worker: every model of the request, then pairs measured one at a time."""

    def __init__(self, request: EvalRequest, labels: list[tuple[str, bool]],
                 models: list[PackedModel], weights: list[Any], scale: int,
                 threads: int | None) -> None:
        super().__init__(models, weights, threads)
        loaded = iter(self.loaded)
        # Identity has no network: its label keeps its place among the models.
        resolved = [(label, None if is_identity else next(loaded))
                    for label, is_identity in labels]
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
