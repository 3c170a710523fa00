"""MIRNet-v2 progressive learning: patch size grows and batch shrinks at milestones.

As the official BasicSR loop does it: the loader always yields the largest batch of the
largest patches; at each iteration the stage is the first whose cumulative end is >= the
(1-based) iteration; a smaller stage batch keeps a random subset of the loaded samples
(without replacement), and a smaller stage patch crops **one** random window, shared by
every sample of the batch, at an offset in ``[0, loaded - patch)``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Stage:
    index: int
    patch: int
    batch: int


@dataclass(frozen=True)
class ProgressiveSchedule:
    """Stages of (patch, batch) lasting ``iterations[i]`` iterations each."""

    patches: tuple[int, ...]
    batches: tuple[int, ...]
    iterations: tuple[int, ...]

    def __post_init__(self) -> None:
        n = len(self.patches)
        if not n or len(self.batches) != n or len(self.iterations) != n:
            raise ValueError("progressive patches, batches and iterations need the same length")
        if min(self.iterations) <= 0 or min(self.patches) <= 0 or min(self.batches) <= 0:
            raise ValueError("progressive patches, batches and iterations must be positive")

    @property
    def milestones(self) -> tuple[int, ...]:
        """Cumulative iteration at which each stage ends."""
        return tuple(accumulate(self.iterations))

    @property
    def total(self) -> int:
        return self.milestones[-1]

    @property
    def max_patch(self) -> int:
        return max(self.patches)

    @property
    def max_batch(self) -> int:
        return max(self.batches)

    def stage_at(self, iteration: int) -> Stage:
        """The stage of 1-based ``iteration`` (the last stage past the end)."""
        i = min(bisect.bisect_left(self.milestones, iteration), len(self.patches) - 1)
        return Stage(i, self.patches[i], self.batches[i])


def select(
    inp: torch.Tensor, target: torch.Tensor, stage: Stage, rng: np.random.Generator,
    *, scale: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Subsample the batch to ``stage.batch`` and crop one common ``stage.patch`` window.

    ``target`` may be ``scale`` times larger than ``inp`` (cropped at ``patch * scale``).
    """
    import torch

    n = inp.shape[0]
    if stage.batch < n:
        keep = torch.from_numpy(np.sort(rng.choice(n, stage.batch, replace=False))).to(inp.device)
        inp, target = inp[keep], target[keep]
    loaded = inp.shape[-1]
    if stage.patch < loaded:
        y0 = int((loaded - stage.patch) * rng.random())
        x0 = int((loaded - stage.patch) * rng.random())
        p = stage.patch
        inp = inp[..., y0 : y0 + p, x0 : x0 + p]
        target = target[..., y0 * scale : (y0 + p) * scale, x0 * scale : (x0 + p) * scale]
    return inp, target


__all__ = ["ProgressiveSchedule", "Stage", "select"]
