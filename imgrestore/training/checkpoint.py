"""Training state on disk: everything needed to continue a run bit-identically.

A checkpoint is one ``torch.save`` dict of tensors and plain values (so it loads with
``weights_only=True``): model, EMA, optimizer, gradient-scaler states, the iteration,
the best validation result, the random-generator states and the recipe (as JSON).
Files are written atomically (:func:`imgrestore.files.replacing`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from imgrestore.errors import UsageError
from imgrestore.files import replacing

FORMAT = 1
LATEST = "latest.pt"
BEST = "best.pt"


def save(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically."""
    with replacing(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)


def load(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save` (tensors and plain values only)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise UsageError(f"{path}: unreadable training checkpoint ({exc})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UsageError(f"{path}: not an imgrestore training checkpoint")
    return state


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """The model weights kept in a checkpoint."""
    return load(path)["model"]


def rng_states(generator: np.random.Generator) -> dict[str, Any]:
    """The torch (CPU and CUDA) states and the trainer's numpy generator state."""
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": json.dumps(generator.bit_generator.state),
    }


def restore_rng(states: dict[str, Any], generator: np.random.Generator) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    generator.bit_generator.state = json.loads(states["numpy"])


__all__ = ["BEST", "LATEST", "load", "load_weights", "restore_rng", "rng_states", "save"]
