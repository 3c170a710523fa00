"""Measuring one image pair: the models ready, the pair read (or synthesized), every model
run on it and scored.

Used alike by the local ``eval`` (:func:`imgrestore.evaluation.runner.evaluate`, one pair
after the other) and by Ray workers (:mod:`imgrestore.evaluation.cluster`), so a pair
measured anywhere gets the same scores. The driver resolves the models once
(:func:`resolve_models`); wherever pairs are measured, :func:`build_models` wraps them in
restorers with the request's engine options.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgrestore.errors import ImageError, UsageError
from imgrestore.evaluation import synth
from imgrestore.evaluation.report import ImageScore, ModelInfo

if TYPE_CHECKING:
    import numpy as np

    from imgrestore.engine.restorer import Restorer
    from imgrestore.evaluation.pairs import Pair
    from imgrestore.evaluation.runner import EvalRequest
    from imgrestore.zoo.fallback import Fallback
    from imgrestore.zoo.loading import LoadedModel

#: The model reference meaning "the degraded input, unrestored".
IDENTITY = "identity"

Notify = Callable[[str], None]


@dataclass
class EvalModel:
    """A model as ``eval`` measures it: its label in the report, and its restorer."""

    label: str
    restorer: Restorer | None  # None: identity


def resolve_models(
    request: EvalRequest, scale: int, notify: Notify,
    on_fallback: Callable[[Fallback], None] | None = None,
) -> tuple[list[tuple[str, LoadedModel | None]], list[ModelInfo]]:
    """Each model of ``request`` as (label, loaded model; None for identity), checked."""
    from imgrestore.zoo.cards import find_card
    from imgrestore.zoo.loading import load_model

    resolved: list[tuple[str, LoadedModel | None]] = []
    infos: list[ModelInfo] = []
    for ref in request.models or (None,):
        if ref == IDENTITY:
            label = _unique(IDENTITY, infos)
            resolved.append((label, None))
            infos.append(ModelInfo(label, IDENTITY, "the degraded input"))
            continue
        loaded = load_model(ref, task=request.task,
                            scale=scale if request.task == "upscale" else None,
                            style=request.style, notify=notify)
        if loaded.fallback is not None and on_fallback is not None:
            on_fallback(loaded.fallback)
        if loaded.spec.in_channels != 3:
            raise UsageError(f"{loaded.name}: takes {loaded.spec.in_channels}-channel input "
                             f"({loaded.input_kind}); eval measures RGB photos")
        if loaded.scale != scale:
            raise UsageError(f"{loaded.name} scales x{loaded.scale}, not x{scale}")
        named = ref is None or find_card(ref) is not None
        label = _unique(loaded.name if named else str(ref), infos)
        resolved.append((label, loaded))
        infos.append(ModelInfo(label, loaded.name, loaded.source))
    return resolved, infos


def build_models(
    request: EvalRequest, resolved: Sequence[tuple[str, LoadedModel | None]]
) -> list[EvalModel]:
    """A restorer for each resolved model (None: identity), with the request's engine
    options."""
    from imgrestore.engine.restorer import Restorer

    return [EvalModel(label, None if m is None else Restorer.from_model(m, request.engine))
            for label, m in resolved]


def _unique(label: str, infos: Sequence[ModelInfo]) -> str:
    taken = {i.label for i in infos}
    n, candidate = 1, label
    while candidate in taken:
        n += 1
        candidate = f"{label} ({n})"
    return candidate


def warm_up(restorer: Restorer) -> None:
    """One small forward, so one-time costs (allocation, kernels) are not timed."""
    import numpy as np

    side = max(64, restorer.arch.multiple_of)
    restorer(np.zeros((side, side, restorer.arch.in_channels), dtype=np.float32))


def _score(
    pair: Pair, model: EvalModel, clean: np.ndarray, degraded: np.ndarray,
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


def score_pair(
    pair: Pair, index: int, models: Sequence[EvalModel], request: EvalRequest, scale: int
) -> list[ImageScore]:
    """Pair number ``index`` read (or synthesized) and measured with every model."""
    clean, degraded = load_pair(pair, index, request, scale)
    return [_score(pair, m, clean, degraded, request, scale) for m in models]


def _modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale] if scale > 1 else image


__all__ = ["IDENTITY", "EvalModel", "build_models", "identity", "load_pair", "resolve_models",
           "score_pair", "warm_up"]
