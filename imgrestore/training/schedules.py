"""Learning-rate curves in closed form (no scheduler objects, so resuming is exact).

- :func:`warmup_cosine`: MPRNet / MIRNet (linear warmup, then cosine), per epoch or per
  iteration.
- :func:`cyclic_cosine`: MIRNet-v2 / BasicSR ``CosineAnnealingRestartCyclicLR``, either
  as the code behaves (``literal``) or as its comment describes (``intent``).

This module is torch-free.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from itertools import accumulate


def warmup_cosine(
    step: int, *, base: float, total: int, warmup: int = 0, eta_min: float = 1e-6,
    extra_period: int = 0, hold: int = 0,
) -> float:
    """Learning rate at ``step`` (1-based epoch or iteration).

    ``base * step / warmup`` during the warmup, ``base`` for ``hold`` more steps, then
    ``eta_min + (base - eta_min) * (1 + cos(pi * t / T)) / 2`` with
    ``t = step - warmup - hold`` and ``T = total - warmup + extra_period`` (MPRNet
    denoising uses ``extra_period = 40``).

    ``hold = 1`` is what MPRNet/MIRNet's ``GradualWarmupScheduler`` does per epoch: the
    epoch after the warmup repeats the base rate (its cosine scheduler starts one epoch
    late), so the last epoch uses ``t = T - 1 - extra_period``.
    """
    if warmup and step <= warmup:
        return base * step / warmup
    period = max(1, total - warmup + extra_period)
    t = min(max(0, step - warmup - hold), period)
    return eta_min + 0.5 * (base - eta_min) * (1 + math.cos(math.pi * t / period))


def cyclic_cosine(
    iteration: int, *, base: float, periods: Sequence[int], eta_mins: Sequence[float],
    restart_weights: Sequence[float] | None = None, mode: str = "literal",
) -> float:
    """Learning rate at ``iteration`` (1-based) of MIRNet-v2's cyclic cosine schedule.

    ``literal`` reproduces the code: the scheduler index is ``iteration - 1``, cycle ``k``
    is the first whose cumulative end is >= the index, and within it
    ``lr = eta_k + w_k * (base - eta_k) * (1 + cos(pi * t / period_k)) / 2``. With the
    released settings (base 2e-4, eta_mins [3e-4, 1e-6]) cycle 1 *rises* to 3e-4.

    ``intent`` is what the options files' comment says ("fixed 3e-4, then cosine to
    1e-6"): the same formula with ``base`` replaced by ``eta_mins[0]``.
    """
    if mode not in ("literal", "intent"):
        raise ValueError(f"cyclic_cosine mode must be 'literal' or 'intent', not {mode!r}")
    weights = list(restart_weights) if restart_weights else [1.0] * len(periods)
    if not (len(periods) == len(eta_mins) == len(weights)) or not periods:
        raise ValueError("periods, eta_mins and restart_weights need the same, nonzero length")
    if mode == "intent":
        base = eta_mins[0]
    ends = list(accumulate(periods))
    index = max(0, iteration - 1)
    cycle = min(bisect.bisect_left(ends, index), len(periods) - 1)
    start = ends[cycle - 1] if cycle else 0
    t = min(index - start, periods[cycle])
    eta = eta_mins[cycle]
    return eta + weights[cycle] * 0.5 * (base - eta) * (1 + math.cos(math.pi * t / periods[cycle]))


__all__ = ["cyclic_cosine", "warmup_cosine"]
