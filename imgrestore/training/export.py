"""The trained network as an imgrestore model folder (``model.safetensors`` +
``imgrestore.json``), which ``--model RUN_DIR`` and ``imgrestore models push`` accept."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgrestore import archs
from imgrestore.archs import SPECS
from imgrestore.training.recipe import Recipe

if TYPE_CHECKING:
    import torch

    from imgrestore.zoo.modeldir import ModelMeta


def model_meta(
    recipe: Recipe, kwargs: Mapping[str, Any], *, licence: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ModelMeta:
    """``imgrestore.json`` for a network of ``recipe.model.family`` built with ``kwargs``."""
    from imgrestore.zoo.modeldir import ModelMeta

    m = recipe.model
    released = SPECS.get(m.configuration)
    exact = released is not None and dict(released.kwargs) == dict(kwargs)
    return ModelMeta(
        family=m.family,
        configuration=m.configuration if exact else None,
        kwargs=None if exact else dict(kwargs),
        task=m.task,
        scale=m.scale,
        input_kind="dual_pixel" if archs.family(m.family).in_channels(kwargs) == 6 else "rgb",
        style=m.style or None,
        licence=licence,
        name=recipe.name,
        prefers_whole_image=m.task == "enhance",
        extra=dict(extra or {}),
    )


def export_model(
    folder: Path, state: Mapping[str, torch.Tensor], recipe: Recipe,
    kwargs: Mapping[str, Any], *, licence: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ModelMeta:
    """Write ``state`` into ``folder`` in the imgrestore model format (atomically)."""
    from imgrestore.zoo.modeldir import write_model_dir

    state = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    meta = model_meta(recipe, kwargs, licence=licence, extra=extra)
    return write_model_dir(Path(folder), state, meta)


__all__ = ["export_model", "model_meta"]
