"""``--from CARD_OR_FILE``: the weights (and network) a fine-tune starts from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from imgrestore.errors import WeightsError


@dataclass(frozen=True)
class Initial:
    """Pretrained weights, the network they need (``family`` empty: the recipe's) and
    their licence."""

    family: str
    kwargs: Mapping[str, Any]
    state: Mapping[str, torch.Tensor]
    licence: str | None
    source: str


def load_initial(ref: str) -> Initial:
    """Resolve a model card, alias, model folder, ``hf:`` reference or weights file.

    Uses the model zoo (:func:`imgrestore.zoo.loading.load_model`), which recognises the
    network from the checkpoint and checks it; the official licence travels with the
    weights into the exported model.
    """
    try:
        from imgrestore.zoo.loading import load_model
    except ImportError:  # zoo not available: plain files only
        return _from_file(Path(ref))
    loaded = load_model(ref)
    licence = loaded.card.licence if loaded.card is not None else loaded.meta.licence
    return Initial(
        loaded.spec.family, dict(loaded.spec.kwargs), loaded.net.state_dict(), licence,
        loaded.source,
    )


def _from_file(path: Path) -> Initial:
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state: Any = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("params", "params_ema", "state_dict"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping):
        raise WeightsError(f"{path}: no state dict found")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    return Initial("", {}, state, None, str(path))


def load_into(net: torch.nn.Module, initial: Initial) -> None:
    """Load ``initial.state`` into ``net`` strictly; one clear line when it does not fit."""
    own = net.state_dict()
    wrong = [k for k, v in initial.state.items() if k in own and own[k].shape != v.shape]
    missing = sorted(set(own) - set(initial.state))
    if wrong or missing:
        what = f"shape of {wrong[0]}" if wrong else f"missing {missing[0]}"
        raise WeightsError(
            f"{initial.source}: weights do not fit the recipe's network ({what}); "
            "set model.family/model.kwargs to match, or start without --from"
        )
    net.load_state_dict(initial.state, strict=True)


__all__ = ["Initial", "load_initial", "load_into"]
