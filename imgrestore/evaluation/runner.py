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
one at a time, and each is restored by every model before the next is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgrestore.engine.options import EngineOptions
from imgrestore.errors import ImageError, UsageError
from imgrestore.evaluation import synth
from imgrestore.evaluation.pairs import Pair, list_images, pair_by_name
from imgrestore.evaluation.report import EvalReport, ImageScore, ModelInfo
from imgrestore.tasks import TASKS

if TYPE_CHECKING:
    import numpy as np

    from imgrestore.engine.restorer import Restorer
    from imgrestore.zoo.fallback import Fallback

#: The model reference meaning "the degraded input, unrestored".
IDENTITY = "identity"


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


@dataclass
class _Model:
    label: str
    restorer: Restorer | None  # None: identity


OnImage = Callable[[Pair, list[ImageScore]], None]
Notify = Callable[[str], None]


def evaluate(
    request: EvalRequest, *, on_image: OnImage | None = None, notify: Notify | None = None,
    on_fallback: Callable[[Fallback], None] | None = None,
) -> EvalReport:
    """Run every model of ``request`` on every image pair; the report of all scores.

    ``on_fallback`` is told when a built-in model stands in for a task's default."""
    pairs = plan_pairs(request)
    scale = _scale(request)
    models, infos = _load_models(request, scale, notify or (lambda message: None),
                                 on_fallback or (lambda fallback: None))
    restorers = [m.restorer for m in models if m.restorer is not None]
    report = EvalReport(
        task=request.task, clean=str(request.clean),
        degraded=None if request.degraded is None else str(request.degraded),
        synthesize=None if request.synthesize is None else synth.describe(request.synthesize),
        seed=request.seed, crop=request.crop, quantize=request.quantize,
        device=str(restorers[0].device) if restorers else "none",
        precision=restorers[0].precision if restorers else "none", models=infos,
    )
    for restorer in restorers:
        _warm_up(restorer)
    for index, pair in enumerate(pairs):
        clean, degraded = load_pair(pair, index, request, scale)
        scores = [_score(pair, m, clean, degraded, request, scale) for m in models]
        report.scores.extend(scores)
        if on_image is not None:
            on_image(pair, scores)
    return report


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


def load_pair(
    pair: Pair, index: int, request: EvalRequest, scale: int
) -> tuple[np.ndarray, np.ndarray]:
    """The clean image and the network input for pair number ``index``.

    For true super-resolution (input ``scale`` times smaller), the clean image is cropped
    to a multiple of ``scale`` at the bottom/right (the papers' "modcrop").
    """
    from imgrestore.imaging import read_image

    clean = read_image(pair.clean, max_pixels=request.max_pixels).pixels
    if pair.degraded is None:
        assert request.synthesize is not None
        clean = _modcrop(clean, synth.output_scale(request.synthesize))
        return clean, synth.synthesize(request.synthesize, clean, seed=request.seed, index=index)
    degraded = read_image(pair.degraded, max_pixels=request.max_pixels).pixels
    ratio = scale if scale > 1 and degraded.shape[0] * scale <= clean.shape[0] else 1
    clean = _modcrop(clean, ratio)
    if (degraded.shape[0] * ratio, degraded.shape[1] * ratio) != clean.shape[:2]:
        dh, dw = degraded.shape[:2]
        ch, cw = clean.shape[:2]
        raise ImageError(pair.degraded, f"{dw}x{dh} does not fit its clean image "
                         f"{pair.clean.name} ({cw}x{ch})")
    return clean, degraded


def _modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale] if scale > 1 else image


def _scale(request: EvalRequest) -> int:
    if request.task != "upscale":
        return 1
    if request.scale is not None:
        return request.scale
    if request.synthesize is not None and synth.output_scale(request.synthesize) > 1:
        return synth.output_scale(request.synthesize)
    return 2


def _load_models(
    request: EvalRequest, scale: int, notify: Notify, on_fallback: Callable[[Fallback], None]
) -> tuple[list[_Model], list[ModelInfo]]:
    from imgrestore.engine.restorer import Restorer
    from imgrestore.zoo.cards import find_card
    from imgrestore.zoo.loading import load_model

    models: list[_Model] = []
    infos: list[ModelInfo] = []
    for ref in request.models or (None,):
        if ref == IDENTITY:
            label = _unique(IDENTITY, infos)
            models.append(_Model(label, None))
            infos.append(ModelInfo(label, IDENTITY, "the degraded input"))
            continue
        loaded = load_model(ref, task=request.task,
                            scale=scale if request.task == "upscale" else None,
                            style=request.style, notify=notify)
        if loaded.fallback is not None:
            on_fallback(loaded.fallback)
        if loaded.spec.in_channels != 3:
            raise UsageError(f"{loaded.name}: takes {loaded.spec.in_channels}-channel input "
                             f"({loaded.input_kind}); eval measures RGB photos")
        if loaded.scale != scale:
            raise UsageError(f"{loaded.name} scales x{loaded.scale}, not x{scale}")
        named = ref is None or find_card(ref) is not None
        label = _unique(loaded.name if named else str(ref), infos)
        restorer = Restorer.from_model(loaded, request.engine)
        models.append(_Model(label, restorer))
        infos.append(ModelInfo(label, loaded.name, loaded.source))
    return models, infos


def _unique(label: str, infos: Sequence[ModelInfo]) -> str:
    taken = {i.label for i in infos}
    n, candidate = 1, label
    while candidate in taken:
        n += 1
        candidate = f"{label} ({n})"
    return candidate


def _warm_up(restorer: Restorer) -> None:
    """One small forward, so one-time costs (allocation, kernels) are not timed."""
    import numpy as np

    side = max(64, restorer.arch.multiple_of)
    restorer(np.zeros((side, side, restorer.arch.in_channels), dtype=np.float32))


def _score(
    pair: Pair, model: _Model, clean: np.ndarray, degraded: np.ndarray,
    request: EvalRequest, scale: int,
) -> ImageScore:
    from imgrestore.ops.metrics import measure

    seconds: float | None = None
    if model.restorer is None:
        restored = identity(degraded, scale)
    else:
        started = time.perf_counter()
        restored = model.restorer(degraded)
        seconds = time.perf_counter() - started
    if restored.shape != clean.shape:
        rh, rw = restored.shape[:2]
        ch, cw = clean.shape[:2]
        raise ImageError(pair.degraded or pair.clean,
                         f"{model.label} gave {rw}x{rh}, the clean image is {cw}x{ch}")
    try:
        scores = measure(restored, clean, crop_border=request.crop, quantize=request.quantize)
    except ValueError as exc:
        raise ImageError(pair.clean, str(exc)) from None
    megapixels = clean.shape[0] * clean.shape[1] / 1e6
    return ImageScore(pair.name, model.label, scores.psnr, scores.ssim, scores.psnr_y,
                      scores.ssim_y, seconds, megapixels)


def identity(degraded: np.ndarray, scale: int) -> np.ndarray:
    """The degraded input as a "restoration": itself, or bicubic-upsampled by ``scale``."""
    if scale == 1:
        return degraded
    from imgrestore.ops.resize import resize_bicubic

    h, w = degraded.shape[:2]
    return resize_bicubic(degraded, (h * scale, w * scale))


__all__ = ["IDENTITY", "EvalRequest", "evaluate", "identity", "load_pair", "plan_pairs"]
