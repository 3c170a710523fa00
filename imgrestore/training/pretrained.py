"""``--from CARD_OR_FILE``: the weights (and network) a fine-tune starts from."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from imgrestore.errors import UsageError, WeightsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Initial:
    """Pretrained weights, the network they need (``family`` empty: the recipe's) and
    their licence."""

    family: str
    kwargs: Mapping[str, Any]
    state: Mapping[str, torch.Tensor]
    licence: str | None
    source: str


def load_initial(ref: str, *, notify: Callable[[str], None] = log.info) -> Initial:
    """Resolve a model card, alias, model folder, ``hf:`` reference or weights file.

    Uses the model zoo (:func:`imgrestore.zoo.loading.load_model`), which recognises the
    network from the checkpoint and checks it; the official licence travels with the
    weights into the exported model. ``notify`` gets the zoo's notices.
    """
    from imgrestore.zoo.loading import load_model

    loaded = load_model(ref, notify=notify)
    licence = loaded.card.licence if loaded.card is not None else loaded.meta.licence
    if licence is None:
        licence = inherited_licence(ref)
    return Initial(
        loaded.spec.family, dict(loaded.spec.kwargs), loaded.net.state_dict(), licence,
        loaded.source,
    )


def inherited_licence(ref: str) -> str | None:
    """The licence a training checkpoint (``RUN/checkpoints/latest.pt``) recorded for the
    weights its run started from, so that a chain of ``--from`` runs keeps it; ``None``
    for anything else."""
    from imgrestore.training import checkpoint

    path = Path(ref)
    if path.suffix != ".pt" or not path.is_file():
        return None
    try:
        init = checkpoint.load(path).get("init")
    except UsageError:
        return None
    return init.get("licence") if isinstance(init, dict) else None


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


__all__ = ["Initial", "inherited_licence", "load_initial", "load_into"]
