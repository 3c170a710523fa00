"""Many GPUs or machines: under ``torchrun`` each process restores its share of the files.

``torchrun --nproc-per-node N -m imgrestore denoise photos/`` starts N processes with
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` set. Every process plans the same jobs (the
plan is deterministic), takes every N-th one, runs on its own device (``cuda:LOCAL_RANK``
when CUDA is used), and rank 0 gathers the reports, so each file is processed once and
one report covers them all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from imgrestore.batch.report import Report

T = TypeVar("T")


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) when run alone."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def shard(items: Sequence[T], rank: int, world: int) -> list[T]:
    """The items process ``rank`` of ``world`` handles: every ``world``-th from ``rank``."""
    return list(items[rank::world])


def device_for_rank(device: str) -> str:
    """Pin ``auto``/``cuda`` to this process's GPU (``LOCAL_RANK``) under torchrun."""
    _, world = rank_and_world()
    if world == 1 or device not in ("auto", "cuda"):
        return device
    import torch

    if torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0')) % torch.cuda.device_count()}"
    return "cpu" if device == "auto" else device


def merge_into_rank0(report: Report) -> None:
    """Gather every process's results into rank 0's ``report`` (gloo, CPU objects)."""
    import torch.distributed as dist

    created = not dist.is_initialized()
    if created:
        dist.init_process_group("gloo")
    try:
        gathered: list[Report | None] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, report)
        if dist.get_rank() == 0:
            report.merge([r for i, r in enumerate(gathered) if i != 0 and r is not None])
    finally:
        if created:
            dist.destroy_process_group()
