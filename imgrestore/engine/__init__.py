"""The only place that runs networks on images: tiling, devices, precision, batching.

* :mod:`.options` — :class:`EngineOptions`, the engine's options parsed and checked once
  (torch-free).
* :mod:`.tiling` — pure functions: plan tiles, run a callable per tile, feather-blend.
* :mod:`.devices` — device, precision and memory-budget choices.
* :mod:`.restorer` — :class:`Restorer`, a network ready to restore images of any size.
* :mod:`.pipeline` — :func:`run_pipeline`, read-ahead / write-behind around the network
  (torch-free).

Names are imported lazily, so ``from imgrestore.engine import run_pipeline`` does not
import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EngineOptions": "imgrestore.engine.options",
    "Restorer": "imgrestore.engine.restorer",
    "tiled_forward": "imgrestore.engine.tiling",
    "select_device": "imgrestore.engine.devices",
    "select_precision": "imgrestore.engine.devices",
    "memory_budget": "imgrestore.engine.devices",
    "parse_memory": "imgrestore.engine.options",
    "run_pipeline": "imgrestore.engine.pipeline",
    "JobResult": "imgrestore.engine.pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
